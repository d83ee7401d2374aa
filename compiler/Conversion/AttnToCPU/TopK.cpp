//===- TopK.cpp - A running top-K per query row ----------------------------===//
#include "compiler/Conversion/AttnToCPU/TopK.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;

namespace attn {

static const float kInf = std::numeric_limits<float>::infinity();

static Value loadIndex(KernelEmitter &k, Value base, Value at) {
  return k.b.create<LLVM::LoadOp>(k.loc, k.i64Type, k.gep(base, at, k.i64Type), 8);
}

static void storeIndex(KernelEmitter &k, Value value, Value base, Value at) {
  k.b.create<LLVM::StoreOp>(k.loc, value, k.gep(base, at, k.i64Type), 8);
}

TopKOffsets topKOffsets(KernelEmitter &k) {
  // As ScratchLayout::compute: f32[qBlockRows x Dv] from `acc`, then the
  // arrays, each after 64 spare bytes.
  int64_t slots = topKSlots(keptKeys(k.sig)), rows = qBlockRows(k.sig.schedule);
  ScratchLayout fixed = ScratchLayout::compute(k.sig.schedule, 0, 0);
  Value scores = k.add(k.align64(k.add(k.i64c(fixed.acc), k.mul(k.vDim, k.i64c(4 * rows)))), k.i64c(64));
  Value index = k.add(k.align64(k.add(scores, k.i64c(4 * rows * slots))), k.i64c(64));
  return {scores, index};
}

void emitTopKInit(KernelEmitter &k, const TopKBuffers &top) {
  // Every slot, the padding too: insertion counts over whole vectors.
  k.b.create<scf::ForOp>(k.loc, k.idx(k.i64c(0)), k.idx(k.i64c(topKSlots(keptKeys(k.sig)))), k.idx(k.i64c(1)),
                         ValueRange{}, [&](OpBuilder &, Location, Value t, ValueRange) {
                           k.storeF32(k.f32c(-kInf), top.scores, k.i64(t), k.f32);
                           storeIndex(k, k.i64c(0), top.index, k.i64(t));
                           k.b.create<scf::YieldOp>(k.loc);
                         });
}

/// Puts (s, j) in its place in the sorted row, branch-free, a vector of
/// slots at a time: its position is the number of scores >= s (equal scores
/// stay ahead, so the lower j wins ties); the slots after it take their left
/// neighbour, read one element to the left (chunks last to first, so the
/// neighbour is still the old value). The last score falls into the padding
/// (or off the end): only s > the K-th best is ever inserted into a full row.
static void insert(KernelEmitter &k, const TopKBuffers &top, Value s, Value j) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t W = k.width, chunks = topKSlots(keptKeys(k.sig)) / W;
  auto i64s = VectorType::get({W}, k.i64Type);
  SmallVector<int64_t> iota;
  for (int64_t l = 0; l < W; ++l)
    iota.push_back(l);
  Value lane = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(i64s, ArrayRef<int64_t>(iota)));
  // The slot numbers of the chunk starting at slot `first`.
  auto slotsFrom = [&](Value first) {
    return b.create<arith::AddIOp>(loc, lane, b.create<vector::SplatOp>(loc, i64s, first));
  };
  Value splatS = b.create<vector::SplatOp>(loc, k.vecType(), s);
  Value K = b.create<vector::SplatOp>(loc, i64s, k.i64c(keptKeys(k.sig)));
  Type maskInt = b.getIntegerType(W);
  // Position: scores >= s among the K slots, one popcount per vector.
  Value pos = b.create<scf::ForOp>(
                   loc, k.idx(k.i64c(0)), k.idx(k.i64c(chunks)), k.idx(k.i64c(1)), ValueRange{k.i64c(0)},
                   [&](OpBuilder &, Location, Value cIdx, ValueRange it) {
                     Value c = k.i64(cIdx);
                     Value first = k.mul(c, k.i64c(W));
                     Value lanes = slotsFrom(first);
                     Value ahead = b.create<arith::AndIOp>(
                         loc, b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, k.loadVecF32(top.scores, first, k.f32), splatS),
                         b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, lanes, K));
                     Value bits = b.create<vector::BitCastOp>(loc, VectorType::get({1}, maskInt), ahead);
                     Value word = b.create<vector::ExtractOp>(loc, bits, 0);
                     Value n = b.create<arith::ExtUIOp>(loc, k.i64Type, b.create<math::CtPopOp>(loc, word));
                     b.create<scf::YieldOp>(loc, ValueRange{k.add(it[0], n)});
                   })
                  .getResult(0);
  Value posVec = b.create<vector::SplatOp>(loc, i64s, pos);
  Value splatJ = b.create<vector::SplatOp>(loc, i64s, j);
  Value chunksMinusOne = k.i64c(chunks - 1);
  b.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(chunks)), k.idx(k.i64c(1)), ValueRange{},
                       [&](OpBuilder &, Location, Value cIdx, ValueRange) {
                         Value c = b.create<arith::SubIOp>(loc, chunksMinusOne, k.i64(cIdx)); // last to first
                         Value first = k.mul(c, k.i64c(W));
                         Value left = b.create<arith::SubIOp>(loc, first, k.i64c(1));
                         Value lanes = slotsFrom(first);
                         Value after = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt, lanes, posVec);
                         Value at = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, lanes, posVec);
                         // Scores.
                         Value old = k.loadVecF32(top.scores, first, k.f32);
                         Value moved = b.create<arith::SelectOp>(loc, after, k.loadVecF32(top.scores, left, k.f32), old);
                         k.storeVecF32(b.create<arith::SelectOp>(loc, at, splatS, moved), top.scores, first, k.f32);
                         // Indices.
                         auto loadIdx = [&](Value from) {
                           return b.create<LLVM::LoadOp>(loc, i64s, k.gep(top.index, from, k.i64Type), 8);
                         };
                         Value oldIdx = loadIdx(first);
                         Value movedIdx = b.create<arith::SelectOp>(loc, after, loadIdx(left), oldIdx);
                         b.create<LLVM::StoreOp>(loc, b.create<arith::SelectOp>(loc, at, splatJ, movedIdx),
                                                 k.gep(top.index, first, k.i64Type), 8);
                         b.create<scf::YieldOp>(loc);
                       });
}

