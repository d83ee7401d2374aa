//===- KernelEmitter.h - Building blocks of a CPU attention kernel *- C++ -*-===//
//
// The generated function takes the C ABI of attn_runtime.h:
//   (ptrs: !llvm.ptr, params: !llvm.ptr, begin: i64, end: i64,
//    scratch: !llvm.ptr, status: !llvm.ptr)
// Loops are scf, arithmetic arith/math/vector, and memory accesses are LLVM
// dialect loads and stores through pointers and strides read from `params`
// (their layout is attn::ParamLayout). This class holds the values read at
// entry and the small builders the loop nests are written with.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_KERNELEMITTER_H
#define ATTN_CONVERSION_ATTNTOCPU_KERNELEMITTER_H

#include "attn/Signature.h"
#include "dialects/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

#include <functional>
#include <map>

namespace attn {

/// The runtime signature of an attn.attention op.
KernelSignature signatureOf(mlir::attn::AttentionOp op, const Schedule &schedule);

/// The keys [begin, end) of a row-path work item (i64), and which part of
/// the row's keys they are when the call splits them (see splitsKeys);
/// `part` is null in a kernel that never splits.
struct RowKeys {
  mlir::Value begin, end, part;
};

class KernelEmitter {
public:
  KernelEmitter(mlir::OpBuilder &b, mlir::attn::AttentionOp op, const KernelSignature &sig);

  /// Creates the function (named kernelSymbol(name, paths)) and reads the params.
  mlir::func::FuncOp createFunction(mlir::ModuleOp module, KernelPaths paths = KernelPaths::Both);

  /// The mask region yields `true`; the score region yields `s` itself.
  bool maskIsTrue();
  bool scoreIsIdentity();

  // Constants and conversions.
  mlir::Value i64c(int64_t v);
  mlir::Value f32c(float v);
  mlir::Value idx(mlir::Value i64);   // i64 -> index
  mlir::Value i64(mlir::Value index); // index -> i64
  mlir::Value add(mlir::Value a, mlir::Value b);
  mlir::Value mul(mlir::Value a, mlir::Value b);
  /// x rounded up to a multiple of 64 (scratch offsets, as ScratchLayout).
  mlir::Value align64(mlir::Value x);

  // Memory. Offsets are in elements of `elemType`.
  mlir::Value gep(mlir::Value base, mlir::Value offset, mlir::Type elemType);
  mlir::Value loadF32(mlir::Value base, mlir::Value offset, mlir::Type elemType);
  mlir::Value loadVecF32(mlir::Value base, mlir::Value offset, mlir::Type elemType);
  void storeF32(mlir::Value value, mlir::Value base, mlir::Value offset, mlir::Type elemType);
  void storeVecF32(mlir::Value value, mlir::Value base, mlir::Value offset, mlir::Type elemType);
  /// A hint to bring the cache line of base[offset] in for reading (never
  /// faults, wherever it points): into every cache level (locality 3), or
  /// into L2 and beyond (2).
  void prefetch(mlir::Value base, mlir::Value offset, mlir::Type elemType, int locality = 3);

  /// for (d = 0; d < n; ) body(d, vectorized): vectors of `width` first,
  /// then a scalar tail. `n` is i64.
  void vectorLoop(mlir::Value n, const std::function<void(mlir::Value, bool)> &body);
  /// The same with one loop-carried f32 accumulator per form: a vector in
  /// the main loop (reduced with add at its end) and a scalar in the tail.
  mlir::Value vectorReduceLoop(
      mlir::Value n, const std::function<mlir::Value(mlir::Value, mlir::Value, bool)> &body);

  /// The largest lane of an f32 vector, as a tree of shuffles and
  /// `a > b ? a : b` (one vmaxps per level). A NaN lane may or may not win;
  /// callers use it where a NaN score poisons the row's sum anyway.
  /// (vector.reduction <maxnumf> lowers to a serial chain of scalar maxes
  /// with NaN fix-ups: ~45 dependent instructions for 16 lanes.)
  mlir::Value reduceMax(mlir::Value vec);
  /// The largest lane of each of `rows` (R vectors of W lanes) as lane r of
  /// one vector<R>, by the same `a > b ? a : b`. For R a power of two <= W a
  /// transposing tree that halves the vectors at each level (two shuffles
  /// and one max per pair), about 3R ops instead of R separate trees of
  /// 2 log2(W) dependent ones.
  mlir::Value reduceMaxRows(llvm::ArrayRef<mlir::Value> rows);

  /// exp(d) for softmax weights, d = s - m (<= 0, up to 5.5 on the tiled
  /// path, where the running maximum moves lazily, -inf or NaN; a scalar or a
  /// vector): exp(-inf) is exactly 0 and NaN stays NaN. A 16-lane vector on
  /// AVX-512 is 2^(d log2 e) from a degree-4 polynomial on t - floor(t)
  /// (one vreduceps) and one vscalefps (2.7e-6 relative error, 7
  /// instructions; on AMX tiles degree 3, 1e-4, for p rounded to bf16),
  /// relying on the runtime's MXCSR.FTZ for the weights below 2^-126;
  /// anything else is math.exp
  /// (MLIR's approximation with its range checks, about 18). With `base2`,
  /// d is in units of log2 e (scores scaled by log2 e): 2^d.
  mlir::Value expWeights(mlir::Value d, bool base2 = false);

