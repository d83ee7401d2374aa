//===- Invoke.cpp - Checking arguments and running a kernel ----------------===//
#include "attn/Invoke.h"

#include "attn/Half.h"
#include "attn/KeySplits.h"
#include "attn/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <new>
#include <memory>

#if defined(__SSE2__)
#include <immintrin.h>
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
  p.storage.reset(new char[std::max<int64_t>(1, v.numElements() * bytes)]);
  p.view.data = p.storage.get();
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

float loadAsFloat(const void *base, int64_t offset, attn_dtype dtype) {
  switch (dtype) {
  case ATTN_F32: return static_cast<const float *>(base)[offset];
  case ATTN_BF16: return bf16ToFloat(static_cast<const uint16_t *>(base)[offset]);
  case ATTN_F16: return f16ToFloat(static_cast<const uint16_t *>(base)[offset]);
  case ATTN_I32: return static_cast<float>(static_cast<const int32_t *>(base)[offset]);
  }
  return 0;
}

/// The calling thread's buffers for packed k and v (one per `slot`), kept
/// between calls and grown to the largest: a fresh allocation per call
/// (134 MB for 16 heads of 16k keys) cost its page faults and zeroing every
/// time, 10-20% of a windowed attention (measured with perf).
enum WorkspaceSlot { kPackedK = 0, kPackedV = 1, kPartials = 2, kNumWorkspaces };
/// Cache-line aligned (the k packer streams whole lines into it).
struct AlignedFree {
  void operator()(uint32_t *p) const { ::operator delete[](p, std::align_val_t(64)); }
};
uint32_t *workspace(WorkspaceSlot slot, size_t words) {
  thread_local std::unique_ptr<uint32_t[], AlignedFree> buffers[kNumWorkspaces];
  thread_local size_t capacity[kNumWorkspaces] = {};
  if (words > capacity[slot]) {
    buffers[slot].reset();
    buffers[slot].reset(static_cast<uint32_t *>(::operator new[](words * sizeof(uint32_t), std::align_val_t(64))));
    capacity[slot] = words;
  }
  return buffers[slot].get();
}

/// The bf16 pair (lo, hi) as vdpbf16ps reads it: lo in the low half.
uint32_t bf16Pair(uint16_t lo, uint16_t hi) { return static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16; }

#if defined(__x86_64__)
/// dst[c] = bf16Pair(lo[c], hi[c]) for 16 c at once; whether some element
/// is inf or NaN (exponent bits all ones), as packVPairs checks it. Word
/// by word, packing v was 5% of a bf16 causal kernel's samples on AMX.
__attribute__((target("avx512f"))) bool interleavePairs16(const uint16_t *lo, const uint16_t *hi, uint32_t *dst) {
  __m512i l = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(lo)));
  __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(hi)));
  __m512i pairs = _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
  _mm512_storeu_si512(dst, pairs);
  const __m512i low = _mm512_set1_epi32(0x7f80), high = _mm512_set1_epi32(0x7f800000);
  return (_mm512_cmpeq_epi32_mask(_mm512_and_si512(pairs, low), low) |
          _mm512_cmpeq_epi32_mask(_mm512_and_si512(pairs, high), high)) != 0;
}
#endif

