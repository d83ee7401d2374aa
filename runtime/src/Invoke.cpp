//===- Invoke.cpp - Checking arguments and running a kernel ----------------===//
#include "attn/Invoke.h"

#include "attn/Half.h"
#include "attn/KeySplits.h"
#include "attn/PackedKV.h"
#include "attn/ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <memory>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace attn {

// Both saturate at INT64_MAX instead of overflowing: a hostile size then
// fails the extent checks of checkView with a message.
int64_t TensorView::numElements() const {
  __int128 n = 1;
  for (int64_t s : sizes)
    n = std::clamp<__int128>(n * s, INT64_MIN, INT64_MAX);
  return static_cast<int64_t>(n);
}

std::vector<int64_t> TensorView::contiguousStrides(const std::vector<int64_t> &sizes) {
  std::vector<int64_t> strides(sizes.size(), 1);
  for (int d = static_cast<int>(sizes.size()) - 2; d >= 0; --d)
    strides[d] = static_cast<int64_t>(std::min<__int128>(
        static_cast<__int128>(strides[d + 1]) * std::max<int64_t>(1, sizes[d + 1]), INT64_MAX));
  return strides;
}

namespace {

/// Underflowing results flushed to zero (MXCSR.FTZ) while a worker runs the
/// kernel, the caller's setting restored after. Intel cores take a microcode
/// assist for every denormal an instruction produces (measured: 53 ns per
/// vscalefps landing at 2^-130 without, 1 ns with); the kernels' exp on AMX
/// tiles relies on this instead of masking the weights below 2^-126 (which
/// it would produce correctly, only slowly, without it). Inputs are read as
/// they are (no DAZ).
class FlushDenormalResults {
public:
#if defined(__SSE__)
  FlushDenormalResults() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | _MM_FLUSH_ZERO_ON); }
  ~FlushDenormalResults() { _mm_setcsr(saved_); }

private:
  unsigned saved_;
#endif
};

/// A checked view: strides filled in, byte extent known.
struct Checked {
  TensorView view;
  int64_t firstByte = 0, lastByte = -1; // [first, last] touched, empty when last < first
};

std::string checkView(const std::string &name, const TensorView &t, attn_dtype want,
                      size_t rank, Checked &out) {
  if (t.dtype != want)
    return "tensor '" + name + "' is " + dtypeName(t.dtype) + ", expected " + dtypeName(want);
  if (t.sizes.size() != rank)
    return "tensor '" + name + "' has rank " + std::to_string(t.sizes.size()) +
           ", expected rank " + std::to_string(rank);
  out.view = t;
  if (out.view.strides.empty())
    out.view.strides = TensorView::contiguousStrides(t.sizes);
  if (out.view.strides.size() != rank)
    return "tensor '" + name + "' has " + std::to_string(t.strides.size()) + " strides for rank " +
           std::to_string(rank);
  __int128 last = 0;
  bool empty = false;
  for (size_t d = 0; d < rank; ++d) {
    if (t.sizes[d] < 0)
      return "tensor '" + name + "' dimension " + std::to_string(d) + " has negative size " +
             std::to_string(t.sizes[d]);
    if (out.view.strides[d] < 0)
      return "tensor '" + name + "' dimension " + std::to_string(d) +
             " has a negative stride; negative strides are not supported";
    empty |= t.sizes[d] == 0;
    // Each term is below 2^126 and `last` stays below 2^63: no overflow.
    last += static_cast<__int128>(std::max<int64_t>(0, t.sizes[d] - 1)) * out.view.strides[d];
    if (last > INT64_MAX / 2)
      return "tensor '" + name + "' spans more memory than can be addressed";
  }
  if (empty)
    return {};
  __int128 elements = 1;
  for (int64_t size : t.sizes)
    if ((elements *= size) > INT64_MAX / 16)
      return "tensor '" + name + "' has more elements than can be addressed";
  if (!t.data)
    return "tensor '" + name + "' has a null data pointer";
  __int128 lastByte = (last + 1) * dtypeBytes(want) - 1;
  if (lastByte > INT64_MAX / 2)
    return "tensor '" + name + "' spans more memory than can be addressed";
  out.firstByte = reinterpret_cast<intptr_t>(t.data);
  out.lastByte = out.firstByte + static_cast<int64_t>(lastByte);
  return {};
}

bool overlaps(const Checked &a, const Checked &b) {
  return a.lastByte >= a.firstByte && b.lastByte >= b.firstByte && a.firstByte <= b.lastByte &&
         b.firstByte <= a.lastByte;
}

