//===- SplitF32Packers.cpp - k and v split into bf16 parts ------------===//
//
// Split f32 (splitsF32): the runtime splits f32 k and v into bf16 parts for
// the kernel's AMX tiles, k as k' = [k1 | k2 (| k3) | k1'] in kPairsPacker's
// tile-major layout, v as one array of key pairs per part.
//
//===----------------------------------------------------------------------===//
#include "attn/PackedKV.h"

#include "PackingSteps.h"

#include "attn/Half.h"

#include <cmath>
#include <limits>
#include <vector>

namespace attn {

using namespace packing;

namespace {

/// Split f32's parts of an f32 x (splitsF32) as bf16 bits: part 0 rounded
/// to nearest (past bf16's largest finite value, that value), each further
/// part the rest so far rounded, and hiOrZero = part 0; for an infinite x the
/// further parts and hiOrZero are 0.
constexpr float kBf16Max = 3.38953139e38f; // 0x7f7f0000
constexpr int kMaxParts = 3;
struct SplitBits {
  uint16_t part[kMaxParts], hiOrZero;
};
SplitBits splitBf16(float x, int parts) {
  float r = std::fabs(x) > kBf16Max && std::isfinite(x) ? std::copysign(kBf16Max, x) : x;
  SplitBits bits{{floatToBF16(r), 0, 0}, 0};
  if (std::isinf(x))
    return bits;
  bits.hiOrZero = bits.part[0];
  float rest = x - bf16ToFloat(bits.part[0]);
  for (int n = 1; n < parts; ++n) {
    bits.part[n] = floatToBF16(rest);
    rest -= bf16ToFloat(bits.part[n]);
  }
  return bits;
}

#if defined(__x86_64__)
/// floatToBF16 of 16 f32, in the low halves of 32-bit lanes.
__attribute__((target("avx512f"))) inline __m512i roundToBf16(__m512 x) {
  __m512i b = _mm512_castps_si512(x), one = _mm512_set1_epi32(1);
  __m512i bias = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(_mm512_srli_epi32(b, 16), one));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(b, bias), 16);
  __m512i quietNaN = _mm512_or_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(0x40));
  return _mm512_mask_blend_epi32(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), rounded, quietNaN);
}
/// splitBf16 of 16 f32 at a time (low halves of 32-bit lanes); `notFinite`
/// gets the lanes holding inf or NaN.
struct Split16 {
  __m512i part[kMaxParts], hiOrZero;
  __mmask16 notFinite;
};
__attribute__((target("avx512f"))) inline Split16 splitBf16x16(__m512 x, int parts) {
  const __m512 top = _mm512_set1_ps(kBf16Max), inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  __m512 ax = _mm512_abs_ps(x);
  __mmask16 finite = _mm512_cmp_ps_mask(ax, inf, _CMP_LT_OQ);
  __mmask16 big = _mm512_cmp_ps_mask(ax, top, _CMP_GT_OQ) & finite;
  __mmask16 isInf = _mm512_cmp_ps_mask(ax, inf, _CMP_EQ_OQ);
  __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u)));
  __m512 signedTop = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(top), sign));
  Split16 s;
  s.part[0] = roundToBf16(_mm512_mask_blend_ps(big, x, signedTop));
  s.hiOrZero = _mm512_mask_blend_epi32(isInf, s.part[0], _mm512_setzero_si512());
  s.notFinite = static_cast<__mmask16>(~finite);
  __m512 rest = _mm512_mask_blend_ps(isInf, _mm512_sub_ps(x, _mm512_castsi512_ps(_mm512_slli_epi32(s.part[0], 16))),
                                     _mm512_setzero_ps());
  for (int n = 1; n < parts; ++n) {
    s.part[n] = roundToBf16(rest);
    rest = _mm512_sub_ps(rest, _mm512_castsi512_ps(_mm512_slli_epi32(s.part[n], 16)));
  }
  return s;
}
/// One key row of D f32 (unit stride) split into bf16 k' = [k1 | k2 (| k3) |
/// k1'] (splitsF32), 16 elements at a time; returns how many it split, and
/// sets `notFinite` where one of them is inf or NaN.
__attribute__((target("avx512f"))) int64_t splitKRow16(const float *row, int64_t n, int parts, uint16_t *dst,
                                                       bool &notFinite) {
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) {
    Split16 s = splitBf16x16(_mm512_loadu_ps(row + c), parts);
    notFinite |= s.notFinite != 0;
    for (int part = 0; part <= parts; ++part) // k1', k1 with inf as 0, last
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + part * n + c),
                          _mm512_cvtepi32_epi16(part < parts ? s.part[part] : s.hiOrZero));
  }
  return c;
}
/// 16 columns of two v rows (a key pair; null: a key past kvLen, zeros) as
/// the pairs of each of their parts (dst[part]); whether some element is
/// inf or NaN.
__attribute__((target("avx512f"))) bool splitVPairs16(const float *first, const float *second, int parts,
                                                      uint32_t *const *dst) {
  Split16 a = splitBf16x16(first ? _mm512_loadu_ps(first) : _mm512_setzero_ps(), parts);
  Split16 b = splitBf16x16(second ? _mm512_loadu_ps(second) : _mm512_setzero_ps(), parts);
  for (int part = 0; part < parts; ++part)
    _mm512_storeu_si512(dst[part], _mm512_or_si512(a.part[part], _mm512_slli_epi32(b.part[part], 16)));
  return (a.notFinite | b.notFinite) != 0;
}

