//===- TopK.cpp - A running top-K per query row ----------------------------===//
#include "compiler/Conversion/AttnToCPU/TopK.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

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

void emitTopKInit(KernelEmitter &k, const TopKBuffers &top) {
  k.b.create<scf::ForOp>(k.loc, k.idx(k.i64c(0)), k.idx(k.i64c(k.sig.topk)), k.idx(k.i64c(1)), ValueRange{},
                         [&](OpBuilder &, Location, Value t, ValueRange) {
                           k.storeF32(k.f32c(-kInf), top.scores, k.i64(t), k.f32);
                           k.b.create<scf::YieldOp>(k.loc);
                         });
}

/// Shifts lower scores down from `start` and puts (s, j) in place; equal
/// scores stay ahead, so the lower j wins ties.
static void insert(KernelEmitter &k, const TopKBuffers &top, Value s, Value j, Value start) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  auto loop = b.create<scf::WhileOp>(
      loc, TypeRange{k.i64Type}, ValueRange{start},
      [&](OpBuilder &, Location, ValueRange args) {
        Value pos = args[0];
        Value positive = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt, pos, k.i64c(0));
        Value prev = b.create<arith::MaxSIOp>(loc, b.create<arith::SubIOp>(loc, pos, k.i64c(1)), k.i64c(0));
        Value lower = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, k.loadF32(top.scores, prev, k.f32), s);
        b.create<scf::ConditionOp>(loc, b.create<arith::AndIOp>(loc, positive, lower), ValueRange{pos});
      },
      [&](OpBuilder &, Location, ValueRange args) {
        Value pos = args[0];
        Value prev = b.create<arith::SubIOp>(loc, pos, k.i64c(1));
        k.storeF32(k.loadF32(top.scores, prev, k.f32), top.scores, pos, k.f32);
        storeIndex(k, loadIndex(k, top.index, prev), top.index, pos);
        b.create<scf::YieldOp>(loc, ValueRange{prev});
      });
  Value pos = loop.getResult(0);
  k.storeF32(s, top.scores, pos, k.f32);
  storeIndex(k, j, top.index, pos);
}

Value emitTopKOffer(KernelEmitter &k, const TopKBuffers &top, Value count, Value s, Value j) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value K = k.i64c(k.sig.topk), last = k.i64c(k.sig.topk - 1);
  Value valid = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, s, k.f32c(-kInf));
  Value full = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, count, K);
  Value notFull = b.create<arith::XOrIOp>(loc, full, b.create<arith::ConstantOp>(loc, b.getBoolAttr(true)));
  Value beatsLast = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, s, k.loadF32(top.scores, last, k.f32));
  Value take = b.create<arith::AndIOp>(loc, valid, b.create<arith::OrIOp>(loc, notFull, beatsLast));
  b.create<scf::IfOp>(loc, take, [&](OpBuilder &, Location) {
    insert(k, top, s, j, b.create<arith::SelectOp>(loc, full, last, count));
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

} // namespace attn
