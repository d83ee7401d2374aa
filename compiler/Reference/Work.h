//===- Work.h - The floating-point work a benchmark counts -------*- C++ -*-===//
//
// One rule for `attnc bench` and `make bench`: Q.Kt over the unmasked
// (row, key) pairs, then the weights times v over every unmasked key for
// softmax and sigmoid, K keys per row for topk(K), and none for argmax (a
// copy of one v row).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_REFERENCE_WORK_H
#define ATTN_REFERENCE_WORK_H

#include "compiler/Frontend/AST.h"
#include "compiler/Reference/Arguments.h"

#include <algorithm>

namespace attn {

struct Work {
  double gflop = 0;      // counting unmasked work only
  double denseGflop = 0; // every (row, key) pair
};

/// The work of one call of `spec` on `args` whose mask keeps `density` of
/// the (row, key) pairs (maskDensity).
inline Work attentionWork(const AttentionSpec &spec, const ArgumentMap &args, double density) {
  const auto &q = args.at("q").shape, &k = args.at("k").shape, &v = args.at("v").shape;
  double rows = double(q[0]) * q[1] * q[2];
  double qk = 2.0 * rows * k[2] * q[3] / 1e9, pvAll = 2.0 * rows * k[2] * v[3] / 1e9;
  switch (spec.weights) {
  case WeightsKind::Argmax: return {qk * density, qk};
  case WeightsKind::TopK: {
    double pv = 2.0 * rows * std::min<int64_t>(spec.topk, k[2]) * v[3] / 1e9;
    return {qk * density + pv, qk + pv};
  }
  case WeightsKind::Softmax:
  case WeightsKind::Sigmoid: break;
  }
  return {(qk + pvAll) * density, qk + pvAll};
}

} // namespace attn

#endif // ATTN_REFERENCE_WORK_H