/// Whether this host converts f32 to bf16 in one instruction (AVX512-BF16,
/// which every AMX-BF16 host has): the split packers' fast path.
bool hasAvx512Bf16() { return __builtin_cpu_supports("avx512bf16"); }

/// The split parts of 32 f32 (lo: elements 0-15, hi: 16-31) as bf16, each
/// part 32 bf16 in element order (so 16 words of pairs of consecutive
/// elements), by vcvtne2ps2bf16: round to nearest even, inf and NaN kept,
/// denormals as zero. Returns the lanes whose first part is inf or NaN
/// (those of an inf, a NaN, or a finite value past bf16's largest), where
/// the exact split (splitBf16x16) is redone.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline __mmask32 splitBf16x32(__m512 lo, __m512 hi, int parts,
                                                                                     __m512i *out) {
  const __m512i expMask = _mm512_set1_epi16(0x7f80);
  for (int part = 0; part < parts; ++part) {
    out[part] = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
    if (part + 1 < parts) { // the rests: x minus the part as f32
      __m512 partLo = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(out[part])), 16));
      __m512 partHi =
          _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(out[part], 1)), 16));
      lo = _mm512_sub_ps(lo, partLo);
      hi = _mm512_sub_ps(hi, partHi);
    }
  }
  return _mm512_cmpeq_epi16_mask(_mm512_and_si512(out[0], expMask), expMask);
}

/// One key row of D f32 (unit stride, D % 32 == 0) split into bf16 [k1 |
/// k2 (| k3)] (no k1': the caller uses this only for finite k); returns
/// false where some part 1 is not finite.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) bool splitKRowFast(const float *row, int64_t n, int parts,
                                                                           uint16_t *dst) {
  __mmask32 bad = 0;
  for (int64_t c = 0; c < n; c += 32) {
    __m512i w[kMaxParts];
    bad |= splitBf16x32(_mm512_loadu_ps(row + c), _mm512_loadu_ps(row + c + 16), parts, w);
    for (int part = 0; part < parts; ++part)
      _mm512_storeu_si512(dst + part * n + c, w[part]);
  }
  return bad == 0;
}

/// splitVPairs16 for finite v (one row may be null: zeros): each part's 16
/// pairs (first[c], second[c]) by splitBf16x32 and one permute; false where
/// some part 1 is not finite.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) bool splitVPairsFast(const float *first, const float *second,
                                                                             int parts, uint32_t *const *dst) {
  // Word i: element i of first (bf16 i) and of second (bf16 16 + i).
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                              6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512i w[kMaxParts];
  __mmask32 bad = splitBf16x32(first ? _mm512_loadu_ps(first) : _mm512_setzero_ps(),
                               second ? _mm512_loadu_ps(second) : _mm512_setzero_ps(), parts, w);
  for (int part = 0; part < parts; ++part)
    _mm512_storeu_si512(dst[part], _mm512_permutexvar_epi16(interleave, w[part]));
  return bad == 0;
}
#endif

#if defined(__SSE2__)
/// Keys split per transpose: their split rows (16 KB at D = 128, 3 parts)
/// stay in L1.
constexpr int64_t kSplitGroup = 16;

