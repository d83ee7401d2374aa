//===- TopK.h - A running top-K per query row -------------------*- C++ -*-===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_TOPK_H
#define ATTN_CONVERSION_ATTNTOCPU_TOPK_H

#include "compiler/Conversion/AttnToCPU/KernelEmitter.h"

namespace attn {

/// One row's K best scores (f32, sorted high to low, ties in key order) and
/// their key indices (i64), in scratch.
struct TopKBuffers {
  mlir::Value scores, index;
};

/// Byte offsets in scratch of the K best scores and indices of the first
/// row (ScratchLayout::topScores and topIndex, which depend on Dv); row r's
/// are r x topKSlots(K) elements further.
struct TopKOffsets {
  mlir::Value scores, index;
};
TopKOffsets topKOffsets(KernelEmitter &k);

/// Fills the scores with -inf.
void emitTopKInit(KernelEmitter &k, const TopKBuffers &top);

/// Offers key j with score s to a row holding `count` keys; returns the new
/// count. Keys scored -inf or NaN never enter.
mlir::Value emitTopKOffer(KernelEmitter &k, const TopKBuffers &top, mlir::Value count, mlir::Value s,
                          mlir::Value j);

/// Offers one block's candidate keys to a row: bit jj of `candidates` (i64)
/// is key j0 + jj, scored scores[scoresAt + jj] (f32); they are offered in
/// key order. Returns the row's new (count, sawNaN). Where K fits
/// kTopKRegisterVectors vectors the row's slots stay in registers across
/// the block's candidates (loaded and stored once); else each key goes
/// through emitTopKOffer.
std::pair<mlir::Value, mlir::Value> emitTopKOfferKeys(KernelEmitter &k, const TopKBuffers &top, mlir::Value count,
                                                      mlir::Value sawNaN, mlir::Value candidates,
                                                      mlir::Value scores, mlir::Value scoresAt, mlir::Value j0);

/// Softmax over the survivors: o[oOffset..] (through the accumulator row
/// `acc`) and lse; zeros and -inf for an empty row; NaN when `sawNaN`.
void emitTopKFinish(KernelEmitter &k, const TopKBuffers &top, mlir::Value count, mlir::Value sawNaN,
                    mlir::Value acc, mlir::Value vBase, mlir::Value oOffset, mlir::Value b, mlir::Value h,
                    mlir::Value i);

/// The key index in slot 0: the best key of a row that holds any.
mlir::Value loadBest(KernelEmitter &k, const TopKBuffers &top);

/// o[oOffset..] = v at key `best` (from vBase), zeros when `none` (i1),
/// NaN when `sawNaN`: argmax's output.
void emitArgmaxStore(KernelEmitter &k, mlir::Value best, mlir::Value none, mlir::Value sawNaN, mlir::Value vBase,
                     mlir::Value oOffset);

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_TOPK_H
