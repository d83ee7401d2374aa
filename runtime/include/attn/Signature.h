//===- Signature.h - What a kernel takes, and how it is passed --*- C++ -*-===//
//
// A kernel's signature (its inputs with element types and fixed or named
// dimensions, its weights and outputs, its schedule) and the layout of the
// `params` array the generated code reads. The compiler and the runtime both
// use this file, so the two sides cannot disagree. Pure C++.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_SIGNATURE_H
#define ATTN_RUNTIME_SIGNATURE_H

#include "attn/attn_runtime.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attn {

const char *dtypeName(attn_dtype type);
int64_t dtypeBytes(attn_dtype type);

struct DimSig {
  int64_t fixed = -1; // the size, or -1 when named
  std::string name;   // the name when not fixed
  std::string str() const { return fixed >= 0 ? std::to_string(fixed) : name; }
};

struct InputSig {
  std::string name;
  attn_dtype dtype = ATTN_F32;
  std::vector<DimSig> dims; // empty for a scalar
  bool isScalar() const { return dims.empty(); }
};

enum class Weights { Softmax = 0, Sigmoid = 1, TopK = 2, Argmax = 3 };

/// How f32 q, k and v are multiplied, a caller's choice (attnc --precision,
/// CMake PRECISION); see splitsF32 for what a kernel gets.
///   Highest (the default): as accurate as f32 products - f32 FMAs, or on AMX
///     tiles bf16x6 (each f32 split into three bf16 parts, the six products
///     of parts down to 2^-16 of the whole summed in f32), as XLA's HIGHEST
///     precision is on TPUs.
///   High: bf16x3 on AMX tiles (two parts, three products: about 2^-17 of
///     each term), like PyTorch's set_float32_matmul_precision("high").
///   Fma: f32 FMAs, never AMX.
enum class Precision : uint8_t { Highest = 0, High = 1, Fma = 2 };
inline const char *precisionName(Precision p) {
  return p == Precision::High ? "high" : p == Precision::Fma ? "fma" : "highest";
}
inline std::optional<Precision> parsePrecision(const std::string &name) {
  for (Precision p : {Precision::Highest, Precision::High, Precision::Fma})
    if (name == precisionName(p))
      return p;
  return std::nullopt;
}

/// Tile sizes and vector width: how the loops are cut; and which products
/// the target's instructions compute (bf16Dot, amx, precision).
struct Schedule {
  int64_t blockQ = 64;  // query rows per work item (the tiled path's q block)
  int64_t blockK = 64;  // keys per block of the online softmax
  int64_t vectorWidth = 8;
  /// The target has AVX512-BF16 (vdpbf16ps): bf16 q, k and v are multiplied
  /// as bf16 pairs with f32 sums instead of being widened to f32 first.
  bool bf16Dot = false;
  /// The target has AMX-BF16 tiles and the OS lets this process use them:
  /// with bf16Dot, Q Kt and P V of the tiled path run as tdpbf16ps tile
  /// products where the spec fixes D and Dv to whole tiles (see usesAmx).
  bool amx = false;
  /// f32 products (see Precision and splitsF32). resolveTarget sets it to
  /// Highest where the target has no AMX (every precision is FMAs there).
  Precision precision = Precision::Highest;
};

/// The schedule kernels are compiled with unless a caller chooses one: the
/// default key blocks, and a zero q block and vector width, which
/// resolveTarget replaces with the spec's default (defaultBlockQ) and the
/// target's native width.
inline Schedule nativeSchedule() {
  Schedule s;
  s.blockQ = 0;
  s.vectorWidth = 0;
  return s;
}

struct KernelSignature {
  std::string name;
  std::vector<InputSig> inputs; // q, k, v, then extra inputs in spec order
  Weights weights = Weights::Softmax;
  int64_t topk = 0;
  bool returnLse = false;
  Schedule schedule;

  /// Distinct dimension names in order of first appearance.
  std::vector<std::string> dimNames() const;
  /// Positions in `inputs` of the extra tensors (not scalars), in order.
  std::vector<int> extraTensors() const;
  std::vector<int> scalars() const;
};

/// A one-line-per-field text form, stored in the cache and in AOT libraries.
std::string serializeSignature(const KernelSignature &sig);
std::optional<KernelSignature> parseSignature(const std::string &text);

