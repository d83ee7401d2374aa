//===- PackedKV.cpp - k and v packed for the tiled path's kernels ---------===//
#include "attn/PackedKV.h"

#include "PackingSteps.h"

#include "attn/Half.h"
#include "attn/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include <unistd.h>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace attn {

namespace {
/// Cache-line aligned (the k packer streams whole lines into it).
struct AlignedFree {
  void operator()(uint32_t *p) const { ::operator delete[](p, std::align_val_t(64)); }
};
} // namespace

/// Kept between calls: a fresh allocation per call (134 MB for 16 heads of
/// 16k keys) cost its page faults and zeroing every time, 10-20% of a
/// windowed attention (measured with perf).
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

namespace {

float loadAsFloat(const void *base, int64_t offset, attn_dtype dtype) {
  switch (dtype) {
  case ATTN_F32: return static_cast<const float *>(base)[offset];
  case ATTN_BF16: return bf16ToFloat(static_cast<const uint16_t *>(base)[offset]);
  case ATTN_F16: return f16ToFloat(static_cast<const uint16_t *>(base)[offset]);
  case ATTN_I32: return static_cast<float>(static_cast<const int32_t *>(base)[offset]);
  }
  return 0;
}

} // namespace

namespace packing {

/// Whether this host runs AVX-512 (the packers' 16-wide steps).
bool hasAvx512() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

bool streamsPackedK(const BoundDims &d, int64_t headBytes) {
  return d.batch * d.kvHeads * headBytes > (int64_t(32) << 20);
}

} // namespace packing

using namespace packing;

namespace {

#if defined(__x86_64__)
/// dst[c] = bf16Pair(lo[c], hi[c]) for 16 c at once; whether some element
/// is inf or NaN (exponent bits all ones), as vPairsPacker checks it. Word
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

#if defined(__x86_64__)
/// A whole line of 16 f32, non-temporal with Stream (then `at` must be
/// 64-byte aligned).
template <bool Stream> __attribute__((target("avx512f"))) inline void storeLine(float *at, __m512 x) {
  if constexpr (Stream)
    _mm512_stream_ps(at, x); // at is 64-byte aligned: see wordRowsPacker
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

} // namespace

#if defined(__SSE2__)
namespace packing {

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

} // namespace packing
#endif

namespace {

#if defined(__SSE2__)
/// k packed tile-major by transposeKeys, its rows read as 32-bit words:
/// `words` is k's data, `depth` words per key, `elementsPerWord` elements
/// of k per word (1 for f32, 2 for bf16 pairs; k's row stride and offsets
/// are multiples of it).
KPacker wordRowsPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k, const float *words,
                       int64_t depth, int64_t elementsPerWord) {
  int64_t tile = tileKeys(sig), rowStride = k.strides[2] / elementsPerWord;
  bool wide = false, stream = false;
#if defined(__x86_64__)
  // A kernel of 16-wide vectors runs on AVX-512: 16 keys x 16 words per
  // step, whole-line stores (4x4 steps wrote quarter lines).
  wide = sig.schedule.vectorWidth == 16 && depth % 16 == 0 && hasAvx512();
  // Streamed stores skip reading each line first. Every store is a whole
  // aligned line: the workspace is, and tiles (48 or 64 keys), rows and
  // steps are 64-byte multiples.
  stream = wide && tile % 16 == 0 && streamsPackedK(d, depth * paddedKvLen(sig, d.kvLen) * 4);
#endif
  return kBlocksPacker<uint32_t>(sig, d, k, depth, [=](uint32_t *block, int64_t firstRow, int64_t keys) {
    transposeKeys(words + firstRow / elementsPerWord, rowStride, depth, reinterpret_cast<float *>(block), tile, keys,
                  wide, stream);
  });
}
#endif

#if defined(__x86_64__)
/// dst[c] = row[c] as f32 for 16 c at a time (f16, or bf16), unit stride;
/// returns how many it widened (a multiple of 16).
__attribute__((target("avx512f"))) int64_t widenRow16(const uint16_t *row, int64_t n, bool f16, float *dst) {
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + c));
    __m512 x = f16 ? _mm512_cvtph_ps(h) : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    _mm512_storeu_ps(dst + c, x);
  }
  return c;
}
#endif

