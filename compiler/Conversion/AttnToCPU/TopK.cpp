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

/// Where a row's slots fit this many vectors, emitTopKOfferKeys holds them
/// in registers (K <= 64 on AVX-512, 32 on AVX2: 4 vectors of scores and 4
/// of i32 indices); larger K inserts in memory.
static constexpr int64_t kTopKRegisterVectors = 4;

namespace {
/// A row's first slots as values: scores[c] and index[c] are slots
/// [c W, (c + 1) W), sorted high to low as in memory.
struct HeldSlots {
  SmallVector<Value> scores, index;
};
} // namespace

/// Puts (s, j) into held slots, branch-free, on vectors alone: with
/// slots' = the slots shifted right one lane (+inf before slot 0; one
/// cross-vector lane shift, valignd, per vector), slot i becomes
///   slot i          where slot i >= s (equal scores stay ahead, as `insert`),
///   s               where only slot' i >= s (slot i - 1: its position),
///   slot' i         elsewhere (the slots after it move right),
/// and the same for the indices. s must not be NaN; -inf goes nowhere.
/// Slots past K may take values shifted out of slot K - 1: the slots stay
/// sorted, so they never count ahead of an s that beats slot K - 1. No bit
/// masks through general registers: the chain from one insertion to the
/// next is a shift, a compare and a blend.
static HeldSlots insertHeld(KernelEmitter &k, const HeldSlots &held, Value s, Value j) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t W = k.width, C = held.scores.size();
  auto i32s = VectorType::get({W}, b.getI32Type());
  Value splatS = b.create<vector::SplatOp>(loc, k.vecType(), s);
  Value splatJ = b.create<vector::SplatOp>(loc, i32s, b.create<arith::TruncIOp>(loc, b.getI32Type(), j));
  Value aboveAll = b.create<vector::SplatOp>(loc, k.vecType(), k.f32c(kInf));
  SmallVector<int64_t> shiftRight{W - 1}; // [last lane of the vector before, this one's lanes 0 .. W - 2]
  for (int64_t l = 0; l + 1 < W; ++l)
    shiftRight.push_back(W + l);
  HeldSlots next;
  for (int64_t c = 0; c < C; ++c) {
    Value shifted = b.create<vector::ShuffleOp>(loc, c ? held.scores[c - 1] : aboveAll, held.scores[c], shiftRight);
    // Index slot 0 never takes its left neighbour: any lane will do.
    Value shiftedIndex =
        b.create<vector::ShuffleOp>(loc, c ? held.index[c - 1] : held.index[c], held.index[c], shiftRight);
    Value stays = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, held.scores[c], splatS);
    Value takesS = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, shifted, splatS);
    auto place = [&](Value slots, Value x, Value moved) {
      return b.create<arith::SelectOp>(loc, stays, slots, b.create<arith::SelectOp>(loc, takesS, x, moved))
          .getResult();
    };
    next.scores.push_back(place(held.scores[c], splatS, shifted));
    next.index.push_back(place(held.index[c], splatJ, shiftedIndex));
  }
  return next;
}

/// Slots holding a key among the first K (those not -inf; they come first).
static Value countHeld(KernelEmitter &k, ArrayRef<Value> scores) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t W = k.width, K = keptKeys(k.sig);
  Type maskInt = b.getIntegerType(W);
  Value splatLow = b.create<vector::SplatOp>(loc, k.vecType(), k.f32c(-kInf));
  Value count = k.i64c(0);
  for (int64_t c = 0; c < static_cast<int64_t>(scores.size()); ++c) {
    Value kept = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, scores[c], splatLow);
    Value word = b.create<vector::ExtractOp>(loc, b.create<vector::BitCastOp>(loc, VectorType::get({1}, maskInt), kept), 0);
    int64_t lanes = std::min(W, K - c * W); // the lanes of slots below K
    if (lanes < W)
      word = b.create<arith::AndIOp>(loc, word, b.create<arith::ConstantOp>(loc, b.getIntegerAttr(maskInt, (int64_t(1) << lanes) - 1)));
    count = k.add(count, b.create<arith::ExtUIOp>(loc, k.i64Type, b.create<math::CtPopOp>(loc, word)));
  }
  return count;
}