/// Sizes bound for one call.
struct BoundDims {
  std::map<std::string, int64_t> named;
  int64_t batch = 0, qHeads = 0, kvHeads = 0, qLen = 0, kvLen = 0, headDim = 0, vDim = 0;
};

/// Checks the shapes of all inputs (in signature order; scalars have empty
/// shapes) against the signature and binds every named dimension. On failure
/// returns a message naming the tensor and the dimension.
std::optional<BoundDims> bindShapes(const KernelSignature &sig,
                                    const std::vector<std::vector<int64_t>> &shapes,
                                    std::string &error);

/// The `params` array: fixed slots first, then strides, named dims, scalars.
///   [0..7)   B, Hq, Hkv, Lq, Lk, D, Dv
///   strides  q(4) k(4) v(4) o(4) lse(3), then each extra tensor (its rank)
///   dims     one per name of KernelSignature::dimNames()
///   scalars  one per scalar input: i32 as int64, f32 as its bit pattern
/// `ptrs` holds q, k, v, o, lse (null when not requested), k transposed
/// (null unless the runtime packed it: see paddedKvLen), v in key pairs
/// (only with usesBf16Dot), the partial results of split keys (only when the
/// call splits them: see keysPerSplit), then the extra tensors in order.
class ParamLayout {
public:
  /// VFinite: 1 when v packed in key pairs holds no inf or NaN in the kv
  /// heads of the work items [begin, end) the kernel is called for (with AMX, blocks with masked keys may then run P V on the tiles too:
  /// a masked key's p = 0 can only turn a non-finite v into NaN).
  /// KFinite: 1 when k holds no inf or NaN in those kv heads (splitsF32 only:
  /// then Q Kt reads k's hi part in place of its hiOrZero part).
  /// KeySplits: the parts the row path splits each row's keys into (>= 1;
  /// see keysPerSplit).
  /// QBlockRows: the rows of a tiled work item in this call (callQBlockRows;
  /// at most the compiled blockQ, which scratch is sized for).
  /// Scratch*: where the tiled path's per-row parts of scratch start, laid out
  /// (ScratchLayout::compute) for this call's q blocks of ScratchRows rows, so
  /// a call touches only the scratch its q blocks use, however large blockQ.
  enum Fixed {
    Batch = 0, QHeads, KvHeads, QLen, KvLen, HeadDim, VDim, VFinite, KFinite, KeySplits, QBlockRows,
    ScratchRows, ScratchTileP, ScratchTileCorrections, ScratchTileP16, ScratchAcc, ScratchTopScores,
    ScratchTopIndex, ScratchQTile, ScratchTileState, NumFixed
  };
  enum Tensor { Q = 0, K = 1, V = 2, O = 3, Lse = 4, FirstExtra = 5 };
  /// The pointer slot of the packed, transposed k.
  static constexpr int KTransposed = 5;
  /// The pointer slot of v packed in key pairs (see usesBf16Dot).
  static constexpr int VPairs = 6;
  /// The pointer slot of the partial results of split keys (KeySplits > 1).
  static constexpr int Partials = 7;

  explicit ParamLayout(const KernelSignature &sig);
  /// First stride slot of tensor `t` (a Tensor value, or FirstExtra + n).
  int strides(int tensor) const { return strideBase_.at(tensor); }
  int dim(const std::string &name) const { return dimSlot_.at(name); }
  int scalar(int inputIndex) const { return scalarSlot_.at(inputIndex); }
  /// The pointer slot of input `inputIndex` when it is an extra tensor.
  int pointer(int inputIndex) const { return pointerSlot_.at(inputIndex); }
  int numParams() const { return size_; }
  int numPointers() const { return numPointers_; }

private:
  std::vector<int> strideBase_;
  std::map<std::string, int> dimSlot_;
  std::map<int, int> scalarSlot_, pointerSlot_;
  int size_ = 0, numPointers_ = 0;
};

