//===- KeySplits.cpp - Splitting a row's keys across work items -----------===//
#include "attn/KeySplits.h"

#include "attn/Half.h"
#include "attn/ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace attn {
namespace {

/// Keys of one row a part has at least: below that a part's fixed costs
/// (its partial result, its share of the merge, a worker's start) are no
/// longer small against its work.
constexpr int64_t kMinKeysPerSplit = 256;
/// An item's fixed cost in keys of one row, and a part's extra cost for its
/// partial result and the merge: small against kMinKeysPerSplit, but they
/// make the model prefer fewer parts where more shorten no wave.
constexpr double kItemCostKeys = 8, kPartCostKeys = 8;

} // namespace

double keySplitCost(const KernelSignature &sig, const BoundDims &d, bool tiled, int64_t splits, unsigned threads,
                    int64_t qRows) {
  int64_t items = numWorkItems(sig, d, tiled, splits, qRows > 0 ? qRows : callQBlockRows(sig, d, threads));
  int64_t waves = (items + threads - 1) / std::max(1u, threads);
  double keys = static_cast<double>(std::min(d.kvLen, keysPerSplit(sig, tiled, d.kvLen, splits)));
  return static_cast<double>(waves) * (keys + kItemCostKeys + (splits > 1 ? kPartCostKeys : 0));
}

int64_t chooseKeySplits(const KernelSignature &sig, const BoundDims &d, bool tiled, unsigned threads,
                        int64_t qRows) {
  if (!splitsKeys(sig) || threads <= 1 || d.kvLen <= 0)
    return 1;
  int64_t most = std::min(kMaxKeySplits, std::max<int64_t>(1, d.kvLen / kMinKeysPerSplit));
  int64_t best = 1;
  double bestCost = keySplitCost(sig, d, tiled, 1, threads, qRows);
  for (int64_t s = 2; s <= most; ++s)
    if (double cost = keySplitCost(sig, d, tiled, s, threads, qRows); cost < bestCost) {
      best = s;
      bestCost = cost;
    }
  return best;
}

void mergeKeySplits(const BoundDims &d, int64_t splits, const float *partials, const MergeTarget &to,
                    unsigned threads) {
  const float inf = std::numeric_limits<float>::infinity();
  int64_t rows = d.batch * d.qHeads * d.qLen, stride = partialFloats(d.vDim);
  ThreadPool::global().parallelFor(rows, 16, threads, [&](int64_t begin, int64_t end, unsigned) {
    std::vector<float> out(static_cast<size_t>(d.vDim));
    std::vector<float> weight(static_cast<size_t>(splits));
    for (int64_t r = begin; r < end; ++r) {
      const float *part = partials + r * splits * stride;
      // The max of the parts' m; NaN wins, as in the kernel's running max.
      float m = -inf;
      for (int64_t p = 0; p < splits; ++p) {
        float mp = part[p * stride];
        m = std::isnan(mp) || std::isnan(m) ? std::numeric_limits<float>::quiet_NaN() : std::max(m, mp);
      }
      bool empty = m == -inf; // no key of any part took part
      float l = 0;
      for (int64_t p = 0; p < splits; ++p) {
        float mp = part[p * stride];
        // A part no key took part in has m = -inf, l = 0 and acc = 0.
        weight[p] = empty || mp == -inf ? 0.0f : std::exp(mp - m);
        l += part[p * stride + 1] * weight[p];
      }
      std::fill(out.begin(), out.end(), 0.0f);
      if (!empty)
        for (int64_t p = 0; p < splits; ++p) {
          const float *acc = part + p * stride + 2;
          for (int64_t c = 0; c < d.vDim; ++c)
            out[c] += acc[c] * weight[p];
        }
      int64_t i = r % d.qLen, h = r / d.qLen % d.qHeads, b = r / d.qLen / d.qHeads;
      int64_t at = b * to.oStrides[0] + h * to.oStrides[1] + i * to.oStrides[2];
      float inverse = empty ? 0.0f : 1.0f / l;
      for (int64_t c = 0; c < d.vDim; ++c) {
        float x = out[c] * inverse;
        int64_t o = at + c * to.oStrides[3];
        switch (to.oType) {
        case ATTN_BF16: static_cast<uint16_t *>(to.o)[o] = floatToBF16(x); break;
        case ATTN_F16: static_cast<uint16_t *>(to.o)[o] = floatToF16(x); break;
        default: static_cast<float *>(to.o)[o] = x; break;
        }
      }
      if (to.lse)
        to.lse[b * to.lseStrides[0] + h * to.lseStrides[1] + i * to.lseStrides[2]] =
            empty ? -inf : m + std::log(l);
    }
  });
}

} // namespace attn
