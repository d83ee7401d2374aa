//===- TiledSoftmax.cpp - Softmax over tiles of query rows -----------------===//
#include "compiler/Conversion/AttnToCPU/TiledSoftmax.h"

#include "compiler/Conversion/AttnToCPU/AmxTiles.h"
#include "compiler/Conversion/AttnToCPU/OutlineRegions.h"
#include "compiler/Conversion/AttnToCPU/TileClasses.h"
#include "compiler/Conversion/AttnToCPU/TopK.h"
#include "compiler/Conversion/AttnToCPU/VectorRegion.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>
#include <limits>
#include <tuple>
#include <utility>

using namespace mlir;
namespace ad = ::mlir::attn;

namespace attn {
namespace {

const float kInf = std::numeric_limits<float>::infinity();

/// R query rows at a time (kTileRows, or kAmxTileRows on AMX tiles) and KV
/// vectors of keys per block (tileKeys).
template <int R, int KV> class TileEmitter {
  // Top-K keeps a block's keys in one 64-bit mask (vectors are at most 16 wide).
  static_assert(KV * 16 <= 64, "a tile's keys must fit a 64-bit mask");

public:
  TileEmitter(KernelEmitter &k, Value b, Value hk, const RowKeys &keys)
      : k(k), bb(k.b), loc(k.loc), b(b), hk(hk), keys(keys), topK(keptKeys(k.sig) > 0) {}

  /// The q block [i0, i1) of the kv head's group (a work item, at most
  /// blockQ rows) in tiles of R rows: each K/V block is taken by every tile
  /// in turn while it is in L1 and L2 (one tile at a time streamed the
  /// head's whole K and V per tile from memory). A tile's online-softmax
  /// state waits in scratch between its blocks (kTileStateSlots).
  void emitRows(Value i0, Value i1) {
    qBlockStart = i0;
    tileEnd = i1;
    Value tiles = bb.create<arith::CeilDivSIOp>(loc, bb.create<arith::SubIOp>(loc, i1, i0), k.i64c(R));
    for (int r = 0; r < R; ++r)
      accRow[r] = k.mul(k.i64c(r), k.vDim);
    Value padded = k.mul(bb.create<arith::CeilDivSIOp>(loc, k.kvLen, BK()), BK());
    Value bh = k.add(k.mul(b, k.kvHeads), hk);
    // f32 per element, or bf16 pairs of head-dim elements (see usesBf16Dot).
    // Split f32: (parts + 1) D / 2 pairs of k' (splitsF32).
    if (k.bf16Parts)
      ktDepth = bb.create<arith::DivSIOp>(loc, k.mul(k.headDim, k.i64c(k.bf16Parts + 1)), k.i64c(2));
    else
      ktDepth = k.bf16Dot ? bb.create<arith::CeilDivSIOp>(loc, k.headDim, k.i64c(2)).getResult() : k.headDim;
    ktBase = k.mul(k.mul(bh, ktDepth), padded);
    vBase = k.add(k.mul(b, k.vStr[0]), k.mul(hk, k.vStr[1]));
    // P V's v: as given, or widened to f32 by the runtime (widensV).
    vData = k.vPtr, vElement = k.vType, vRowStride = k.vStr[2], pvBase = vBase;
    if (widensV(k.sig)) {
      vData = k.vPairsPtr, vElement = k.f32, vRowStride = k.vDim;
      pvBase = k.mul(k.mul(bh, k.kvLen), k.vDim);
    } else if (readsAlignedV(k.sig)) {
      // Or the runtime's copy of v on cache lines, where it made one.
      Value null = bb.create<LLVM::ZeroOp>(loc, k.vPairsPtr.getType());
      Value copied = bb.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::ne, k.vPairsPtr, null);
      vData = select(copied, k.vPairsPtr, k.vPtr);
      vRowStride = select(copied, k.vDim, k.vStr[2]);
      pvBase = select(copied, k.mul(k.mul(bh, k.kvLen), k.vDim), vBase);
    }
    if (k.bf16Dot)
      vPairsBase = k.mul(k.mul(bh, bb.create<arith::DivSIOp>(loc, padded, k.i64c(2))), k.vDim);
    // Split f32: each part's v pairs follow all of the part before's (splitsF32).
    if (k.bf16Parts)
      vPartWords = k.mul(k.mul(k.mul(k.batch, k.kvHeads), bb.create<arith::DivSIOp>(loc, padded, k.i64c(2))), k.vDim);

    // Set up every tile; the block's query positions are the union of theirs.
    auto setup = bb.create<scf::ForOp>(
        loc, k.idx(k.i64c(0)), k.idx(tiles), k.idx(k.i64c(1)),
        ValueRange{k.i64c(std::numeric_limits<int64_t>::max()), k.i64c(-1)},
        [&](OpBuilder &, Location, Value t, ValueRange bounds) {
          // A function of its own too (OutlineRegions.h): packing q is a
          // large part of the code.
          SmallVector<Value> tileRows = emitOutlinableWithResults(bb, loc, "setup", [&] {
            bindTile(k.i64(t));
            setupTile();
            return SmallVector<Value>{iLo, iHi};
          });
          bb.create<scf::YieldOp>(loc, ValueRange{bb.create<arith::MinSIOp>(loc, bounds[0], tileRows[0]),
                                                  bb.create<arith::MaxSIOp>(loc, bounds[1], tileRows[1])});
        });
    Value blockILo = setup.getResult(0), blockIHi = setup.getResult(1);
    tileCount = tiles;
    if (!k.maskIsTrue())
      diagonal = diagonalKeys(blockILo, blockIHi);
    Value blockHLo = k.add(k.mul(hk, k.group), bb.create<arith::DivSIOp>(loc, i0, k.qLen));
    Value blockHHi = k.add(k.mul(hk, k.group),
                           bb.create<arith::DivSIOp>(loc, bb.create<arith::SubIOp>(loc, i1, k.i64c(1)), k.qLen));

    // Each K/V block in two passes over the q block's tiles: Q Kt and the
    // softmax of every tile, then P V of every tile. One pass doing both per
    // tile alternated the K and V blocks (24 KB each at D = 128: together
    // the whole L1), so each tile read both from L2. Top-K has no P V per
    // block.
    // With a mask, each block is classified for the whole q block first:
    // one the mask rules out is skipped by every tile at once, and only a
    // mixed one is classified tile by tile (a document mask's class reads
    // the ids of the tile's rows and keys).
    // On AMX tiles two K/V blocks at a time: Q Kt and the softmax of each
    // block (its P in a slot of its own), then one P V pass taking both
    // blocks per trip of the accumulator tiles through memory where it can
    // (accumulatePair): those trips, from L2, bound P V.
    // body() for the block at j unless the mask rules it out for the whole
    // q block (blockMixed: whether it may rule out some of it); returns
    // whether body ran (i1).
    auto ifBlockLive = [&](Value j, const std::function<void()> &body) -> Value {
      if (k.maskIsTrue()) {
        body();
        return bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(true));
      }
      Value n = blockLen(j);
      TileClass cls = classifyTile(k, b, blockHLo, blockHHi, blockILo, blockIHi, j,
                                   k.add(j, bb.create<arith::SubIOp>(loc, n, k.i64c(1))));
      bb.create<scf::IfOp>(loc, cls.canBeTrue, [&](OpBuilder &, Location) {
        blockMixed = cls.canBeFalse;
        body();
        blockMixed = Value();
        bb.create<scf::YieldOp>(loc);
      });
      return cls.canBeTrue;
    };
    auto pairsOf = [&](Value from, Value to) {
      bb.create<scf::ForOp>(
          loc, k.idx(from), k.idx(to), k.idx(k.mul(BK(), k.i64c(2))), ValueRange{},
          [&](OpBuilder &, Location, Value j0Idx, ValueRange) {
            Value j0 = k.i64(j0Idx);
            // Q Kt and softmax of the block at j: whether the q block has it.
            auto scorePass = [&](Value j) {
              return ifBlockLive(j, [&] { scoresOfTiles(tiles, [&] { blockOfTile(j); }); });
            };
            // The two blocks in a loop, not one after the other: one copy of
            // the Q Kt and softmax code (two doubled the kernel's compile).
            Value no = bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(false));
            auto both = bb.create<scf::ForOp>(
                loc, k.idx(k.i64c(0)), k.idx(k.i64c(2)), k.idx(k.i64c(1)), ValueRange{no, no},
                [&](OpBuilder &, Location, Value sIdx, ValueRange live) {
                  slot = k.i64(sIdx);
                  Value j = k.add(j0, k.mul(slot, BK()));
                  auto pass = bb.create<scf::IfOp>(
                      loc, bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, j, to),
                      [&](OpBuilder &, Location) { bb.create<scf::YieldOp>(loc, scorePass(j)); },
                      [&](OpBuilder &, Location) { bb.create<scf::YieldOp>(loc, ValueRange{no}); });
                  Value first = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, slot, k.i64c(0));
                  Value has = pass.getResult(0);
                  bb.create<scf::YieldOp>(loc, ValueRange{select(first, has, live[0]), select(first, live[1], has)});
                  slot = Value();
                });
            valuesOfTiles(tiles, [&] { accumulatePair(j0, both.getResult(0), both.getResult(1)); });
            bb.create<scf::YieldOp>(loc);
          });
    };
    auto blocksOf = [&](Value from, Value to) {
      if (k.amx && !topK)
        return pairsOf(from, to);
      bb.create<scf::ForOp>(
          loc, k.idx(from), k.idx(to), k.idx(BK()), ValueRange{}, [&](OpBuilder &, Location, Value j0Idx, ValueRange) {
            Value j0 = k.i64(j0Idx);
            ifBlockLive(j0, [&] {
              scoresOfTiles(tiles, [&] { blockOfTile(j0); });
              if (!topK)
                valuesOfTiles(tiles, [&] { accumulateTile(j0); });
            });
            bb.create<scf::YieldOp>(loc);
          });
    };
    if (k.maskIsTrue()) {
      blocksOf(keys.begin, keys.end);
    } else {
      // Blocks in spans of kSpanBlocks: a span the mask rules out for the
      // whole q block is skipped with one classification (long windows and
      // causal rows skip most keys).
      constexpr int64_t kSpanBlocks = 16;
      Value span = k.i64c(kSpanBlocks * blockKeys());
      bb.create<scf::ForOp>(
          loc, k.idx(keys.begin), k.idx(keys.end), k.idx(span), ValueRange{},
          [&](OpBuilder &, Location, Value s0Idx, ValueRange) {
            Value s0 = k.i64(s0Idx);
            Value s1 = bb.create<arith::MinSIOp>(loc, k.add(s0, span), keys.end);
            TileClass cls = classifyTile(k, b, blockHLo, blockHHi, blockILo, blockIHi, s0,
                                         bb.create<arith::SubIOp>(loc, s1, k.i64c(1)));
            bb.create<scf::IfOp>(loc, cls.canBeTrue, [&](OpBuilder &, Location) {
              blocksOf(s0, s1);
              bb.create<scf::YieldOp>(loc);
            });
            bb.create<scf::YieldOp>(loc);
          });
    }
    emitOutlinable(bb, loc, "finish", [&] { forTiles(tiles, [&] { finishTile(); }); });
  }