/// Bytes of scratch one worker needs, and where each part starts; the
/// lowering computes the same offsets in IR.
struct ScratchLayout {
  int64_t scores = 0;   // f32[kRowHeads x blockK]
  int64_t weights = 0;  // f32[(kRowHeads + 1) x blockK], then f32[3 x kRowHeads]
  // Tile parts, per row of the q block (qBlockRows, tile after tile):
  int64_t tile = 0;            // S: f32[rows x tile keys]
  int64_t tileP = 0;           // P: f32[rows x tile keys]
  int64_t tileCorrections = 0; // f32[rows]
  int64_t tileP16 = 0;         // P: bf16[rows x tile keys]
  int64_t acc = 0;      // f32[rows x vDim]
  int64_t topScores = 0; // f32[rows x topKSlots(K)], after one spare f32
  int64_t topIndex = 0;  // i64[rows x topKSlots(K)], after one spare i64
  int64_t qTile = 0;     // per tile 32-bit [D][tile rows]: its q rows, d-major (AMX: bf16 [rows][D],
                         // split f32: bf16 [rows][(parts + 1) D]; qTileBytes per element of q)
  int64_t tileState = 0; // per tile kTileStateSlots(rows) slots of 64 bytes (TiledSoftmax.cpp)
  int64_t bytes = 0;
  int64_t rows = 0; // the q block's rows the parts are laid out for
  /// For q blocks of `rows` query rows (0: the compiled blockQ), rounded up
  /// to whole tiles; never larger than for blockQ's.
  static ScratchLayout compute(const Schedule &s, int64_t vDim, int64_t topk, int64_t headDim = 0,
                               int64_t rows = 0);
};

/// bf16 parts per f32 element where an f32 kernel compiled with `s` splits
/// its products on AMX tiles (splitsF32): 3 at precision highest (bf16x6),
/// 2 at high (bf16x3); 0 without AMX or at precision fma.
inline int splitParts(const Schedule &s) {
  if (!s.amx || s.precision == Precision::Fma)
    return 0;
  return s.precision == Precision::High ? 2 : 3;
}
/// Bytes of ScratchLayout::qTile per element of a tile's q rows: 4, or the
/// bf16 parts of split f32 and a hi part with inf as 0 (splitsF32).
inline int64_t qTileBytes(const Schedule &s) { return splitParts(s) ? 2 * (splitParts(s) + 1) : 4; }

/// Slots per row of a running top-K in scratch: K rounded up to whole
/// vectors, so its insertion works on whole vectors (see TopK.cpp).
inline int64_t topKSlots(int64_t topk) { return (topk + 15) / 16 * 16; }

/// The row path computes softmax rows of kRowHeads query heads that share a
/// kv head together (one load of each k and v row serves them all) when the
/// group of query heads per kv head is a multiple of kRowHeads.
constexpr int64_t kRowHeads = 4;

/// The tiled softmax path's tile: kTileRows query rows x (kTileKeyVectors x
/// vectorWidth) keys (tileKeys).
constexpr int64_t kTileRows = 8;
constexpr int64_t kTileKeyVectors = 3;
/// On AMX tiles a block has 64 keys: P V takes them in two whole 32-key
/// tdpbf16ps steps (48 keys took a 32-key and a 16-key step at the cost of
/// two whole ones), and each trip of the accumulator tiles through memory
/// serves two such blocks where it can (TiledSoftmax.cpp, pairsOf): blocks
/// of 128 keys made Q Kt and the softmax as much slower as P V got faster.
constexpr int64_t kAmxTileKeyVectors = 4;
constexpr int64_t kMaxTileKeyVectors = kAmxTileKeyVectors;
/// Split f32 (splitsF32) takes blocks of 32 keys: bf16x3's k' block (24 KB
/// at D = 128, 48 KB with 64 keys) and a tile's q' (12 KB) fit L1 together;
/// tile loads from L2 took twice as long per product (dense D=128, one
/// thread: 115 -> 105 ms). bf16x6's (32 KB and 16 KB) just do.
constexpr int64_t kSplitTileKeyVectors = 2;
/// With AMX (usesAmx) a tile has 16 rows, a whole tile's M: tdpbf16ps
/// costs about the same for 8 rows as for 16. Scratch is laid out for the
/// larger tile.
constexpr int64_t kAmxTileRows = 16;
constexpr int64_t kMaxTileRows = kAmxTileRows;
/// A work item of the tiled path is a q block of blockQ rows: its tiles
/// take each K/V block in turn while it is in L1 and L2, so K and V stream
/// from memory once per q block, not once per tile. Scratch holds the
/// block's rows rounded up to whole tiles of either size.
inline int64_t qBlockRows(int64_t blockQ) {
  int64_t rows = (blockQ + kMaxTileRows - 1) / kMaxTileRows * kMaxTileRows;
  return rows > kMaxTileRows ? rows : kMaxTileRows;
}
inline int64_t qBlockRows(const Schedule &s) { return qBlockRows(s.blockQ); }
/// A tile's running state between its K/V blocks, in 64-byte slots: per row
/// the softmax max and sum lanes (or top-K's count and NaN flag), then its
/// mask bounds (first and last query head and position) and how its P V
/// takes the current block, then how it takes the second block of a pair
/// (TiledSoftmax.cpp: Q Kt and the softmax of every tile of the q block
/// come first, then their P V; on AMX tiles for two blocks at a time).
constexpr int64_t kTileStateSlots(int64_t tileRows) { return 2 * tileRows + 2; }

