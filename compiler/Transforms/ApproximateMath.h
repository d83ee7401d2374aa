//===- ApproximateMath.h - Polynomial exp, log, tanh ------------*- C++ -*-===//
#ifndef ATTN_TRANSFORMS_APPROXIMATEMATH_H
#define ATTN_TRANSFORMS_APPROXIMATEMATH_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace attn {

/// `attn-approximate-math`: rewrites f32 math.exp, math.log, math.tanh (and
/// the other functions MLIR approximates) into polynomials made of
/// vectorizable arith ops, so the hot loops make no libm call per element.
std::unique_ptr<mlir::Pass> createApproximateMathPass();
void registerApproximateMathPass();

} // namespace attn

#endif // ATTN_TRANSFORMS_APPROXIMATEMATH_H
