//===- GroupedSoftmaxRows.h - Softmax rows of heads sharing a kv head -*- C++ -*-===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_GROUPEDSOFTMAXROWS_H
#define ATTN_CONVERSION_ATTNTOCPU_GROUPEDSOFTMAXROWS_H

#include "compiler/Conversion/AttnToCPU/KernelEmitter.h"

namespace attn {

/// Query position i of the kRowHeads query heads h0, h0 + 1, ... (which
/// share kv head hk), on the row path: few rows per kv head, as in decoding,
/// where the tiled path's transposed copy of k would cost as much as the
/// attention. Each k row is loaded once for all the heads' dot products
/// (reduced at the end), and each v row once for all their accumulators;
/// the online softmax, the mask and the score run per head, with the rules
/// of the reference (a NaN in a masked key's v never reaches o). Only the
/// item's keys: all of them, or its part where the call splits them.
void emitGroupedSoftmaxRow(KernelEmitter &k, mlir::Value b, mlir::Value h0, mlir::Value hk, mlir::Value i,
                           const RowKeys &keys);

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_GROUPEDSOFTMAXROWS_H
