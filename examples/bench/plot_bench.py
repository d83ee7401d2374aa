"""Plots bench.csv (written by attn-bench) as bench.png: GFLOP/s against
sequence length for dense and causal fp32 attention on all cores, with the
baselines that ran (naive unfused, oneDNN, PyTorch SDPA and flex_attention)
and the measured fp32 FMA peak as lines.

  plot_bench.py DIR
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/bench.csv")))
threads = max(int(r["threads"]) for r in rows)
fig, ax = plt.subplots(figsize=(9, 5.5))
peak = None
# Baselines as rates of the same work: attn's GFLOP/s x attn's time / theirs.
baselines = (("naive_ms", "naive unfused", "x", ":"), ("onednn_ms", "oneDNN unfused", "s", "--"),
             ("sdpa_ms", "PyTorch SDPA", "^", "-."), ("flex_ms", "flex_attention", "v", (0, (5, 1))))
for kind, color in (("dense", "tab:blue"), ("causal", "tab:orange")):
    pts = sorted((int(r["seq"]), r) for r in rows
                 if r["sweep"] == "1" and r["case"].startswith(kind) and int(r["threads"]) == threads)
    if not pts:
        continue
    seq = [p[0] for p in pts]
    ax.plot(seq, [float(r["gflops"]) for _, r in pts], "o-", color=color, label="attn " + kind, linewidth=2)
    for column, label, marker, style in baselines:
        rates = [float(r["gflops"]) * float(r["min_ms"]) / float(r[column])
                 if float(r.get(column) or 0) > 0 else None for _, r in pts]
        if any(x is not None for x in rates):
            ax.plot(seq, rates, marker=marker, linestyle=style, color=color, alpha=0.6, label=label + " " + kind)
    # The fp32 rows' peak (bf16 rows on AMX are held to a far higher one).
    peak = max(float(r["peak_gflops"]) for r in rows if int(r["threads"]) == threads and r["dtype"] == "f32")
if peak:
    ax.axhline(peak, color="gray", linestyle=":", label="measured fp32 FMA peak")
ax.set_xscale("log", base=2)
ax.set_xlabel("sequence length (B=1, H=16, D=128, fp32)")
ax.set_ylabel("GFLOP/s (unmasked work), %d threads" % threads)
ax.set_title("attn CPU kernels")
ax.set_ylim(bottom=0)
ax.legend(fontsize=8, ncol=2)
ax.grid(True, alpha=0.3)
fig.tight_layout()
fig.savefig(out + "/bench.png", dpi=120)
print("wrote %s/bench.png" % out)
