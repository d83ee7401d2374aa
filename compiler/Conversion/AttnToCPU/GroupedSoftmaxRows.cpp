//===- GroupedSoftmaxRows.cpp - Softmax rows of heads sharing a kv head ----===//
#include "compiler/Conversion/AttnToCPU/GroupedSoftmaxRows.h"

#include "compiler/Conversion/AttnToCPU/OutlineRegions.h"
#include "compiler/Conversion/AttnToCPU/TileClasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>
#include <limits>

using namespace mlir;

namespace attn {
namespace {

constexpr int NH = static_cast<int>(kRowHeads);
const float kInf = std::numeric_limits<float>::infinity();

/// Work that shares loads across the heads (dot products, v accumulation,
/// scores) is unrolled over them; work per head (softmax updates, stores)
/// runs in a loop over the heads with its state (m, l, block max) in
/// scratch, which keeps the kernel, and its compile time, small.
class GroupedRow {
public:
  GroupedRow(KernelEmitter &k, Value b, Value h0, Value hk, Value i, const RowKeys &keys)
      : k(k), bb(k.b), loc(k.loc), b(b), h0(h0), hk(hk), i(i), keys(keys),
        fixed(ScratchLayout::compute(k.sig.schedule, 0, 0)) {
    for (int g = 0; g < NH; ++g) {
      heads[g] = k.add(h0, k.i64c(g));
      qOff[g] = k.add(k.add(k.mul(b, k.qStr[0]), k.mul(heads[g], k.qStr[1])), k.mul(i, k.qStr[2]));
      scores[g] = scoresOf(k.i64c(g));
      weights[g] = weightsOf(k.i64c(g));
    }
    int64_t blockK = k.sig.schedule.blockK;
    allTakePart = scratchAt(k.i64c(fixed.weights + 4 * NH * blockK));
    state = scratchAt(k.i64c(fixed.weights + 4 * (NH + 1) * blockK)); // m, l, block max per head
    kBase = k.add(k.mul(b, k.kStr[0]), k.mul(hk, k.kStr[1]));
    vBase = k.add(k.mul(b, k.vStr[0]), k.mul(hk, k.vStr[1]));
  }

  void emit() {
    forHeads([&](Value g) {
      k.rowFill(accOf(g), 0);
      k.storeF32(k.f32c(-kInf), state, g, k.f32);
      k.storeF32(k.f32c(0), state, k.add(g, k.i64c(NH)), k.f32);
    });
    Value blockKc = k.i64c(k.sig.schedule.blockK);
    bb.create<scf::ForOp>(loc, k.idx(keys.begin), k.idx(keys.end), k.idx(blockKc), ValueRange{},
                          [&](OpBuilder &, Location, Value j0Idx, ValueRange) {
                            Value j0 = k.i64(j0Idx);
                            Value n = bb.create<arith::MinSIOp>(loc, blockKc,
                                                                bb.create<arith::SubIOp>(loc, keys.end, j0));
                            ifLive(j0, n);
                            bb.create<scf::YieldOp>(loc);
                          });
    forHeads([&](Value g) {
      Value m = k.loadF32(state, g, k.f32), l = k.loadF32(state, k.add(g, k.i64c(NH)), k.f32);
      k.finishSoftmaxRow(accOf(g), m, l, b, k.add(h0, g), i, keys);
    });
  }

private:
  Value scratchAt(Value byteOffset) { return k.gep(k.scratch, byteOffset, bb.getI8Type()); }
  Value accOf(Value g) { return scratchAt(k.add(k.i64c(fixed.acc), k.mul(k.mul(k.i64c(4), g), k.vDim))); }
  Value scoresOf(Value g) {
    return scratchAt(k.add(k.i64c(fixed.scores), k.mul(g, k.i64c(4 * k.sig.schedule.blockK))));
  }
  Value weightsOf(Value g) {
    return scratchAt(k.add(k.i64c(fixed.weights), k.mul(g, k.i64c(4 * k.sig.schedule.blockK))));
  }
  Value cmpf(arith::CmpFPredicate p, Value x, Value y) { return bb.create<arith::CmpFOp>(loc, p, x, y); }
  Value select(Value c, Value x, Value y) { return bb.create<arith::SelectOp>(loc, c, x, y); }
  Value splat(Value s) { return bb.create<vector::SplatOp>(loc, k.vecType(), s); }
  Value takesPart(Value s) { return cmpf(arith::CmpFPredicate::UNE, s, k.f32c(-kInf)); }
  void forHeads(const std::function<void(Value)> &body) {
    bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(NH)), k.idx(k.i64c(1)), ValueRange{},
                          [&](OpBuilder &, Location, Value g, ValueRange) {
                            body(k.i64(g));
                            bb.create<scf::YieldOp>(loc);
                          });
  }