/// dst[c] = row[c * step] as f32 for c < n, row of f16 or bf16 elements:
/// on AVX-512 (`wide`, unit stride) 16 at a time.
void widenRow(const uint16_t *row, int64_t n, int64_t step, attn_dtype dtype, [[maybe_unused]] bool wide,
              float *dst) {
  int64_t c = 0;
#if defined(__x86_64__)
  if (wide && step == 1)
    c = widenRow16(row, n, dtype == ATTN_F16, dst);
#endif
  for (; c < n; ++c)
    dst[c] = loadAsFloat(row, c * step, dtype);
}

#if defined(__SSE2__)
/// k of f16 or bf16 widened to f32 for kernels that read f32 k (no bf16
/// pairs): each tile's key rows widened into a staging buffer, then the
/// f32 transposes. Element by element (a libgcc call per f16 element) it
/// was about a tenth of an f16 causal call at L = 2048.
KPacker halfRowsPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k) {
  int64_t tile = tileKeys(sig), rowStride = k.strides[2], depth = d.headDim;
  attn_dtype dtype = k.dtype;
  const uint16_t *src = static_cast<const uint16_t *>(k.data);
  bool avx512 = hasAvx512();
  bool wide = sig.schedule.vectorWidth == 16 && depth % 16 == 0 && avx512;
  bool stream = wide && tile % 16 == 0 && streamsPackedK(d, depth * paddedKvLen(sig, d.kvLen) * 4);
  return kBlocksPacker<float>(sig, d, k, depth, [=](float *block, int64_t firstRow, int64_t keys) {
    thread_local std::vector<float> rows;
    rows.resize(static_cast<size_t>(keys * depth));
    for (int64_t jj = 0; jj < keys; ++jj)
      widenRow(src + firstRow + jj * rowStride, depth, 1, dtype, avx512, rows.data() + jj * depth);
    transposeKeys(rows.data(), depth, depth, block, tile, keys, wide, stream);
  });
}
#endif

} // namespace

VPacker vPairsPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &v) {
  int64_t pairs = paddedKvLen(sig, d.kvLen) / 2, kvLen = d.kvLen, kvHeads = d.kvHeads, vDim = d.vDim;
  uint32_t *vp = workspace(kPackedV, static_cast<size_t>(std::max<int64_t>(1, d.batch * d.kvHeads * pairs * d.vDim)));
  const uint16_t *src = static_cast<const uint16_t *>(v.data);
  int64_t batchStride = v.strides[0], headStride = v.strides[1], rowStride = v.strides[2], step = v.strides[3];
  bool wide = step == 1 && hasAvx512();
  return {vp, [=](int64_t bh) {
            uint32_t exponents = 0; // OR of (pair & exponent mask) == mask, per element pair
            int64_t base = bh / kvHeads * batchStride + bh % kvHeads * headStride;
            for (int64_t jp = 0; jp < pairs; ++jp) {
              uint32_t *dst = vp + (bh * pairs + jp) * vDim;
              int64_t j = 2 * jp;
              const uint16_t *lo = j < kvLen ? src + base + j * rowStride : nullptr;
              const uint16_t *hi = j + 1 < kvLen ? src + base + (j + 1) * rowStride : nullptr;
              int64_t c = 0;
#if defined(__x86_64__)
              if (wide && lo && hi)
                for (; c + 16 <= vDim; c += 16)
                  exponents |= interleavePairs16(lo + c, hi + c, dst + c);
#endif
              for (; c < vDim; ++c) {
                uint32_t pair = bf16Pair(lo ? lo[c * step] : 0, hi ? hi[c * step] : 0);
                dst[c] = pair;
                // Inf and NaN: bf16 exponent bits all ones.
                exponents |= ((pair & 0x7f80u) == 0x7f80u) | ((pair & 0x7f800000u) == 0x7f800000u);
              }
            }
            return exponents == 0;
          }};
}

/// v's rows as f32 [B][Hkv][kvLen][Dv] in the kPackedV workspace, a kv head
/// per packHead call (which returns true): copyRow(first element of a row,
/// its vDim floats out).
template <typename Element, typename CopyRow>
VPacker vRowsPacker(const BoundDims &d, const TensorView &v, CopyRow copyRow) {
  int64_t kvLen = d.kvLen, kvHeads = d.kvHeads, vDim = d.vDim;
  float *out = reinterpret_cast<float *>(
      workspace(kPackedV, static_cast<size_t>(std::max<int64_t>(1, d.batch * d.kvHeads * kvLen * vDim))));
  const Element *src = static_cast<const Element *>(v.data);
  int64_t batchStride = v.strides[0], headStride = v.strides[1], rowStride = v.strides[2];
  return {out, [=](int64_t bh) {
            const Element *head = src + bh / kvHeads * batchStride + bh % kvHeads * headStride;
            for (int64_t j = 0; j < kvLen; ++j)
              copyRow(head + j * rowStride, out + (bh * kvLen + j) * vDim);
            return true;
          }};
}