inline bool usesAmx(const KernelSignature &sig);
inline bool splitsF32(const KernelSignature &sig);
/// The keys of a tile of the tiled path (a K/V block).
inline int64_t tileKeys(const KernelSignature &sig) {
  return (splitsF32(sig) ? kSplitTileKeyVectors : usesAmx(sig) ? kAmxTileKeyVectors : kTileKeyVectors) *
         sig.schedule.vectorWidth;
}

/// The tiled softmax path reads k transposed and packed as f32
/// [B][Hkv][kvLenPadded / tile keys][D][tile keys], kvLenPadded a multiple of
/// the tile's keys, zero past kvLen: one tile's keys are one contiguous block
/// (D rows of tileKeys floats), not D rows a whole sequence apart (a page
/// each).
/// The runtime packs it when a call takes the tiled path (takesTiledPath).
inline int64_t paddedKvLen(const KernelSignature &sig, int64_t kvLen) {
  int64_t keys = tileKeys(sig);
  return (kvLen + keys - 1) / keys * keys;
}
/// Whether a call with `group` query heads per kv head and `qLen` query
/// rows takes the tiled path: enough rows per kv head to amortize packing k
/// (decoding, a few rows against a long cache, would pay for the copy as
/// much as for the attention). The runtime decides with it per call; the
/// compiler, where the spec fixes both sizes, emits only the path taken.
/// Every weights kind has a tiled path (sigmoid's since 2026-12-03).
inline bool takesTiledPath(int64_t group, int64_t qLen) { return group * qLen >= 2 * kTileRows; }

/// Whether each call decides between the tiled path and the row path
/// (takesTiledPath): the spec fixes the group of query heads per kv head
/// and Lq only in part, so one kernel holds both paths' code. The JIT then
/// compiles them as two objects, on two threads (KernelPaths).
inline bool pathDecidedPerCall(const KernelSignature &sig) {
  if (sig.inputs.size() < 2 || sig.inputs[0].dims.size() != 4 ||
      sig.inputs[1].dims.size() != 4)
    return false;
  const DimSig &qh = sig.inputs[0].dims[1], &kh = sig.inputs[1].dims[1], &lq = sig.inputs[0].dims[2];
  bool sameHeads = qh.fixed >= 0 ? qh.fixed == kh.fixed : kh.fixed < 0 && qh.name == kh.name;
  bool groupFixed = sameHeads || (qh.fixed > 0 && kh.fixed > 0);
  return !(groupFixed && lq.fixed >= 0);
}

/// Which paths a kernel function holds: both (choosing per call), or one,
/// as `attn_kernel_<name>_tiled` / `_rows` (see pathDecidedPerCall).
enum class KernelPaths { Both, Tiled, Rows };
inline std::string kernelSymbol(const std::string &name, KernelPaths paths) {
  return "attn_kernel_" + name + (paths == KernelPaths::Tiled ? "_tiled" : paths == KernelPaths::Rows ? "_rows" : "");
}

/// Keys a hard-selection row keeps while it streams: K for topk(K), 1 for
/// argmax (a top-1 whose ties keep the lowest j), 0 otherwise.
inline int64_t keptKeys(const KernelSignature &sig) {
  return sig.weights == Weights::Argmax ? 1 : sig.weights == Weights::TopK ? sig.topk : 0;
}

