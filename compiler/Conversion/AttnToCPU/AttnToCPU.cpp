//===- AttnToCPU.cpp - attn.attention to a CPU loop nest -------------------===//
//
// Per work item (batch b, query head h, a tile of query rows) and per query
// row i, with kv head hk = h / (Hq / Hkv):
//
//   softmax  for each block of keys: scores into scratch (masked: -inf),
//            block max; rescale acc and l by exp(m - m'); then
//            acc += exp(s - m') * v[j] for the keys that take part.
//   sigmoid  acc += sigmoid(s) * v[j].
//   topk(K)  a sorted top-K buffer in scratch, then softmax over it.
//   argmax   the best (score, j), lowest j on ties; o = v[j].
//
// A key takes part when its mask holds and its score is not -inf; a NaN score
// makes the row NaN. These are exactly the rules of the reference.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/AttnToCPU/AttnToCPU.h"

#include "compiler/Conversion/AttnToCPU/GroupedSoftmaxRows.h"
#include "compiler/Conversion/AttnToCPU/KernelEmitter.h"
#include "compiler/Conversion/AttnToCPU/OutlineRegions.h"
#include "compiler/Conversion/AttnToCPU/TiledSoftmax.h"
#include "compiler/Conversion/AttnToCPU/TileClasses.h"
#include "compiler/Conversion/AttnToCPU/TopK.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>
#include <optional>

using namespace mlir;
namespace ad = ::mlir::attn;

namespace attn {
namespace {

const float kInf = std::numeric_limits<float>::infinity();

class RowEmitter {
public:
  RowEmitter(KernelEmitter &k) : k(k), b(k.b), loc(k.loc) {}

  void emitItems(KernelPaths paths) {
    // One path of a kernel compiled as two (pathDecidedPerCall).
    if (paths == KernelPaths::Tiled)
      return emitTiledItems();
    if (paths == KernelPaths::Rows)
      return emitRowItems();
    // Sizes the spec fixes may decide the path for every call.
    std::optional<int64_t> group = fixedGroup();
    int64_t qLen = k.op.getInput(0).getFixedSize(2);
    if (group && qLen >= 0)
      return takesTiledPath(*group, qLen) ? emitTiledItems() : emitRowItems();
    // The runtime packs k transposed, and counts items the tiled way, when a
    // call has enough rows per kv head to share it.
    Value null = b.create<LLVM::ZeroOp>(loc, k.ptrType);
    Value packed = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::ne, k.ktPtr, null);
    b.create<scf::IfOp>(
        loc, packed,
        [&](OpBuilder &, Location) {
          emitTiledItems();
          b.create<scf::YieldOp>(loc);
        },
        [&](OpBuilder &, Location) {
          emitRowItems();
          b.create<scf::YieldOp>(loc);
        });
  }

  /// Items (b, run of query heads, tile of blockQ query rows), one row at a
  /// time. Softmax takes kRowHeads heads that share a kv head together when
  /// the group allows it (rowHeadsPerItem); the code for a group size that
  /// the spec's fixed head counts rule out is not emitted.
  void emitRowItems() {
    std::optional<int64_t> group = fixedGroup();
    // The runtime counts items by the same rule (rowHeadsPerItem); with the
    // group unknown, whether a group that allows it could be grouped.
    bool canGroup = rowHeadsPerItem(k.sig, group.value_or(kRowHeads)) == kRowHeads;
    bool canSingle = !canGroup || !group;
    Value grouped = canGroup && canSingle
                        ? b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                                  b.create<arith::RemSIOp>(loc, k.group, k.i64c(kRowHeads)),
                                                  k.i64c(0))
                                .getResult()
                        : b.create<arith::ConstantOp>(loc, b.getBoolAttr(canGroup)).getResult();
    Value headsPerItem = select(grouped, k.i64c(kRowHeads), k.i64c(1));
    Value headItems = b.create<arith::DivSIOp>(loc, k.qHeads, headsPerItem);
    Value nTiles = b.create<arith::CeilDivSIOp>(loc, k.qLen, k.i64c(k.sig.schedule.blockQ));
    b.create<scf::ForOp>(loc, k.idx(k.begin), k.idx(k.end), k.idx(k.i64c(1)), ValueRange{},
                         [&](OpBuilder &, Location, Value itemIdx, ValueRange) {
                           Value item = k.i64(itemIdx);
                           keys = k.itemKeys(item, splitBlockKeys(k.sig, false));
                           Value tile = b.create<arith::RemSIOp>(loc, item, nTiles);
                           Value bh = b.create<arith::DivSIOp>(loc, item, nTiles);
                           h = k.mul(b.create<arith::RemSIOp>(loc, bh, headItems), headsPerItem);
                           bIdx = b.create<arith::DivSIOp>(loc, bh, headItems);
                           hk = b.create<arith::DivSIOp>(loc, h, k.group);
                           Value i0 = k.mul(tile, k.i64c(k.sig.schedule.blockQ));
                           Value i1 = b.create<arith::MinSIOp>(
                               loc, k.add(i0, k.i64c(k.sig.schedule.blockQ)), k.qLen);
                           b.create<scf::ForOp>(loc, k.idx(i0), k.idx(i1), k.idx(k.i64c(1)), ValueRange{},
                                                [&](OpBuilder &, Location, Value row, ValueRange) {
                                                  emitRowOfItem(k.i64(row), grouped, canGroup, canSingle);
                                                  b.create<scf::YieldOp>(loc);
                                                });
                           b.create<scf::YieldOp>(loc);
                         });
  }