/// A row-major copy of a view whose innermost stride is not 1 (the kernels
/// vectorize along the head dim), or nothing when the view can be used as is.
struct Packed {
  std::unique_ptr<char[]> storage;
  TensorView view;
};

template <typename Fn> void forEachIndex(const std::vector<int64_t> &sizes, Fn fn) {
  std::vector<int64_t> idx(sizes.size(), 0);
  for (int64_t s : sizes)
    if (s == 0)
      return;
  while (true) {
    fn(idx);
    int d = static_cast<int>(sizes.size()) - 1;
    while (d >= 0 && ++idx[d] == sizes[d])
      idx[d--] = 0;
    if (d < 0)
      return;
  }
}

int64_t offsetOf(const std::vector<int64_t> &idx, const std::vector<int64_t> &strides) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d)
    off += idx[d] * strides[d];
  return off;
}

bool needsPacking(const TensorView &v) { return v.sizes.back() > 1 && v.strides.back() != 1; }

Packed packed(const TensorView &v, bool copyIn) {
  Packed p;
  p.view = v;
  p.view.strides = TensorView::contiguousStrides(v.sizes);
  int64_t bytes = dtypeBytes(v.dtype);
  // On a 64-byte line, as the tiled path's P V reads v in place only there
  // (readsAlignedV): a packed v is not copied a second time.
  p.storage.reset(new char[std::max<int64_t>(1, v.numElements() * bytes) + 63]);
  auto at = reinterpret_cast<uintptr_t>(p.storage.get());
  p.view.data = reinterpret_cast<void *>((at + 63) / 64 * 64);
  if (copyIn)
    forEachIndex(v.sizes, [&](const std::vector<int64_t> &idx) {
      std::memcpy(static_cast<char *>(p.view.data) + offsetOf(idx, p.view.strides) * bytes,
                  static_cast<const char *>(v.data) + offsetOf(idx, v.strides) * bytes, bytes);
    });
  return p;
}

void unpack(const TensorView &from, const TensorView &to) {
  int64_t bytes = dtypeBytes(to.dtype);
  forEachIndex(to.sizes, [&](const std::vector<int64_t> &idx) {
    std::memcpy(static_cast<char *>(to.data) + offsetOf(idx, to.strides) * bytes,
                static_cast<const char *>(from.data) + offsetOf(idx, from.strides) * bytes, bytes);
  });
}

int64_t scalarBits(const InputSig &in, double value) {
  if (in.dtype == ATTN_I32)
    return static_cast<int64_t>(value);
  float f = static_cast<float>(value);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

} // namespace