  /// The block [j0, j0 + n) unless the mask rules it out for every head;
  /// without per-key mask code where the mask keeps all of it.
  void ifLive(Value j0, Value n) {
    if (k.maskIsTrue())
      return block(j0, n, false);
    Value jHi = k.add(j0, bb.create<arith::SubIOp>(loc, n, k.i64c(1)));
    TileClass cls = classifyTile(k, b, heads[0], heads[NH - 1], i, i, j0, jHi);
    emitIfLive(k, cls, {}, [&](bool maskNeeded) {
      block(j0, n, maskNeeded);
      return SmallVector<Value>{};
    });
  }

  /// One block of the online softmax for every head, as a function of its
  /// own (OutlineRegions.h), one for blocks the mask may cut and one for
  /// the rest: the JIT generates them and the row's code on separate
  /// threads (GQA 32:8 causal: a row path of 1766 instructions in one
  /// function before), and a call per block of keys of all the group's
  /// heads costs nothing.
  void block(Value j0, Value n, bool maskNeeded) {
    emitOutlinable(bb, loc, maskNeeded ? "grouped_masked_block" : "grouped_block",
                   [&] { blockBody(j0, n, maskNeeded); });
  }
  void blockBody(Value j0, Value n, bool maskNeeded) {
    SmallVector<Value> blockMax = scorePass(j0, n, maskNeeded);
    for (int g = 0; g < NH; ++g)
      k.storeF32(blockMax[g], state, k.i64c(2 * NH + g), k.f32);
    forHeads([&](Value g) {
      Value lAt = k.add(g, k.i64c(NH));
      Value m = k.loadF32(state, g, k.f32), l = k.loadF32(state, lAt, k.f32);
      Value mNew = bb.create<arith::MaximumFOp>(loc, m, k.loadF32(state, k.add(g, k.i64c(2 * NH)), k.f32));
      Value mSafe = select(cmpf(arith::CmpFPredicate::OEQ, mNew, k.f32c(-kInf)), k.f32c(0), mNew);
      Value corr = bb.create<math::ExpOp>(loc, bb.create<arith::SubFOp>(loc, m, mSafe));
      k.rowScale(accOf(g), corr);
      // p = exp(s - m'), exactly 0 for a key that takes no part.
      Value from = scoresOf(g), to = weightsOf(g);
      Value blockSum = k.vectorReduceLoop(n, [&](Value jj, Value sum, bool vec) -> Value {
        Value s = vec ? k.loadVecF32(from, jj, k.f32) : k.loadF32(from, jj, k.f32);
        Value p = k.expWeights(bb.create<arith::SubFOp>(loc, s, vec ? splat(mSafe) : mSafe));
        if (vec)
          k.storeVecF32(p, to, jj, k.f32);
        else
          k.storeF32(p, to, jj, k.f32);
        return bb.create<arith::AddFOp>(loc, sum, p);
      });
      k.storeF32(mNew, state, g, k.f32);
      k.storeF32(bb.create<arith::AddFOp>(loc, bb.create<arith::MulFOp>(loc, l, corr), blockSum), state, lAt,
                 k.f32);
    });
    accumulate(j0, n);
  }