/// kSplitPacker's exact split (splitBf16: past bf16's largest value that
/// value, k1' with inf as 0).
KPacker kSplitExactPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k, const float *src,
                          int parts, int64_t width, int64_t depth, bool avx512, bool wide, bool stream) {
  int64_t tile = tileKeys(sig), rowStride = k.strides[2], step = k.strides[3], headDim = d.headDim;
  return kBlocksPacker<float>(sig, d, k, depth, [=](float *block, int64_t firstRow, int64_t keys) {
    thread_local std::vector<uint16_t> rows;
    rows.resize(static_cast<size_t>(kSplitGroup * width));
    bool notFinite = false;
    for (int64_t j0 = 0; j0 < keys; j0 += kSplitGroup) {
      int64_t group = std::min(kSplitGroup, keys - j0);
      for (int64_t jj = 0; jj < group; ++jj) {
        const float *row = src + firstRow + (j0 + jj) * rowStride;
        uint16_t *dst = rows.data() + jj * width;
        int64_t c = 0;
#if defined(__x86_64__)
        if (avx512 && step == 1)
          c = splitKRow16(row, headDim, parts, dst, notFinite);
#endif
        for (; c < headDim; ++c) {
          SplitBits bits = splitBf16(row[c * step], parts);
          for (int part = 0; part < parts; ++part)
            dst[part * headDim + c] = bits.part[part];
          dst[parts * headDim + c] = bits.hiOrZero;
          notFinite |= !std::isfinite(row[c * step]);
        }
      }
      transposeKeys(reinterpret_cast<const float *>(rows.data()), depth, depth, block + j0, tile, group, wide, stream);
    }
    return !notFinite;
  });
}

/// Split f32's k' (splitsF32): each tile's f32 key rows split into bf16
/// [k1 | k2 (| k3) | k1'] rows in a staging buffer, then transposed as
/// 32-bit words (bf16 pairs), as the f32 packer does.
KPacker kSplitPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k) {
  int64_t tile = tileKeys(sig), rowStride = k.strides[2], step = k.strides[3], headDim = d.headDim;
  int parts = bf16Parts(sig);
  int64_t width = (parts + 1) * headDim; // bf16 per key
  int64_t depth = width / 2;             // words per key; D is a multiple of 32
  const float *src = static_cast<const float *>(k.data);
  bool avx512 = hasAvx512();
  bool wide = depth % 16 == 0 && avx512;
  bool stream = wide && tile % 16 == 0 && streamsPackedK(d, depth * paddedKvLen(sig, d.kvLen) * 4);
  KPacker exact = kSplitExactPacker(sig, d, k, src, parts, width, depth, avx512, wide, stream);
#if defined(__x86_64__)
  // Finite k: split by vcvtne2ps2bf16, k1' left unwritten (the kernel
  // reads k1 for it where k is finite, KFinite). A head with inf or NaN
  // (or values past bf16's largest) is packed again by the exact split.
  if (wide && step == 1 && headDim % 32 == 0 && hasAvx512Bf16()) {
    int64_t finiteDepth = parts * headDim / 2; // words of [k1 | k2 (| k3)]
    KPacker fast = kBlocksPacker<float>(sig, d, k, depth, [=](float *block, int64_t firstRow, int64_t keys) {
      thread_local std::vector<uint16_t> rows;
      rows.resize(static_cast<size_t>(kSplitGroup * 2 * finiteDepth));
      bool finite = true;
      for (int64_t j0 = 0; j0 < keys; j0 += kSplitGroup) {
        int64_t group = std::min(kSplitGroup, keys - j0);
        for (int64_t jj = 0; jj < group; ++jj)
          finite &= splitKRowFast(src + firstRow + (j0 + jj) * rowStride, headDim, parts,
                                  rows.data() + jj * 2 * finiteDepth);
        transposeKeys(reinterpret_cast<const float *>(rows.data()), finiteDepth, finiteDepth, block + j0, tile, group,
                      wide, stream);
      }
      return finite;
    });
    fast.packHead = [fastHead = fast.packHead, exactHead = exact.packHead](int64_t bh) {
      return fastHead(bh) || exactHead(bh);
    };
    fast.packHeadWhole = exact.packHead;
    return fast;
  }
#endif
  return exact;
}

#endif

} // namespace

