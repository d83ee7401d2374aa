//===- TileClasses.h - Is a mask all true, all false or mixed on a tile? ===//
//
// The mask region evaluated in interval arithmetic over a tile of positions
// (h in [hLo, hHi], i in [iLo, iHi], j in [jLo, jHi], b exact), emitted as IR so that a
// tile's class costs a few scalar ops at run time. Integer values become
// [lo, hi] intervals, booleans become (can be true, can be false); reads of
// data and float values are unknown, which makes a tile `mixed`, never wrong.
// Causal, windows, chunks, bottom-right offsets, global tokens and key
// padding all classify exactly enough to skip empty tiles and drop the mask
// on full ones.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_TILECLASSES_H
#define ATTN_CONVERSION_ATTNTOCPU_TILECLASSES_H

#include "compiler/Conversion/AttnToCPU/KernelEmitter.h"

namespace attn {

struct TileClass {
  mlir::Value canBeTrue;  // i1: some position of the tile may be unmasked
  mlir::Value canBeFalse; // i1: some position may be masked
};

TileClass classifyTile(KernelEmitter &k, mlir::Value b, mlir::Value hLo, mlir::Value hHi, mlir::Value iLo,
                       mlir::Value iHi, mlir::Value jLo, mlir::Value jHi);

/// Emits `body(maskNeeded)` for a tile of class `cls`: not at all when no
/// position can be unmasked (the tile's results are then `iters`), with
/// maskNeeded = false when none can be masked, true otherwise. Returns the
/// tile's results.
llvm::SmallVector<mlir::Value> emitIfLive(KernelEmitter &k, const TileClass &cls, mlir::ValueRange iters,
                                          const std::function<llvm::SmallVector<mlir::Value>(bool)> &body);

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_TILECLASSES_H