  void emitRowOfItem(Value row, Value grouped, bool canGroup, bool canSingle) {
    if (!canSingle)
      return emitGroupedSoftmaxRow(k, bIdx, h, hk, row, keys);
    if (!canGroup)
      return emitRow(row);
    b.create<scf::IfOp>(
        loc, grouped,
        [&](OpBuilder &, Location) {
          emitGroupedSoftmaxRow(k, bIdx, h, hk, row, keys);
          b.create<scf::YieldOp>(loc);
        },
        [&](OpBuilder &, Location) {
          emitRow(row);
          b.create<scf::YieldOp>(loc);
        });
  }

  /// Query heads per kv head, when the spec fixes it: both head counts
  /// fixed, or one name for both (multi-head attention: 1).
  std::optional<int64_t> fixedGroup() {
    if (k.op.getInput(0).getDims()[1] == k.op.getInput(1).getDims()[1])
      return 1;
    int64_t qh = k.op.getInput(0).getFixedSize(1), kh = k.op.getInput(1).getFixedSize(1);
    if (qh <= 0 || kh <= 0)
      return std::nullopt;
    return qh / kh;
  }

  /// Items (b, kv head, q block of the call's tiledQRows rows of its group),
  /// kTileRows at a time.
  void emitTiledItems() {
    Value groupRows = k.mul(k.group, k.qLen);
    Value nTiles = b.create<arith::CeilDivSIOp>(loc, groupRows, k.tiledQRows);
    b.create<scf::ForOp>(loc, k.idx(k.begin), k.idx(k.end), k.idx(k.i64c(1)), ValueRange{},
                         [&](OpBuilder &, Location, Value itemIdx, ValueRange) {
                           Value item = k.i64(itemIdx);
                           RowKeys itemKeys = k.itemKeys(item, splitBlockKeys(k.sig, true));
                           Value tile = b.create<arith::RemSIOp>(loc, item, nTiles);
                           Value bhk = b.create<arith::DivSIOp>(loc, item, nTiles);
                           Value kvHead = b.create<arith::RemSIOp>(loc, bhk, k.kvHeads);
                           Value batch = b.create<arith::DivSIOp>(loc, bhk, k.kvHeads);
                           Value f0 = k.mul(tile, k.tiledQRows);
                           Value f1 = b.create<arith::MinSIOp>(loc, k.add(f0, k.tiledQRows), groupRows);
                           emitTiledRows(k, batch, kvHead, f0, f1, itemKeys);
                           b.create<scf::YieldOp>(loc);
                         });
  }


private:
  // Scratch: scores, accumulator, top-K buffers (ScratchLayout).
  Value scratchAt(Value byteOffset) { return k.gep(k.scratch, byteOffset, b.getI8Type()); }


  Value cmpf(arith::CmpFPredicate p, Value x, Value y) { return b.create<arith::CmpFOp>(loc, p, x, y); }
  Value select(Value c, Value x, Value y) { return b.create<arith::SelectOp>(loc, c, x, y); }
  Value splat(Value scalar) { return b.create<vector::SplatOp>(loc, k.vecType(), scalar); }

