//===- ASTToAttn.h - Build the attn dialect from a checked spec -*- C++ -*-===//
#ifndef ATTN_FRONTEND_ASTTOATTN_H
#define ATTN_FRONTEND_ASTTOATTN_H

#include "compiler/Frontend/AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace attn {

/// One `attn.attention` op per kernel of `module` (already checked by Sema),
/// with every region materialized: an absent scale becomes 1/sqrt(head dim),
/// an absent score yields `s`, an absent mask yields `true`.
mlir::OwningOpRef<mlir::ModuleOp> buildAttnModule(mlir::MLIRContext &context,
                                                  const SpecModule &module,
                                                  const std::string &fileName);

/// The same for one kernel.
mlir::OwningOpRef<mlir::ModuleOp> buildAttnModule(mlir::MLIRContext &context,
                                                  const AttentionSpec &spec,
                                                  const std::string &fileName);

/// Registers the dialects the attn IR uses (attn, arith, math, func).
void registerAttnDialects(mlir::MLIRContext &context);

} // namespace attn

#endif // ATTN_FRONTEND_ASTTOATTN_H
