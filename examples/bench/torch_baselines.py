"""PyTorch CPU baselines for `make bench`: scaled_dot_product_attention and
compiled flex_attention on the cases attn-bench lists, timed like attn's
kernels (min and median over repetitions after a warm-up, until 1 s or 20
runs, in each of two rounds through the cases), on the same machine in the
same `make bench`.

  torch_baselines.py CASES.tsv OUT.csv

CASES.tsv comes from `attn-bench --write-cases`; one row per case and thread
count that PyTorch can express (top-k and argmax have no PyTorch form).
OUT.csv gets id, name, threads, SDPA and flex min and median ms, note
(and a row "version,X"); a time of 0 means that
baseline could not run the case (the note says why). Without an importable
torch the script says so, writes nothing and exits 0: the columns are "-".
"""
import csv
import math
import sys
import time
import warnings


# Every case in two rounds through the whole list, as attn-bench times its
# own rows: a case's min and median are of both rounds' calls, so a slow
# phase of the VM costs one round's samples of a case, not the case.
ROUNDS = 2


def timed(fn, evict=None):
    """The ms of each call of fn() (at least 3 calls, up to 20 within a
    second of calls); evict, where given, runs untimed before each call."""
    fn()  # warm-up (and, for flex_attention, the compile)
    times = []
    while len(times) < 3 or (sum(times) < 1e3 and len(times) < 20):
        if evict is not None:
            evict()
        t0 = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - t0))
    return times