  /// The score of key j for the current row, -inf where masked. The mask is
  /// skipped inside a block that tile classification found entirely kept.
  Value score(Value j) {
    Value keep = maskNeeded ? k.inlineRegion(k.op.getMask(), {bIdx, h, i, j})
                            : b.create<arith::ConstantOp>(loc, b.getBoolAttr(true)).getResult();
    auto ifOp = b.create<scf::IfOp>(
        loc, keep,
        [&](OpBuilder &, Location) {
          Value kOff = k.add(kBase, k.mul(j, k.kStr[2]));
          Value dot = k.vectorReduceLoop(k.headDim, [&](Value d, Value acc, bool vec) -> Value {
            if (vec)
              return b.create<vector::FMAOp>(loc, k.loadVecF32(k.qPtr, k.add(qOff, d), k.qType),
                                             k.loadVecF32(k.kPtr, k.add(kOff, d), k.kType), acc);
            return b.create<math::FmaOp>(loc, k.loadF32(k.qPtr, k.add(qOff, d), k.qType),
                                         k.loadF32(k.kPtr, k.add(kOff, d), k.kType), acc);
          });
          Value s = b.create<arith::MulFOp>(loc, dot, k.scale);
          b.create<scf::YieldOp>(loc, k.inlineRegion(k.op.getScore(), {s, bIdx, h, i, j}));
        },
        [&](OpBuilder &, Location) { b.create<scf::YieldOp>(loc, k.f32c(-kInf)); });
    return ifOp.getResult(0);
  }

  Value takesPart(Value s) { return cmpf(arith::CmpFPredicate::UNE, s, k.f32c(-kInf)); }
  Value isNaN(Value s) { return cmpf(arith::CmpFPredicate::UNO, s, s); }

  void accFill(float value) { k.rowFill(acc, value); }
  void accScale(Value c) { k.rowScale(acc, c); }
  /// acc += p * v[j]
  void accAdd(Value p, Value j) { k.rowAxpy(acc, p, k.add(vBase, k.mul(j, k.vStr[2]))); }
  /// o[row] = empty ? 0 : acc * factor
  void storeO(Value factor, Value empty) { k.rowStoreO(acc, factor, empty, oOff); }
  void storeLse(Value value) { k.storeLse(value, bIdx, h, i); }

  void emitRow(Value row) {
    i = row;
    qOff = k.add(k.add(k.mul(bIdx, k.qStr[0]), k.mul(h, k.qStr[1])), k.mul(i, k.qStr[2]));
    kBase = k.add(k.mul(bIdx, k.kStr[0]), k.mul(hk, k.kStr[1]));
    vBase = k.add(k.mul(bIdx, k.vStr[0]), k.mul(hk, k.vStr[1]));
    oOff = k.add(k.add(k.mul(bIdx, k.oStr[0]), k.mul(h, k.oStr[1])), k.mul(i, k.oStr[2]));
    ScratchLayout fixed = ScratchLayout::compute(k.sig.schedule, 0, 0);
    scores = scratchAt(k.i64c(fixed.scores));
    weights = scratchAt(k.i64c(fixed.tile)); // the tiled path's buffers, free here
    acc = scratchAt(k.i64c(fixed.acc));
    TopKOffsets top = topKOffsets(k);
    topScores = scratchAt(top.scores);
    topIndex = scratchAt(top.index);
    switch (k.sig.weights) {
    case Weights::Softmax: return emitSoftmaxRow();
    case Weights::Sigmoid: return emitSigmoidRow();
    case Weights::TopK: return emitTopKRow();
    case Weights::Argmax: return emitArgmaxRow();
    }
  }

  Value forKeys(Value from, Value to, ValueRange inits,
                const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
    auto loop = b.create<scf::ForOp>(loc, k.idx(from), k.idx(to), k.idx(k.i64c(1)), inits,
                                     [&](OpBuilder &, Location, Value j, ValueRange it) {
                                       b.create<scf::YieldOp>(loc, body(k.i64(j), it));
                                     });
    return inits.empty() ? Value() : loop.getResult(0);
  }
  SmallVector<Value> forKeysAll(Value from, Value to, ValueRange inits,
                                const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
    auto loop = b.create<scf::ForOp>(loc, k.idx(from), k.idx(to), k.idx(k.i64c(1)), inits,
                                     [&](OpBuilder &, Location, Value j, ValueRange it) {
                                       b.create<scf::YieldOp>(loc, body(k.i64(j), it));
                                     });
    return SmallVector<Value>(loop.getResults());
  }



