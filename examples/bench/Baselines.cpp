//===- Baselines.cpp - What attn is compared with in the benchmark ---------===//
#include "Baselines.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

namespace attn::bench {

static double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double naiveUnfusedSeconds(int64_t lq, int64_t lk, int64_t d, int64_t dv) {
  std::vector<float> q(lq * d, 0.01f), k(lk * d, 0.02f), v(lk * dv, 0.03f), s(lq * lk), o(lq * dv);
  float scale = 1.0f / std::sqrt(static_cast<float>(d));
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < lq; ++i)
    for (int64_t j = 0; j < lk; ++j) {
      float dot = 0;
      for (int64_t c = 0; c < d; ++c)
        dot += q[i * d + c] * k[j * d + c];
      s[i * lk + j] = dot * scale;
    }
  for (int64_t i = 0; i < lq; ++i) {
    float m = -INFINITY, sum = 0;
    for (int64_t j = 0; j < lk; ++j)
      m = std::max(m, s[i * lk + j]);
    for (int64_t j = 0; j < lk; ++j)
      sum += s[i * lk + j] = std::exp(s[i * lk + j] - m);
    for (int64_t j = 0; j < lk; ++j)
      s[i * lk + j] /= sum;
  }
  for (int64_t i = 0; i < lq; ++i) {
    float *oi = &o[i * dv];
    std::fill(oi, oi + dv, 0.0f);
    for (int64_t j = 0; j < lk; ++j) {
      float p = s[i * lk + j];
      for (int64_t c = 0; c < dv; ++c)
        oi[c] += p * v[j * dv + c];
    }
  }
  double t = seconds(t0);
  volatile float sink = o[0];
  (void)sink;
  return t;
}

double memoryBandwidth(unsigned threads) {
  // Each thread sums its own 64 MiB as four streams (quarters of the
  // buffer) with software prefetch a few KB ahead: one stream with the
  // hardware prefetcher alone kept too few lines in flight, and attn's
  // decode kernel (two streams, prefetching) read faster than this probe.
  const size_t perThread = size_t(1) << 26; // bytes
  const size_t floats = perThread / 4, quarter = floats / 4;
  std::vector<std::vector<float>> bufs(threads, std::vector<float>(floats, 1.0f));
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<double> sums(threads);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        float acc[4][16] = {};
        const float *p = bufs[t].data();
        for (size_t n = 0; n < quarter; n += 16)
          for (int s = 0; s < 4; ++s) {
            const float *at = p + s * quarter + n;
            __builtin_prefetch(at + 1024);
            for (int l = 0; l < 16; ++l)
              acc[s][l] += at[l];
          }
        double total = 0;
        for (auto &a : acc)
          for (float x : a)
            total += x;
        sums[t] = total;
      });
    for (auto &th : pool)
      th.join();
    best = std::max(best, threads * double(perThread) / seconds(t0));
  }
  return best;
}

} // namespace attn::bench
