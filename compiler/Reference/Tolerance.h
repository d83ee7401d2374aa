//===- Tolerance.h - How close a kernel must come to the reference -*- C++ -*-===//
//
// Shared by the tests, attn-difftest and `attnc tune` (which checks every
// candidate schedule before timing it).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_REFERENCE_TOLERANCE_H
#define ATTN_REFERENCE_TOLERANCE_H

#include "compiler/Frontend/AST.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace attn {

/// DESIGN.md's tolerance: 1e-4 x max(1, max |ref|) for f32, 2e-2 when q, k
/// or v is bf16/f16.
inline double tolerance(const AttentionSpec &spec, const std::vector<double> &ref) {
  double peak = 1;
  for (double x : ref)
    if (std::isfinite(x))
      peak = std::max(peak, std::fabs(x));
  bool half = spec.q().type != ElemType::F32 || spec.k().type != ElemType::F32 ||
              spec.v().type != ElemType::F32;
  return (half ? 2e-2 : 1e-4) * peak;
}

/// The first element where `got` and `want` (of equal size) differ by more
/// than `tol`, or -1. NaN matches NaN and an infinity matches itself: the
/// reference's rules for NaN rows and empty rows' lse.
inline int64_t firstMismatch(const std::vector<double> &got, const std::vector<double> &want, double tol) {
  for (size_t n = 0; n < got.size(); ++n) {
    bool bothNaN = std::isnan(got[n]) && std::isnan(want[n]);
    bool sameInf = std::isinf(got[n]) && got[n] == want[n];
    if (!bothNaN && !sameInf && !(std::fabs(got[n] - want[n]) <= tol))
      return static_cast<int64_t>(n);
  }
  return -1;
}

} // namespace attn

#endif // ATTN_REFERENCE_TOLERANCE_H