/// The tiled path multiplies bf16 pairs (vdpbf16ps: acc += a0*b0 + a1*b1):
/// the target has the instruction and q, k and v are all bf16. Then the
/// runtime packs, instead of f32:
///   k as u32 [B][Hkv][kvLenPadded / tile keys][ceil(D / 2)][tile keys]: the
///     bf16 pair (k[j, 2c], k[j, 2c + 1]) per (c, j), zero past D and kvLen;
///   v as u32 [B][Hkv][kvLenPadded / 2][Dv]: the pair (v[2j, d], v[2j + 1, d]),
///     zero past kvLen (ptrs slot ParamLayout::VPairs).
inline bool usesBf16Dot(const KernelSignature &sig) {
  return (sig.schedule.bf16Dot && sig.schedule.vectorWidth == 16 && sig.inputs.size() >= 3 &&
          sig.inputs[0].dtype == ATTN_BF16 && sig.inputs[1].dtype == ATTN_BF16 && sig.inputs[2].dtype == ATTN_BF16) ||
         splitsF32(sig);
}

/// Whether the tiled path runs P V per key block, from P with p = 0 for
/// masked keys: softmax and sigmoid. Top-K and argmax read the rows of v
/// they keep themselves.
inline bool blocksTakePV(const KernelSignature &sig) {
  return sig.weights == Weights::Softmax || sig.weights == Weights::Sigmoid;
}

/// The tiled path of an f32 kernel runs its products on AMX tiles as bf16
/// parts (then usesBf16Dot and usesAmx hold too) where the target has AMX
/// and the precision is not fma (splitParts): softmax or sigmoid weights
/// (top-K and argmax compare scores, and keep f32 FMAs), f32 q, k, v with D
/// fixed to a multiple of 32 and Dv to a multiple of 16. Each f32 x splits
/// into bf16 parts x1 = bf16(x) rounded to nearest, x2 = bf16(x - x1) and,
/// at precision highest, x3 = bf16(x - x1 - x2), which hold all of an f32's
/// 24 bits; x1' is x1, or 0 for an infinite x (whose other parts are 0).
/// Products, summed in f32 by tdpbf16ps:
///   bf16x3 (2 parts): x1 y1 + x2 y1' + x1' y2, dropping terms of 2^-16 of
///     x y and x2's rounding: errors of about 2^-17 of the terms (inputs in
///     [-1, 1], dense D = 128: a few 1e-7 from the double reference), but a
///     score's error grows with |q| |k| (+-8 inputs: 1.2e-4).
///   bf16x6 (3 parts): x1 y1 + x2 y1' + x3 y1' + x1' y2 + x2 y2 + x1' y3,
///     dropping terms of 2^-24: as accurate as f32 FMAs at any scale.
/// An inf meets only its partner's first part, once (inf * 0 is NaN as in
/// f32), never a part 0 of a finite partner.
///   Q Kt: a dot product over bf16 parts: the kernel splits each tile's q
///     rows into q' = [q1 | q1' | q2 (| q3)], the runtime packs k as bf16
///     pairs of k' = [k1 | k2 (| k3) | k1'] (usesBf16Dot's layout with
///     (parts + 1) D / 2 pairs per key), and a product per pair of parts
///     runs over all of D. Where the runtime found a head's k finite
///     (ParamLayout::KFinite) Q Kt reads k1 in place of k1'.
///   P V: the runtime packs v as one array of bf16 key pairs per part
///     (usesBf16Dot's layout, ptrs slot ParamLayout::VPairs); p is split per
///     block. Where v holds an inf or NaN (VFinite 0) P V reads v in f32.
/// Blocks have 32 keys (kSplitTileKeyVectors). Elements beyond bf16's
/// largest finite value (3.39e38) split as that value and the rest.
inline bool splitsF32(const KernelSignature &sig) {
  const Schedule &s = sig.schedule;
  if (!splitParts(s) || !s.bf16Dot || s.vectorWidth != 16 || !blocksTakePV(sig) || sig.inputs.size() < 3)
    return false;
  for (int n = 0; n < 3; ++n)
    if (sig.inputs[n].dtype != ATTN_F32 || sig.inputs[n].dims.size() != 4)
      return false;
  int64_t d = sig.inputs[0].dims[3].fixed, dv = sig.inputs[2].dims[3].fixed;
  return d > 0 && d % 32 == 0 && dv > 0 && dv % 16 == 0;
}
/// The bf16 parts per f32 element of a kernel's products (splitsF32): 2
/// (bf16x3), 3 (bf16x6), or 0 where they are f32 FMAs or not f32.
inline int bf16Parts(const KernelSignature &sig) { return splitsF32(sig) ? splitParts(sig.schedule) : 0; }