private:
  int64_t blockKeys() const { return KV * k.width; }
  /// Elements of S's, or P16's, slot for one block of a pair: the q block's
  /// rows of the largest block (ScratchLayout::compute).
  Value slotKeys() { return k.mul(k.tiledScratch.rows, k.i64c(kMaxTileKeyVectors * k.sig.schedule.vectorWidth)); }
  static constexpr float kLazyMaxMargin = 5.5f; // see scoreBlock
  /// On AVX-512 without a score function the softmax works in units of
  /// log2 e: S scaled by scale * log2 e (f32 q rows carry it), p = 2^(s - m)
  /// (one multiply per vector fewer; see expWeights), m turned back into
  /// natural units when the row ends. A score function sees true scores, so
  /// it keeps e; so does top-K, which compares them.
  bool base2Scores() const { return k.width == 16 && k.scoreIsIdentity() && !topK; }
  /// The factor the products q.k take to become scores: the scale, times
  /// log2 e in units of log2 e (f32 q rows carry it from packQTile; bf16
  /// and AMX products take it in scoreBlock).
  Value scoreScale() {
    return base2Scores() ? bb.create<arith::MulFOp>(loc, k.scale, k.f32c(static_cast<float>(M_LOG2E))).getResult()
                         : k.scale;
  }
  Value BK() { return k.i64c(blockKeys()); }
  /// The keys of the block at j0: BK, or fewer where kvLen ends it.
  Value blockLen(Value j0) { return bb.create<arith::MinSIOp>(loc, BK(), bb.create<arith::SubIOp>(loc, k.kvLen, j0)); }
  Value cmpf(arith::CmpFPredicate p, Value x, Value y) { return bb.create<arith::CmpFOp>(loc, p, x, y); }
  Value select(Value c, Value x, Value y) { return bb.create<arith::SelectOp>(loc, c, x, y); }
  Value splat(Value s) { return bb.create<vector::SplatOp>(loc, k.vecType(), s); }
  Value fma(Value a, Value x, Value y) { return bb.create<vector::FMAOp>(loc, a, x, y); }
  Value zeroVec() { return splat(k.f32c(0)); }

  /// Row `offset` of the tile (counted from its first row in the kv head's
  /// group, clamped to the group's last row): its query head and position.
  /// Row f of the group is query head hk * group + f / Lq at position f % Lq.
  std::pair<Value, Value> groupRow(Value offset) {
    Value last = bb.create<arith::SubIOp>(loc, tileEnd, k.i64c(1));
    Value f = bb.create<arith::MinSIOp>(loc, k.add(tileStart, offset), last);
    return {k.add(k.mul(hk, k.group), bb.create<arith::DivSIOp>(loc, f, k.qLen)),
            bb.create<arith::RemSIOp>(loc, f, k.qLen)};
  }
  /// Where q's row for (head, position) starts.
  Value qRowOffset(Value head, Value position) {
    return k.add(k.add(k.mul(b, k.qStr[0]), k.mul(head, k.qStr[1])), k.mul(position, k.qStr[2]));
  }

  // bf16 pairs (with k.bf16Dot): a vector of 16 pairs is 16 x i32 in memory.
  VectorType pairsType() { return VectorType::get({k.width}, bb.getI32Type()); }
  Value loadPairs(Value base, Value offset) {
    return bb.create<LLVM::LoadOp>(loc, pairsType(), k.gep(base, offset, bb.getI32Type()), 4);
  }
  /// The pair at `base[offset]` (bf16 elements, 2-byte aligned) in every lane.
  Value broadcastPair(Value base, Value offset) {
    Value pair = bb.create<LLVM::LoadOp>(loc, bb.getI32Type(), k.gep(base, offset, bb.getBF16Type()), 2);
    return bb.create<vector::SplatOp>(loc, pairsType(), pair);
  }
  /// acc + a.even * b.even + a.odd * b.odd, per f32 lane (vdpbf16ps).
  Value dotPairs(Value acc, Value a, Value b) {
    auto bf16s = VectorType::get({2 * k.width}, bb.getBF16Type());
    Value x = bb.create<vector::BitCastOp>(loc, bf16s, a), y = bb.create<vector::BitCastOp>(loc, bf16s, b);
    return bb.create<LLVM::CallIntrinsicOp>(loc, k.vecType(), "llvm.x86.avx512bf16.dpbf16ps.512",
                                            ValueRange{acc, x, y})
        .getResult(0);
  }

  /// lo and hi (16 f32 each) rounded to bf16, stored as 32 consecutive
  /// elements from `offset` of `base`, lo's first.
  void storeBf16Pair(Value lo, Value hi, Value base, Value offset) {
    auto bf16s = VectorType::get({32}, bb.getBF16Type());
    // vcvtne2ps2bf16 puts its second operand in the low half.
    Value both =
        bb.create<LLVM::CallIntrinsicOp>(loc, bf16s, "llvm.x86.avx512bf16.cvtne2ps2bf16.512", ValueRange{hi, lo})
            .getResult(0);
    bb.create<LLVM::StoreOp>(loc, both, k.gep(base, offset, bb.getBF16Type()), 2);
  }

  /// body() for each tile of the q block, bound by bindTile.
  void forTiles(Value tiles, const std::function<void()> &body) {
    bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(tiles), k.idx(k.i64c(1)), ValueRange{},
                          [&](OpBuilder &, Location, Value t, ValueRange) {
                            tileIndex = k.i64(t);
                            bindTile(tileIndex);
                            body();
                            bb.create<scf::YieldOp>(loc);
                          });
  }

  /// The two passes of a K/V block over the q block's tiles, each a
  /// function of its own (see OutlineRegions.h): Q Kt and the softmax, the
  /// larger part of the kernel's code, and P V.
  void scoresOfTiles(Value tiles, const std::function<void()> &body) {
    emitOutlinable(bb, loc, "scores", [&] { forTiles(tiles, body); });
  }
  void valuesOfTiles(Value tiles, const std::function<void()> &body) {
    emitOutlinable(bb, loc, "values", [&] { forTiles(tiles, body); });
  }

  /// Tile t of the q block: its first row and its parts of scratch.
  void bindTile(Value t) {
    tileStart = k.add(qBlockStart, k.mul(t, k.i64c(R)));
    Value firstRow = k.mul(t, k.i64c(R));
    // Its rows of the block buffers (ScratchLayout::tile and after): S and
    // P in f32, the rows' corrections, P in bf16.
    int64_t bk = blockKeys();
    auto tilePart = [&](Value regionStart, int64_t bytesPerRow) {
      return k.gep(k.scratch, k.add(regionStart, k.mul(firstRow, k.i64c(bytesPerRow))), bb.getI8Type());
    };
    // S, the corrections and P16 have a slot per block of a pair (pairsOf).
    auto inSlot = [&](Value part, Value slotElems, int64_t elemBytes) {
      return slot ? k.gep(part, k.mul(slot, k.mul(slotElems, k.i64c(elemBytes))), bb.getI8Type()) : part;
    };
    // Where this call's q blocks have them (KernelEmitter::tiledScratch).
    const KernelEmitter::TiledScratch &parts = k.tiledScratch;
    S = inSlot(tilePart(parts.tile, 4 * bk), slotKeys(), 4);
    P = tilePart(parts.tileP, 4 * bk);
    corrBuf = inSlot(tilePart(parts.corrections, 4), parts.rows, 4);
    P16 = inSlot(tilePart(parts.p16, 2 * bk), slotKeys(), 2);
    // Split f32: p's further parts, each past both slots of the part before (ScratchLayout).
    for (int part = 1; part < k.bf16Parts; ++part)
      P16part[part] = k.gep(P16, k.mul(slotKeys(), k.i64c(2 * part)), bb.getBF16Type());
    P16part[0] = P16;
    acc = k.gep(k.scratch, k.add(parts.acc, k.mul(k.mul(firstRow, k.vDim), k.i64c(4))), bb.getI8Type());
    qTile = k.gep(k.scratch,
                  k.add(parts.qTile, k.mul(k.mul(firstRow, k.headDim), k.i64c(qTileBytes(k.sig.schedule)))),
                  bb.getI8Type());
    state = k.gep(k.scratch, k.add(parts.state, k.mul(t, k.i64c(64 * kTileStateSlots(R)))), bb.getI8Type());
    if (!topK)
      return;
    int64_t slots = topKSlots(keptKeys(k.sig));
    for (int r = 0; r < R; ++r) {
      Value row = k.add(firstRow, k.i64c(r));
      top[r] = {k.gep(k.scratch, k.add(parts.topScores, k.mul(row, k.i64c(4 * slots))), bb.getI8Type()),
                k.gep(k.scratch, k.add(parts.topIndex, k.mul(row, k.i64c(8 * slots))), bb.getI8Type())};
    }
  }

  /// The bound tile's rows: query head, position, where q's row starts.
  void bindRows() {
    for (int r = 0; r < R; ++r) {
      valid[r] = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, k.add(tileStart, k.i64c(r)), tileEnd);
      std::tie(heads[r], rows[r]) = groupRow(k.i64c(r));
      qOff[r] = qRowOffset(heads[r], rows[r]);
      iLo = r ? bb.create<arith::MinSIOp>(loc, iLo, rows[r]).getResult() : rows[r];
      iHi = r ? bb.create<arith::MaxSIOp>(loc, iHi, rows[r]).getResult() : rows[r];
    }
    tileHLo = heads[0];
    tileHHi = heads[R - 1];
  }

  /// The tile's running state in scratch: slot i holds value i (see
  /// initialState); the slot after them the tile's mask bounds and its
  /// P V plan (storePlan).
  Value stateSlot(Value i) { return k.gep(state, k.mul(i, k.i64c(64)), bb.getI8Type()); }
  void storeState(ValueRange values) {
    for (auto [i, v] : llvm::enumerate(values)) {
      Value x = v.getType().isInteger(1) ? bb.create<arith::ExtUIOp>(loc, bb.getI8Type(), v).getResult() : v;
      bb.create<LLVM::StoreOp>(loc, x, stateSlot(k.i64c(i)), 4);
    }
  }
  /// The state's values; withL false: the first R only (lInPlace).
  SmallVector<Value> loadState(bool withL = true) {
    SmallVector<Value> values;
    for (int i = 0; i < (withL ? 2 * R : R); ++i) {
      bool first = i < R;
      Type type = topK ? (first ? k.i64Type : bb.getI8Type()) : (first ? k.f32 : k.vecType());
      Value x = bb.create<LLVM::LoadOp>(loc, type, stateSlot(k.i64c(i)), 4);
      values.push_back(topK && !first ? bb.create<arith::TruncIOp>(loc, bb.getI1Type(), x).getResult() : x);
    }
    return values;
  }
  /// Per row: (m, l) of the online softmax, l per lane (reduced once when
  /// the row ends, not once per block); or (count, saw NaN) of top-K.
  SmallVector<Value> initialState() {
    SmallVector<Value> init;
    for (int r = 0; r < R; ++r)
      init.push_back(topK ? k.i64c(0) : k.f32c(-kInf));
    for (int r = 0; r < R; ++r)
      init.push_back(topK ? bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(false)).getResult() : zeroVec());
    return init;
  }
  void storeBounds() {
    Value at = stateSlot(k.i64c(2 * R));
    Value bounds[] = {tileHLo, tileHHi, iLo, iHi};
    for (int i = 0; i < 4; ++i)
      bb.create<LLVM::StoreOp>(loc, bounds[i], k.gep(at, k.i64c(i), k.i64Type), 8);
  }
  void loadBounds() {
    Value at = stateSlot(k.i64c(2 * R));
    Value *bounds[] = {&tileHLo, &tileHHi, &iLo, &iHi};
    for (int i = 0; i < 4; ++i)
      *bounds[i] = bb.create<LLVM::LoadOp>(loc, k.i64Type, k.gep(at, k.i64c(i), k.i64Type), 8);
  }

  /// The bound tile before its first block: q packed, acc zeroed, state.
  void setupTile() {
    bindRows();
    packQTile();
    // acc is R rows of vDim, contiguous: one loop zeroes them all.
    k.vectorLoop(k.mul(k.i64c(R), k.vDim), [&](Value at, bool vec) {
      if (vec)
        k.storeVecF32(zeroVec(), acc, at, k.f32);
      else
        k.storeF32(k.f32c(0), acc, at, k.f32);
    });
    if (topK)
      for (int r = 0; r < R; ++r)
        emitTopKInit(k, top[r]);
    storeState(initialState());
    storeBounds();
  }

  /// The bound tile's Q Kt and softmax of the K/V block at j0 (and for
  /// top-K its offers); what P V of the block takes is left in the tile's
  /// plan (storePlan).
  void blockOfTile(Value j0) {
    loadBounds();
    if (!k.maskIsTrue())
      prefetchDiagonalKeys(j0);
    if (!topK)
      storePlan(k.i64c(0), Value(), Value()); // a block the mask rules out: no P V
    // The state is loaded and stored only for a block the tile takes: a
    // tile of a large q block skips many of the blocks it is shown (a
    // window's), and each skip loaded and stored the 2 R state slots.
    emitBlock(j0, [&](Value n, Value maskNeeded) {
      SmallVector<Value> state = loadState(/*withL=*/!lInPlace());
      for (int r = 0; r < R && lInPlace(); ++r)
        state.push_back(zeroVec()); // unused: scoreBlock updates l in its slot
      SmallVector<Value> next = emitLiveBlock(j0, n, state, maskNeeded);
      storeState(ValueRange(next).take_front(lInPlace() ? R : 2 * R));
    });
  }
  /// On AMX tiles scoreBlock reads each row's l from its state slot and
  /// writes it back as soon as the row's p sum is known, so the block's
  /// state passes the maxima only (loading the 16 l vectors to pass them
  /// through, spilled, and storing them back was 4% of a bf16 causal
  /// kernel's samples).
  bool lInPlace() const { return k.amx && !topK; }

  /// How the bound tile's P V takes the block, between the two passes: in
  /// the bounds slot after the four bounds, flags (kPlanLive, kPlanMasked,
  /// kPlanRescale) and, with kPlanMasked, the first and last + 1 key some
  /// row keeps.
  static constexpr int64_t kPlanLive = 1, kPlanMasked = 2, kPlanRescale = 4;
  /// The plan of the block in `slot` (pairsOf): the first after the
  /// bounds, the second in the state's last slot (8 words on).
  Value planAt(int i) {
    Value at = k.i64c(4 + i);
    if (slot)
      at = k.add(at, k.mul(slot, k.i64c(4)));
    return k.gep(stateSlot(k.i64c(2 * R)), at, k.i64Type);
  }
  void storePlan(Value flags, Value from, Value to) {
    bb.create<LLVM::StoreOp>(loc, flags, planAt(0), 8);
    if (from) {
      bb.create<LLVM::StoreOp>(loc, from, planAt(1), 8);
      bb.create<LLVM::StoreOp>(loc, to, planAt(2), 8);
    }
  }
  Value planHas(Value flags, int64_t flag) {
    return bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, bb.create<arith::AndIOp>(loc, flags, k.i64c(flag)),
                                    k.i64c(0));
  }

  /// The bound tile's P V of the pair of blocks at j0 (pairsOf; live*:
  /// whether the q block had each). Both on the tiles in one pass where
  /// both take the plain path and the second leaves the row maxima where
  /// they were (the first's correction then applies to acc alone); else
  /// one after the other, as without pairs.
  void accumulatePair(Value j0, Value liveA, Value liveB) {
    auto planOf = [&](int64_t s, Value live) {
      slot = k.i64c(s);
      Value flags = bb.create<LLVM::LoadOp>(loc, k.i64Type, planAt(0), 8);
      slot = Value();
      return select(live, flags, k.i64c(0));
    };
    Value flagsA = planOf(0, liveA), flagsB = planOf(1, liveB);
    auto is = [&](Value flags, int64_t want) {
      return bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, flags, k.i64c(want));
    };
    Value plainA = bb.create<arith::OrIOp>(loc, is(flagsA, kPlanLive), is(flagsA, kPlanLive | kPlanRescale));
    Value together = bb.create<arith::AndIOp>(loc, plainA, is(flagsB, kPlanLive));
    bb.create<scf::IfOp>(
        loc, together,
        [&](OpBuilder &, Location) {
          rescale = planHas(flagsA, kPlanRescale);
          accumulateAmx(j0, /*blocks=*/2);
          bb.create<scf::YieldOp>(loc);
        },
        [&](OpBuilder &, Location) {
          // One block after the other, in a loop: one copy of that code.
          bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(2)), k.idx(k.i64c(1)), ValueRange{},
                                [&](OpBuilder &, Location, Value sIdx, ValueRange) {
                                  slot = k.i64(sIdx);
                                  bindTile(tileIndex);
                                  Value first = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, slot,
                                                                         k.i64c(0));
                                  accumulateTile(k.add(j0, k.mul(slot, BK())), select(first, flagsA, flagsB));
                                  slot = Value();
                                  bb.create<scf::YieldOp>(loc);
                                });
          bindTile(tileIndex);
          bb.create<scf::YieldOp>(loc);
        });
  }

  /// The bound tile's P V of the K/V block at j0, as its plan says.
  void accumulateTile(Value j0) { accumulateTile(j0, bb.create<LLVM::LoadOp>(loc, k.i64Type, planAt(0), 8)); }
  void accumulateTile(Value j0, Value flags) {
    Value n = blockLen(j0);
    bb.create<scf::IfOp>(loc, planHas(flags, kPlanLive), [&](OpBuilder &, Location) {
      rescale = planHas(flags, kPlanRescale);
      bb.create<scf::IfOp>(
          loc, planHas(flags, kPlanMasked),
          [&](OpBuilder &, Location) {
            // Only the keys some row keeps: at a window's edges or the
            // diagonal that is about half the block. (Without mask or score
            // only the keys past kvLen are out, and n already ends there.)
            keysFrom = bb.create<LLVM::LoadOp>(loc, k.i64Type, planAt(1), 8);
            keysTo = bb.create<LLVM::LoadOp>(loc, k.i64Type, planAt(2), 8);
            // A masked key's p is exactly 0, so with v free of inf and NaN
            // on those keys it adds nothing and the plain loop serves: the
            // per-(row, key) select became a compare and branch per row
            // (14% of a windowed kernel's samples, perf).
            bb.create<scf::IfOp>(
                loc, vKeysFinite(j0),
                [&](OpBuilder &, Location) {
                  accumulateFast(j0, n, /*skipMasked=*/false);
                  bb.create<scf::YieldOp>(loc);
                },
                [&](OpBuilder &, Location) {
                  accumulateFast(j0, n, /*skipMasked=*/true);
                  bb.create<scf::YieldOp>(loc);
                });
            keysFrom = keysTo = Value();
            bb.create<scf::YieldOp>(loc);
          },
          [&](OpBuilder &, Location) {
            accumulateFast(j0, n, /*skipMasked=*/false);
            bb.create<scf::YieldOp>(loc);
          });
      bb.create<scf::YieldOp>(loc);
    });
  }

  /// Whether v's rows for keys [keysFrom, keysTo) of the block at j0 hold
  /// no inf or NaN (i1): for bf16 pairs the runtime found that for all of
  /// v; else a sum of v - v over the rows, NaN for any inf or NaN.
  Value vKeysFinite(Value j0) {
    if (k.bf16Dot)
      return k.vFinite;
    // Per key a sum of whole vectors from zero (the keys' chains overlap),
    // added to one vector over the keys, reduced once: a horizontal sum per
    // key was ten more instructions per 8 vectors of v (Dv = 128).
    Value w = k.i64c(k.width);
    Value mainEnd = k.mul(bb.create<arith::DivSIOp>(loc, k.vDim, w), w);
    Value zeros = zeroVec();
    auto keys = bb.create<scf::ForOp>(
        loc, k.idx(keysFrom), k.idx(keysTo), k.idx(k.i64c(1)), ValueRange{zeros, k.f32c(0)},
        [&](OpBuilder &, Location, Value jjIdx, ValueRange sums) {
          Value row = k.add(pvBase, k.mul(k.add(j0, k.i64(jjIdx)), vRowStride));
          auto nonFinite = [&](Value x) { return bb.create<arith::SubFOp>(loc, x, x); }; // 0, or NaN
          auto whole = bb.create<scf::ForOp>(
              loc, k.idx(k.i64c(0)), k.idx(mainEnd), k.idx(w), ValueRange{zeros},
              [&](OpBuilder &, Location, Value d, ValueRange acc) {
                Value x = k.loadVecF32(vData, k.add(row, k.i64(d)), vElement);
                bb.create<scf::YieldOp>(loc, ValueRange{bb.create<arith::AddFOp>(loc, acc[0], nonFinite(x))});
              });
          auto tail = bb.create<scf::ForOp>(
              loc, k.idx(mainEnd), k.idx(k.vDim), k.idx(k.i64c(1)), ValueRange{sums[1]},
              [&](OpBuilder &, Location, Value d, ValueRange acc) {
                Value x = k.loadF32(vData, k.add(row, k.i64(d)), vElement);
                bb.create<scf::YieldOp>(loc, ValueRange{bb.create<arith::AddFOp>(loc, acc[0], nonFinite(x))});
              });
          bb.create<scf::YieldOp>(loc, ValueRange{bb.create<arith::AddFOp>(loc, sums[0], whole.getResult(0)),
                                                  tail.getResult(0)});
        });
    Value sum = bb.create<arith::AddFOp>(
        loc, bb.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, keys.getResult(0)), keys.getResult(1));
    return cmpf(arith::CmpFPredicate::OEQ, sum, k.f32c(0));
  }

  /// The bound tile after its last block: o (and lse) of its valid rows.
  void finishTile() {
    if (!topK) {
      // In a loop over the rows: one copy of that code, not R.
      forRows([&](Value r, Value head, Value row) { finishRow(r, head, row); });
      return;
    }
    bindRows();
    SmallVector<Value> final = loadState();
    for (int r = 0; r < R; ++r) {
      bb.create<scf::IfOp>(loc, valid[r], [&](OpBuilder &, Location) {
        Value oOff = k.add(k.add(k.mul(b, k.oStr[0]), k.mul(heads[r], k.oStr[1])), k.mul(rows[r], k.oStr[2]));
        if (k.sig.weights == Weights::Argmax)
          emitArgmaxStore(k, loadBest(k, top[r]),
                          bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, final[r], k.i64c(0)),
                          final[R + r], vBase, oOff);
        else
          emitTopKFinish(k, top[r], final[r], final[R + r], k.gep(acc, accRow[r], k.f32), vBase, oOff, b,
                         heads[r], rows[r]);
        bb.create<scf::YieldOp>(loc);
      });
    }
  }

  /// Top-K: each row offers the block's keys to its running top-K. Only keys
  /// above the row's K-th best at the start of the block (or NaN) are
  /// offered: a vector compare gives a bit mask per key vector and a loop
  /// visits its set bits (count trailing zeros, clear lowest). Once a row is
  /// full, few keys pass (about K / position of each), so the insertion
  /// runs a few hundred times per row instead of once per key
  /// (emitTopKOfferKeys: on the row's slots held in registers).
  SmallVector<Value> offerBlock(Value j0, Value n, ValueRange state) {
    SmallVector<Value> next(2 * R);
    Type maskInt = bb.getIntegerType(k.width);
    for (int r = 0; r < R; ++r) {
      Value full = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, state[r], k.i64c(keptKeys(k.sig)));
      Value threshold = select(full, k.loadF32(top[r].scores, k.i64c(keptKeys(k.sig) - 1), k.f32), k.f32c(-kInf));
      // The block's KV * width keys (at most 64) as one bit mask.
      Value mask = k.i64c(0);
      for (int c = 0; c < KV; ++c) {
        Value sv = k.loadVecF32(S, k.i64c(r * blockKeys() + c * k.width), k.f32);
        Value above = cmpf(arith::CmpFPredicate::UGT, sv, splat(threshold)); // NaN passes: it must be seen
        Value bits = bb.create<vector::BitCastOp>(loc, VectorType::get({1}, maskInt), above);
        Value word = bb.create<arith::ExtUIOp>(loc, k.i64Type, bb.create<vector::ExtractOp>(loc, bits, 0));
        mask = bb.create<arith::OrIOp>(loc, mask, bb.create<arith::ShLIOp>(loc, word, k.i64c(c * k.width)));
      }
      // Only the block's n keys: bits from n on are keys past the block.
      Value inBlock = select(bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, n, k.i64c(64)), k.i64c(-1),
                             bb.create<arith::SubIOp>(
                                 loc, bb.create<arith::ShLIOp>(loc, k.i64c(1), bb.create<arith::MinSIOp>(loc, n, k.i64c(63))),
                                 k.i64c(1)));
      mask = bb.create<arith::AndIOp>(loc, mask, inBlock);
      auto [count, sawNaN] =
          emitTopKOfferKeys(k, top[r], state[r], state[R + r], mask, S, k.i64c(r * blockKeys()), j0);
      next[r] = count;
      next[R + r] = sawNaN;
    }
    return next;
  }

  /// One block of keys [j0, j0 + KV * W): live(n, maskNeeded) unless the
  /// mask rules the block out for the tile (maskNeeded: null without a
  /// mask; else whether the mask may rule out some key of it, false where it
  /// keeps them all and the per-element mask is skipped).
  void emitBlock(Value j0, const std::function<void(Value, Value)> &live) {
    Value n = blockLen(j0);
    if (k.maskIsTrue())
      return live(n, Value());
    Value jHi = k.add(j0, bb.create<arith::SubIOp>(loc, n, k.i64c(1)));
    // The q block's class of the block holds for its tiles unless mixed.
    auto tileClass = bb.create<scf::IfOp>(
        loc, blockMixed,
        [&](OpBuilder &, Location) {
          TileClass own = classifyTile(k, b, tileHLo, tileHHi, iLo, iHi, j0, jHi);
          bb.create<scf::YieldOp>(loc, ValueRange{own.canBeTrue, own.canBeFalse});
        },
        [&](OpBuilder &, Location) {
          bb.create<scf::YieldOp>(loc, ValueRange{bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(true)),
                                                  bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(false))});
        });
    TileClass cls{tileClass.getResult(0), tileClass.getResult(1)};
    bb.create<scf::IfOp>(loc, cls.canBeTrue, [&](OpBuilder &, Location) {
      live(n, cls.canBeFalse);
      bb.create<scf::YieldOp>(loc);
    });
  }

  /// The tile's q rows d-major in scratch (ScratchLayout::qTile), so Q Kt
  /// broadcasts all R of them through one pointer (eight row pointers made
  /// LLVM rotate registers through the loop: 16 moves per 24 FMAs). f32
  /// rows carry the scale; bf16 rows are pairs (see dotsBf16), scaled later.
  void packQTile() {
    if (k.amx) {
      packQRows();
      prefetchNextQTile();
      return;
    }
    Value depth = k.bf16Dot ? bb.create<arith::DivSIOp>(loc, k.headDim, k.i64c(2)).getResult() : k.headDim;
    // f32 rows: whole vectors of head dims transposed in registers, the
    // rest one element at a time below.
    Value first = k.i64c(0);
    Value scaleOfQ = k.bf16Dot ? Value() : scoreScale();
    if (!k.bf16Dot && R <= k.width && k.width % R == 0) {
      first = k.mul(bb.create<arith::DivSIOp>(loc, k.headDim, k.i64c(k.width)), k.i64c(k.width));
      bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(first), k.idx(k.i64c(k.width)), ValueRange{},
                            [&](OpBuilder &, Location, Value cIdx, ValueRange) {
                              packQColumns(k.i64(cIdx), scaleOfQ);
                              bb.create<scf::YieldOp>(loc);
                            });
    }
    bb.create<scf::ForOp>(loc, k.idx(first), k.idx(depth), k.idx(k.i64c(1)), ValueRange{},
                          [&](OpBuilder &, Location, Value cIdx, ValueRange) {
                            Value c = k.i64(cIdx);
                            for (int r = 0; r < R; ++r) {
                              Value to = k.add(k.mul(c, k.i64c(R)), k.i64c(r));
                              if (k.bf16Dot) {
                                Value from = k.gep(k.qPtr, k.add(qOff[r], k.mul(c, k.i64c(2))), bb.getBF16Type());
                                Value pair = bb.create<LLVM::LoadOp>(loc, bb.getI32Type(), from, 2);
                                bb.create<LLVM::StoreOp>(loc, pair, k.gep(qTile, to, bb.getI32Type()), 4);
                              } else {
                                Value x = k.loadF32(k.qPtr, k.add(qOff[r], c), k.qType);
                                k.storeF32(bb.create<arith::MulFOp>(loc, x, scaleOfQ), qTile, to, k.f32);
                              }
                            }
                            bb.create<scf::YieldOp>(loc);
                          });
    prefetchNextQTile();
    if (!k.bf16Dot)
      return;
    // An odd D: the last element paired with zero.
    Value odd = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, k.mul(depth, k.i64c(2)), k.headDim);
    bb.create<scf::IfOp>(loc, odd, [&](OpBuilder &, Location) {
      for (int r = 0; r < R; ++r) {
        Value from = k.gep(k.qPtr, k.add(qOff[r], k.mul(depth, k.i64c(2))), bb.getBF16Type());
        Value one = bb.create<LLVM::LoadOp>(loc, bb.getI16Type(), from, 2);
        Value pair = bb.create<arith::ExtUIOp>(loc, bb.getI32Type(), one);
        bb.create<LLVM::StoreOp>(loc, pair, k.gep(qTile, k.add(k.mul(depth, k.i64c(R)), k.i64c(r)), bb.getI32Type()), 4);
      }
      bb.create<scf::YieldOp>(loc);
    });
  }

  /// Head dims [c, c + W) of the tile's R f32 q rows into qTile, d-major
  /// and scaled: R row vectors become R vectors of W / R whole columns each
  /// (one contiguous store apiece) through log2(R) levels of two-source
  /// shuffles; at each level a pair of vectors (i, i + h) splits its
  /// columns, the lower half to i and the upper to i + h. Element by element
  /// this was 5% of a windowed kernel, whose tiles see few key blocks.
  void packQColumns(Value c, Value scaleOfQ) {
    using Label = std::pair<int64_t, int64_t>; // (row, column) held by a lane
    int64_t w = k.width;
    SmallVector<Value> v;
    SmallVector<SmallVector<Label>> labels(R);
    SmallVector<std::pair<int64_t, int64_t>> columns(R, {0, w}); // each vector's column range
    for (int r = 0; r < R; ++r) {
      v.push_back(bb.create<arith::MulFOp>(loc, k.loadVecF32(k.qPtr, k.add(qOff[r], c), k.qType), splat(scaleOfQ)));
      for (int64_t l = 0; l < w; ++l)
        labels[r].push_back({r, l});
    }
    for (int h = R / 2; h >= 1; h /= 2) {
      SmallVector<Value> next(v);
      SmallVector<SmallVector<Label>> nextLabels(labels);
      for (int i = 0; i < R; ++i) {
        if (i & h)
          continue;
        auto [lo, hi] = columns[i];
        int64_t mid = (lo + hi) / 2;
        for (int side = 0; side < 2; ++side) {
          // The elements of both vectors in the chosen half of the columns;
          // at the last level ordered as qTile wants them (column-major).
          SmallVector<Label> want;
          for (int64_t col = side ? mid : lo; col < (side ? hi : mid); ++col)
            for (int64_t row = 0; row < R; ++row)
              want.push_back({row, col});
          SmallVector<int64_t> mask;
          for (const Label &label : want) {
            int64_t at = -1;
            for (int src = 0; src < 2 && at < 0; ++src)
              for (int64_t l = 0; l < w; ++l)
                if (labels[src ? i + h : i][l] == label)
                  at = src * w + l;
            if (at >= 0)
              mask.push_back(at);
          }
          assert(static_cast<int64_t>(mask.size()) == w && "each half of a pair's columns fills one vector");
          int dst = side ? i + h : i;
          next[dst] = bb.create<vector::ShuffleOp>(loc, v[i], v[i + h], mask);
          nextLabels[dst].clear();
          for (int64_t m : mask)
            nextLabels[dst].push_back(labels[m < w ? i : i + h][m % w]);
          columns[dst] = side ? std::make_pair(mid, hi) : std::make_pair(lo, mid);
        }
      }
      v = next;
      labels = nextLabels;
    }
    for (int i = 0; i < R; ++i)
      k.storeVecF32(v[i], qTile, k.mul(k.add(c, k.i64c(columns[i].first)), k.i64c(R)), k.f32);
  }

  /// With AMX: the tile's q rows row-major as bf16 [R][D] (the A tiles of
  /// Q Kt), 32 elements (64 bytes, one tile row) at a time; D is fixed and a
  /// multiple of 32 (usesAmx).
  void packQRows() {
    int64_t d = fixedHeadDim();
    if (k.bf16Parts)
      return packQRowsSplit(d);
    auto chunk = VectorType::get({16}, bb.getI32Type());
    bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(d)), k.idx(k.i64c(32)), ValueRange{},
                          [&](OpBuilder &, Location, Value cIdx, ValueRange) {
                            Value c = k.i64(cIdx);
                            for (int r = 0; r < R; ++r) {
                              Value from = k.gep(k.qPtr, k.add(qOff[r], c), bb.getBF16Type());
                              Value x = bb.create<LLVM::LoadOp>(loc, chunk, from, 2);
                              Value to = k.gep(qTile, k.add(k.i64c(r * d), c), bb.getBF16Type());
                              bb.create<LLVM::StoreOp>(loc, x, to, 4);
                            }
                            bb.create<scf::YieldOp>(loc);
                          });
  }
  /// Split f32: the tile's q rows as bf16 [R][(parts + 1) D], each row
  /// q' = [q1 | q1' | q2 (| q3)] (splitsF32), 16 elements at a time.
  void packQRowsSplit(int64_t d) {
    int n = k.bf16Parts + 1;
    bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(d)), k.idx(k.i64c(16)), ValueRange{},
                          [&](OpBuilder &, Location, Value cIdx, ValueRange) {
                            Value c = k.i64(cIdx);
                            for (int r = 0; r < R; ++r) {
                              SplitBf16 x = splitBf16(k.loadVecF32(k.qPtr, k.add(qOff[r], c), k.qType));
                              Value row = k.add(k.i64c(r * n * d), c);
                              SmallVector<Value> parts{x.parts[0], x.hiOrZero};
                              parts.append(x.parts.begin() + 1, x.parts.end());
                              for (int part = 0; part < n; ++part)
                                bb.create<LLVM::StoreOp>(
                                    loc, parts[part], k.gep(qTile, k.add(row, k.i64c(part * d)), bb.getBF16Type()), 2);
                            }
                            bb.create<scf::YieldOp>(loc);
                          });
  }
  /// x = x1 + x2 (+ x3), bf16 vectors (splitsF32): x1 rounded to nearest
  /// (past bf16's largest finite value, that value), each further part the
  /// rest so far rounded; for an infinite x the further parts and hiOrZero
  /// are 0, else hiOrZero = x1.
  struct SplitBf16 {
    SmallVector<Value, 3> parts;
    Value hiOrZero;
  };
  SplitBf16 splitBf16(Value x) {
    auto halves = VectorType::get({k.width}, bb.getBF16Type());
    Value ax = bb.create<math::AbsFOp>(loc, x);
    Value inf = splat(k.f32c(kInf)), zero = zeroVec();
    Value top = splat(k.f32c(kBf16Max));
    Value big = bb.create<arith::AndIOp>(loc, cmpf(arith::CmpFPredicate::OGT, ax, top),
                                         cmpf(arith::CmpFPredicate::OLT, ax, inf));
    Value rounded = select(big, bb.create<math::CopySignOp>(loc, top, x), x);
    Value hi = bb.create<arith::TruncFOp>(loc, halves, rounded);
    Value hiF = bb.create<arith::ExtFOp>(loc, k.vecType(), hi);
    Value isInf = cmpf(arith::CmpFPredicate::OEQ, ax, inf);
    SplitBf16 split{{hi}, bb.create<arith::TruncFOp>(loc, halves, select(isInf, zero, hiF))};
    Value rest = select(isInf, zero, bb.create<arith::SubFOp>(loc, x, hiF));
    for (int part = 1; part < k.bf16Parts; ++part) {
      Value bits = bb.create<arith::TruncFOp>(loc, halves, rest);
      split.parts.push_back(bits);
      if (part + 1 < k.bf16Parts)
        rest = bb.create<arith::SubFOp>(loc, rest, bb.create<arith::ExtFOp>(loc, k.vecType(), bits));
    }
    return split;
  }
  /// A weight's further parts as f32 (splitsF32: p - bf16(p), then what is
  /// left after that part in bf16), each rounded to bf16 when stored.
  SmallVector<Value, 2> weightParts(Value p) {
    auto halves = VectorType::get({k.width}, bb.getBF16Type());
    SmallVector<Value, 2> parts;
    Value rest = p;
    for (int part = 1; part < k.bf16Parts; ++part) {
      Value bits = bb.create<arith::TruncFOp>(loc, halves, rest);
      rest = bb.create<arith::SubFOp>(loc, rest, bb.create<arith::ExtFOp>(loc, k.vecType(), bits));
      parts.push_back(rest);
    }
    return parts;
  }
  static constexpr float kBf16Max = 3.38953139e38f; // 0x7f7f0000, bf16's largest finite value
  int64_t fixedHeadDim() const { return k.sig.inputs[0].dims[3].fixed; }
  int64_t fixedVDim() const { return k.sig.inputs[2].dims[3].fixed; }

  /// S = Q Kt on AMX tiles: per step of 32 head-dim elements, one A tile
  /// (the R q rows) against KV B tiles of 16 keys each, read in place from
  /// k's bf16 pairs (16 pair rows, one block's BK keys apart); the KV f32
  /// result tiles go to S, which scoreBlock reads a vector at a time (16 x 4
  /// vectors loaded up front were live at once, and spilled).
  /// Split f32: a product per pair of parts of q' and k' (splitsF32), each
  /// over all of D, those reading k1' first. Where k is finite (KFinite) k1'
  /// equals k1, and Q Kt reads k1 again instead: the second read of each
  /// tile comes from L1, so fewer of k's bytes come through L2 (bf16x3,
  /// dense D=128 AOT, two threads, alternating: 57.0 -> 52.3 ms).
  void storeDotsAmx(Value j0) {
    if (!k.bf16Parts)
      return storeDots(j0, false);
    bb.create<scf::IfOp>(
        loc, k.kFinite,
        [&](OpBuilder &, Location) {
          storeDots(j0, true);
          bb.create<scf::YieldOp>(loc);
        },
        [&](OpBuilder &, Location) {
          storeDots(j0, false);
          bb.create<scf::YieldOp>(loc);
        });
  }
  /// The (q' part, k' part) of each product of split f32 (splitsF32), in
  /// q' = [q1 | q1' | q2 ..] and k' = [k1 | k2 .. | k1'] (parts + 1 each):
  /// x_i y_j for i + j <= parts + 1, where x1 meets y1 and y1' the further
  /// parts of x, y1 meets x1 and x1' those of y. `kHiTwice`: k1 for k1'.
  std::vector<std::pair<int64_t, int64_t>> splitProducts(bool kHiTwice) const {
    int n = k.bf16Parts;
    int64_t k1Prime = kHiTwice ? 0 : n;
    std::vector<std::pair<int64_t, int64_t>> products{{0, 0}};
    for (int i = 2; i <= n; ++i)
      products.push_back({i, k1Prime});
    for (int j = 2; j <= n; ++j)
      for (int i = 1; i + j <= n + 1; ++i)
        products.push_back({i == 1 ? 1 : i, j - 1});
    return products;
  }
  void storeDots(Value j0, bool kHiTwice) {
    AmxTiles t(bb, loc);
    int64_t d = fixedHeadDim() * (k.bf16Parts ? k.bf16Parts + 1 : 1), bk = blockKeys();
    TileShape rowsTile{R, 64}, pairsTile{16, 64};
    SmallVector<Value> c;
    for (int n = 0; n < KV; ++n)
      c.push_back(t.zero(rowsTile));
    Value firstPairRow = k.add(ktBase, k.mul(j0, ktDepth)); // tile-major: see paddedKvLen
    // Step s: 32 elements of D of one product of parts (splitProducts), or
    // of q and k.
    int64_t perPart = fixedHeadDim() / 32;
    std::vector<std::pair<int64_t, int64_t>> products =
        k.bf16Parts ? splitProducts(kHiTwice) : std::vector<std::pair<int64_t, int64_t>>{{0, 0}};
    int64_t steps = perPart * static_cast<int64_t>(products.size());
    auto part = [&](int64_t s, bool ofK) {
      const std::pair<int64_t, int64_t> &pq = products[s / perPart];
      return (ofK ? pq.second : pq.first) * perPart + s % perPart;
    };
    auto loadA = [&](int64_t s) {
      int64_t at = part(s, false) * 32;
      return t.load(rowsTile, k.gep(qTile, k.i64c(at), bb.getBF16Type()), k.i64c(2 * d));
    };
    auto loadB = [&](int64_t s, int n) {
      Value at = k.add(firstPairRow, k.i64c(part(s, true) * 16 * bk + n * 16));
      return t.load(pairsTile, k.gep(k.ktPtr, at, bb.getI32Type()), k.i64c(4 * bk));
    };
    // Each operand is loaded one product ahead of the product that reads
    // it, so consecutive loads live in different tile registers (these are
    // not renamed: a load into the register the previous product still
    // reads waits for it; alone 120 -> 116 ms for bf16x3 on one thread,
    // bf16 the same within noise).
    Value a = loadA(0), b = loadB(0, 0);
    for (int64_t s = 0; s < steps; ++s)
      for (int n = 0; n < KV; ++n) {
        bool last = n + 1 == KV;
        Value nextB = s + 1 < steps || !last ? loadB(last ? s + 1 : s, last ? 0 : n + 1) : Value();
        Value nextA = last && s + 1 < steps ? loadA(s + 1) : Value();
        c[n] = t.dotBf16(R, 64, 64, c[n], a, b);
        b = nextB;
        if (nextA)
          a = nextA;
      }
    for (int n = 0; n < KV; ++n)
      t.store(rowsTile, k.gep(S, k.i64c(n * 16), k.f32), k.i64c(4 * bk), c[n]);
  }

  /// acc += P V for a full block on AMX tiles: P in bf16 (P16, R rows of BK
  /// keys: 64 on AMX, 32 with split f32) as A tiles of 32 keys, v's key
  /// pairs as B tiles of 16 pair rows, acc itself as the C tile, 16 value
  /// dims at a time.
  /// The rows' corrections exp(m - m') are applied to acc first, and only
  /// when some row's maximum moved (after the first blocks, rarely).
  /// `blocks` 2: the pair of blocks at j0 (accumulatePair), the second's P
  /// in the next slot of P16, both in each trip of the accumulator tiles.
  void accumulateAmx(Value j0, int blocks = 1) {
    AmxTiles t(bb, loc);
    int64_t dv = fixedVDim(), bk = blockKeys();
    bb.create<scf::IfOp>(loc, rescale, [&](OpBuilder &, Location) {
      for (int r = 0; r < R; ++r) {
        Value corr = splat(k.loadF32(corrBuf, k.i64c(r), k.f32));
        bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(dv)), k.idx(k.i64c(k.width)), ValueRange{},
                              [&](OpBuilder &, Location, Value xIdx, ValueRange) {
                                Value at = k.add(accRow[r], k.i64(xIdx));
                                k.storeVecF32(bb.create<arith::MulFOp>(loc, k.loadVecF32(acc, at, k.f32), corr), acc,
                                              at, k.f32);
                                bb.create<scf::YieldOp>(loc);
                              });
      }
      bb.create<scf::YieldOp>(loc);
    });
    // P as A tiles of 32 keys (the last of 16 where the block has an odd
    // number of 16-key vectors), v's key pairs as B tiles of 16 pair rows
    // (or 8).
    Value pStride = k.i64c(2 * bk);
    SmallVector<Value> pTiles, pOffsets;
    SmallVector<int64_t> stepKeys;
    auto loadP = [&](Value from, size_t step) {
      return t.load({R, 2 * stepKeys[step]}, k.gep(from, pOffsets[step], bb.getBF16Type()), pStride);
    };
    for (int block = 0; block < blocks; ++block) // block 1: P16's next slot (bindTile)
      for (int64_t key = 0; key < bk; key += 32) {
        stepKeys.push_back(std::min<int64_t>(32, bk - key));
        pOffsets.push_back(k.add(k.mul(k.i64c(block), slotKeys()), k.i64c(key)));
        // Split f32 loads its P tiles per step (below): eight would not fit.
        if (!k.bf16Parts)
          pTiles.push_back(loadP(P16, pOffsets.size() - 1));
      }
    Value pairRow = k.add(vPairsBase, k.mul(bb.create<arith::DivSIOp>(loc, j0, k.i64c(2)), k.vDim));
    Value vStride = k.i64c(4 * dv);
    // Value dims in pairs of 16-column tiles (two accumulator tiles in
    // flight: tile registers are not renamed, so one C tile per step
    // serialized load, products and store), then a last single one.
    // Split f32: p_i v_j for i + j <= parts + 1 per step (splitsF32).
    auto columns = [&](Value x, int tiles) {
      SmallVector<Value> c;
      for (int u = 0; u < tiles; ++u)
        c.push_back(t.load({R, 64}, k.gep(acc, k.add(x, k.i64c(16 * u)), k.f32), vStride));
      for (size_t step = 0; step < stepKeys.size(); ++step) {
        int64_t pairRows = stepKeys[step] / 2, depth = 2 * stepKeys[step];
        auto loadV = [&](int u, int part) {
          Value at = k.add(k.add(pairRow, k.i64c(16 * static_cast<int64_t>(step) * dv)), k.add(x, k.i64c(16 * u)));
          if (part)
            at = k.add(at, k.mul(vPartWords, k.i64c(part)));
          return t.load({pairRows, 64}, k.gep(k.vPairsPtr, at, bb.getI32Type()), vStride);
        };
        if (!k.bf16Parts) {
          for (int u = 0; u < tiles; ++u)
            c[u] = t.dotBf16(R, 64, depth, c[u], pTiles[step], loadV(u, 0));
          continue;
        }
        // Split f32: the step's p parts, then each column tile's v parts and
        // their products. Where the accumulators, p's parts and every
        // tile's v parts fit the tile registers (bf16x3: 2 + 2 + 4), all
        // are loaded before the products, so no load waits on a product
        // still reading its register (tile registers are not renamed);
        // else (bf16x6: 2 + 3 + 6) one tile's v parts at a time.
        int n = k.bf16Parts;
        SmallVector<Value, 3> pParts;
        for (int part = 0; part < n; ++part)
          pParts.push_back(loadP(P16part[part], step));
        SmallVector<SmallVector<Value, 3>> vParts(tiles);
        auto loadVParts = [&](int u) {
          for (int part = 0; part < n; ++part)
            vParts[u].push_back(loadV(u, part));
        };
        bool upFront = tiles + n + tiles * n <= kAmxTileRegisters;
        if (upFront)
          for (int u = 0; u < tiles; ++u)
            loadVParts(u);
        for (int u = 0; u < tiles; ++u) {
          if (!upFront)
            loadVParts(u);
          for (int j = 0; j < n; ++j)
            for (int i = 0; i + j < n; ++i)
              c[u] = t.dotBf16(R, 64, depth, c[u], pParts[i], vParts[u][j]);
        }
      }
      for (int u = 0; u < tiles; ++u)
        t.store({R, 64}, k.gep(acc, k.add(x, k.i64c(16 * u)), k.f32), vStride, c[u]);
    };
    bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(dv / 32 * 32)), k.idx(k.i64c(32)), ValueRange{},
                          [&](OpBuilder &, Location, Value xIdx, ValueRange) {
                            columns(k.i64(xIdx), 2);
                            bb.create<scf::YieldOp>(loc);
                          });
    if (dv % 32)
      columns(k.i64c(dv / 32 * 32), 1);
  }

  /// A share of k and v for the keys at the q block's own positions, into
  /// L2, from each tile's Q Kt of each block: under a causal, windowed or
  /// document mask those are the keys no earlier q block of the head read,
  /// and the q block reaches them last (its blocks run in key order), so
  /// without this its diagonal blocks waited on memory for them. Packed k
  /// past the caches is streamed (streamsPackedK), and neither its 24 KB
  /// blocks nor v's rows came in time from the hardware's prefetchers:
  /// window 256 at L = 16k, 2 threads, 121 -> 113 ms. The share is picked
  /// by the (block, tile) pair, so the q block's first blocks cover it all
  /// long before its last ones need it. A mask that does not follow the
  /// diagonal wastes at most these 64 KB (64 rows, D = Dv = 128) per q
  /// block; a q block across two query heads (GQA) spans every position and
  /// prefetches nothing.
  struct DiagonalKeys {
    Value wanted;          // i1: prefetch at all
    Value firstKey, keys;  // the keys, clipped to kvLen
    Value kStart, kLines;  // packed k's blocks holding them: first word, lines
    Value kShares;         // kLines in shares of kKLines
  };
  static constexpr int64_t kL2Bytes = int64_t(2) << 20, kKLines = 16, kWordsPerLine = 16;
  /// The q block's DiagonalKeys, once per q block (emitRows).
  DiagonalKeys diagonalKeys(Value iLo, Value iHi) {
    DiagonalKeys d;
    Value last = bb.create<arith::MinSIOp>(loc, iHi, bb.create<arith::SubIOp>(loc, k.kvLen, k.i64c(1)));
    d.firstKey = iLo;
    d.keys = k.add(bb.create<arith::SubIOp>(loc, last, iLo), k.i64c(1));
    // A head's k and v that fit in L2 (2 MB a core here) stay there between
    // q blocks, and the prefetches only cost instructions (ALiBi causal at
    // L = 2048: 1% slower with them).
    Value headBytes = k.mul(k.kvLen, k.mul(k.add(k.headDim, k.vDim), k.i64c(k.vType.getIntOrFloatBitWidth() / 8)));
    d.wanted = bb.create<arith::AndIOp>(
        loc,
        bb.create<arith::AndIOp>(
            loc, bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt, d.keys, k.i64c(0)),
            bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sle, d.keys, k.tiledQRows)),
        bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt, headBytes, k.i64c(kL2Bytes)));
    // Packed k: the blocks holding those keys, one contiguous run of
    // ktDepth x BK words each (tile-major, see paddedKvLen).
    Value firstBlock = bb.create<arith::DivSIOp>(loc, iLo, BK());
    Value blocks =
        k.add(bb.create<arith::SubIOp>(loc, bb.create<arith::DivSIOp>(loc, last, BK()), firstBlock), k.i64c(1));
    d.kStart = k.add(ktBase, k.mul(k.mul(firstBlock, BK()), ktDepth));
    d.kLines = bb.create<arith::CeilDivSIOp>(loc, k.mul(k.mul(blocks, ktDepth), BK()), k.i64c(kWordsPerLine));
    d.kShares = bb.create<arith::CeilDivSIOp>(loc, d.kLines, k.i64c(kKLines));
    return d;
  }
  void prefetchDiagonalKeys(Value j0) {
    bb.create<scf::IfOp>(loc, diagonal.wanted, [&](OpBuilder &, Location) {
      // This call's turn: distinct for each (block, tile) of the q block.
      Value turn = k.add(k.mul(bb.create<arith::DivSIOp>(loc, j0, BK()), tileCount), tileIndex);
      Value share = bb.create<arith::RemSIOp>(loc, turn, diagonal.kShares);
      Value lastLine = bb.create<arith::SubIOp>(loc, diagonal.kLines, k.i64c(1));
      for (int64_t l = 0; l < kKLines; ++l) {
        Value line = bb.create<arith::MinSIOp>(loc, k.add(k.mul(share, k.i64c(kKLines)), k.i64c(l)), lastLine);
        k.prefetch(k.ktPtr, k.add(diagonal.kStart, k.mul(line, k.i64c(kWordsPerLine))), k.f32, /*locality=*/2);
      }
      // One of v's rows (a pair of rows with bf16 pairs); top-K reads few.
      if (!topK)
        prefetchVRow(k.add(diagonal.firstKey, bb.create<arith::RemSIOp>(loc, turn, diagonal.keys)));
      bb.create<scf::YieldOp>(loc);
    });
  }
  /// The cache lines of v's row for `key` (with bf16 pairs its pair's row).
  void prefetchVRow(Value key) {
    Value base = k.bf16Dot ? k.vPairsPtr : vData;
    Type element = k.bf16Dot ? Type(bb.getI32Type()) : vElement;
    Value row = k.bf16Dot ? k.add(vPairsBase, k.mul(bb.create<arith::DivSIOp>(loc, key, k.i64c(2)), k.vDim))
                          : k.add(pvBase, k.mul(key, vRowStride));
    int64_t perLine = 64 / (element.getIntOrFloatBitWidth() / 8);
    bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.vDim), k.idx(k.i64c(perLine)), ValueRange{},
                          [&](OpBuilder &, Location, Value dIdx, ValueRange) {
                            k.prefetch(base, k.add(row, k.i64(dIdx)), element, /*locality=*/2);
                            bb.create<scf::YieldOp>(loc);
                          });
  }

  /// The next tile's q rows, a cache line at a time, while this tile runs:
  /// packing a tile waited on q from memory (5% of a causal kernel, whose
  /// first tiles have few blocks to hide it behind).
  void prefetchNextQTile() {
    int64_t perLine = 64 / (k.qType.getIntOrFloatBitWidth() / 8);
    SmallVector<Value> next;
    for (int r = 0; r < R; ++r) {
      auto [head, row] = groupRow(k.i64c(R + r));
      next.push_back(qRowOffset(head, row));
    }
    bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.headDim), k.idx(k.i64c(perLine)), ValueRange{},
                          [&](OpBuilder &, Location, Value dIdx, ValueRange) {
                            for (int r = 0; r < R; ++r)
                              k.prefetch(k.qPtr, k.add(next[r], k.i64(dIdx)), k.qType);
                            bb.create<scf::YieldOp>(loc);
                          });
  }

  /// S = Q Kt with bf16 pairs: ceil(D / 2) steps of R x KV vdpbf16ps (an
  /// odd D's last pair is (q, 0) and (k, 0): see packQTile and kPairsPacker).
  SmallVector<Value> dotsBf16(Value j0) {
    SmallVector<Value> zeros(R * KV, zeroVec());
    auto loop = bb.create<scf::ForOp>(
        loc, k.idx(k.i64c(0)), k.idx(ktDepth), k.idx(k.i64c(1)), zeros,
        [&](OpBuilder &, Location, Value cIdx, ValueRange accs) {
          Value c = k.i64(cIdx);
          Value ktRowStart = k.add(k.add(ktBase, k.mul(j0, ktDepth)), k.mul(c, BK())); // tile-major: see paddedKvLen
          SmallVector<Value> kt;
          for (int v = 0; v < KV; ++v)
            kt.push_back(loadPairs(k.ktPtr, k.add(ktRowStart, k.i64c(v * k.width))));
          SmallVector<Value> next;
          for (int r = 0; r < R; ++r) {
            Value pair = bb.create<LLVM::LoadOp>(
                loc, bb.getI32Type(), k.gep(qTile, k.add(k.mul(c, k.i64c(R)), k.i64c(r)), bb.getI32Type()), 4);
            Value qd = bb.create<vector::SplatOp>(loc, pairsType(), pair);
            for (int v = 0; v < KV; ++v)
              next.push_back(dotPairs(accs[r * KV + v], qd, kt[v]));
          }
          bb.create<scf::YieldOp>(loc, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// p of tile row r, key vector c, to P (or P16 with bf16 pairs, where
  /// P V reads p in bf16 only, its masked slow path too: two vectors per
  /// vcvtne2ps2bf16 and store, one of each fewer per two vectors than
  /// converting each alone; `evenP` holds the first of a pair).
  void storeWeights(int r, int c, Value p, Value &evenP) {
    if (evenP) {
      storeBf16Pair(evenP, p, P16, k.i64c(r * blockKeys() + (c - 1) * k.width));
      SmallVector<Value, 2> evenParts = weightParts(evenP), parts = weightParts(p);
      for (size_t part = 0; part < parts.size(); ++part)
        storeBf16Pair(evenParts[part], parts[part], P16part[part + 1],
                      k.i64c(r * blockKeys() + (c - 1) * k.width));
      evenP = Value();
    } else if (k.bf16Dot && k.width == 16 && c + 1 < KV) {
      evenP = p; // stored with the next vector's
    } else if (k.bf16Dot) {
      k.storeVecF32(p, P16, k.i64c(r * blockKeys() + c * k.width), bb.getBF16Type());
      SmallVector<Value, 2> parts = weightParts(p);
      for (size_t part = 0; part < parts.size(); ++part)
        k.storeVecF32(parts[part], P16part[part + 1], k.i64c(r * blockKeys() + c * k.width), bb.getBF16Type());
    } else {
      k.storeVecF32(p, P, k.i64c(r * blockKeys() + c * k.width), k.f32);
    }
  }
  /// Which lanes of score vector (r, c) are masked (-inf): into the lanes
  /// masked in every row so far (allOut[c]) and in some row (maskedLanes).
  void trackMasked(int r, int c, Value score, SmallVector<Value> &allOut, Value &maskedLanes) {
    Value isOut = cmpf(arith::CmpFPredicate::OEQ, score, splat(k.f32c(-kInf)));
    maskedLanes = maskedLanes ? bb.create<arith::OrIOp>(loc, maskedLanes, isOut).getResult() : isOut;
    allOut[c] = r ? bb.create<arith::AndIOp>(loc, allOut[c], isOut).getResult() : isOut;
  }
  /// How P V takes the block (storePlan), from which keys the block masks:
  /// anyMasked and allOut (per key lane, masked in every row) as the
  /// weights' loop found them, unless cheapMaskTest (only kvLen cuts the
  /// block: anyMasked says whether it does) or lazyMaskTest (found here
  /// from S, and only when v holds inf or NaN).
  void planBlock(Value n, Value anyMasked, ArrayRef<Value> allOut, Value scaleS, bool cheapMaskTest,
                 bool lazyMaskTest) {
    // On AMX tiles with a v free of inf and NaN, blocks with masked keys
    // take the tiles too: their p = 0 adds exactly nothing.
    Value slowPath = anyMasked;
    Value live = cheapMaskTest ? k.i64c(-1) : Value();
    Value notFinite = k.amx ? bb.create<arith::XOrIOp>(loc, k.vFinite,
                                                            bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(true)))
                                       .getResult()
                                 : Value();
    if (lazyMaskTest) {
      auto masked = bb.create<scf::IfOp>(
          loc, notFinite,
          [&](OpBuilder &, Location) {
            auto [any, keptWord] = maskedKeysInS(scaleS);
            bb.create<scf::YieldOp>(loc, ValueRange{any, keptWord});
          },
          [&](OpBuilder &, Location) {
            bb.create<scf::YieldOp>(loc, ValueRange{bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(false)),
                                                    k.i64c(-1)});
          });
      slowPath = masked.getResult(0);
      live = masked.getResult(1);
    } else if (k.amx) {
      slowPath = bb.create<arith::AndIOp>(loc, anyMasked, notFinite);
    }
    // Split f32 splits v into finite parts only where v is finite: else
    // every block reads v in f32 (splitsF32).
    if (k.bf16Parts)
      slowPath = notFinite;
    // The keys some row keeps, for P V's slow path (accumulateTile).
    if (!live)
      live = keptKeysWord(allOut);
    Value from = bb.create<arith::MinSIOp>(loc, bb.create<math::CountTrailingZerosOp>(loc, live), n);
    Value to = bb.create<arith::MinSIOp>(
        loc, bb.create<arith::SubIOp>(loc, k.i64c(64), bb.create<math::CountLeadingZerosOp>(loc, live)), n);
    auto flag = [&](Value bit, int64_t value) {
      return bb.create<arith::SelectOp>(loc, bit, k.i64c(value), k.i64c(0)).getResult();
    };
    Value flags = bb.create<arith::OrIOp>(loc, k.i64c(kPlanLive), flag(slowPath, kPlanMasked));
    flags = bb.create<arith::OrIOp>(loc, flags, flag(rescale, kPlanRescale));
    storePlan(flags, from, to);
  }

  /// `maskNeeded`: null when the spec has no mask; else whether some key of
  /// the block may be masked.
  SmallVector<Value> emitLiveBlock(Value j0, Value n, ValueRange ml, Value maskNeeded) {
    if (k.amx) {
      storeDotsAmx(j0);
      return scoreBlock(j0, n, ml, maskNeeded, {}); // the products are in S
    }
    if (k.bf16Dot)
      return scoreBlock(j0, n, ml, maskNeeded, dotsBf16(j0));
    if (!maskNeeded)
      return scoreBlock(j0, n, ml, maskNeeded, dotsF32(j0, k.i64c(0), KV), /*scaled=*/true);
    // A tile the mask may cut: only the key vectors from the first to the
    // last one the mask can keep for some row of the tile (a window's or
    // the diagonal's edge leaves a tenth of a windowed kernel's Q Kt
    // vectors entirely masked). Those go through S; the others read 0 and
    // the mask makes them -inf.
    Value first, count; // not a structured binding: the lambdas below capture them (C++17)
    std::tie(first, count) = liveKeyVectors(j0, n, maskNeeded);
    Value trim = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, count, k.i64c(KV));
    auto dots = bb.create<scf::IfOp>(
        loc, trim,
        [&](OpBuilder &, Location) {
          for (int i = 0; i < R * KV; ++i)
            k.storeVecF32(zeroVec(), S, k.i64c(i / KV * blockKeys() + i % KV * k.width), k.f32);
          for (int vectors = KV - 1; vectors >= 1; --vectors)
            bb.create<scf::IfOp>(loc, bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, count, k.i64c(vectors)),
                                 [&](OpBuilder &, Location) {
                                   SmallVector<Value> part = dotsF32(j0, first, vectors);
                                   for (int r = 0; r < R; ++r)
                                     for (int c = 0; c < vectors; ++c)
                                       k.storeVecF32(part[r * vectors + c], S,
                                                     k.add(k.i64c(r * blockKeys()),
                                                           k.mul(k.add(first, k.i64c(c)), k.i64c(k.width))),
                                                     k.f32);
                                   bb.create<scf::YieldOp>(loc);
                                 });
          SmallVector<Value> fromS;
          for (int i = 0; i < R * KV; ++i)
            fromS.push_back(k.loadVecF32(S, k.i64c(i / KV * blockKeys() + i % KV * k.width), k.f32));
          bb.create<scf::YieldOp>(loc, fromS);
        },
        [&](OpBuilder &, Location) { bb.create<scf::YieldOp>(loc, dotsF32(j0, k.i64c(0), KV)); });
    return scoreBlock(j0, n, ml, maskNeeded, SmallVector<Value>(dots.getResults()), /*scaled=*/true);
  }

  /// S = Q Kt for `vectors` key vectors of the block from vector `first`:
  /// R x vectors accumulators, row-major.
  SmallVector<Value> dotsF32(Value j0, Value first, int vectors) {
    SmallVector<Value> zeros(R * vectors, zeroVec());
    auto dots = bb.create<scf::ForOp>(
        loc, k.idx(k.i64c(0)), k.idx(k.headDim), k.idx(k.i64c(1)), zeros,
        [&](OpBuilder &, Location, Value dIdx, ValueRange accs) {
          Value d = k.i64(dIdx);
          Value ktRowStart = k.add(k.add(ktBase, k.mul(j0, k.headDim)), k.mul(d, BK())); // tile-major: see paddedKvLen
          ktRowStart = k.add(ktRowStart, k.mul(first, k.i64c(k.width)));
          SmallVector<Value> kt;
          for (int c = 0; c < vectors; ++c)
            kt.push_back(k.loadVecF32(k.ktPtr, k.add(ktRowStart, k.i64c(c * k.width)), k.f32));
          SmallVector<Value> next;
          for (int r = 0; r < R; ++r) {
            Value qd = splat(k.loadF32(qTile, k.add(k.mul(d, k.i64c(R)), k.i64c(r)), k.f32));
            for (int c = 0; c < vectors; ++c)
              next.push_back(fma(qd, kt[c], accs[r * vectors + c]));
          }
          bb.create<scf::YieldOp>(loc, next);
        });
    return SmallVector<Value>(dots.getResults());
  }

  /// The key vectors of the block at j0 (n keys) from the first to the last
  /// the mask can keep for some row of the bound tile: (first, count), count
  /// KV unless `maybeMasked`, 0 if none.
  std::pair<Value, Value> liveKeyVectors(Value j0, Value n, Value maybeMasked) {
    auto range = bb.create<scf::IfOp>(
        loc, maybeMasked,
        [&](OpBuilder &, Location) {
          Value first = k.i64c(KV), last = k.i64c(-1);
          for (int c = KV - 1; c >= 0; --c) {
            Value jLo = k.add(j0, k.i64c(c * k.width));
            Value jHi = bb.create<arith::MinSIOp>(loc, k.add(jLo, k.i64c(k.width - 1)),
                                                  bb.create<arith::SubIOp>(loc, k.add(j0, n), k.i64c(1)));
            TileClass cls = classifyTile(k, b, tileHLo, tileHHi, iLo, iHi, jLo, jHi);
            Value live = bb.create<arith::AndIOp>(
                loc, cls.canBeTrue, bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, k.i64c(c * k.width), n));
            first = select(live, k.i64c(c), first);
            last = bb.create<arith::MaxSIOp>(loc, last, select(live, k.i64c(c), k.i64c(-1)));
          }
          Value count = bb.create<arith::MaxSIOp>(loc, k.i64c(0),
                                                  k.add(bb.create<arith::SubIOp>(loc, last, first), k.i64c(1)));
          bb.create<scf::YieldOp>(loc, ValueRange{select(bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt,
                                                                                  first, k.i64c(KV)),
                                                         first, k.i64c(0)),
                                                  count});
        },
        [&](OpBuilder &, Location) { bb.create<scf::YieldOp>(loc, ValueRange{k.i64c(0), k.i64c(KV)}); });
    return {range.getResult(0), range.getResult(1)};
  }

  /// Bit j of the word: some row of the tile keeps key j of the block
  /// (allOut[c]: per lane of key vector c, masked in every row).
  Value keptKeysWord(ArrayRef<Value> allOut) {
    Type maskInt = bb.getIntegerType(k.width);
    Value live;
    for (int c = 0; c < KV; ++c) {
      Value kept = bb.create<arith::XOrIOp>(
          loc, allOut[c], bb.create<arith::ConstantOp>(loc, DenseElementsAttr::get(cast<ShapedType>(allOut[c].getType()), true)));
      Value bits = bb.create<vector::BitCastOp>(loc, VectorType::get({1}, maskInt), kept);
      Value word = bb.create<arith::ExtUIOp>(loc, k.i64Type, bb.create<vector::ExtractOp>(loc, bits, 0));
      Value shifted = bb.create<arith::ShLIOp>(loc, word, k.i64c(c * k.width));
      live = c ? bb.create<arith::OrIOp>(loc, live, shifted).getResult() : shifted;
    }
    return live;
  }

  /// From the block's scores in S (-inf where masked or past kvLen): whether
  /// some (row, key) is masked, and keptKeysWord. A loop over the rows.
  std::pair<Value, Value> maskedKeysInS(Value scaleS) {
    auto maskType = VectorType::get({k.width}, bb.getI1Type());
    auto constMask = [&](bool x) {
      return bb.create<arith::ConstantOp>(loc, DenseElementsAttr::get(maskType, x)).getResult();
    };
    SmallVector<Value> init(KV, constMask(true));
    init.push_back(constMask(false));
    auto rows = bb.create<scf::ForOp>(
        loc, k.idx(k.i64c(0)), k.idx(k.i64c(R)), k.idx(k.i64c(1)), init,
        [&](OpBuilder &, Location, Value rIdx, ValueRange acc) {
          SmallVector<Value> next;
          Value any = acc[KV];
          for (int c = 0; c < KV; ++c) {
            Value at = k.add(k.mul(k.i64(rIdx), k.i64c(blockKeys())), k.i64c(c * k.width));
            Value score = bb.create<arith::MulFOp>(loc, k.loadVecF32(S, at, k.f32), scaleS);
            Value isOut = cmpf(arith::CmpFPredicate::OEQ, score, splat(k.f32c(-kInf)));
            next.push_back(bb.create<arith::AndIOp>(loc, acc[c], isOut));
            any = bb.create<arith::OrIOp>(loc, any, isOut);
          }
          next.push_back(any);
          bb.create<scf::YieldOp>(loc, next);
        });
    SmallVector<Value> allOut(rows.getResults().take_front(KV));
    Value any = bb.create<vector::ReductionOp>(loc, vector::CombiningKind::OR, rows.getResult(KV));
    return {any, keptKeysWord(allOut)};
  }

  /// The block's scores from the R x KV dot products (none: they are in S
  /// already, storeDotsAmx): scaled, masked, the score function applied;
  /// then top-K offers or the online softmax.
  SmallVector<Value> scoreBlock(Value j0, Value n, ValueRange ml, Value maskNeeded, ArrayRef<Value> dots,
                                bool scaled = false) {
    bool hasScore = !k.scoreIsIdentity();
    Value scaleFactor = scoreScale();
    Value scale = splat(scaleFactor);
    // Keys past kvLen are -inf; so are masked keys.
    auto laneType = VectorType::get({k.width}, bb.getI32Type());
    SmallVector<int32_t> iota;
    for (int32_t l = 0; l < k.width; ++l)
      iota.push_back(l);
    Value lanes = bb.create<arith::ConstantOp>(loc, DenseElementsAttr::get(laneType, ArrayRef<int32_t>(iota)));
    Value n32 = bb.create<arith::TruncIOp>(loc, bb.getI32Type(), n);
    SmallVector<Value> inRange;
    for (int c = 0; c < KV; ++c) {
      Value left = bb.create<arith::SubIOp>(loc, n32, bb.create<arith::ConstantOp>(loc, bb.getI32IntegerAttr(c * k.width)));
      Value limit = bb.create<vector::SplatOp>(loc, laneType, left);
      inRange.push_back(bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, lanes, limit));
    }
    // On AMX tiles S holds the raw products. Without a score function or
    // top-K nothing else reads the scaled scores, so unless the block needs
    // -inf somewhere (past kvLen, or where the mask may rule keys out) the
    // softmax scales them as it loads them, for p and (unless the scale is
    // positive) for the maxima: by loadScale, the scale, else 1 after one
    // pass that scales and masks S in place.
    // Keeping R x KV = 64 scaled vectors live instead spilled them (140
    // vector spill stores in the bf16 dense kernel); that pass on every
    // block of a causal kernel was a load, multiply, blend and store per
    // vector, and the kvLen blend on every load two more.
    bool scaleOnLoad = k.amx && !topK && !hasScore;
    Value loadScale = k.f32c(1.0f);
    // `cut`: kvLen may end the block (keys past it made -inf).
    auto scaleAndMask = [&](bool cut) {
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < KV; ++c) {
          // No dots: the products are in S already (storeDotsAmx).
          Value at = k.i64c(r * blockKeys() + c * k.width);
          Value dot = dots.empty() ? k.loadVecF32(S, at, k.f32) : dots[r * KV + c];
          Value s = scaled ? dot : bb.create<arith::MulFOp>(loc, dot, scale).getResult();
          k.storeVecF32(cut ? select(inRange[c], s, splat(k.f32c(-kInf))) : s, S, at, k.f32);
        }
    };
    Value cutByKvLen = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, n, BK());
    if (scaleOnLoad) {
      Value inPlace = maskNeeded ? bb.create<arith::OrIOp>(loc, cutByKvLen, maskNeeded).getResult() : cutByKvLen;
      bb.create<scf::IfOp>(loc, inPlace, [&](OpBuilder &, Location) {
        scaleAndMask(true);
        if (maskNeeded)
          bb.create<scf::IfOp>(loc, maskNeeded, [&](OpBuilder &, Location) {
            applyElements(j0, n, true, false);
            bb.create<scf::YieldOp>(loc);
          });
        bb.create<scf::YieldOp>(loc);
      });
      loadScale = select(inPlace, loadScale, scaleFactor);
    } else {
      // Only the last block is cut: the others store S with no blend (a
      // select per vector of every block, for one).
      bb.create<scf::IfOp>(
          loc, cutByKvLen,
          [&](OpBuilder &, Location) {
            scaleAndMask(true);
            bb.create<scf::YieldOp>(loc);
          },
          [&](OpBuilder &, Location) {
            scaleAndMask(false);
            bb.create<scf::YieldOp>(loc);
          });
      if (maskNeeded) {
        bb.create<scf::IfOp>(
            loc, maskNeeded,
            [&](OpBuilder &, Location) {
              applyElements(j0, n, true, hasScore);
              bb.create<scf::YieldOp>(loc);
            },
            [&](OpBuilder &, Location) {
              if (hasScore)
                applyElements(j0, n, false, true);
              bb.create<scf::YieldOp>(loc);
            });
      } else if (hasScore) {
        applyElements(j0, n, false, true);
      }
    }
    Value scaleS = splat(loadScale);
    auto rawScore = [&](int r, int c) { return k.loadVecF32(S, k.i64c(r * blockKeys() + c * k.width), k.f32); };
    auto scoreVec = [&](int r, int c) -> Value {
      Value x = rawScore(r, c);
      return scaleOnLoad ? bb.create<arith::MulFOp>(loc, x, scaleS).getResult() : x;
    };

    if (topK)
      return offerBlock(j0, n, ml);

    // Without a mask or score function only keys past kvLen are -inf, and
    // only a block cut short by kvLen has them.
    bool cheapMaskTest = !maskNeeded && !hasScore;
    // On AMX tiles which keys are masked matters only when v holds inf or
    // NaN (see planBlock): found then from S after the rows
    // (maskedKeysInS), not per row and vector alongside the exponentials (a
    // compare and two mask operations per vector, an eighth of the
    // softmax's instructions).
    bool lazyMaskTest = !cheapMaskTest && k.amx;
    Value anyMasked = cheapMaskTest
                          ? bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, n, BK()).getResult()
                          : bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(false)).getResult();
    // Per key lane: masked in every row of the tile.
    SmallVector<Value> allOut(KV);
    Value maskedLanes; // lanes masked in some row, for some key vector

    if (k.sig.weights == Weights::Sigmoid) {
      // p = 1 / (1 + exp(-s)) per (row, key), unnormalized: no running
      // maximum, no sum, acc never rescaled. A masked key's exp(-s) is inf
      // and its p exactly 0, as P V's plan needs.
      for (int r = 0; r < R; ++r) {
        Value evenP;
        for (int c = 0; c < KV; ++c) {
          Value score = scoreVec(r, c);
          Value e = k.expWeights(bb.create<arith::NegFOp>(loc, score), base2Scores());
          Value p = bb.create<arith::DivFOp>(loc, splat(k.f32c(1)), bb.create<arith::AddFOp>(loc, splat(k.f32c(1)), e));
          storeWeights(r, c, p, evenP);
          if (!cheapMaskTest && !lazyMaskTest)
            trackMasked(r, c, score, allOut, maskedLanes);
        }
      }
      if (!cheapMaskTest && !lazyMaskTest)
        anyMasked = bb.create<vector::ReductionOp>(loc, vector::CombiningKind::OR, maskedLanes);
      rescale = bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(false));
      planBlock(n, anyMasked, allOut, scaleS, cheapMaskTest, lazyMaskTest);
      return SmallVector<Value>(ml);
    }

    // Online softmax, vectorized over the block's keys.
    SmallVector<Value> next(2 * R);
    // Every row's correction exp(m - mNew) in one vector exp: eight scalar
    // polynomials were 9% of a D=64 dense kernel's samples (perf).
    auto rowsType = VectorType::get({R}, k.f32);
    auto rowsConst = [&](float x) {
      return bb.create<arith::ConstantOp>(loc, DenseElementsAttr::get(rowsType, x)).getResult();
    };
    // The rows' block maxima and new running maxima as one vector<R>: one
    // transposing reduction and a few vector ops instead of a reduction tree
    // and a scalar chain per row.
    SmallVector<SmallVector<Value>> sv(R);
    Value mOld = rowsConst(0.0f);
    for (int r = 0; r < R; ++r)
      mOld = bb.create<vector::InsertOp>(loc, ml[r], mOld, r);
    // The rows' largest scores, of S as `load` gives them.
    auto blockMaxOf = [&](const std::function<Value(int, int)> &load) {
      SmallVector<Value> rowMaxes(R);
      for (int r = 0; r < R; ++r) {
        sv[r].clear();
        for (int c = 0; c < KV; ++c) {
          sv[r].push_back(load(r, c));
          // `a > b ? a : b` (one vmaxps) may drop or keep a NaN lane; either
          // way a NaN score reaches o and lse through its p = exp(NaN).
          rowMaxes[r] = c ? select(cmpf(arith::CmpFPredicate::OGT, rowMaxes[r], sv[r][c]), rowMaxes[r], sv[r][c])
                          : sv[r][c];
        }
      }
      return k.reduceMaxRows(rowMaxes);
    };
    Value blockMax;
    if (scaleOnLoad) {
      // A positive scale keeps the order: the largest of the raw products,
      // scaled once per row, is the largest scaled score, rounded alike (so
      // s - m is still exactly 0 for it), with no multiply per vector.
      Value positive = cmpf(arith::CmpFPredicate::OGT, loadScale, k.f32c(0.0f));
      auto maxOf = bb.create<scf::IfOp>(
          loc, positive,
          [&](OpBuilder &, Location) {
            Value m = blockMaxOf(rawScore);
            bb.create<scf::YieldOp>(loc, ValueRange{bb.create<arith::MulFOp>(
                                             loc, m, bb.create<vector::SplatOp>(loc, rowsType, loadScale))});
          },
          [&](OpBuilder &, Location) { bb.create<scf::YieldOp>(loc, ValueRange{blockMaxOf(scoreVec)}); });
      blockMax = maxOf.getResult(0);
      for (int r = 0; r < R; ++r)
        sv[r].assign(KV, Value()); // loaded again per row below (AMX)
    } else {
      blockMax = blockMaxOf(scoreVec);
    }
    Value mNew = bb.create<arith::MaxNumFOp>(loc, mOld, blockMax);
    // A row keeps its running maximum m unless the block's exceeds it by
    // more than kLazyMaxMargin: p = exp(s - m) may then reach e^5.5 (~245),
    // which f32 l and acc and bf16 p hold as well as 1, and acc in memory is
    // rescaled (kPlanRescale) only when some row's m moves. With every new
    // maximum moving m, most blocks rescaled acc (16 rows, each with a new
    // maximum in block b with odds 1/b; 8 rows on f32: half the blocks of
    // L = 2048).
    float margin = base2Scores() ? kLazyMaxMargin * static_cast<float>(M_LOG2E) : kLazyMaxMargin;
    Value grows = cmpf(arith::CmpFPredicate::OGT, blockMax, bb.create<arith::AddFOp>(loc, mOld, rowsConst(margin)));
    mNew = select(grows, mNew, mOld);
    Value mSafe = select(cmpf(arith::CmpFPredicate::OEQ, mNew, rowsConst(-kInf)), rowsConst(0.0f), mNew);
    Value shifts = bb.create<arith::SubFOp>(loc, mOld, mSafe);
    SmallVector<Value> pSums(R);
    // On AMX tiles each row's l is read from the tile's state, updated and
    // written back as soon as its p sum is known, so neither the 16 old l
    // nor the 16 sums are live across the rows (they spilled).
    if (base2Scores())
      shifts = bb.create<arith::MulFOp>(loc, shifts, rowsConst(static_cast<float>(M_LN2)));
    Value corrEarly = k.amx ? bb.create<math::ExpOp>(loc, shifts).getResult() : Value();
    for (int r = 0; r < R; ++r) {
      Value rowShift = splat(bb.create<vector::ExtractOp>(loc, mSafe, r));
      // On AMX tiles (R = 16, KV = 4) each row's scores are loaded again
      // (see scaleOnLoad); the stores of P16 between rows keep LLVM from
      // merging the loads, as it cannot tell P16 from S.
      if (k.amx)
        for (int c = 0; c < KV; ++c)
          sv[r][c] = scoreVec(r, c);
      // p = exp(s - m). (Not 2^(s log2 e - m log2 e) as one FMA: with
      // scores near 1e36 the rounding of m log2 e alone is 1e29, while
      // s - m is exact for the row's largest score.)
      Value pSum, evenP;
      for (int c = 0; c < KV; ++c) {
        Value p = k.expWeights(bb.create<arith::SubFOp>(loc, sv[r][c], rowShift), base2Scores());
        storeWeights(r, c, p, evenP);
        pSum = c ? bb.create<arith::AddFOp>(loc, pSum, p).getResult() : p;
        if (!cheapMaskTest && !lazyMaskTest)
          trackMasked(r, c, sv[r][c], allOut, maskedLanes);
      }
      next[r] = bb.create<vector::ExtractOp>(loc, mNew, r);
      pSums[r] = pSum;
      if (lInPlace()) {
        Value lSlot = stateSlot(k.i64c(R + r));
        Value lOld = bb.create<LLVM::LoadOp>(loc, k.vecType(), lSlot, 4);
        Value lNew = fma(splat(bb.create<vector::ExtractOp>(loc, corrEarly, r)), lOld, pSum);
        bb.create<LLVM::StoreOp>(loc, lNew, lSlot, 4);
      }
    }
    // One reduction of the lanes masked in any row: a chain of R scalar ORs
    // of per-row reductions made instcombine spend a quarter of an AMX
    // kernel's optimization in isImpliedCondition.
    if (!cheapMaskTest && !lazyMaskTest)
      anyMasked = bb.create<vector::ReductionOp>(loc, vector::CombiningKind::OR, maskedLanes);
    Value corr = corrEarly ? corrEarly : bb.create<math::ExpOp>(loc, shifts).getResult();
    bb.create<LLVM::StoreOp>(loc, corr, corrBuf, 4);
    // UNE: a NaN shift rescales too, and reaches o.
    rescale = bb.create<vector::ReductionOp>(loc, vector::CombiningKind::OR,
                                             cmpf(arith::CmpFPredicate::UNE, shifts, rowsConst(0.0f)));
    for (int r = 0; r < R; ++r)
      next[R + r] = lInPlace() ? ml[R + r] // already in its slot
                               : fma(splat(bb.create<vector::ExtractOp>(loc, corr, r)), ml[R + r], pSums[r]);
    planBlock(n, anyMasked, allOut, scaleS, cheapMaskTest, lazyMaskTest);
    return next;
  }


  /// Per element of the block's valid keys: a masked key becomes -inf (when
  /// `withMask`); the others get the score region (when `withScore`).
  void applyElements(Value j0, Value n, bool withMask, bool withScore) {
    bool vectorMask = !withMask || isVectorizable(k.op.getMask(), {3});
    bool vectorScore = !withScore || isVectorizable(k.op.getScore(), {0, 4});
    if (vectorMask && vectorScore)
      return applyElementsVectorized(j0, n, withMask, withScore);
    forRows([&](Value r, Value head, Value row) {
      bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(n), k.idx(k.i64c(1)), ValueRange{},
                            [&](OpBuilder &, Location, Value jjIdx, ValueRange) {
                              Value jj = k.i64(jjIdx), j = k.add(j0, jj);
                              Value at = k.add(k.mul(r, BK()), jj);
                              Value keep = withMask ? k.inlineRegion(k.op.getMask(), {b, head, row, j})
                                                    : bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(true)).getResult();
                              auto s = bb.create<scf::IfOp>(
                                  loc, keep,
                                  [&](OpBuilder &, Location) {
                                    Value raw = k.loadF32(S, at, k.f32);
                                    bb.create<scf::YieldOp>(
                                        loc, withScore ? k.inlineRegion(k.op.getScore(), {raw, b, head, row, j}) : raw);
                                  },
                                  [&](OpBuilder &, Location) { bb.create<scf::YieldOp>(loc, k.f32c(-kInf)); });
                              k.storeF32(s.getResult(0), S, at, k.f32);
                              bb.create<scf::YieldOp>(loc);
                            });
    });
  }

  /// body(r, head, row) for each row r of the tile, in a loop rather than
  /// unrolled: mask and score code is emitted once, not once per row (it
  /// was most of the compile time of specs with long masks). A row past the
  /// q block's end repeats the last one, as in groupRow.
  void forRows(const std::function<void(Value, Value, Value)> &body) {
    bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(R)), k.idx(k.i64c(1)), ValueRange{},
                          [&](OpBuilder &, Location, Value rIdx, ValueRange) {
                            Value r = k.i64(rIdx);
                            auto [head, row] = groupRow(r);
                            body(r, head, row);
                            bb.create<scf::YieldOp>(loc);
                          });
  }

  /// The same, a vector of keys at a time: the mask and score regions
  /// evaluated over the key lanes (see VectorRegion.h).
  void applyElementsVectorized(Value j0, Value n, bool withMask, bool withScore) {
    auto i64Vec = VectorType::get({k.width}, k.i64Type);
    SmallVector<int64_t> iota;
    for (int64_t l = 0; l < k.width; ++l)
      iota.push_back(l);
    Value lanes = bb.create<arith::ConstantOp>(loc, DenseElementsAttr::get(i64Vec, ArrayRef<int64_t>(iota)));
    Value end = bb.create<vector::SplatOp>(loc, i64Vec, k.add(j0, n));
    forRows([&](Value r, Value head, Value row) {
      for (int c = 0; c < KV; ++c) {
        Value first = k.add(j0, k.i64c(c * k.width));
        Value j = bb.create<arith::AddIOp>(loc, bb.create<vector::SplatOp>(loc, i64Vec, first), lanes);
        Value valid = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, j, end);
        Value at = k.add(k.mul(r, BK()), k.i64c(c * k.width));
        Value s = k.loadVecF32(S, at, k.f32);
        Value keep = valid;
        if (withMask)
          keep = bb.create<arith::AndIOp>(loc, keep, vectorizeRegion(k, k.op.getMask(), {b, head, row, j}, valid));
        if (withScore)
          s = vectorizeRegion(k, k.op.getScore(), {s, b, head, row, j}, keep);
        k.storeVecF32(select(keep, s, splat(k.f32c(-kInf))), S, at, k.f32);
      }
    });
  }

  /// acc[r] = acc[r] * corr[r] + sum_j p[r][j] v[j], with all rows and
  /// `chunk` vectors of v dims in registers across the keys.
  /// With `skipMasked`, a (row, key) whose score is -inf leaves the row's
  /// accumulators as they are (a select, not a multiply by p = 0), so a NaN in
  /// a masked key's v never reaches o.
  void accumulateFast(Value j0, Value n, bool skipMasked) {
    if (k.amx && !skipMasked)
      return accumulateAmx(j0); // a full block; Dv is whole tiles
    Value w = k.i64c(k.width), two = k.i64c(2 * k.width), three = k.i64c(3 * k.width);
    // R x 2 vectors of accumulators fit the registers for 8 rows; a tile of
    // 16 takes one vector per row.
    // f32 without masked keys (AVX-512 only: its 32 registers hold the
    // sums), first whole runs of 4 vectors (64 dims) for half the rows at a
    // time: per key 4 v loads and 4 p broadcasts feed 16 FMAs, where 8 rows
    // x 2 vectors take 2 loads and 8 broadcasts (v is read twice, from L1).
    // A C micro-benchmark of the loops with v in L1: 4 x 4 168 GFLOP/s
    // against 8 x 2 147 and 8 x 3 167 (FMA peak 174); AOT kernels, one
    // thread, 64-byte aligned inputs, min of 8 alternating runs: D=64
    // (B=1 H=8 L=4096) 271 -> 247 ms, D=128 (H=16 L=2048) 249 -> 240.
    // Of the rest (under 64 dims), 8 rows x 3 vectors where what is left
    // after is whole pairs of vectors (48: 3; 32 stays 2, as a last single
    // vector per row is bound by its loads): per key 3 v loads and 8 p
    // broadcasts feed 24 FMAs instead of 16 (the Q Kt loop's shape; when
    // this was all of Dv = 128's first 96 dims, against 8 x 2: dense D=128,
    // two threads, alternating runs, 104.9/109.5/105.2/100.1 ->
    // 101.4/102.6/99.5/99.2 ms).
    bool f32Plain = !k.bf16Dot && !skipMasked && R <= 8 && k.width == 16;
    bool fourRowGroups = f32Plain && R == 8;
    Value main4 = k.i64c(0), main3 = k.i64c(0);
    if (fourRowGroups) {
      Value four = k.i64c(4 * k.width);
      main4 = k.mul(bb.create<arith::DivSIOp>(loc, k.vDim, four), four);
    }
    if (f32Plain) {
      // One step of 48 fewer where the rest would be 32 m + 16.
      Value left = bb.create<arith::SubIOp>(loc, k.vDim, main4);
      Value steps = bb.create<arith::DivSIOp>(loc, left, three);
      Value rest = bb.create<arith::SubIOp>(loc, left, k.mul(steps, three));
      Value oddRest = bb.create<arith::AndIOp>(
          loc,
          bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, bb.create<arith::RemSIOp>(loc, rest, two), w),
          bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, steps, k.i64c(0)));
      steps = bb.create<arith::SubIOp>(loc, steps, bb.create<arith::ExtUIOp>(loc, k.i64Type, oddRest));
      main3 = k.add(main4, k.mul(steps, three));
    }
    Value main2 = R > 8 ? k.i64c(0)
                        : k.add(main3, k.mul(bb.create<arith::DivSIOp>(
                                                 loc, bb.create<arith::SubIOp>(loc, k.vDim, main3), two),
                                             two));
    Value main1 = k.add(main2, k.mul(bb.create<arith::DivSIOp>(
                                         loc, bb.create<arith::SubIOp>(loc, k.vDim, main2), w),
                                     w));
    if (k.bf16Dot && !skipMasked) {
      // A block without masked keys is a full one: BK / 2 pairs of keys.
      accumulatePairs(j0, k.i64c(0), main2, 2);
      accumulatePairs(j0, main2, main1, 1);
    } else {
      if (fourRowGroups)
        accumulateChunks(j0, n, k.i64c(0), main4, 4, skipMasked, /*groupRows=*/4);
      if (f32Plain)
        accumulateChunks(j0, n, main4, main3, 3, skipMasked);
      accumulateChunks(j0, n, main3, main2, 2, skipMasked);
      accumulateChunks(j0, n, main2, main1, 1, skipMasked);
    }
    accumulateChunks(j0, n, main1, k.vDim, 0, skipMasked);
  }

  /// The `count` accumulators (of `type`) a P V step starts from: load(i)
  /// for accumulator i (row firstRow + i / (count / rows) of the tile) times
  /// the row's correction where the block moved some row's maximum
  /// (rescale), else as loaded (one vector op per accumulator fewer: R x 8
  /// per block at Dv = 128).
  SmallVector<Value> accStart(int count, Type type, const std::function<Value(int)> &load, int rows = R,
                              Value firstRow = Value()) {
    int perRow = count / rows;
    auto values = [&](bool withCorr) {
      SmallVector<Value> init;
      for (int r = 0; r < rows; ++r) {
        Value corr;
        if (withCorr) {
          corr = k.loadF32(corrBuf, firstRow ? k.add(firstRow, k.i64c(r)) : k.i64c(r), k.f32);
          corr = isa<VectorType>(type) ? splat(corr) : corr;
        }
        for (int c = 0; c < perRow; ++c) {
          Value x = load(r * perRow + c);
          init.push_back(withCorr ? bb.create<arith::MulFOp>(loc, x, corr).getResult() : x);
        }
      }
      bb.create<scf::YieldOp>(loc, init);
    };
    auto start = bb.create<scf::IfOp>(
        loc, rescale, [&](OpBuilder &, Location) { values(true); }, [&](OpBuilder &, Location) { values(false); });
    return SmallVector<Value>(start.getResults());
  }

  /// `vectors` vectors per row per step over [from, to), or scalars if 0,
  /// for all R rows at once, or with `groupRows` < R for each group of that
  /// many rows in turn at each step (a loop over the groups: one copy of
  /// the code).
  void accumulateChunks(Value j0, Value n, Value from, Value to, int vectors, bool skipMasked, int groupRows = R) {
    int64_t stride = vectors ? vectors * k.width : 1;
    bool vec = vectors > 0;
    int perRow = vec ? vectors : 1;
    // The rows from firstRow (null: all R) at value dims [dv, dv + stride).
    auto step = [&](Value dv, Value firstRow) {
      // Tile row r of the group, and where its accumulators start.
      auto tileRow = [&](int r) { return firstRow ? k.add(firstRow, k.i64c(r)) : k.i64c(r); };
      SmallVector<Value> rowAcc;
      for (int r = 0; r < groupRows; ++r)
        rowAcc.push_back(firstRow ? k.mul(tileRow(r), k.vDim) : accRow[r]);
      auto at = [&](int r, int c) { return k.add(k.add(rowAcc[r], dv), k.i64c(c * k.width)); };
      SmallVector<Value> init = accStart(
          groupRows * perRow, vec ? Type(k.vecType()) : Type(k.f32),
          [&](int i) {
            Value off = at(i / perRow, i % perRow);
            return vec ? k.loadVecF32(acc, off, k.f32) : k.loadF32(acc, off, k.f32);
          },
          groupRows, firstRow);
      auto keys = bb.create<scf::ForOp>(
          loc, k.idx(keysFrom ? keysFrom : k.i64c(0)), k.idx(keysTo ? keysTo : n), k.idx(k.i64c(1)), init,
          [&](OpBuilder &, Location, Value jjIdx, ValueRange a) {
            Value jj = k.i64(jjIdx);
            Value vOff = k.add(k.add(pvBase, k.mul(k.add(j0, jj), vRowStride)), dv);
            SmallVector<Value> vs;
            for (int c = 0; c < perRow; ++c) {
              Value off = k.add(vOff, k.i64c(c * k.width));
              vs.push_back(vec ? k.loadVecF32(vData, off, vElement) : k.loadF32(vData, off, vElement));
            }
            SmallVector<Value> out;
            for (int r = 0; r < groupRows; ++r) {
              Value at = k.add(k.mul(tileRow(r), k.i64c(blockKeys())), jj);
              Value p = k.bf16Dot ? k.loadF32(P16, at, bb.getBF16Type()) : k.loadF32(P, at, k.f32);
              for (int part = 1; part < k.bf16Parts; ++part)
                p = bb.create<arith::AddFOp>(loc, p, k.loadF32(P16part[part], at, bb.getBF16Type()));
              Value takes;
              if (skipMasked)
                takes = cmpf(arith::CmpFPredicate::UNE, k.loadF32(S, at, k.f32), k.f32c(-kInf));
              for (int c = 0; c < perRow; ++c) {
                Value old = a[r * perRow + c];
                Value sum = vec ? fma(splat(p), vs[c], old)
                                : bb.create<math::FmaOp>(loc, p, vs[c], old).getResult();
                out.push_back(skipMasked ? select(takes, sum, old) : sum);
              }
            }
            bb.create<scf::YieldOp>(loc, out);
          });
      for (int r = 0; r < groupRows; ++r)
        for (int c = 0; c < perRow; ++c) {
          Value x = keys.getResult(r * perRow + c);
          if (vec)
            k.storeVecF32(x, acc, at(r, c), k.f32);
          else
            k.storeF32(x, acc, at(r, c), k.f32);
        }
    };
    // Groups inside the value dims: both groups read the same part of v's
    // rows in turn, while it is in L1 (against groups outside, AOT dense
    // D=128, one thread, min of 8 alternating runs: 239.7 vs 242.1 ms, the
    // same within the noise).
    bb.create<scf::ForOp>(loc, k.idx(from), k.idx(to), k.idx(k.i64c(stride)), ValueRange{},
                          [&](OpBuilder &, Location, Value dvIdx, ValueRange) {
                            Value dv = k.i64(dvIdx);
                            if (groupRows == R) {
                              step(dv, Value());
                            } else {
                              bb.create<scf::ForOp>(loc, k.idx(k.i64c(0)), k.idx(k.i64c(R)),
                                                    k.idx(k.i64c(groupRows)), ValueRange{},
                                                    [&](OpBuilder &, Location, Value firstRow, ValueRange) {
                                                      step(dv, k.i64(firstRow));
                                                      bb.create<scf::YieldOp>(loc);
                                                    });
                            }
                            bb.create<scf::YieldOp>(loc);
                          });
  }

  /// accumulateChunks for a full block with bf16 pairs: acc[r] = acc[r] *
  /// corr[r] + sum over key pairs of (p[2t], p[2t+1]) . (v[2t], v[2t+1]),
  /// p rounded to bf16 (as flash attention's bf16 kernels do).
  void accumulatePairs(Value j0, Value from, Value to, int vectors) {
    bb.create<scf::ForOp>(
        loc, k.idx(from), k.idx(to), k.idx(k.i64c(vectors * k.width)), ValueRange{},
        [&](OpBuilder &, Location, Value dvIdx, ValueRange) {
          Value dv = k.i64(dvIdx);
          auto at = [&](int r, int c) { return k.add(k.add(accRow[r], dv), k.i64c(c * k.width)); };
          SmallVector<Value> init = accStart(R * vectors, k.vecType(), [&](int i) {
            return k.loadVecF32(acc, at(i / vectors, i % vectors), k.f32);
          });
          Value firstPair = bb.create<arith::DivSIOp>(loc, j0, k.i64c(2));
          auto keys = bb.create<scf::ForOp>(
              loc, k.idx(k.i64c(0)), k.idx(k.i64c(blockKeys() / 2)), k.idx(k.i64c(1)), init,
              [&](OpBuilder &, Location, Value tIdx, ValueRange a) {
                Value t = k.i64(tIdx);
                Value vOff = k.add(k.add(vPairsBase, k.mul(k.add(firstPair, t), k.vDim)), dv);
                SmallVector<Value> vs;
                for (int c = 0; c < vectors; ++c)
                  vs.push_back(loadPairs(k.vPairsPtr, k.add(vOff, k.i64c(c * k.width))));
                SmallVector<Value> out;
                for (int r = 0; r < R; ++r) {
                  Value p = broadcastPair(P16, k.add(k.i64c(r * blockKeys()), k.mul(t, k.i64c(2))));
                  for (int c = 0; c < vectors; ++c)
                    out.push_back(dotPairs(a[r * vectors + c], p, vs[c]));
                }
                bb.create<scf::YieldOp>(loc, out);
              });
          for (int r = 0; r < R; ++r)
            for (int c = 0; c < vectors; ++c)
              k.storeVecF32(keys.getResult(r * vectors + c), acc, at(r, c), k.f32);
          bb.create<scf::YieldOp>(loc);
        });
  }

  /// o (and lse) of tile row r, at (head, row), from acc and the row's m
  /// and l lanes in the tile's state.
  void finishRow(Value r, Value head, Value row) {
    Value isValid = bb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, k.add(tileStart, r), tileEnd);
    bb.create<scf::IfOp>(loc, isValid, [&](OpBuilder &, Location) {
      if (k.sig.weights == Weights::Sigmoid) { // o = acc: no normalization, no lse
        Value oOff = k.add(k.add(k.mul(b, k.oStr[0]), k.mul(head, k.oStr[1])), k.mul(row, k.oStr[2]));
        k.rowStoreO(k.gep(acc, k.mul(r, k.vDim), k.f32), k.f32c(1),
                    bb.create<arith::ConstantOp>(loc, bb.getBoolAttr(false)), oOff);
        bb.create<scf::YieldOp>(loc);
        return;
      }
      Value m = bb.create<LLVM::LoadOp>(loc, k.f32, stateSlot(r), 4);
      if (base2Scores())
        m = bb.create<arith::MulFOp>(loc, m, k.f32c(static_cast<float>(M_LN2)));
      Value lanes = bb.create<LLVM::LoadOp>(loc, k.vecType(), stateSlot(k.add(r, k.i64c(R))), 4);
      Value l = bb.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, lanes);
      k.finishSoftmaxRow(k.gep(acc, k.mul(r, k.vDim), k.f32), m, l, b, head, row, keys);
      bb.create<scf::YieldOp>(loc);
    });
  }

  KernelEmitter &k;
  OpBuilder &bb;
  Location loc;
  Value b, hk;
  RowKeys keys; // the work item's keys
  Value rows[R], heads[R], valid[R], qOff[R], accRow[R];
  Value iLo, iHi;         // the tile's query positions
  Value tileHLo, tileHHi; // and query heads
  Value qBlockStart;      // the q block's first row in the kv head's group
  Value tileStart, tileEnd; // the tile's first row, and the q block's end
  Value state;            // the tile's state slots
  Value ktBase, ktDepth, vBase, vPairsBase;
  // P V's v (softmax, sigmoid): k.vPtr, or v widened to f32 (widensV); top-K
  // and argmax read k.vPtr from vBase.
  Value vData, vRowStride, pvBase;
  Type vElement;
  bool topK = false;
  Value slot;      // the block of a pair (0, 1) whose buffers bindTile binds; null: 0 (pairsOf)
  Value tileIndex; // the tile forTiles bound
  Value tileCount; // the q block's tiles
  DiagonalKeys diagonal; // with a mask: the q block's (emitRows)
  TopKBuffers top[R];
  Value S, P, P16, corrBuf, acc, qTile;
  Value P16part[3];  // split f32: P16 of each part of p (P16part[0] = P16)
  Value vPartWords;  // split f32: u32 words of each part's v pairs in VPairs
  Value keysFrom, keysTo; // the keys of a masked block's P.V; null: all
  Value rescale;          // some row's maximum moved in this block
  Value blockMixed;       // with a mask: the block may be masked for some row of the q block
};

} // namespace

void emitTiledRows(KernelEmitter &k, Value b, Value hk, Value f0, Value f1, const RowKeys &keys) {
  if (k.amx)
    if (k.bf16Parts)
      TileEmitter<kAmxTileRows, kSplitTileKeyVectors>(k, b, hk, keys).emitRows(f0, f1);
    else
      TileEmitter<kAmxTileRows, kAmxTileKeyVectors>(k, b, hk, keys).emitRows(f0, f1);
  else
    TileEmitter<kTileRows, kTileKeyVectors>(k, b, hk, keys).emitRows(f0, f1);
}

} // namespace attn
