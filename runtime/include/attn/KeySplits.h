//===- KeySplits.h - Splitting a row's keys across work items ---*- C++ -*-===//
//
// Decoding has a few query rows per kv head against a long cache (and so
// has verifying a few draft tokens, or a chunk of a prompt): a work item per
// row or q block leaves cores idle once there are fewer items than cores.
// Such a call splits each row's keys into parts, one work item each (see
// splitsKeys in Signature.h), and merges the parts' partial softmax results
// afterwards. Pure C++.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_KEYSPLITS_H
#define ATTN_RUNTIME_KEYSPLITS_H

#include "attn/Signature.h"

#include <cstdint>

namespace attn {

/// The most parts a row's keys are split into.
constexpr int64_t kMaxKeySplits = 64;

/// The cost model: the number of parts that minimizes the time of a call on
/// `threads` workers, on the row path or the tiled path, where an item
/// costs its keys plus a fixed overhead (its partial result and the merge)
/// and the items run in waves of `threads`. 1 for weights other than
/// softmax, on one thread, or when no split shortens the slowest wave.
/// `qRows`: the tiled path's q block rows in the call (0: callQBlockRows).
int64_t chooseKeySplits(const KernelSignature &sig, const BoundDims &d, bool tiled, unsigned threads,
                        int64_t qRows = 0);

/// The estimated time of a call split `splits` ways, in keys of one item
/// (what chooseKeySplits minimizes; exposed for its tests).
double keySplitCost(const KernelSignature &sig, const BoundDims &d, bool tiled, int64_t splits, unsigned threads,
                    int64_t qRows = 0);

/// Where the merge writes: o [B, Hq, Lq, Dv] in `oType` with its strides,
/// and lse [B, Hq, Lq] (f32) when `lse` is not null.
struct MergeTarget {
  void *o = nullptr;
  attn_dtype oType = ATTN_F32;
  const int64_t *oStrides = nullptr; // 4
  float *lse = nullptr;
  const int64_t *lseStrides = nullptr; // 3
};

/// Merges each row's `splits` partial results (layout: splitsKeys) into o
/// and lse with the rules of one unsplit row: max M of the parts' m,
/// l = sum of l_p exp(m_p - M), o = sum of acc_p exp(m_p - M) / l and
/// lse = M + log l; a row no key took part in is 0 with lse -inf, and a NaN
/// in any part makes the row NaN. Runs on the thread pool.
void mergeKeySplits(const BoundDims &d, int64_t splits, const float *partials, const MergeTarget &to,
                    unsigned threads);

} // namespace attn

#endif // ATTN_RUNTIME_KEYSPLITS_H
