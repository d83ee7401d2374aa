//===- TiledSoftmax.h - Softmax over tiles of query rows --------*- C++ -*-===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_TILEDSOFTMAX_H
#define ATTN_CONVERSION_ATTNTOCPU_TILEDSOFTMAX_H

#include "compiler/Conversion/AttnToCPU/KernelEmitter.h"

namespace attn {

/// The fast softmax path: kTileRows query rows at a time share every K and V
/// load. Per block of `vectorWidth` keys:
///   S = Q Kt       broadcast q[r][d] x one vector of keys of the packed,
///                  transposed k (register-blocked: kTileRows accumulators)
///   mask, score    per element, only where the spec has them
///   online softmax vectorized over the block: block max, rescale, p = exp
///   acc += P V     rows x 2 vectors of v dims held in registers across the
///                  block's keys; a block with a masked key takes a careful
///                  path that skips it, so NaN in a masked v never reaches o.
/// Rows past the end of the sequence are computed on the last row and never
/// stored.
/// Rows [f0, f1) of kv head hk's group: row f is query head
/// hk * (Hq / Hkv) + f / Lq at position f % Lq, so the query heads that
/// share a kv head share its K and V loads (grouped-query and decode). Only
/// the item's keys: all, or its part where the call splits them.
void emitTiledRows(KernelEmitter &k, mlir::Value b, mlir::Value hk, mlir::Value f0, mlir::Value f1,
                   const RowKeys &keys);

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_TILEDSOFTMAX_H
