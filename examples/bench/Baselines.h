//===- Baselines.h - What attn is compared with in the benchmark -*- C++ -*-===//
#ifndef ATTN_EXAMPLES_BENCH_BASELINES_H
#define ATTN_EXAMPLES_BENCH_BASELINES_H

#include <cstdint>

namespace attn::bench {

/// Seconds for the naive unfused attention of one (batch, head): S = Q Kt
/// materialized (Lq x Lk floats), softmax over its rows, O = P V; plain
/// loops in float, compiled -O3 -march=native. The benchmark multiplies by
/// B x Hq (the heads are independent).
double naiveUnfusedSeconds(int64_t lq, int64_t lk, int64_t d, int64_t dv);

/// Seconds for unfused attention with oneDNN (matmul, softmax, matmul) over
/// `heads` independent heads, on `threads` threads; negative when the build
/// has no oneDNN.
double oneDnnUnfusedSeconds(int64_t heads, int64_t lq, int64_t lk, int64_t d, int64_t dv, bool causal,
                            unsigned threads);

/// Bytes of the last-level cache: sysconf, else sysfs (cpu0's highest cache
/// index), else 32 MiB.
int64_t lastLevelCacheBytes();

/// Bytes a buffer spans so that reading it comes from memory, not from a
/// cache: twice the last-level cache, at least 256 MiB. (A VM may report a
/// large shared L3 -- 480 MB here -- that holds a 128 MiB buffer across
/// repetitions: a probe of that size measured the L3, 29-51 GB/s from run to
/// run, against 31-33 GB/s from memory.)
int64_t beyondCachesBytes();

/// Bytes per second that `threads` threads read from a buffer of
/// beyondCachesBytes() (best of five rounds).
double memoryBandwidth(unsigned threads);

/// Reads a buffer of beyondCachesBytes() on `threads` threads, so that what
/// a kernel reads next comes from memory (the decode rows, whose K and V
/// would otherwise partly stay in a large L3 between repetitions). The
/// buffer is allocated once, on the first call.
void evictCaches(unsigned threads);

} // namespace attn::bench

#endif // ATTN_EXAMPLES_BENCH_BASELINES_H