KPacker kSplitF32Packer(const KernelSignature &sig, const BoundDims &d, const TensorView &k) {
#if defined(__SSE2__)
  return kSplitPacker(sig, d, k);
#else
  const float *src = static_cast<const float *>(k.data);
  int64_t step = k.strides[3], headDim = d.headDim;
  int parts = bf16Parts(sig);
  KPacker packer = kTilesPacker<uint32_t>(sig, d, k, (parts + 1) * headDim / 2, [=](int64_t row, int64_t c) {
    auto element = [&](int64_t e) { // element e of the key's k' row
      SplitBits bits = splitBf16(src[row + (e % headDim) * step], parts);
      return e / headDim < parts ? bits.part[e / headDim] : bits.hiOrZero;
    };
    return bf16Pair(element(2 * c), element(2 * c + 1));
  });
  // Not checked here: "not finite" keeps the kernel on the safe products.
  packer.packHead = [pack = packer.packHead](int64_t bh) {
    pack(bh);
    return false;
  };
  return packer;
#endif
}

VPacker vSplitF32Packer(const KernelSignature &sig, const BoundDims &d, const TensorView &v) {
  int64_t pairs = paddedKvLen(sig, d.kvLen) / 2, kvLen = d.kvLen, kvHeads = d.kvHeads, vDim = d.vDim;
  int64_t words = d.batch * d.kvHeads * pairs * d.vDim; // of each part
  int parts = bf16Parts(sig);
  uint32_t *vp = workspace(kPackedV, static_cast<size_t>(std::max<int64_t>(1, parts * words)));
  const float *src = static_cast<const float *>(v.data);
  int64_t batchStride = v.strides[0], headStride = v.strides[1], rowStride = v.strides[2], step = v.strides[3];
  bool wide = step == 1 && hasAvx512();
  auto exactHead = [=](int64_t bh) {
            bool notFinite = false;
            int64_t base = bh / kvHeads * batchStride + bh % kvHeads * headStride;
            for (int64_t jp = 0; jp < pairs; ++jp) {
              uint32_t *dst[kMaxParts];
              for (int part = 0; part < parts; ++part)
                dst[part] = vp + part * words + (bh * pairs + jp) * vDim;
              int64_t j = 2 * jp;
              const float *first = j < kvLen ? src + base + j * rowStride : nullptr;
              const float *second = j + 1 < kvLen ? src + base + (j + 1) * rowStride : nullptr;
              int64_t c = 0;
#if defined(__x86_64__)
              if (wide)
                for (; c + 16 <= vDim; c += 16) {
                  uint32_t *at[kMaxParts];
                  for (int part = 0; part < parts; ++part)
                    at[part] = dst[part] + c;
                  notFinite |= splitVPairs16(first ? first + c : nullptr, second ? second + c : nullptr, parts, at);
                }
#endif
              for (; c < vDim; ++c) {
                float a = first ? first[c * step] : 0.0f, b = second ? second[c * step] : 0.0f;
                SplitBits x = splitBf16(a, parts), y = splitBf16(b, parts);
                for (int part = 0; part < parts; ++part)
                  dst[part][c] = bf16Pair(x.part[part], y.part[part]);
                notFinite |= !std::isfinite(a) || !std::isfinite(b);
              }
            }
            return !notFinite;
          };
#if defined(__x86_64__)
  // Finite v: split by vcvtne2ps2bf16 (splitVPairsFast); a head with inf or
  // NaN (or values past bf16's largest) is packed again by the exact split.
  if (wide && vDim % 16 == 0 && hasAvx512Bf16())
    return {vp, [=](int64_t bh) {
              bool finite = true;
              int64_t base = bh / kvHeads * batchStride + bh % kvHeads * headStride;
              for (int64_t jp = 0; jp < pairs; ++jp) {
                int64_t j = 2 * jp;
                const float *first = j < kvLen ? src + base + j * rowStride : nullptr;
                const float *second = j + 1 < kvLen ? src + base + (j + 1) * rowStride : nullptr;
                for (int64_t c = 0; c < vDim; c += 16) {
                  uint32_t *at[kMaxParts];
                  for (int part = 0; part < parts; ++part)
                    at[part] = vp + part * words + (bh * pairs + jp) * vDim + c;
                  finite &= splitVPairsFast(first ? first + c : nullptr, second ? second + c : nullptr, parts, at);
                }
              }
              return finite || exactHead(bh);
            }};
#endif
  return {vp, exactHead};
}

} // namespace attn