  // A row of f32 accumulators acc[0, vDim) in scratch (`acc` points at it).
  void rowFill(mlir::Value acc, float value);
  void rowScale(mlir::Value acc, mlir::Value factor);
  /// acc += p * v[vOffset, vOffset + vDim)
  void rowAxpy(mlir::Value acc, mlir::Value p, mlir::Value vOffset);
  /// o[oOffset + d] = empty ? 0 : acc[d] * factor, in q's element type.
  void rowStoreO(mlir::Value acc, mlir::Value factor, mlir::Value empty, mlir::Value oOffset);
  /// Orders the kernel's non-temporal stores (rowStoreO) before it returns.
  void fenceStreamingStores();

  /// The keys of work item `item`: all of them, or where the kernel can
  /// split them (splitsKeys) part item % KeySplits, in whole blocks of
  /// `blockKeys` (keysPerSplit); `item` becomes the item without its part.
  RowKeys itemKeys(mlir::Value &item, int64_t blockKeys);

  /// The end of a softmax row with running max m, sum l and accumulator
  /// acc: o and lse, or, where the call splits the row's keys, the part's
  /// (m, l, acc) in the partial results for the runtime to merge.
  void finishSoftmaxRow(mlir::Value acc, mlir::Value m, mlir::Value l, mlir::Value b, mlir::Value h,
                        mlir::Value i, const RowKeys &keys);

  /// lse[b, h, i] = value, when the kernel returns lse and the caller asked.
  void storeLse(mlir::Value value, mlir::Value b, mlir::Value h, mlir::Value i);

  /// A range-checked read of an extra tensor at `indices` (i64); `guard`
  /// (i1, may be null) is whether the read is evaluated at all.
  mlir::Value loadChecked(mlir::attn::LoadOp load, mlir::ValueRange indices, mlir::Value guard);
  /// The same read for a vector of lanes: `indices` are vector<w x i64>, and
  /// only the lanes set in `lanes` (vector<w x i1>) read or report an index
  /// out of range. Returns vector<w x i64> or vector<w x f32>.
  mlir::Value gatherChecked(mlir::attn::LoadOp load, mlir::ValueRange indices, mlir::Value lanes);

  /// Evaluates an attn region at the current insertion point: dimension
  /// reads and scalar loads become the entry values, tensor loads become
  /// range-checked loads.
  mlir::Value inlineRegion(mlir::Region &region, mlir::ValueRange args);

  mlir::Type vecType() const;
  mlir::OpBuilder &b;
  mlir::Location loc;
  mlir::attn::AttentionOp op;
  const KernelSignature &sig;
  ParamLayout layout;
  int64_t width;

  mlir::Type f32, i64Type, ptrType, qType, kType, vType;
  // Function arguments.
  mlir::Value ptrs, params, begin, end, scratch, status;
  // Read at entry (i64 unless said).
  mlir::Value batch, qHeads, kvHeads, qLen, kvLen, headDim, vDim, group;
  mlir::Value streamO; // i1: o is large enough to bypass the caches
  mlir::Value qPtr, kPtr, vPtr, oPtr, lsePtr;
  mlir::Value ktPtr; // packed, transposed k; null when the runtime did not pack it
  mlir::Value vPairsPtr; // v in key pairs, with bf16Dot; v widened to f32, with widensV
  bool bf16Dot = false; // usesBf16Dot(sig)
  bool amx = false;     // usesAmx(sig): the tiled path's products on AMX tiles
  int bf16Parts = 0;    // bf16Parts(sig): f32 products split into bf16 parts on AMX tiles (splitsF32)
  mlir::Value kFinite;  // with bf16Parts: k has no inf or NaN in the called items' kv heads (i1)
  mlir::Value vFinite;  // with bf16Dot and softmax: v has no inf or NaN in the called items' kv heads (i1)
  mlir::Value keySplits, partialsPtr; // with splitsKeys(sig): parts per row's keys, their results
  mlir::Value tiledQRows; // rows of the tiled path's q blocks in this call (QBlockRows, at most blockQ)
  /// Where the tiled path's per-row parts of scratch start in this call, and
  /// the rows they are laid out for (ParamLayout::Scratch*; S's start, `tile`,
  /// is the same for every row count).
  struct TiledScratch {
    mlir::Value tile, rows, tileP, corrections, p16, acc, topScores, topIndex, qTile, state;
  } tiledScratch;
  llvm::SmallVector<mlir::Value, 4> qStr, kStr, vStr, oStr, lseStr;
  mlir::Value scale; // f32
  std::map<std::string, mlir::Value> dims, scalars;
  struct Extra {
    int inputIndex;
    mlir::Type elemType;
    mlir::Value ptr;
    llvm::SmallVector<mlir::Value, 4> sizes, strides;
  };
  std::map<std::string, Extra> extras;

private:
  /// Whether rowStoreO may stream o past the caches (f32 o, AVX-512).
  bool mayStreamO() const;
  /// rowStoreO's loop, with non-temporal vector stores (whole aligned lines
  /// only) or plain ones.
  void rowStoreOWith(mlir::Value acc, mlir::Value factor, mlir::Value empty, mlir::Value oOffset, bool nonTemporal);
  /// Sets the call's status to "index out of range for `e`" where `bad` (i1).
  void reportOutOfRange(const Extra &e, mlir::Value bad);
  /// A read of `e` (scalar or vector) as the kernel computes with it: i32
  /// as i64, bf16 and f16 as f32.
  mlir::Value widenRead(const Extra &e, mlir::Value raw);
  mlir::Type elemTypeOf(unsigned input);
  mlir::Value loadParam(int slot);
  mlir::Value loadPointer(int slot);
  mlir::Value checkedLoad(mlir::attn::LoadOp load, mlir::IRMapping &map);
};

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_KERNELEMITTER_H