std::pair<Value, Value> emitTopKOfferKeys(KernelEmitter &k, const TopKBuffers &top, Value count, Value sawNaN,
                                          Value candidates, Value scores, Value scoresAt, Value j0) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  int64_t K = keptKeys(k.sig), W = k.width, C = (K + W - 1) / W;
  auto more = [&](Value mask) { return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, mask, k.i64c(0)); };
  auto lowestKey = [&](Value mask) { return b.create<math::CountTrailingZerosOp>(loc, mask).getResult(); };
  auto withoutLowest = [&](Value mask) {
    return b.create<arith::AndIOp>(loc, mask, b.create<arith::SubIOp>(loc, mask, k.i64c(1))).getResult();
  };
  auto isNaN = [&](Value s) { return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNO, s, s); };
  if (C > kTopKRegisterVectors) {
    auto loop = b.create<scf::WhileOp>(
        loc, TypeRange{k.i64Type, k.i64Type, b.getI1Type()}, ValueRange{candidates, count, sawNaN},
        [&](OpBuilder &, Location, ValueRange it) { b.create<scf::ConditionOp>(loc, more(it[0]), it); },
        [&](OpBuilder &, Location, ValueRange it) {
          Value jj = lowestKey(it[0]);
          Value s = k.loadF32(scores, k.add(scoresAt, jj), k.f32);
          Value newCount = emitTopKOffer(k, top, it[1], s, k.add(j0, jj));
          Value nan = b.create<arith::OrIOp>(loc, it[2], isNaN(s));
          b.create<scf::YieldOp>(loc, ValueRange{withoutLowest(it[0]), newCount, nan});
        });
    return {loop.getResult(1), loop.getResult(2)};
  }
  // Registers: the slots are loaded and stored once per block with candidates.
  auto i64s = VectorType::get({W}, k.i64Type);
  auto i32s = VectorType::get({W}, b.getI32Type());
  auto offered = b.create<scf::IfOp>(
      loc, more(candidates),
      [&](OpBuilder &, Location) {
        SmallVector<Value> init{candidates, sawNaN};
        SmallVector<Type> types{k.i64Type, b.getI1Type()};
        for (int64_t c = 0; c < C; ++c) {
          init.push_back(k.loadVecF32(top.scores, k.i64c(c * W), k.f32));
          types.push_back(k.vecType());
        }
        for (int64_t c = 0; c < C; ++c) {
          Value index = b.create<LLVM::LoadOp>(loc, i64s, k.gep(top.index, k.i64c(c * W), k.i64Type), 8);
          init.push_back(b.create<arith::TruncIOp>(loc, i32s, index));
          types.push_back(i32s);
        }
        auto loop = b.create<scf::WhileOp>(
            loc, types, init,
            [&](OpBuilder &, Location, ValueRange it) { b.create<scf::ConditionOp>(loc, more(it[0]), it); },
            [&](OpBuilder &, Location, ValueRange it) {
              Value jj = lowestKey(it[0]);
              Value s = k.loadF32(scores, k.add(scoresAt, jj), k.f32);
              Value nan = isNaN(s);
              HeldSlots held{SmallVector<Value>(it.slice(2, C)), SmallVector<Value>(it.slice(2 + C, C))};
              HeldSlots next = insertHeld(k, held, b.create<arith::SelectOp>(loc, nan, k.f32c(-kInf), s),
                                          k.add(j0, jj));
              SmallVector<Value> yield{withoutLowest(it[0]), b.create<arith::OrIOp>(loc, it[1], nan)};
              yield.append(next.scores);
              yield.append(next.index);
              b.create<scf::YieldOp>(loc, yield);
            });
        SmallVector<Value> finalScores;
        for (int64_t c = 0; c < C; ++c) {
          finalScores.push_back(loop.getResult(2 + c));
          k.storeVecF32(loop.getResult(2 + c), top.scores, k.i64c(c * W), k.f32);
          Value index = b.create<arith::ExtSIOp>(loc, i64s, loop.getResult(2 + C + c));
          b.create<LLVM::StoreOp>(loc, index, k.gep(top.index, k.i64c(c * W), k.i64Type), 8);
        }
        b.create<scf::YieldOp>(loc, ValueRange{countHeld(k, finalScores), loop.getResult(1)});
      },
      [&](OpBuilder &, Location) { b.create<scf::YieldOp>(loc, ValueRange{count, sawNaN}); });
  return {offered.getResult(0), offered.getResult(1)};
}

