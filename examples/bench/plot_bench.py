"""Plots bench.csv (written by attn-bench) as bench.png: GFLOP/s against
sequence length for dense and causal fp32 attention on all cores, with the
naive unfused baseline and the measured FMA peak as lines.

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
fig, ax = plt.subplots(figsize=(8, 5))
peak = None
for kind, color in (("dense", "tab:blue"), ("causal", "tab:orange")):
    pts = sorted((int(r["seq"]), float(r["gflops"]), float(r["min_ms"]), float(r["naive_ms"]))
                 for r in rows
                 if r["sweep"] == "1" and r["case"].startswith(kind) and int(r["threads"]) == threads)
    if not pts:
        continue
    seq = [p[0] for p in pts]
    ax.plot(seq, [p[1] for p in pts], "o-", color=color, label="attn " + kind)
    naive = [p[1] * p[2] / p[3] if p[3] > 0 else None for p in pts]
    ax.plot(seq, naive, "x--", color=color, alpha=0.6, label="naive unfused " + kind)
    peak = max(float(r["peak_gflops"]) for r in rows if int(r["threads"]) == threads)
if peak:
    ax.axhline(peak, color="gray", linestyle=":", label="measured fp32 FMA peak")
ax.set_xscale("log", base=2)
ax.set_xlabel("sequence length (B=1, H=16, D=128, fp32)")
ax.set_ylabel("GFLOP/s (unmasked work), %d threads" % threads)
ax.set_title("attn CPU kernels")
ax.legend()
ax.grid(True, alpha=0.3)
fig.tight_layout()
fig.savefig(out + "/bench.png", dpi=120)
print("wrote %s/bench.png" % out)
