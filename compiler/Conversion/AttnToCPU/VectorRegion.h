//===- VectorRegion.h - A score or mask region over a vector of keys -*- C++ -*-===//
//
// Evaluates an attn region for one query row and `width` consecutive keys at
// once: values that depend on the key position j (or on the score s) become
// vectors, values that do not (b, h, i, dimensions, scalar inputs and reads
// indexed by them) stay scalars. A read at an index depending on j
// (doc[b, j]) is a masked gather of the active lanes, each lane's indices
// checked as a scalar read's are.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_VECTORREGION_H
#define ATTN_CONVERSION_ATTNTOCPU_VECTORREGION_H

#include "compiler/Conversion/AttnToCPU/KernelEmitter.h"

namespace attn {

/// Whether `region` can be evaluated by vectorizeRegion; `varying` lists the
/// block arguments that vary across the vector (j, and s for the score).
bool isVectorizable(mlir::Region &region, llvm::ArrayRef<unsigned> varying);

/// Evaluates `region`: args[n] is a scalar for a uniform argument and a
/// vector<width x T> for a varying one. Reads are errors only where some
/// lane of `active` (vector<width x i1>) is set. Returns a vector.
mlir::Value vectorizeRegion(KernelEmitter &k, mlir::Region &region, llvm::ArrayRef<mlir::Value> args,
                            mlir::Value active);

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_VECTORREGION_H