  /// Calls `body(canBeFalse)` only for a block of keys [j0, j1) that the mask
  /// does not rule out; `body` runs with the per-key mask on only where the
  /// block may hold masked keys. Returns `iters` for a skipped block.
  SmallVector<Value> ifLive(Value j0, Value j1, ValueRange iters,
                            const std::function<SmallVector<Value>()> &body) {
    if (k.maskIsTrue())
      return body();
    TileClass cls = classifyTile(k, bIdx, h, h, i, i, j0, b.create<arith::SubIOp>(loc, j1, k.i64c(1)));
    return emitIfLive(k, cls, iters, [&](bool needed) {
      maskNeeded = needed;
      SmallVector<Value> r = body();
      maskNeeded = true;
      return r;
    });
  }

  /// The keys [0, kvLen) in blocks of blockK, skipping blocks the mask rules out.
  SmallVector<Value> forLiveKeys(ValueRange inits,
                                 const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
    Value blockKc = k.i64c(k.sig.schedule.blockK);
    auto blocks = b.create<scf::ForOp>(
        loc, k.idx(k.i64c(0)), k.idx(k.kvLen), k.idx(blockKc), inits,
        [&](OpBuilder &, Location, Value j0Idx, ValueRange it) {
          Value j0 = k.i64(j0Idx);
          Value j1 = b.create<arith::MinSIOp>(loc, k.add(j0, blockKc), k.kvLen);
          b.create<scf::YieldOp>(loc, ifLive(j0, j1, it, [&] { return forKeysAll(j0, j1, it, body); }));
        });
    return SmallVector<Value>(blocks.getResults());
  }

  void emitSoftmaxRow() {
    accFill(0);
    int64_t blockK = k.sig.schedule.blockK;
    Value blockKc = k.i64c(blockK);
    auto blocks = b.create<scf::ForOp>(
        loc, k.idx(keys.begin), k.idx(keys.end), k.idx(blockKc), ValueRange{k.f32c(-kInf), k.f32c(0)},
        [&](OpBuilder &, Location, Value j0Idx, ValueRange ml) {
          Value j0 = k.i64(j0Idx);
          Value n = b.create<arith::MinSIOp>(loc, blockKc, b.create<arith::SubIOp>(loc, keys.end, j0));
          // A function of its own, as the grouped rows' blocks are.
          b.create<scf::YieldOp>(loc, emitOutlinableWithResults(b, loc, "row_block", [&] {
                                   return ifLive(j0, k.add(j0, n), ml, [&] { return softmaxBlock(j0, n, ml); });
                                 }));
        });
    k.finishSoftmaxRow(acc, blocks.getResult(0), blocks.getResult(1), bIdx, h, i, keys);
  }

