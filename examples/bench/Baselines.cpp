//===- Baselines.cpp - What attn is compared with in the benchmark ---------===//
#include "Baselines.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

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

int64_t lastLevelCacheBytes() {
#ifdef _SC_LEVEL3_CACHE_SIZE
  if (long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE); l3 > 0)
    return l3;
#endif
  int64_t best = 0;
  for (int index = 0; index < 8; ++index) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
    int64_t size = 0;
    std::string unit;
    if (in >> size) {
      in >> unit;
      best = std::max(best, size * (unit == "M" ? 1 << 20 : unit == "K" ? 1 << 10 : 1));
    }
  }
  return best > 0 ? best : int64_t(32) << 20;
}

int64_t beyondCachesBytes() { return std::max<int64_t>(2 * lastLevelCacheBytes(), int64_t(256) << 20); }

/// Sums `floats` floats from `p` as four streams (quarters) with software
/// prefetch a few KB ahead: one stream with the hardware prefetcher alone
/// kept too few lines in flight, and attn's decode kernel (two streams,
/// prefetching) read faster than such a probe.
static double sumStreams(const float *p, size_t floats) {
  const size_t quarter = floats / 4;
  float acc[4][16] = {};
  for (size_t n = 0; n + 16 <= quarter; n += 16)
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
  return total;
}

/// Each of `threads` threads sums its share of `buf`; the seconds it took.
static double sumOnThreads(const std::vector<float> &buf, unsigned threads) {
  size_t share = buf.size() / threads;
  std::vector<double> sums(threads);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { sums[t] = sumStreams(buf.data() + t * share, share); });
  for (auto &th : pool)
    th.join();
  double s = seconds(t0);
  volatile double sink = sums[0];
  (void)sink;
  return s;
}

double memoryBandwidth(unsigned threads) {
  threads = std::max(1u, threads);
  std::vector<float> buf(static_cast<size_t>(beyondCachesBytes()) / 4, 1.0f);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep)
    best = std::max(best, (buf.size() / threads * threads * 4.0) / sumOnThreads(buf, threads));
  return best;
}

void evictCaches(unsigned threads) {
  static const std::vector<float> buf(static_cast<size_t>(beyondCachesBytes()) / 4, 1.0f);
  sumOnThreads(buf, std::max(1u, threads));
}

} // namespace attn::bench
