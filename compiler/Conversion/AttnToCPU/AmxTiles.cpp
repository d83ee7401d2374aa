//===- AmxTiles.cpp - AMX tile loads, stores and bf16 products -------------===//
#include "compiler/Conversion/AttnToCPU/AmxTiles.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;

namespace attn {

Value AmxTiles::i16(int64_t v) { return b.create<LLVM::ConstantOp>(loc, b.getI16Type(), b.getI16IntegerAttr(v)); }

// The intrinsics' x86_amx values need some LLVM-compatible type on the MLIR
// side; the AMX dialect's own lowering uses rows of vectors.
Type AmxTiles::tileType(TileShape s) {
  return LLVM::LLVMArrayType::get(VectorType::get({s.rowBytes / 4}, b.getF32Type()), s.rows);
}

Value AmxTiles::zero(TileShape s) {
  return b.create<amx::x86_amx_tilezero>(loc, tileType(s), i16(s.rows), i16(s.rowBytes));
}

Value AmxTiles::load(TileShape s, Value ptr, Value strideBytes) {
  return b.create<amx::x86_amx_tileloadd64>(loc, tileType(s), i16(s.rows), i16(s.rowBytes), ptr, strideBytes);
}

void AmxTiles::store(TileShape s, Value ptr, Value strideBytes, Value tile) {
  b.create<amx::x86_amx_tilestored64>(loc, i16(s.rows), i16(s.rowBytes), ptr, strideBytes, tile);
}

Value AmxTiles::dotBf16(int64_t m, int64_t nBytes, int64_t kBytes, Value acc, Value a, Value bTile) {
  return b.create<amx::x86_amx_tdpbf16ps>(loc, acc.getType(), i16(m), i16(nBytes), i16(kBytes), acc, a, bTile);
}

} // namespace attn