  /// One block of keys [j0, j0 + n) of the online softmax: the new (m, l).
  SmallVector<Value> softmaxBlock(Value j0, Value n, ValueRange ml) {
          // Pass 1: the block's scores and their max.
          Value blockMax = forKeys(k.i64c(0), n, {k.f32c(-kInf)}, [&](Value jj, ValueRange it) {
            Value s = score(k.add(j0, jj));
            k.storeF32(s, scores, jj, k.f32);
            return SmallVector<Value>{b.create<arith::MaximumFOp>(loc, it[0], s)};
          });
          Value m = ml[0], l = ml[1];
          Value mNew = b.create<arith::MaximumFOp>(loc, m, blockMax);
          Value mSafe = select(cmpf(arith::CmpFPredicate::OEQ, mNew, k.f32c(-kInf)), k.f32c(0), mNew);
          Value corr = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, m, mSafe));
          accScale(corr);
          // Pass 2: the block's weights p = exp(s - m') as vectors (a masked
          // key's p is exactly 0), and their sum.
          Value blockSum = k.vectorReduceLoop(n, [&](Value d, Value sum, bool vec) -> Value {
            if (vec) {
              Value s = k.loadVecF32(scores, d, k.f32);
              Value p = k.expWeights(b.create<arith::SubFOp>(loc, s, splat(mSafe)));
              k.storeVecF32(p, weights, d, k.f32);
              return b.create<arith::AddFOp>(loc, sum, p);
            }
            Value p = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, k.loadF32(scores, d, k.f32), mSafe));
            k.storeF32(p, weights, d, k.f32);
            return b.create<arith::AddFOp>(loc, sum, p);
          });
          // Pass 3: accumulate v for the keys that take part.
          accumulateBlock(j0, n);
          Value lNew = b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, l, corr), blockSum);
          return SmallVector<Value>{mNew, lNew};
  }

  /// acc += sum over the block's keys that take part of p[j] v[j]. With a
  /// v head dim fixed in the spec (at most 16 vectors) the accumulator row
  /// stays in registers across the block instead of memory per key.
  void accumulateBlock(Value j0, Value n) {
    int64_t dv = k.op.getInput(2).getFixedSize(3);
    if (dv <= 0 || dv % k.width != 0 || dv / k.width > 16) {
      forKeys(k.i64c(0), n, {}, [&](Value jj, ValueRange) {
        b.create<scf::IfOp>(loc, takesPart(k.loadF32(scores, jj, k.f32)), [&](OpBuilder &, Location) {
          accAdd(k.loadF32(weights, jj, k.f32), k.add(j0, jj));
          b.create<scf::YieldOp>(loc);
        });
        return SmallVector<Value>{};
      });
      return;
    }
    int64_t chunks = dv / k.width;
    SmallVector<Value> init;
    for (int64_t c = 0; c < chunks; ++c)
      init.push_back(k.loadVecF32(acc, k.i64c(c * k.width), k.f32));
    SmallVector<Value> sums = forKeysAll(k.i64c(0), n, init, [&](Value jj, ValueRange a) {
      auto ifOp = b.create<scf::IfOp>(
          loc, takesPart(k.loadF32(scores, jj, k.f32)),
          [&](OpBuilder &, Location) {
            Value p = splat(k.loadF32(weights, jj, k.f32));
            Value vOff = k.add(vBase, k.mul(k.add(j0, jj), k.vStr[2]));
            SmallVector<Value> next;
            for (int64_t c = 0; c < chunks; ++c)
              next.push_back(b.create<vector::FMAOp>(
                  loc, p, k.loadVecF32(k.vPtr, k.add(vOff, k.i64c(c * k.width)), k.vType), a[c]));
            b.create<scf::YieldOp>(loc, next);
          },
          [&](OpBuilder &, Location) { b.create<scf::YieldOp>(loc, a); });
      return SmallVector<Value>(ifOp.getResults());
    });
    for (int64_t c = 0; c < chunks; ++c)
      k.storeVecF32(sums[c], acc, k.i64c(c * k.width), k.f32);
  }

  void emitSigmoidRow() {
    accFill(0);
    forLiveKeys({}, [&](Value j, ValueRange) {
      Value s = score(j);
      b.create<scf::IfOp>(loc, takesPart(s), [&](OpBuilder &, Location) {
        Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, s));
        Value p = b.create<arith::DivFOp>(loc, k.f32c(1), b.create<arith::AddFOp>(loc, k.f32c(1), e));
        accAdd(p, j);
        b.create<scf::YieldOp>(loc);
      });
      return SmallVector<Value>{};
    });
    Value no = b.create<arith::ConstantOp>(loc, b.getBoolAttr(false));
    storeO(k.f32c(1), no);
  }

  void emitArgmaxRow() {
    Value no = b.create<arith::ConstantOp>(loc, b.getBoolAttr(false));
    SmallVector<Value> r = forLiveKeys({k.f32c(-kInf), k.i64c(-1), no},
                                      [&](Value j, ValueRange it) {
                                        Value s = score(j);
                                        Value better = cmpf(arith::CmpFPredicate::OGT, s, it[0]);
                                        return SmallVector<Value>{
                                            select(better, s, it[0]), select(better, j, it[1]),
                                            b.create<arith::OrIOp>(loc, it[2], isNaN(s))};
                                      });
    Value best = r[1];
    Value none = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, best, k.i64c(0));
    emitArgmaxStore(k, select(none, k.i64c(0), best), none, r[2], vBase, oOff);
  }

  void emitTopKRow() {
    TopKBuffers top{topScores, topIndex};
    emitTopKInit(k, top);
    Value no = b.create<arith::ConstantOp>(loc, b.getBoolAttr(false));
    SmallVector<Value> r = forLiveKeys({k.i64c(0), no}, [&](Value j, ValueRange it) {
      Value s = score(j);
      return SmallVector<Value>{emitTopKOffer(k, top, it[0], s, j), b.create<arith::OrIOp>(loc, it[1], isNaN(s))};
    });
    emitTopKFinish(k, top, r[0], r[1], acc, vBase, oOff, bIdx, h, i);
  }

  KernelEmitter &k;
  OpBuilder &b;
  Location loc;
  Value bIdx, h, hk, i;
  Value qOff, kBase, vBase, oOff;
  RowKeys keys; // of the current row-path item
  Value scores, weights, acc, topScores, topIndex;
  bool maskNeeded = true;
};