Value emitTopKOffer(KernelEmitter &k, const TopKBuffers &top, Value count, Value s, Value j) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value K = k.i64c(keptKeys(k.sig)), last = k.i64c(keptKeys(k.sig) - 1);
  Value valid = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, s, k.f32c(-kInf));
  Value full = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, count, K);
  Value notFull = b.create<arith::XOrIOp>(loc, full, b.create<arith::ConstantOp>(loc, b.getBoolAttr(true)));
  Value beatsLast = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, s, k.loadF32(top.scores, last, k.f32));
  Value take = b.create<arith::AndIOp>(loc, valid, b.create<arith::OrIOp>(loc, notFull, beatsLast));
  b.create<scf::IfOp>(loc, take, [&](OpBuilder &, Location) {
    insert(k, top, s, j);
    b.create<scf::YieldOp>(loc);
  });
  Value grow = b.create<arith::AndIOp>(loc, take, notFull);
  return b.create<arith::SelectOp>(loc, grow, k.add(count, k.i64c(1)), count);
}

void emitTopKFinish(KernelEmitter &k, const TopKBuffers &top, Value count, Value sawNaN, Value acc, Value vBase,
                    Value oOffset, Value bIdx, Value h, Value i) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // The survivors are sorted: the first is the max.
  k.rowFill(acc, 0);
  Value m = k.loadF32(top.scores, k.i64c(0), k.f32);
  auto sum = b.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(count), k.idx(k.i64c(1)), ValueRange{k.f32c(0)},
                                  [&](OpBuilder &, Location, Value tIdx, ValueRange it) {
                                    Value t = k.i64(tIdx);
                                    Value p = b.create<math::ExpOp>(
                                        loc, b.create<arith::SubFOp>(loc, k.loadF32(top.scores, t, k.f32), m));
                                    Value j = loadIndex(k, top.index, t);
                                    k.rowAxpy(acc, p, k.add(vBase, k.mul(j, k.vStr[2])));
                                    b.create<scf::YieldOp>(loc, ValueRange{b.create<arith::AddFOp>(loc, it[0], p)});
                                  });
  Value l = sum.getResult(0);
  Value nan = k.f32c(std::numeric_limits<float>::quiet_NaN());
  Value noNaN = b.create<arith::XOrIOp>(loc, sawNaN, b.create<arith::ConstantOp>(loc, b.getBoolAttr(true)));
  Value empty = b.create<arith::AndIOp>(
      loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, count, k.i64c(0)), noNaN);
  Value factor = b.create<arith::SelectOp>(loc, sawNaN, nan, b.create<arith::DivFOp>(loc, k.f32c(1), l));
  k.rowStoreO(acc, factor, empty, oOffset);
  Value lse = b.create<arith::AddFOp>(loc, m, b.create<math::LogOp>(loc, l));
  k.storeLse(b.create<arith::SelectOp>(loc, sawNaN, nan, b.create<arith::SelectOp>(loc, empty, k.f32c(-kInf), lse)),
             bIdx, h, i);
}

Value loadBest(KernelEmitter &k, const TopKBuffers &top) { return loadIndex(k, top.index, k.i64c(0)); }

void emitArgmaxStore(KernelEmitter &k, Value best, Value none, Value sawNaN, Value vBase, Value oOffset) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value vOff = k.add(vBase, k.mul(best, k.vStr[2]));
  float nan = std::numeric_limits<float>::quiet_NaN();
  k.vectorLoop(k.vDim, [&](Value d, bool vec) {
    Value x = vec ? k.loadVecF32(k.vPtr, k.add(vOff, d), k.vType) : k.loadF32(k.vPtr, k.add(vOff, d), k.vType);
    auto constant = [&](float c) -> Value {
      Value s = k.f32c(c);
      return vec ? b.create<vector::SplatOp>(loc, k.vecType(), s).getResult() : s;
    };
    x = b.create<arith::SelectOp>(loc, sawNaN, constant(nan), b.create<arith::SelectOp>(loc, none, constant(0), x));
    if (vec)
      k.storeVecF32(x, k.oPtr, k.add(oOffset, d), k.qType);
    else
      k.storeF32(x, k.oPtr, k.add(oOffset, d), k.qType);
  });
}

} // namespace attn