void emitTopKFinish(KernelEmitter &k, const TopKBuffers &top, Value count, Value sawNaN, Value acc, Value vBase,
                    Value oOffset, Value bIdx, Value h, Value i) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // The survivors are sorted: the first is the max. Their weights
  // exp(s - m) take the scores' place, and their v rows are prefetched a
  // cache line at a time (the rows are scattered, and P V below waited on
  // them).
  Value m = k.loadF32(top.scores, k.i64c(0), k.f32);
  int64_t perLine = 64 / (k.vType.getIntOrFloatBitWidth() / 8);
  auto sum = b.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(count), k.idx(k.i64c(1)), ValueRange{k.f32c(0)},
                                  [&](OpBuilder &, Location, Value tIdx, ValueRange it) {
                                    Value t = k.i64(tIdx);
                                    Value p = b.create<math::ExpOp>(
                                        loc, b.create<arith::SubFOp>(loc, k.loadF32(top.scores, t, k.f32), m));
                                    k.storeF32(p, top.scores, t, k.f32);
                                    Value row = k.add(vBase, k.mul(loadIndex(k, top.index, t), k.vStr[2]));
                                    b.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.vDim), k.idx(k.i64c(perLine)),
                                                         ValueRange{}, [&](OpBuilder &, Location, Value d, ValueRange) {
                                                           k.prefetch(k.vPtr, k.add(row, k.i64(d)), k.vType);
                                                           b.create<scf::YieldOp>(loc);
                                                         });
                                    b.create<scf::YieldOp>(loc, ValueRange{b.create<arith::AddFOp>(loc, it[0], p)});
                                  });
  Value l = sum.getResult(0);
  // acc = the sum of p v[j] over the survivors, a vector of acc (or one
  // element of its tail) at a time, summed in registers by kAccumulators
  // accumulators taking every kAccumulators-th survivor: not acc loaded
  // and stored per survivor, and not one chain of dependent FMAs.
  constexpr int64_t kAccumulators = 4;
  Value whole = k.mul(b.create<arith::DivSIOp>(loc, count, k.i64c(kAccumulators)), k.i64c(kAccumulators));
  k.vectorLoop(k.vDim, [&](Value d, bool vec) {
    Type type = vec ? k.vecType() : Type(k.f32);
    Value zero = vec ? b.create<arith::ConstantOp>(
                           loc, DenseElementsAttr::get(cast<ShapedType>(type), b.getF32FloatAttr(0.0f)))
                           .getResult()
                     : k.f32c(0);
    auto addWeighted = [&](Value partial, Value t) -> Value {
      Value p = k.loadF32(top.scores, t, k.f32);
      Value at = k.add(k.add(vBase, k.mul(loadIndex(k, top.index, t), k.vStr[2])), d);
      if (!vec)
        return b.create<math::FmaOp>(loc, p, k.loadF32(k.vPtr, at, k.vType), partial);
      return b.create<vector::FMAOp>(loc, b.create<vector::SplatOp>(loc, type, p), k.loadVecF32(k.vPtr, at, k.vType),
                                     partial);
    };
    auto inFours = b.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(whole), k.idx(k.i64c(kAccumulators)),
                                        SmallVector<Value>(kAccumulators, zero),
                                        [&](OpBuilder &, Location, Value tIdx, ValueRange partial) {
                                          SmallVector<Value> next;
                                          for (int64_t u = 0; u < kAccumulators; ++u)
                                            next.push_back(addWeighted(partial[u], k.add(k.i64(tIdx), k.i64c(u))));
                                          b.create<scf::YieldOp>(loc, next);
                                        });
    auto rest = b.create<scf::ForOp>(loc, k.idx(whole), k.idx(count), k.idx(k.i64c(1)),
                                     ValueRange{inFours.getResult(0)},
                                     [&](OpBuilder &, Location, Value tIdx, ValueRange partial) {
                                       b.create<scf::YieldOp>(loc, addWeighted(partial[0], k.i64(tIdx)));
                                     });
    Value total = b.create<arith::AddFOp>(
        loc, b.create<arith::AddFOp>(loc, rest.getResult(0), inFours.getResult(1)),
        b.create<arith::AddFOp>(loc, inFours.getResult(2), inFours.getResult(3)));
    if (vec)
      k.storeVecF32(total, acc, d, k.f32);
    else
      k.storeF32(total, acc, d, k.f32);
  });
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
