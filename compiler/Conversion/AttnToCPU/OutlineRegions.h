//===- OutlineRegions.h - Parts of a kernel as functions of their own -*- C++ -*-===//
//
// Code generation of one large function (LLVM's instruction selection and
// register allocation) is most of a cold compile, and it runs on one
// thread. The tiled path emits its tiles' setup, its per-block passes (Q Kt
// with the softmax, and P V) and its tiles' finish as marked regions, the
// row path a row's block of keys (one row, or a group's rows, with and
// without mask code); outlineMarkedRegions moves each into a private
// function the kernel calls there, so the JIT can optimize and generate
// their code on other threads (SplitCodeGen.h, optimizeAndEmitObjects). A
// call per K/V block of a whole q block's tiles, or per block of a row's
// keys, costs nothing measurable.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_OUTLINEREGIONS_H
#define ATTN_CONVERSION_ATTNTOCPU_OUTLINEREGIONS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <functional>

namespace attn {

/// Emits body() at the builder's insertion point inside a region (an
/// scf.execute_region) marked to become a function `role`; what body
/// returns are the region's results (the function's), returned here.
llvm::SmallVector<mlir::Value> emitOutlinableWithResults(mlir::OpBuilder &b, mlir::Location loc,
                                                         llvm::StringRef role,
                                                         const std::function<llvm::SmallVector<mlir::Value>()> &body);
/// The same for a body without results.
void emitOutlinable(mlir::OpBuilder &b, mlir::Location loc, llvm::StringRef role, const std::function<void()> &body);

/// Moves each marked region of `fn` into a private function, named `fn`'s
/// name, "_" and the region's role (and a number where roles repeat), and
/// calls it there. Constants the region uses are cloned into it, so sizes
/// the spec fixes stay constants in the new function; every other value it
/// uses from above becomes an argument.
mlir::LogicalResult outlineMarkedRegions(mlir::func::FuncOp fn);

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_OUTLINEREGIONS_H
