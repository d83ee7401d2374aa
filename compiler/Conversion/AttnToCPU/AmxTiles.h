//===- AmxTiles.h - AMX tile loads, stores and bf16 products ----*- C++ -*-===//
//
// The tiled path's AMX code is built from MLIR's AMX dialect, at the level
// of its LLVM intrinsics (amx.tileloadd64, amx.tdpbf16ps, ...), because the
// kernel addresses memory through LLVM pointers, not memrefs. Shapes are
// constants: LLVM's X86 tile configuration passes then write the tile
// configuration (ldtilecfg) and release the tiles (tilerelease) themselves.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_AMXTILES_H
#define ATTN_CONVERSION_ATTNTOCPU_AMXTILES_H

#include "mlir/IR/Builders.h"

namespace attn {

/// The tile registers (tmm0-tmm7): values of tile type live at once beyond
/// these are spilled to memory.
constexpr int kAmxTileRegisters = 8;

/// A tile of `rows` rows of `rowBytes` bytes (at most 16 and 64).
struct TileShape {
  int64_t rows, rowBytes;
};

class AmxTiles {
public:
  AmxTiles(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::Value zero(TileShape s);
  /// The tile whose row r starts at `ptr` + r * `strideBytes`.
  mlir::Value load(TileShape s, mlir::Value ptr, mlir::Value strideBytes);
  void store(TileShape s, mlir::Value ptr, mlir::Value strideBytes, mlir::Value tile);
  /// acc (m x n f32) + a (m x k bf16 pairs) * b (k/4 rows of n/4 bf16
  /// pairs): tdpbf16ps, with `kBytes` the bytes of a's rows.
  mlir::Value dotBf16(int64_t m, int64_t nBytes, int64_t kBytes, mlir::Value acc, mlir::Value a, mlir::Value b);

private:
  mlir::Value i16(int64_t v);
  mlir::Type tileType(TileShape s);

  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_AMXTILES_H
