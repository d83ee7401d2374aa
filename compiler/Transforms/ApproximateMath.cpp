//===- ApproximateMath.cpp - Polynomial exp, log, tanh ---------------------===//
#include "compiler/Transforms/ApproximateMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace attn {
namespace {

struct ApproximateMathPass : PassWrapper<ApproximateMathPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ApproximateMathPass)
  StringRef getArgument() const override { return "attn-approximate-math"; }
  StringRef getDescription() const override {
    return "Replace f32 exp/log/tanh/... by vectorizable polynomial approximations";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, math::MathDialect, vector::VectorDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    // Only the math ops (and what their rewrites create) are visited: a
    // greedy rewrite of the whole kernel also re-folded every arith op, 8% of
    // the lowering's instructions, for nothing canonicalization had left.
    SmallVector<Operation *> mathOps;
    getOperation()->walk([&](Operation *op) {
      if (isa<math::MathDialect>(op->getDialect()))
        mathOps.push_back(op);
    });
    llvm::DenseSet<Operation *> userDivisions;
    getOperation()->walk([&](arith::DivFOp op) { userDivisions.insert(op); });
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingAndNewOps;
    if (failed(applyOpPatternsAndFold(mathOps, std::move(patterns), config)))
      signalPassFailure();
    // The divisions the approximations made (tanh's p(x) / q(x), q > 0 and
    // finite on the clamped x) may take a reciprocal estimate: arcp and ninf
    // let LLVM emit vrcp14ps and a Newton step for vector ones (the kernel
    // functions carry "reciprocal-estimates", CodeGen.cpp) instead of
    // vdivps, whose divider a soft-capped score's tanh waited on.
    getOperation()->walk([&](arith::DivFOp op) {
      if (userDivisions.contains(op))
        return;
      auto flags = op.getFastmath() | arith::FastMathFlags::arcp | arith::FastMathFlags::ninf;
      op.setFastmathAttr(arith::FastMathFlagsAttr::get(op.getContext(), flags));
    });
  }
};

} // namespace

std::unique_ptr<Pass> createApproximateMathPass() { return std::make_unique<ApproximateMathPass>(); }
void registerApproximateMathPass() { PassRegistration<ApproximateMathPass>(); }

} // namespace attn