/// The tiled path's P V (blocksTakePV) reads v widened to f32
/// where v is f16 or bf16 and no bf16 pairs multiply it: the runtime widens
/// each kv head's v once, as f32 [B][Hkv][kvLen][Dv] (ptrs slot
/// ParamLayout::VPairs), instead of P V converting every v vector it loads
/// for each tile (two more vector uops per 16 values beside 8 FMAs).
inline bool widensV(const KernelSignature &sig) {
  return blocksTakePV(sig) && !usesBf16Dot(sig) && sig.inputs.size() >= 3 && sig.inputs[2].dtype != ATTN_F32;
}

/// The tiled path's P V reads f32 v in place where its rows start on
/// 64-byte lines, and from the runtime's aligned copy of it otherwise
/// (vAlignedCopyPacker: f32 [B][Hkv][kvLen][Dv] in ptrs slot
/// ParamLayout::VPairs, null while v is read in place), for f32 v that no
/// bf16 pairs multiply. Every v vector P V loads from a row off the lines
/// spans two of them: P V alone of dense D=64 (B=1 H=8 L=4096, one
/// thread, v 16 bytes off) took 153-157 ms against 113 aligned.
inline bool readsAlignedV(const KernelSignature &sig) {
  return blocksTakePV(sig) && !usesBf16Dot(sig) && sig.inputs.size() >= 3 && sig.inputs[2].dtype == ATTN_F32;
}

/// The tiled path's Q Kt and P V of full blocks run on AMX tiles
/// (tdpbf16ps: a tile of kAmxTileRows q rows x 32 bf16 of D against 16 keys
/// of the same k pairs usesBf16Dot packs, and P in bf16 against v pairs):
/// the target has AMX-BF16, and the spec fixes D to a multiple of 32 and
/// Dv to a multiple of 16, so every tile is whole and the kernel needs no
/// second path for the tails. The runtime asks the OS for the tile state
/// (requestAmxTiles) before such a call.
inline bool usesAmx(const KernelSignature &sig) {
  if (!sig.schedule.amx || !usesBf16Dot(sig) || sig.inputs[0].dims.size() != 4 || sig.inputs[2].dims.size() != 4)
    return false;
  int64_t d = sig.inputs[0].dims[3].fixed, dv = sig.inputs[2].dims[3].fixed;
  return d > 0 && d % 32 == 0 && dv > 0 && dv % 16 == 0;
}

/// Why a kernel compiled at precision high or highest keeps f32 FMAs ("" where
/// splitsF32 holds): attnc's note to a caller who asked for high.
inline std::string whyNotSplit(const KernelSignature &sig) {
  if (splitsF32(sig))
    return "";
  if (!sig.schedule.amx)
    return "the target has no AMX tiles (or the OS does not let this process use them)";
  if (sig.schedule.precision == Precision::Fma)
    return "precision fma keeps f32 FMAs";
  if (!blocksTakePV(sig))
    return "top-k and argmax compare scores, and keep them in f32";
  if (sig.inputs.size() < 3)
    return "the kernel has no q, k and v";
  for (int n = 0; n < 3; ++n)
    if (sig.inputs[n].dtype != ATTN_F32)
      return "its q, k and v are not all f32 (bf16 inputs multiply as bf16 already)";
  return "it needs D fixed to a multiple of 32 and Dv to a multiple of 16 (whole AMX tiles)";
}

/// Asks Linux once per process for permission to use AMX tile data
/// (arch_prctl ARCH_REQ_XCOMP_PERM); false where the CPU or the kernel has
/// none, and on other systems. Executing a tile instruction without it is
/// SIGILL, so a kernel that uses AMX is run only after this says true.
bool requestAmxTiles();

/// Query heads per work item on the row path (see kRowHeads).
inline int64_t rowHeadsPerItem(const KernelSignature &sig, int64_t group) {
  return sig.weights == Weights::Softmax && group % kRowHeads == 0 ? kRowHeads : 1;
}