def min_median(times):
    """(min, median) of the times, (0, 0) for none."""
    if not times:
        return 0.0, 0.0
    times = sorted(times)
    return times[0], times[len(times) // 2]


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    # torch warns at import when numpy is missing; these baselines need none.
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print("PyTorch baselines skipped: torch is not importable (%s); `pip install torch` brings it "
              "(its PyPI wheel also pulls CUDA libraries, a few GB)." % e)
        return 0
    # Each case (shape, mods, thread count) is its own compile; past dynamo's
    # recompile limit (8) flex_attention would silently run eager and
    # unfused, a time that is not the compiled baseline: a case that still
    # falls back fails instead of reporting it.
    torch._dynamo.config.cache_size_limit = 1024
    if hasattr(torch._dynamo.config, "recompile_limit"):
        torch._dynamo.config.recompile_limit = 1024
    warnings.filterwarnings("error", message="flex_attention called without torch.compile")
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        flex = torch.compile(flex_attention, dynamic=False)
    except Exception as e:  # an older torch: SDPA only
        flex, flex_error = None, "no flex_attention: %s" % e

    cases = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
    out = open(sys.argv[2], "w", newline="")
    writer = csv.writer(out)
    writer.writerow(["id", "name", "threads", "sdpa_ms", "sdpa_median_ms", "flex_ms", "flex_median_ms", "note"])
    writer.writerow(["version", torch.__version__])
    print("PyTorch %s baselines (SDPA and compiled flex_attention) on %d rows, %d rounds"
          % (torch.__version__, len(cases), ROUNDS))
    # Per case: the SDPA and flex times of every round so far, and notes.
    sdpa_times = [[] for _ in cases]
    flex_times = [[] for _ in cases]
    case_notes = [[] for _ in cases]
    for rnd, (idx, c) in ((r, ic) for r in range(ROUNDS) for ic in enumerate(cases)):
        if idx == 0 and rnd > 0:
            print("round %d of %d:" % (rnd + 1, ROUNDS), flush=True)
        threads = int(c["threads"])
        torch.set_num_threads(threads)
        B, Hq, Hkv, Lq, Lk, D = (int(c[n]) for n in ("B", "Hq", "Hkv", "Lq", "Lk", "D"))
        kind, param = c["kind"], int(c["param"])
        # A cold row (decode): attn-bench evicts the caches before each call
        # by reading a buffer twice the last-level cache; so do these.
        evict = None
        if int(c.get("evict_bytes", 0) or 0) > 0:
            flush = torch.ones(int(c["evict_bytes"]) // 4, dtype=torch.float32)

            def evict():
                flush.sum()
        dtype = torch.bfloat16 if c["dtype"] == "bf16" else torch.float32
        gen = torch.Generator().manual_seed(1)
        q = torch.rand(B, Hq, Lq, D, generator=gen).mul_(2).sub_(1).to(dtype)
        k = torch.rand(B, Hkv, Lk, D, generator=gen).mul_(2).sub_(1).to(dtype)
        v = torch.rand(B, Hkv, Lk, D, generator=gen).mul_(2).sub_(1).to(dtype)
        gqa = Hq != Hkv
        # Query position i sits at i + Lk - Lq (decode rows see every key),
        # as in attn's specs where Lq == Lk or there is no mask.
        doc = (torch.arange(Lk) * param // Lk) if kind == "document" else None
        slopes = torch.linspace(0.01, 0.5, Hq)

        def allowed(i, j):
            if kind in ("causal", "alibi_causal"):
                return j <= i
            if kind == "window":
                return (j <= i) & (i - j < param)
            if kind == "document":
                return (j <= i) & (doc[i] == doc[j])
            return None

        notes = []
        # SDPA: is_causal for causal; a materialized mask (boolean, or the
        # ALiBi bias as floats) for the rest; softcap has no SDPA form.
        sdpa = None
        if kind != "softcap":
            i = torch.arange(Lq).view(-1, 1)
            j = torch.arange(Lk).view(1, -1)
            mask = None
            if kind in ("window", "document"):
                mask = allowed(i, j)
            elif kind == "alibi_causal":
                bias = -slopes.view(-1, 1, 1) * (i - j).to(torch.float32)
                mask = bias.masked_fill(~(j <= i), -math.inf).to(dtype)

            def sdpa():
                with torch.no_grad():
                    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=kind == "causal",
                                                          enable_gqa=gqa)
        else:
            notes.append("SDPA: no soft-capping")

        flex_fn = None
        if flex is None:
            notes.append(flex_error)
        else:
            score_mod = None
            if kind == "alibi_causal":
                def score_mod(score, b, h, qi, kj):
                    return score - slopes[h] * (qi - kj)
            elif kind == "softcap":
                def score_mod(score, b, h, qi, kj):
                    return param * torch.tanh(score / param)
            block_mask = None
            if allowed(0, 0) is not None:
                def mask_mod(b, h, qi, kj):
                    return allowed(qi, kj)
                block_mask = create_block_mask(mask_mod, None, None, Lq, Lk, device="cpu")

            def flex_fn():
                with torch.no_grad():
                    return flex(q, k, v, score_mod=score_mod, block_mask=block_mask, enable_gqa=gqa)

        for label, fn, times in (("SDPA", sdpa, sdpa_times[idx]), ("flex", flex_fn, flex_times[idx])):
            if fn is None:
                continue
            try:
                this_round = timed(fn, evict)
                times.extend(this_round)
            except Exception as e:
                # A baseline that fails in any round is not reported.
                notes.append("%s failed: %s" % (label, str(e).splitlines()[0][:120] if str(e) else type(e).__name__))
                times.append(math.nan)
        case_notes[idx] += [note for note in notes if note not in case_notes[idx]]
        print("  %-18s %d thr  SDPA %9.2f ms  flex %9.2f ms  %s"
              % (c["name"], threads, min_median(sdpa_times[idx])[0], min_median(flex_times[idx])[0],
                 "; ".join(notes)), flush=True)
    for n, c in enumerate(cases):
        s_min, s_med = (0.0, 0.0) if any(map(math.isnan, sdpa_times[n])) else min_median(sdpa_times[n])
        f_min, f_med = (0.0, 0.0) if any(map(math.isnan, flex_times[n])) else min_median(flex_times[n])
        writer.writerow([c["id"], c["name"], c["threads"], s_min, s_med, f_min, f_med, "; ".join(case_notes[n])])
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