  /// Every head's dot product of its q row with k row `kOff`: one load of
  /// each k vector for all heads, reduced once at the end.
  SmallVector<Value> dots(Value kOff) {
    Value w = k.i64c(k.width);
    Value mainEnd = k.mul(bb.create<arith::DivSIOp>(loc, k.headDim, w), w);
    SmallVector<Value> zeros(NH, splat(k.f32c(0)));
    auto main = bb.create<scf::ForOp>(
        loc, k.idx(k.i64c(0)), k.idx(mainEnd), k.idx(w), zeros,
        [&](OpBuilder &, Location, Value dIdx, ValueRange a) {
          Value d = k.i64(dIdx);
          Value kv = k.loadVecF32(k.kPtr, k.add(kOff, d), k.kType);
          SmallVector<Value> next;
          for (int g = 0; g < NH; ++g)
            next.push_back(
                bb.create<vector::FMAOp>(loc, k.loadVecF32(k.qPtr, k.add(qOff[g], d), k.qType), kv, a[g]));
          bb.create<scf::YieldOp>(loc, next);
        });
    SmallVector<Value> sums;
    for (int g = 0; g < NH; ++g)
      sums.push_back(bb.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, main.getResult(g)));
    auto tail = bb.create<scf::ForOp>(
        loc, k.idx(mainEnd), k.idx(k.headDim), k.idx(k.i64c(1)), sums,
        [&](OpBuilder &, Location, Value dIdx, ValueRange a) {
          Value d = k.i64(dIdx);
          Value kx = k.loadF32(k.kPtr, k.add(kOff, d), k.kType);
          SmallVector<Value> next;
          for (int g = 0; g < NH; ++g)
            next.push_back(bb.create<math::FmaOp>(loc, k.loadF32(k.qPtr, k.add(qOff[g], d), k.qType), kx, a[g]));
          bb.create<scf::YieldOp>(loc, next);
        });
    return SmallVector<Value>(tail.getResults());
  }

  /// Scores of the block's keys for every head into scratch (-inf where
  /// masked; the score region runs only where the mask holds, as in the
  /// reference), whether all heads take part in each key, and each head's
  /// block max.
  SmallVector<Value> scorePass(Value j0, Value n, bool maskNeeded) {
    SmallVector<Value> init(NH, k.f32c(-kInf));
    Value start = k.i64c(0);
    if (!maskNeeded && k.scoreIsIdentity() && k.width == NH * NH) {
      // Keys NH at a time where the head dim is whole vectors; the rest
      // one at a time below.
      Value whole = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                             bb.create<arith::RemSIOp>(loc, k.headDim, k.i64c(k.width)), k.i64c(0));
      Value quads = k.mul(bb.create<arith::DivSIOp>(loc, n, k.i64c(NH)), k.i64c(NH));
      start = select(whole, quads, k.i64c(0));
      init = scoresByQuads(j0, start);
    }
    auto loop = bb.create<scf::ForOp>(
        loc, k.idx(start), k.idx(n), k.idx(k.i64c(1)), init,
        [&](OpBuilder &, Location, Value jjIdx, ValueRange maxes) {
          Value jj = k.i64(jjIdx), j = k.add(j0, jj);
          SmallVector<Value> keep(NH);
          Value any;
          for (int g = 0; g < NH; ++g) {
            keep[g] = maskNeeded ? k.inlineRegion(k.op.getMask(), {b, heads[g], i, j})
                                 : bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(true)).getResult();
            any = g ? bb.create<arith::OrIOp>(loc, any, keep[g]).getResult() : keep[g];
          }
          auto computed = bb.create<scf::IfOp>(
              loc, any,
              [&](OpBuilder &, Location) {
                SmallVector<Value> d = dots(k.add(kBase, k.mul(j, k.kStr[2])));
                SmallVector<Value> s(NH);
                for (int g = 0; g < NH; ++g)
                  s[g] = headScore(bb.create<arith::MulFOp>(loc, d[g], k.scale), keep[g], maskNeeded, heads[g], j);
                bb.create<scf::YieldOp>(loc, s);
              },
              [&](OpBuilder &, Location) {
                bb.create<scf::YieldOp>(loc, SmallVector<Value>(NH, k.f32c(-kInf)));
              });
          SmallVector<Value> next;
          Value all;
          for (int g = 0; g < NH; ++g) {
            Value s = computed.getResult(g);
            k.storeF32(s, scores[g], jj, k.f32);
            next.push_back(bb.create<arith::MaximumFOp>(loc, maxes[g], s));
            all = g ? bb.create<arith::AndIOp>(loc, all, takesPart(s)).getResult() : takesPart(s);
          }
          k.storeF32(select(all, k.f32c(1), k.f32c(0)), allTakePart, jj, k.f32);
          bb.create<scf::YieldOp>(loc, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// Scores of keys [0, end) (a multiple of NH) without mask or score
  /// region, NH keys at a time: NH x NH dot products in registers (each k
  /// and q vector loaded once per step for NH of them) summed by one
  /// transposing reduction into a vector of NH x NH scores, instead of a
  /// horizontal reduction per dot product. Then, a vector of keys at a time,
  /// each head's max and whether all heads take part. Returns the maxes.
  SmallVector<Value> scoresByQuads(Value j0, Value end) {
    bb.create<scf::ForOp>(
        loc, k.idx(k.i64c(0)), k.idx(end), k.idx(k.i64c(NH)), ValueRange{},
        [&](OpBuilder &, Location, Value jjIdx, ValueRange) {
          Value jj = k.i64(jjIdx);
          SmallVector<Value> kOff;
          for (int key = 0; key < NH; ++key)
            kOff.push_back(k.add(kBase, k.mul(k.add(j0, k.add(jj, k.i64c(key))), k.kStr[2])));
          SmallVector<Value> zeros(NH * NH, splat(k.f32c(0)));
          auto dotsLoop = bb.create<scf::ForOp>(
              loc, k.idx(k.i64c(0)), k.idx(k.headDim), k.idx(k.i64c(k.width)), zeros,
              [&](OpBuilder &, Location, Value dIdx, ValueRange a) {
                Value d = k.i64(dIdx);
                SmallVector<Value> kv, next;
                for (int key = 0; key < NH; ++key) {
                  kv.push_back(k.loadVecF32(k.kPtr, k.add(kOff[key], d), k.kType));
                  k.prefetch(k.kPtr, k.add(k.add(kOff[key], d), ahead(k.kStr[2])), k.kType, 2);
                }
                for (int g = 0; g < NH; ++g) {
                  Value qv = k.loadVecF32(k.qPtr, k.add(qOff[g], d), k.qType);
                  for (int key = 0; key < NH; ++key)
                    next.push_back(bb.create<vector::FMAOp>(loc, qv, kv[key], a[g * NH + key]));
                }
                bb.create<scf::YieldOp>(loc, next);
              });
          // Lane g * NH + key: head g's score of key jj + key.
          Value s = bb.create<arith::MulFOp>(loc, transposeSum(SmallVector<Value>(dotsLoop.getResults())),
                                             splat(k.scale));
          for (int g = 0; g < NH; ++g) {
            Value four = bb.create<vector::ExtractStridedSliceOp>(loc, s, ArrayRef<int64_t>{g * NH},
                                                                  ArrayRef<int64_t>{NH}, ArrayRef<int64_t>{1});
            bb.create<LLVM::StoreOp>(loc, four, k.gep(scores[g], jj, k.f32), 4);
          }
          bb.create<scf::YieldOp>(loc);
        });
    // Maxes and all-take-part over whole vectors of keys, then the rest.
    auto step = [&](Value jj, ValueRange maxes, bool vec) {
      auto constant = [&](float c) { return vec ? splat(k.f32c(c)) : k.f32c(c); };
      Value all;
      SmallVector<Value> next;
      for (int g = 0; g < NH; ++g) {
        Value sv = vec ? k.loadVecF32(scores[g], jj, k.f32) : k.loadF32(scores[g], jj, k.f32);
        next.push_back(bb.create<arith::MaximumFOp>(loc, maxes[g], sv));
        Value part = cmpf(arith::CmpFPredicate::UNE, sv, constant(-kInf));
        all = g ? bb.create<arith::AndIOp>(loc, all, part).getResult() : part;
      }
      Value flag = select(all, constant(1), constant(0));
      if (vec)
        k.storeVecF32(flag, allTakePart, jj, k.f32);
      else
        k.storeF32(flag, allTakePart, jj, k.f32);
      return next;
    };
    SmallVector<Value> init(NH, splat(k.f32c(-kInf)));
    Value vecEnd = k.mul(bb.create<arith::DivSIOp>(loc, end, k.i64c(k.width)), k.i64c(k.width));
    auto vecLoop = bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(vecEnd), k.idx(k.i64c(k.width)), init,
                                         [&](OpBuilder &, Location, Value jj, ValueRange maxes) {
                                           bb.create<scf::YieldOp>(loc, step(k.i64(jj), maxes, true));
                                         });
    SmallVector<Value> scalarInit;
    for (int g = 0; g < NH; ++g)
      scalarInit.push_back(bb.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXIMUMF, vecLoop.getResult(g)));
    auto tail = bb.create<scf::ForOp>(loc, k.idx(vecEnd), k.idx(end), k.idx(k.i64c(1)), scalarInit,
                                      [&](OpBuilder &, Location, Value jj, ValueRange maxes) {
                                        bb.create<scf::YieldOp>(loc, step(k.i64(jj), maxes, false));
                                      });
    return SmallVector<Value>(tail.getResults());
  }

  /// A block of keys further on, where a key is `keyStride` elements: the
  /// rows are streamed from memory once, and prefetching a block ahead keeps
  /// more of them in flight than the hardware prefetcher alone (decode is
  /// bound by memory bandwidth). The prefetches fill L2 only (locality 2,
  /// prefetcht1): into L1 each one held a line fill buffer until its line
  /// came, which capped the misses in flight; decode B=8 32:8 heads at 4k
  /// keys, 2 threads, went 10.7-12.4 -> 8.9-9.4 ms (attnc bench, 3
  /// alternating runs; two blocks ahead: no change).
  Value ahead(Value keyStride) { return k.mul(keyStride, k.i64c(k.sig.schedule.blockK)); }

  /// Lane l of the result = the sum of the lanes of v[l] (16 vectors of 16):
  /// each level adds the two halves of every source's partial sums while
  /// packing two vectors' sources into one (two shuffles and an add per
  /// pair: 45 instructions for 16 sums, not 16 x 8).
  Value transposeSum(SmallVector<Value> v) {
    int64_t W = k.width;
    for (int64_t partial = W; partial > 1; partial /= 2) {
      SmallVector<Value> packed;
      for (size_t p = 0; p + 1 < v.size(); p += 2) {
        SmallVector<int64_t> low, high;
        for (int64_t side = 0; side < 2; ++side)
          for (int64_t block = 0; block < W / partial; ++block)
            for (int64_t l = 0; l < partial / 2; ++l) {
              low.push_back(side * W + block * partial + l);
              high.push_back(side * W + block * partial + partial / 2 + l);
            }
        Value a = bb.create<vector::ShuffleOp>(loc, v[p], v[p + 1], low);
        Value c = bb.create<vector::ShuffleOp>(loc, v[p], v[p + 1], high);
        packed.push_back(bb.create<arith::AddFOp>(loc, a, c));
      }
      v = packed;
    }
    return v[0];
  }

  /// The score region applied to head h's scaled dot product, or -inf where
  /// its mask does not hold.
  Value headScore(Value s, Value keep, bool maskNeeded, Value h, Value j) {
    if (k.scoreIsIdentity())
      return maskNeeded ? select(keep, s, k.f32c(-kInf)) : s;
    if (!maskNeeded)
      return k.inlineRegion(k.op.getScore(), {s, b, h, i, j});
    auto ifOp = bb.create<scf::IfOp>(
        loc, keep,
        [&](OpBuilder &, Location) {
          bb.create<scf::YieldOp>(loc, k.inlineRegion(k.op.getScore(), {s, b, h, i, j}));
        },
        [&](OpBuilder &, Location) { bb.create<scf::YieldOp>(loc, k.f32c(-kInf)); });
    return ifOp.getResult(0);
  }

  /// acc[g] += p[g][j] v[j] over the block, one pass per vector of v dims
  /// with every head's accumulator in registers: each v vector is loaded
  /// once for all heads. A key some head does not take part in goes the
  /// careful way (select, not p = 0 times v), so NaN in its v stays out.
  void accumulate(Value j0, Value n) {
    // With v's head dim fixed, up to four vectors of it per pass (16
    // accumulators): each weight is broadcast once for all of them.
    int64_t dv = k.op.getInput(2).getFixedSize(3);
    if (dv > 0 && dv % k.width == 0) {
      int64_t chunks = dv / k.width, C = chunks % 4 == 0 ? 4 : chunks % 2 == 0 ? 2 : 1;
      bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(dv)), k.idx(k.i64c(C * k.width)), ValueRange{},
                            [&](OpBuilder &, Location, Value d, ValueRange) {
                              accumulateAt(j0, n, k.i64(d), C, true);
                              bb.create<scf::YieldOp>(loc);
                            });
      return;
    }
    k.vectorLoop(k.vDim, [&](Value d, bool vec) { accumulateAt(j0, n, d, 1, vec); });
  }

  /// acc[g][d + c W] for c < C (C vectors, or one scalar when !vec).
  void accumulateAt(Value j0, Value n, Value d, int64_t C, bool vec) {
    auto load = [&](Value base, Value at, Type t) {
      return vec ? k.loadVecF32(base, at, t) : k.loadF32(base, at, t);
    };
    auto at = [&](Value base, int64_t c) { return k.add(base, k.add(d, k.i64c(c * k.width))); };
    SmallVector<Value> acc, init; // init[g * C + c]
    for (int g = 0; g < NH; ++g) {
      acc.push_back(accOf(k.i64c(g)));
      for (int64_t c = 0; c < C; ++c)
        init.push_back(load(acc[g], at(k.i64c(0), c), k.f32));
    }
    auto loop = bb.create<scf::ForOp>(
        loc, k.idx(k.i64c(0)), k.idx(n), k.idx(k.i64c(1)), init,
        [&](OpBuilder &, Location, Value jjIdx, ValueRange a) {
          Value jj = k.i64(jjIdx);
          Value row = k.add(vBase, k.mul(k.add(j0, jj), k.vStr[2]));
          SmallVector<Value> v;
          for (int64_t c = 0; c < C; ++c) {
            v.push_back(load(k.vPtr, at(row, c), k.vType));
            if (vec)
              k.prefetch(k.vPtr, k.add(at(row, c), ahead(k.vStr[2])), k.vType, 2);
          }
          auto update = [&](bool careful) {
            SmallVector<Value> next;
            for (int g = 0; g < NH; ++g) {
              Value p = k.loadF32(weights[g], jj, k.f32);
              Value pv = vec ? splat(p) : p;
              Value part = careful ? takesPart(k.loadF32(scores[g], jj, k.f32)) : Value();
              for (int64_t c = 0; c < C; ++c) {
                Value prev = a[g * C + c];
                Value sum = vec ? bb.create<vector::FMAOp>(loc, pv, v[c], prev).getResult()
                                : bb.create<math::FmaOp>(loc, pv, v[c], prev).getResult();
                next.push_back(careful ? select(part, sum, prev) : sum);
              }
            }
            bb.create<scf::YieldOp>(loc, next);
          };
          Value all = cmpf(arith::CmpFPredicate::ONE, k.loadF32(allTakePart, jj, k.f32), k.f32c(0));
          auto ifOp = bb.create<scf::IfOp>(
              loc, all, [&](OpBuilder &, Location) { update(false); },
              [&](OpBuilder &, Location) { update(true); });
          bb.create<scf::YieldOp>(loc, ifOp.getResults());
        });
    for (int g = 0; g < NH; ++g)
      for (int64_t c = 0; c < C; ++c) {
        Value result = loop.getResult(g * C + c);
        if (vec)
          k.storeVecF32(result, acc[g], at(k.i64c(0), c), k.f32);
        else
          k.storeF32(result, acc[g], at(k.i64c(0), c), k.f32);
      }
  }

  KernelEmitter &k;
  OpBuilder &bb;
  Location loc;
  Value b, h0, hk, i;
  RowKeys keys;
  ScratchLayout fixed;
  Value heads[NH], qOff[NH], scores[NH], weights[NH];
  Value allTakePart, state, kBase, vBase;
};

} // namespace

void emitGroupedSoftmaxRow(KernelEmitter &k, Value b, Value h0, Value hk, Value i, const RowKeys &keys) {
  GroupedRow(k, b, h0, hk, i, keys).emit();
}

} // namespace attn