/// Split keys (decoding, or a few query rows against a long cache: too few
/// work items to give every core one): a softmax kernel can cut each row's
/// keys [0, kvLen) into KeySplits parts of whole key blocks of its path
/// (splitBlockKeys), one work item each. An item then stores its part's
/// running max m, sum l and unnormalized accumulator, partialFloats(vDim)
/// floats at
///   partials[((b * Hq + h) * Lq + i) * KeySplits + part]  as [m, l, acc...],
/// instead of o and lse, and the runtime merges the parts of each row
/// (mergeKeySplits in KeySplits.h). Hard selection would need its top-K
/// lists merged, sigmoid no merge at all; only softmax splits for now.
inline bool splitsKeys(const KernelSignature &sig) { return sig.weights == Weights::Softmax; }
/// The keys of the path's blocks: blockK on the row path, a tile's keys on
/// the tiled path (k is packed in blocks of those).
inline int64_t splitBlockKeys(const KernelSignature &sig, bool tiled) {
  return tiled ? tileKeys(sig) : sig.schedule.blockK;
}
/// Key blocks of a row: at most this many parts.
inline int64_t keyBlocks(const KernelSignature &sig, bool tiled, int64_t kvLen) {
  int64_t unit = splitBlockKeys(sig, tiled);
  return (kvLen + unit - 1) / unit;
}
inline int64_t keysPerSplit(const KernelSignature &sig, bool tiled, int64_t kvLen, int64_t splits) {
  return (keyBlocks(sig, tiled, kvLen) + splits - 1) / splits * splitBlockKeys(sig, tiled);
}
inline int64_t partialFloats(int64_t vDim) { return vDim + 2; }

/// The rows of a tiled work item (a q block) in a call: the compiled blockQ,
/// halved while the call would have fewer than kItemsPerWorker items per
/// worker, down to kMinCallQBlockRows. A mask that keeps every earlier key
/// (causal) compiles q blocks of 512 rows (defaultBlockQ): each q block reads
/// all of its keys, from beyond L2 once a head's k and v outgrow it, so
/// fewer, larger q blocks read them fewer times (causal at L = 4096, two
/// threads, 0.92x the time of 64 rows); but with few heads such items are
/// too few, and too unequal, to keep every worker busy to the end (causal,
/// B=1 H=1 L=2048, two threads: 16 items of 128 rows 3% slower than 32 of
/// 64; H=4 L=512 with 16 items of 128 rows as fast as 32 of 64).
constexpr int64_t kItemsPerWorker = 16, kMinCallQBlockRows = 64;
inline int64_t callQBlockRows(const KernelSignature &sig, const BoundDims &d, unsigned threads) {
  int64_t rows = sig.schedule.blockQ, groupRows = (d.qHeads / d.kvHeads) * d.qLen;
  auto items = [&](int64_t r) { return d.batch * d.kvHeads * ((groupRows + r - 1) / r); };
  while (rows / 2 >= kMinCallQBlockRows && items(rows) < kItemsPerWorker * int64_t(threads))
    rows /= 2;
  return rows;
}

/// Work items, each for one part of the keys (see splitsKeys). Row path:
/// (batch, run of rowHeadsPerItem query heads, tile of blockQ query rows).
/// Tiled path: (batch, kv head, q block of `qRows` rows of the kv head's
/// group: callQBlockRows), where the group's rows are (query head in group,
/// query position) pairs, so the query heads that share a kv head share its
/// K and V loads.
inline int64_t numWorkItems(const KernelSignature &sig, const BoundDims &d, bool tiled, int64_t keySplits,
                            int64_t qRows) {
  int64_t rows = tiled ? (d.qHeads / d.kvHeads) * d.qLen : d.qLen;
  int64_t block = tiled ? qRows : sig.schedule.blockQ;
  int64_t tiles = (rows + block - 1) / block;
  if (tiled)
    return d.batch * d.kvHeads * tiles * keySplits;
  return d.batch * (d.qHeads / rowHeadsPerItem(sig, d.qHeads / d.kvHeads)) * tiles * keySplits;
}

} // namespace attn

#endif // ATTN_RUNTIME_SIGNATURE_H
