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

/// Bytes per second that `threads` threads read from a buffer far larger than
/// the caches.
double memoryBandwidth(unsigned threads);

} // namespace attn::bench

#endif // ATTN_EXAMPLES_BENCH_BASELINES_H