struct ConvertAttnToCPUPass : PassWrapper<ConvertAttnToCPUPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ConvertAttnToCPUPass)
  ConvertAttnToCPUPass() = default;
  ConvertAttnToCPUPass(const ConvertAttnToCPUPass &other) : PassWrapper(other), paths(other.paths) {}
  explicit ConvertAttnToCPUPass(const Schedule &s, KernelPaths p) : paths(p) {
    blockQ = s.blockQ;
    blockK = s.blockK;
    vectorWidth = s.vectorWidth;
    bf16Dot = s.bf16Dot;
    amx = s.amx;
    precision = precisionName(s.precision);
  }
  StringRef getArgument() const override { return "convert-attn-to-cpu"; }
  StringRef getDescription() const override {
    return "Lower attn.attention to a CPU kernel function (scf, arith, math, vector, llvm)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, math::MathDialect, scf::SCFDialect, vector::VectorDialect,
                    func::FuncDialect, LLVM::LLVMDialect, amx::AMXDialect>();
  }
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<Precision> f32Products = parsePrecision(precision);
    if (blockQ < 1 || blockK < 1 || vectorWidth < 1 || !f32Products) {
      module.emitError("convert-attn-to-cpu: tile sizes and vector width must be positive, and precision one of "
                       "highest, high or fma");
      return signalPassFailure();
    }
    Schedule schedule{blockQ, blockK, vectorWidth, bf16Dot, amx, *f32Products};
    SmallVector<ad::AttentionOp> ops(module.getOps<ad::AttentionOp>());
    for (ad::AttentionOp op : ops) {
      KernelSignature sig = signatureOf(op, schedule);
      OpBuilder b(op);
      KernelEmitter k(b, op, sig);
      // Only a kernel whose calls choose their path has halves.
      KernelPaths held = pathDecidedPerCall(sig) ? paths : KernelPaths::Both;
      func::FuncOp fn = k.createFunction(module, held);
      RowEmitter(k).emitItems(held);
      k.fenceStreamingStores();
      b.create<func::ReturnOp>(op.getLoc());
      op.erase();
      if (failed(outlineMarkedRegions(fn)))
        return signalPassFailure();
    }
  }
  Option<int64_t> blockQ{*this, "block-q", llvm::cl::desc("query rows per work item"), llvm::cl::init(64)};
  Option<int64_t> blockK{*this, "block-k", llvm::cl::desc("keys per online-softmax block"), llvm::cl::init(64)};
  Option<int64_t> vectorWidth{*this, "vector-width", llvm::cl::desc("f32 lanes per vector"), llvm::cl::init(8)};
  Option<bool> bf16Dot{*this, "bf16-dot", llvm::cl::desc("multiply bf16 q, k, v with vdpbf16ps (AVX512-BF16)"),
                       llvm::cl::init(false)};
  Option<bool> amx{*this, "amx", llvm::cl::desc("run Q Kt and P V of bf16 tiles on AMX (tdpbf16ps)"),
                   llvm::cl::init(false)};
  Option<std::string> precision{
      *this, "precision",
      llvm::cl::desc("f32 products with amx: highest (bf16x6 tiles), high (bf16x3 tiles) or fma (Schedule::precision)"),
      llvm::cl::init("highest")};
  KernelPaths paths = KernelPaths::Both; // not a textual option: the JIT sets it
};

} // namespace

std::unique_ptr<Pass> createConvertAttnToCPUPass(const Schedule &schedule, KernelPaths paths) {
  return std::make_unique<ConvertAttnToCPUPass>(schedule, paths);
}

void registerAttnToCPUPass() { PassRegistration<ConvertAttnToCPUPass>(); }

} // namespace attn