namespace {
std::string invokeChecked(const KernelSignature &sig, const KernelEntries &entries,
                          const std::vector<ArgValue> &inputs, const TensorView &o,
                          const TensorView *lse, const InvokeOptions &options) {
  if (options.qBlockRows < 0)
    return "kernel '" + sig.name + "': InvokeOptions::qBlockRows is " + std::to_string(options.qBlockRows) +
           "; it must be 0 (chosen per call) or a number of rows";
  if (options.keySplits < 0)
    return "kernel '" + sig.name + "': InvokeOptions::keySplits is " + std::to_string(options.keySplits) +
           "; it must be 0 (the cost model chooses) or a number of parts";
  if (inputs.size() != sig.inputs.size())
    return "kernel '" + sig.name + "' takes " + std::to_string(sig.inputs.size()) +
           " inputs, got " + std::to_string(inputs.size());
  // 1. Each input on its own: dtype, rank, strides, pointer, extent.
  std::vector<Checked> checked(inputs.size());
  std::vector<std::vector<int64_t>> shapes(inputs.size());
  for (size_t n = 0; n < inputs.size(); ++n) {
    const InputSig &in = sig.inputs[n];
    if (in.isScalar()) {
      double x = inputs[n].scalar;
      if (in.dtype == ATTN_I32 && (x != std::trunc(x) || x < INT32_MIN || x > INT32_MAX))
        return "input '" + in.name + "' is i32, but " + std::to_string(x) +
               " is not a 32-bit integer";
      continue;
    }
    if (std::string err = checkView(in.name, inputs[n].tensor, in.dtype, in.dims.size(), checked[n]);
        !err.empty())
      return err;
    shapes[n] = inputs[n].tensor.sizes;
  }
  // 2. Sizes against the spec and against each other.
  std::string error;
  std::optional<BoundDims> dims = bindShapes(sig, shapes, error);
  if (!dims)
    return error;
  // Top-k and argmax hold key indices as i32 while they pick (emitTopKOfferKeys).
  if (keptKeys(sig) > 0 && dims->kvLen > INT32_MAX)
    return "tensor 'k' dimension 2 is " + std::to_string(dims->kvLen) + " keys; kernel '" + sig.name +
           "' (top-k or argmax) takes at most " + std::to_string(INT32_MAX);
  // 3. Outputs: shape, type, and no overlap with any input.
  Checked oc, lc;
  if (std::string err = checkView("o", o, sig.inputs[0].dtype, 4, oc); !err.empty())
    return err;
  std::vector<int64_t> oShape = {dims->batch, dims->qHeads, dims->qLen, dims->vDim};
  for (int d = 0; d < 4; ++d)
    if (o.sizes[d] != oShape[d])
      return "tensor 'o' dimension " + std::to_string(d) + " must be " + std::to_string(oShape[d]) +
             ", got " + std::to_string(o.sizes[d]);
  if (lse && !sig.returnLse)
    return "kernel '" + sig.name + "' has no lse output; declare 'outputs: o, lse' to get it";
  if (lse) {
    if (std::string err = checkView("lse", *lse, ATTN_F32, 3, lc); !err.empty())
      return err;
    for (int d = 0; d < 3; ++d)
      if (lse->sizes[d] != oShape[d])
        return "tensor 'lse' dimension " + std::to_string(d) + " must be " +
               std::to_string(oShape[d]) + ", got " + std::to_string(lse->sizes[d]);
    if (overlaps(oc, lc))
      return "outputs 'o' and 'lse' overlap";
  }
  for (size_t n = 0; n < inputs.size(); ++n) {
    if (sig.inputs[n].isScalar())
      continue;
    if (overlaps(oc, checked[n]))
      return "output 'o' overlaps input '" + sig.inputs[n].name + "'";
    if (lse && overlaps(lc, checked[n]))
      return "output 'lse' overlaps input '" + sig.inputs[n].name + "'";
  }
  if (dims->batch * dims->qHeads * dims->qLen == 0 || oc.view.numElements() == 0)
    return {};

  // 4. q, k, v, o with a non-unit innermost stride go through row-major copies.
  std::vector<Packed> packs;
  TensorView qkv[3], out = oc.view;
  for (int n = 0; n < 3; ++n) {
    qkv[n] = checked[n].view;
    if (needsPacking(qkv[n])) {
      packs.push_back(packed(qkv[n], true));
      qkv[n] = packs.back().view;
    }
  }
  bool packOut = needsPacking(out);
  Packed outPack;
  if (packOut) {
    outPack = packed(out, false);
    out = outPack.view;
  }

  // 5. The kernel's arguments.
  ParamLayout layout(sig);
  std::vector<int64_t> params(layout.numParams(), 0);
  std::vector<void *> ptrs(layout.numPointers(), nullptr);
  int64_t fixed[] = {dims->batch, dims->qHeads, dims->kvHeads, dims->qLen,
                     dims->kvLen, dims->headDim, dims->vDim};
  std::copy(std::begin(fixed), std::end(fixed), params.begin());
  auto setStrides = [&](int tensor, const TensorView &v) {
    std::copy(v.strides.begin(), v.strides.end(), params.begin() + layout.strides(tensor));
  };
  for (int n = 0; n < 3; ++n) {
    ptrs[n] = qkv[n].data;
    setStrides(n, qkv[n]);
  }
  bool tiled = takesTiledPath(dims->qHeads / dims->kvHeads, dims->qLen);
  ThreadPool &pool = ThreadPool::global();
  unsigned threads = options.threads == 0 ? pool.size() : std::min(options.threads, pool.size());
  int64_t qRows = options.qBlockRows > 0 ? std::min(options.qBlockRows, sig.schedule.blockQ)
                                         : callQBlockRows(sig, *dims, threads);
  params[ParamLayout::QBlockRows] = qRows;
  int64_t splits = 1;
  if (splitsKeys(sig)) {
    int64_t blocks = keyBlocks(sig, tiled, dims->kvLen);
    splits = options.keySplits > 0 ? std::clamp<int64_t>(options.keySplits, 1, std::max<int64_t>(1, blocks))
                                   : chooseKeySplits(sig, *dims, tiled, threads, qRows);
  }
  params[ParamLayout::KeySplits] = splits;
  ScratchLayout callScratch = ScratchLayout::compute(sig.schedule, dims->vDim, keptKeys(sig), dims->headDim, qRows);
  std::pair<ParamLayout::Fixed, int64_t> scratchParts[] = {
      {ParamLayout::ScratchRows, callScratch.rows},
      {ParamLayout::ScratchTileP, callScratch.tileP},
      {ParamLayout::ScratchTileCorrections, callScratch.tileCorrections},
      {ParamLayout::ScratchTileP16, callScratch.tileP16},
      {ParamLayout::ScratchAcc, callScratch.acc},
      {ParamLayout::ScratchTopScores, callScratch.topScores},
      {ParamLayout::ScratchTopIndex, callScratch.topIndex},
      {ParamLayout::ScratchQTile, callScratch.qTile},
      {ParamLayout::ScratchTileState, callScratch.tileState}};
  for (auto [slot, offset] : scratchParts)
    params[slot] = offset;
  float *partials = nullptr;
  if (splits > 1) {
    __int128 wide = static_cast<__int128>(dims->batch) * dims->qHeads * dims->qLen * splits * partialFloats(dims->vDim);
    if (wide > INT64_MAX / 4)
      return "kernel '" + sig.name + "': " + std::to_string(splits) + " parts of the keys need more memory than "
             "can be addressed; split them into fewer (InvokeOptions::keySplits)";
    int64_t floats = static_cast<int64_t>(wide);
    partials = reinterpret_cast<float *>(workspace(kPartials, static_cast<size_t>(floats)));
    ptrs[ParamLayout::Partials] = partials;
  }
  int64_t items = numWorkItems(sig, *dims, tiled, splits, qRows);
  if (tiled && usesAmx(sig) && !requestAmxTiles())
    return "kernel '" + sig.name + "' was compiled for AMX tiles, which this CPU or OS does not allow this "
           "process to use; compile it for this machine (--target host) instead";
  // The tiled path reads k packed (and with bf16 pairs v): per head by the
  // workers that run the head's items where that balances, else all first.
  KVPacking packing = options.packing;
  if (packing == KVPacking::Auto)
    packing = packsPerHead(*dims, threads) ? KVPacking::PerHead : KVPacking::Upfront;
  if (!tiled) // nothing to pack
    packing = KVPacking::Upfront;
  KPacker kPacker;
  VPacker vPacker;
  // One kv head's k and v: whether its k (bit 0) and v (bit 1) are finite
  // (set where the packers do not look).
  auto packHead = [&](int64_t bh) -> unsigned {
    bool kFinite = kPacker.packHead(bh);
    bool vFinite = !vPacker.packHead || vPacker.packHead(bh);
    return unsigned(kFinite) | unsigned(vFinite) << 1;
  };
  auto setFinite = [&](std::vector<int64_t> &to, unsigned finite) {
    to[ParamLayout::KFinite] = finite & 1;
    if (vPacker.packHead)
      to[ParamLayout::VFinite] = finite >> 1 & 1;
  };
  if (tiled) {
    kPacker = splitsF32(sig)     ? kSplitF32Packer(sig, *dims, qkv[1])
              : usesBf16Dot(sig) ? kPairsPacker(sig, *dims, qkv[1])
                                 : transposedKPacker(sig, *dims, qkv[1]);
    ptrs[ParamLayout::KTransposed] = kPacker.data;
    if (splitsF32(sig)) { // P V reads each of v's parts in pairs
      vPacker = vSplitF32Packer(sig, *dims, qkv[2]);
      ptrs[ParamLayout::VPairs] = vPacker.data;
    } else if (usesBf16Dot(sig) && blocksTakePV(sig)) { // P V reads v in pairs
      vPacker = vPairsPacker(sig, *dims, qkv[2]);
      ptrs[ParamLayout::VPairs] = vPacker.data;
    } else if (widensV(sig)) {
      vPacker = vWidePacker(*dims, qkv[2]);
      ptrs[ParamLayout::VPairs] = vPacker.data;
    } else if (readsAlignedV(sig)) { // null: v's rows are on cache lines, read in place
      vPacker = vAlignedCopyPacker(*dims, qkv[2]);
      ptrs[ParamLayout::VPairs] = vPacker.data;
    }
    if (packing == KVPacking::Upfront) {
      unsigned finite = packAllHeads(*dims, packHead, options.threads);
      if (!(finite & 1) && kPacker.packHeadWhole) // some head's k is not finite: every head as that one
        packAllHeads(
            *dims, [&](int64_t bh) { return unsigned(kPacker.packHeadWhole(bh)); }, options.threads);
      setFinite(params, finite);
    }
  }
  ptrs[ParamLayout::O] = out.data;
  setStrides(ParamLayout::O, out);
  if (lse) {
    ptrs[ParamLayout::Lse] = lc.view.data;
    setStrides(ParamLayout::Lse, lc.view);
  }
  int extra = 0;
  for (int n : sig.extraTensors()) {
    ptrs[layout.pointer(n)] = checked[n].view.data;
    setStrides(ParamLayout::FirstExtra + extra++, checked[n].view);
  }
  for (const auto &[name, size] : dims->named)
    params[layout.dim(name)] = size;
  for (int n : sig.scalars())
    params[layout.scalar(n)] = scalarBits(sig.inputs[n], inputs[n].scalar);

  // 6. Run: each worker has its own scratch; the first error wins.
  // Scratch is sized for the compiled q block (the row path lays its parts
  // out for it) and kept between calls: allocated per call, a causal kernel
  // compiled for 512 rows took 0.96 ms instead of 0.77 (B=1 H=4 L=512, two
  // threads), in the page faults of its 1.3 MB a worker.
  ScratchLayout scratch = ScratchLayout::compute(sig.schedule, dims->vDim, keptKeys(sig), dims->headDim);
  size_t workerBytes = static_cast<size_t>(scratch.bytes + 63) / 64 * 64;
  char *scratchBase = reinterpret_cast<char *>(workspace(kScratch, (workerBytes * pool.size() + 3) / 4));
  std::vector<void *> scratchPtrs(pool.size());
  std::vector<int64_t> status(pool.size(), ATTN_STATUS_OK);
  for (size_t w = 0; w < scratchPtrs.size(); ++w)
    scratchPtrs[w] = scratchBase + w * workerBytes; // cache-line aligned
  attn_kernel_fn fn = entries.forPath(tiled);
  if (!fn)
    return "kernel '" + sig.name + "' has no code for the " + (tiled ? "tiled" : "row") + " path";
  if (packing == KVPacking::PerHead) {
    // A kv head's items (with all their key parts) are contiguous
    // (numWorkItems): the worker packs
    // the head's k and v, then runs them, with its own params (VFinite is
    // the head's).
    int64_t heads = dims->batch * dims->kvHeads, headItems = items / heads;
    std::vector<std::vector<int64_t>> workerParams(pool.size(), params);
    pool.parallelFor(heads, 1, options.threads, [&](int64_t begin, int64_t end, unsigned worker) {
      std::vector<int64_t> &headParams = workerParams[worker];
      FlushDenormalResults flush;
      for (int64_t bh = begin; bh < end; ++bh) {
        setFinite(headParams, packHead(bh));
        fn(ptrs.data(), headParams.data(), bh * headItems, (bh + 1) * headItems, scratchPtrs[worker],
           &status[worker]);
      }
    });
  } else {
    pool.parallelFor(items, 1, options.threads, [&](int64_t begin, int64_t end, unsigned worker) {
      FlushDenormalResults flush;
      fn(ptrs.data(), params.data(), begin, end, scratchPtrs[worker], &status[worker]);
    });
  }
  for (int64_t s : status)
    if (s != ATTN_STATUS_OK) {
      int64_t input = s - ATTN_STATUS_OUT_OF_RANGE_BASE;
      std::string name = input >= 0 && input < static_cast<int64_t>(sig.inputs.size())
                             ? sig.inputs[input].name
                             : "?";
      return "an index computed by the spec is out of range for tensor '" + name +
             "'; nothing was read or written outside any tensor, but o is not valid";
    }
  if (splits > 1) {
    MergeTarget to{out.data, out.dtype, out.strides.data()};
    if (lse) {
      to.lse = static_cast<float *>(lc.view.data);
      to.lseStrides = lc.view.strides.data();
    }
    mergeKeySplits(*dims, splits, partials, to, threads);
  }
  if (packOut)
    unpack(out, oc.view);
  return {};
}

} // namespace

std::string invokeKernel(const KernelSignature &sig, const KernelEntries &entries,
                         const std::vector<ArgValue> &inputs, const TensorView &o,
                         const TensorView *lse, const InvokeOptions &options) {
  // Kernels run inside other programs: a failed allocation (packed or
  // transposed copies, scratch) or thread start is an error, never an abort.
  try {
    return invokeChecked(sig, entries, inputs, o, lse, options);
  } catch (const std::bad_alloc &) {
    return "kernel '" + sig.name + "': out of memory for its working buffers";
  } catch (const std::exception &e) {
    return "kernel '" + sig.name + "': " + e.what();
  }
}

std::string invokeKernel(const KernelSignature &sig, attn_kernel_fn fn,
                         const std::vector<ArgValue> &inputs, const TensorView &o,
                         const TensorView *lse, const InvokeOptions &options) {
  KernelEntries entries;
  entries.both = fn;
  return invokeKernel(sig, entries, inputs, o, lse, options);
}

} // namespace attn