/// v in bf16 pairs of keys (see usesBf16Dot): [B][Hkv][padded Lk / 2][Dv].
/// `finite`: whether every element is (no inf or NaN: bf16 exponent bits
/// not all ones).
uint32_t *packVPairs(const KernelSignature &sig, const BoundDims &d, const TensorView &v, bool &finite) {
  int64_t pairs = paddedKvLen(sig, d.kvLen) / 2;
  uint32_t *vp = workspace(kPackedV, static_cast<size_t>(std::max<int64_t>(1, d.batch * d.kvHeads * pairs * d.vDim)));
  const uint16_t *src = static_cast<const uint16_t *>(v.data);
  std::atomic<bool> nonFinite{false};
#if defined(__x86_64__)
  bool wide = v.strides[3] == 1 && __builtin_cpu_supports("avx512f");
#endif
  ThreadPool::global().parallelFor(d.batch * d.kvHeads, 1, 0, [&](int64_t begin, int64_t end, unsigned) {
    uint32_t exponents = 0; // OR of (pair & exponent mask) == mask, per element pair
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t base = bh / d.kvHeads * v.strides[0] + bh % d.kvHeads * v.strides[1];
      for (int64_t jp = 0; jp < pairs; ++jp) {
        uint32_t *dst = vp + (bh * pairs + jp) * d.vDim;
        int64_t j = 2 * jp;
        const uint16_t *lo = j < d.kvLen ? src + base + j * v.strides[2] : nullptr;
        const uint16_t *hi = j + 1 < d.kvLen ? src + base + (j + 1) * v.strides[2] : nullptr;
        int64_t c = 0;
#if defined(__x86_64__)
        if (wide && lo && hi)
          for (; c + 16 <= d.vDim; c += 16)
            exponents |= interleavePairs16(lo + c, hi + c, dst + c);
#endif
        for (; c < d.vDim; ++c) {
          uint32_t pair = bf16Pair(lo ? lo[c * v.strides[3]] : 0, hi ? hi[c * v.strides[3]] : 0);
          dst[c] = pair;
          exponents |= ((pair & 0x7f80u) == 0x7f80u) | ((pair & 0x7f800000u) == 0x7f800000u);
        }
      }
    }
    if (exponents)
      nonFinite = true;
  });
  finite = !nonFinite;
  return vp;
}

/// k tile-major (see paddedKvLen): per kv head and tile of keys, `depth`
/// rows of one word per key, zero past kvLen; fill(block, firstRow, keys)
/// writes word (c, j) of the tile's first `keys` keys, j counted from the
/// k row at offset firstRow. One tile at a time: its block (24 KB at D=128,
/// f32) stays in cache while k's rows are read in order.
template <typename Word, typename Fill>
Word *packKBlocks(const KernelSignature &sig, const BoundDims &d, const TensorView &k, int64_t depth,
                  const Fill &fill) {
  int64_t padded = paddedKvLen(sig, d.kvLen);
  int64_t tile = tileKeys(sig);
  static_assert(sizeof(Word) == sizeof(uint32_t), "the workspace holds 32-bit words");
  // Never empty: a null pointer would tell the kernel to take the row path,
  // which counts its work items differently.
  Word *out = reinterpret_cast<Word *>(
      workspace(kPackedK, static_cast<size_t>(std::max<int64_t>(1, d.batch * d.kvHeads * depth * padded))));
  ThreadPool::global().parallelFor(d.batch * d.kvHeads, 1, 0, [&](int64_t begin, int64_t end, unsigned) {
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t base = bh / d.kvHeads * k.strides[0] + bh % d.kvHeads * k.strides[1];
      for (int64_t j0 = 0; j0 < padded; j0 += tile) {
        Word *block = out + bh * depth * padded + j0 * depth;
        int64_t keys = std::min(tile, d.kvLen - j0);
        fill(block, base + j0 * k.strides[2], keys);
        for (int64_t c = 0; c < depth; ++c)
          std::fill(block + c * tile + keys, block + (c + 1) * tile, Word(0));
      }
    }
#if defined(__SSE2__)
    _mm_sfence(); // orders any non-temporal stores of fill before the kernel reads them
#endif
  });
  return out;
}

/// packKBlocks with word (c, j) = element(offset of k's row j, c).
template <typename Word, typename Element>
Word *packKTiles(const KernelSignature &sig, const BoundDims &d, const TensorView &k, int64_t depth,
                 const Element &element) {
  int64_t tile = tileKeys(sig);
  return packKBlocks<Word>(sig, d, k, depth, [&](Word *block, int64_t firstRow, int64_t keys) {
    for (int64_t jj = 0; jj < keys; ++jj) {
      int64_t row = firstRow + jj * k.strides[2];
      for (int64_t c = 0; c < depth; ++c)
        block[c * tile + jj] = element(row, c);
    }
  });
}