VPacker vWidePacker(const BoundDims &d, const TensorView &v) {
  int64_t vDim = d.vDim, step = v.strides[3];
  attn_dtype dtype = v.dtype;
  bool wide = hasAvx512();
  return vRowsPacker<uint16_t>(
      d, v, [=](const uint16_t *row, float *dst) { widenRow(row, vDim, step, dtype, wide, dst); });
}

VPacker vAlignedCopyPacker(const BoundDims &d, const TensorView &v) {
  constexpr int64_t kLineFloats = 16;
  bool onLines = reinterpret_cast<uintptr_t>(v.data) % 64 == 0;
  for (int n = 0; n < 3; ++n) // batch, kv head, key: a stride of a size-1 dimension is never taken
    onLines = onLines && (v.sizes[n] == 1 || v.strides[n] % kLineFloats == 0);
  if (onLines || d.vDim % kLineFloats != 0 || v.strides[3] != 1)
    return {};
  size_t rowBytes = static_cast<size_t>(d.vDim) * sizeof(float);
  return vRowsPacker<float>(d, v, [=](const float *row, float *dst) { std::memcpy(dst, row, rowBytes); });
}

KPacker kPairsPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k) {
  const uint16_t *src = static_cast<const uint16_t *>(k.data);
  int64_t step = k.strides[3];
#if defined(__SSE2__)
  // Rows of whole pairs (unit stride, even D and row offsets): each pair is
  // the 32-bit word at its place in k's row, so packing transposes words as
  // the f32 packer does (the word-by-word copy was 8% of a bf16 causal
  // kernel's samples on AMX).
  if (step == 1 && d.headDim % 2 == 0 && k.strides[0] % 2 == 0 && k.strides[1] % 2 == 0 && k.strides[2] % 2 == 0)
    return wordRowsPacker(sig, d, k, reinterpret_cast<const float *>(src), d.headDim / 2, 2);
#endif
  int64_t headDim = d.headDim;
  return kTilesPacker<uint32_t>(sig, d, k, (d.headDim + 1) / 2, [=](int64_t row, int64_t c) {
    uint16_t hi = 2 * c + 1 < headDim ? src[row + (2 * c + 1) * step] : 0;
    return bf16Pair(src[row + 2 * c * step], hi);
  });
}

// The tiled softmax path loads one vector of keys per head-dim element.
// f32, the common case, copies without a per-element conversion.
KPacker transposedKPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k) {
  const float *src = static_cast<const float *>(k.data);
#if defined(__SSE2__)
  // f32 rows with unit stride: 4 keys x 4 head-dim elements at a time, a
  // 4x4 transpose in registers. Element by element the copy was 12% of a
  // windowed attention at 16k keys (perf), which reads each key only a few
  // times.
  if (k.dtype == ATTN_F32 && k.strides[3] == 1)
    return wordRowsPacker(sig, d, k, src, d.headDim, 1);
  if ((k.dtype == ATTN_F16 || k.dtype == ATTN_BF16) && k.strides[3] == 1)
    return halfRowsPacker(sig, d, k);
#endif
  const void *data = k.data;
  attn_dtype dtype = k.dtype;
  int64_t step = k.strides[3];
  return kTilesPacker<float>(sig, d, k, d.headDim, [=](int64_t row, int64_t c) {
    int64_t at = row + c * step;
    return dtype == ATTN_F32 ? src[at] : loadAsFloat(data, at, dtype);
  });
}

unsigned packAllHeads(const BoundDims &d, const std::function<unsigned(int64_t)> &packHead, unsigned maxWorkers) {
  std::atomic<unsigned> all{~0u};
  ThreadPool::global().parallelFor(d.batch * d.kvHeads, 1, maxWorkers, [&](int64_t begin, int64_t end, unsigned) {
    for (int64_t bh = begin; bh < end; ++bh)
      all.fetch_and(packHead(bh));
  });
  return all;
}

bool packsPerHead(const BoundDims &d, unsigned workers) {
  int64_t heads = d.batch * d.kvHeads;
  bool balanced = heads >= 2 * int64_t(workers) && (heads % workers == 0 || heads >= 8 * int64_t(workers));
  return d.qHeads == d.kvHeads && balanced;
}

} // namespace attn