#if defined(__x86_64__)
/// A whole line of 16 f32, non-temporal with Stream (then `at` must be
/// 64-byte aligned).
template <bool Stream> __attribute__((target("avx512f"))) inline void storeLine(float *at, __m512 x) {
  if constexpr (Stream)
    _mm512_stream_ps(at, x); // at is 64-byte aligned: see packTransposedK
  else
    _mm512_storeu_ps(at, x);
}
/// dst[c * dstStride + r] = src[r * rowStride + c] for a 16 x 16 block of
/// f32: 16 row loads, four levels of shuffles, 16 whole-vector stores.
template <bool Stream>
__attribute__((target("avx512f"))) void transpose16x16(const float *src, int64_t rowStride, float *dst,
                                                        int64_t dstStride) {
  __m512 r[16], t[16], g4[4][4];
  for (int i = 0; i < 16; ++i)
    r[i] = _mm512_loadu_ps(src + i * rowStride);
  for (int i = 0; i < 8; ++i) { // pairs of rows interleaved per 128-bit lane
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) { // lane L of g4[g][k]: column 4L + k of rows 4g .. 4g + 3
    __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]), c = _mm512_castps_pd(t[4 * g + 2]),
            d = _mm512_castps_pd(t[4 * g + 3]);
    g4[g][0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    g4[g][1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    g4[g][2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    g4[g][3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int k = 0; k < 4; ++k) { // gather lane L of the four row groups
    __m512 lo01 = _mm512_shuffle_f32x4(g4[0][k], g4[1][k], 0x44), hi01 = _mm512_shuffle_f32x4(g4[0][k], g4[1][k], 0xEE);
    __m512 lo23 = _mm512_shuffle_f32x4(g4[2][k], g4[3][k], 0x44), hi23 = _mm512_shuffle_f32x4(g4[2][k], g4[3][k], 0xEE);
    storeLine<Stream>(dst + k * dstStride, _mm512_shuffle_f32x4(lo01, lo23, 0x88));
    storeLine<Stream>(dst + (4 + k) * dstStride, _mm512_shuffle_f32x4(lo01, lo23, 0xDD));
    storeLine<Stream>(dst + (8 + k) * dstStride, _mm512_shuffle_f32x4(hi01, hi23, 0x88));
    storeLine<Stream>(dst + (12 + k) * dstStride, _mm512_shuffle_f32x4(hi01, hi23, 0xDD));
  }
}
#endif

#if defined(__SSE2__)
/// block[c * tile + jj] = src[jj * rowStride + c] for keys jj < `keys` and
/// c < depth: 32-bit words (f32, or bf16 pairs), moved as floats (moves keep
/// every bit pattern). With `wide` 16 x 16 AVX-512 steps (depth % 16 == 0),
/// with `stream` their stores non-temporal; then 4 x 4 SSE steps; then one
/// word at a time.
void transposeKeys(const float *src, int64_t rowStride, int64_t depth, float *block, int64_t tile, int64_t keys,
                   [[maybe_unused]] bool wide, [[maybe_unused]] bool stream) {
  int64_t jj = 0;
#if defined(__x86_64__)
  if (wide)
    for (; jj + 16 <= keys; jj += 16)
      for (int64_t c = 0; c < depth; c += 16)
        (stream ? transpose16x16<true> : transpose16x16<false>)(src + jj * rowStride + c, rowStride,
                                                              block + c * tile + jj, tile);
#endif
  for (; jj + 4 <= keys; jj += 4) {
    const float *r0 = src + jj * rowStride, *r1 = r0 + rowStride, *r2 = r1 + rowStride, *r3 = r2 + rowStride;
    int64_t c = 0;
    for (; c + 4 <= depth; c += 4) {
      __m128 a = _mm_loadu_ps(r0 + c), b = _mm_loadu_ps(r1 + c), e = _mm_loadu_ps(r2 + c), f = _mm_loadu_ps(r3 + c);
      _MM_TRANSPOSE4_PS(a, b, e, f);
      _mm_storeu_ps(block + c * tile + jj, a);
      _mm_storeu_ps(block + (c + 1) * tile + jj, b);
      _mm_storeu_ps(block + (c + 2) * tile + jj, e);
      _mm_storeu_ps(block + (c + 3) * tile + jj, f);
    }
    for (; c < depth; ++c)
      for (int i = 0; i < 4; ++i)
        std::memcpy(block + c * tile + jj + i, r0 + i * rowStride + c, 4);
  }
  for (; jj < keys; ++jj)
    for (int64_t c = 0; c < depth; ++c)
      std::memcpy(block + c * tile + jj, src + jj * rowStride + c, 4);
}

/// k packed tile-major by transposeKeys, its rows read as 32-bit words:
/// `words` is k's data, `depth` words per key, `elementsPerWord` elements
/// of k per word (1 for f32, 2 for bf16 pairs; k's row stride and offsets
/// are multiples of it).
template <typename Word>
Word *packWordRows(const KernelSignature &sig, const BoundDims &d, const TensorView &k, const float *words,
                   int64_t depth, int64_t elementsPerWord) {
  int64_t tile = tileKeys(sig), rowStride = k.strides[2] / elementsPerWord;
  bool wide = false, stream = false;
#if defined(__x86_64__)
  // A kernel of 16-wide vectors runs on AVX-512: 16 keys x 16 words per
  // step, whole-line stores (4x4 steps wrote quarter lines).
  wide = sig.schedule.vectorWidth == 16 && depth % 16 == 0 && __builtin_cpu_supports("avx512f");
  // Packed k over 32 MB goes to memory anyway: non-temporal stores skip
  // reading each line first. Every store is a whole aligned line: the
  // workspace is, and tiles (48 or 64 keys), rows and steps are 64-byte
  // multiples.
  stream = wide && tile % 16 == 0 && d.batch * d.kvHeads * depth * paddedKvLen(sig, d.kvLen) * 4 > (int64_t(32) << 20);
#endif
  return packKBlocks<Word>(sig, d, k, depth, [&](Word *block, int64_t firstRow, int64_t keys) {
    transposeKeys(words + firstRow / elementsPerWord, rowStride, depth, reinterpret_cast<float *>(block), tile, keys,
                  wide, stream);
  });
}
#endif

/// k in bf16 pairs (see usesBf16Dot): [B][Hkv][tiles][ceil(D / 2)][tile].
uint32_t *packKPairs(const KernelSignature &sig, const BoundDims &d, const TensorView &k) {
  const uint16_t *src = static_cast<const uint16_t *>(k.data);
  int64_t step = k.strides[3];
#if defined(__SSE2__)
  // Rows of whole pairs (unit stride, even D and row offsets): each pair is
  // the 32-bit word at its place in k's row, so packing transposes words as
  // the f32 packer does (the word-by-word copy was 8% of a bf16 causal
  // kernel's samples on AMX).
  if (step == 1 && d.headDim % 2 == 0 && k.strides[0] % 2 == 0 && k.strides[1] % 2 == 0 && k.strides[2] % 2 == 0)
    return packWordRows<uint32_t>(sig, d, k, reinterpret_cast<const float *>(src), d.headDim / 2, 2);
#endif
  return packKTiles<uint32_t>(sig, d, k, (d.headDim + 1) / 2, [&](int64_t row, int64_t c) {
    uint16_t hi = 2 * c + 1 < d.headDim ? src[row + (2 * c + 1) * step] : 0;
    return bf16Pair(src[row + 2 * c * step], hi);
  });
}

/// k as f32 [B][Hkv][padded Lk / tile][D][tile]: the tiled softmax path
/// loads one vector of keys per head-dim element from it. f32, the common
/// case, copies without a per-element conversion.
float *packTransposedK(const KernelSignature &sig, const BoundDims &d, const TensorView &k) {
  const float *src = static_cast<const float *>(k.data);
#if defined(__SSE2__)
  // f32 rows with unit stride: 4 keys x 4 head-dim elements at a time, a
  // 4x4 transpose in registers. Element by element the copy was 12% of a
  // windowed attention at 16k keys (perf), which reads each key only a few
  // times.
  if (k.dtype == ATTN_F32 && k.strides[3] == 1)
    return packWordRows<float>(sig, d, k, src, d.headDim, 1);
#endif
  return packKTiles<float>(sig, d, k, d.headDim, [&](int64_t row, int64_t c) {
    int64_t at = row + c * k.strides[3];
    return k.dtype == ATTN_F32 ? src[at] : loadAsFloat(k.data, at, k.dtype);
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
  bool tiled = takesTiledPath(sig, dims->qHeads / dims->kvHeads, dims->qLen);
  ThreadPool &pool = ThreadPool::global();
  unsigned threads = options.threads == 0 ? pool.size() : std::min(options.threads, pool.size());
  int64_t splits = 1;
  if (splitsKeys(sig)) {
    int64_t blocks = keyBlocks(sig, tiled, dims->kvLen);
    splits = options.keySplits > 0 ? std::clamp<int64_t>(options.keySplits, 1, std::max<int64_t>(1, blocks))
                                   : chooseKeySplits(sig, *dims, tiled, threads);
  }
  params[ParamLayout::KeySplits] = splits;
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
  int64_t items = numWorkItems(sig, *dims, tiled, splits);
  if (tiled && usesAmx(sig) && !requestAmxTiles())
    return "kernel '" + sig.name + "' was compiled for AMX tiles, which this CPU or OS does not allow this "
           "process to use; compile it for this machine (--target host) instead";
  if (tiled && usesBf16Dot(sig)) {
    ptrs[ParamLayout::KTransposed] = packKPairs(sig, *dims, qkv[1]);
    if (sig.weights == Weights::Softmax) { // top-K reads v itself
      bool finite = false;
      ptrs[ParamLayout::VPairs] = packVPairs(sig, *dims, qkv[2], finite);
      params[ParamLayout::VFinite] = finite;
    }
  } else if (tiled) {
    ptrs[ParamLayout::KTransposed] = packTransposedK(sig, *dims, qkv[1]);
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
  ScratchLayout scratch = ScratchLayout::compute(sig.schedule, dims->vDim, keptKeys(sig), dims->headDim);
  std::vector<std::unique_ptr<char[]>> scratchBufs(pool.size());
  std::vector<void *> scratchPtrs(pool.size());
  std::vector<int64_t> status(pool.size(), ATTN_STATUS_OK);
  for (size_t w = 0; w < scratchBufs.size(); ++w) {
    scratchBufs[w].reset(new char[scratch.bytes + 64]);
    uintptr_t p = reinterpret_cast<uintptr_t>(scratchBufs[w].get());
    scratchPtrs[w] = reinterpret_cast<void *>((p + 63) / 64 * 64); // cache-line aligned
  }
  attn_kernel_fn fn = entries.forPath(tiled);
  if (!fn)
    return "kernel '" + sig.name + "' has no code for the " + (tiled ? "tiled" : "row") + " path";
  pool.parallelFor(items, 1, options.threads, [&](int64_t begin, int64_t end, unsigned worker) {
    fn(ptrs.data(), params.data(), begin, end, scratchPtrs[worker], &status[worker]);
  });
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
