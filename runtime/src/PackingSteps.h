//===- PackingSteps.h - the k and v packers' shared steps -------*- C++ -*-===//
//
// Internal to the runtime: what PackedKV.cpp (f32, bf16 and f16 layouts)
// and SplitF32Packers.cpp (f32 as bf16 parts) both pack with.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_PACKINGSTEPS_H
#define ATTN_RUNTIME_PACKINGSTEPS_H

#include "attn/PackedKV.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace attn::packing {

/// Whether this host runs AVX-512 (the packers' 16-wide steps).
bool hasAvx512();

/// The bf16 pair (lo, hi) as vdpbf16ps reads it: lo in the low half.
inline uint32_t bf16Pair(uint16_t lo, uint16_t hi) {
  return static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16;
}

/// k tile-major (see paddedKvLen): per kv head and tile of keys, `depth`
/// rows of one word per key, zero past kvLen; fill(block, firstRow, keys)
/// writes word (c, j) of the tile's first `keys` keys, j counted from the
/// k row at offset firstRow. One tile at a time: its block (24 KB at D=128,
/// f32) stays in cache while k's rows are read in order.
template <typename Word, typename Fill>
KPacker kBlocksPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k, int64_t depth, Fill fill) {
  int64_t padded = paddedKvLen(sig, d.kvLen), tile = tileKeys(sig), kvLen = d.kvLen, kvHeads = d.kvHeads;
  int64_t batchStride = k.strides[0], headStride = k.strides[1], rowStride = k.strides[2];
  static_assert(sizeof(Word) == sizeof(uint32_t), "the workspace holds 32-bit words");
  // Never empty: a null pointer would tell the kernel to take the row path,
  // which counts its work items differently.
  Word *out = reinterpret_cast<Word *>(
      workspace(kPackedK, static_cast<size_t>(std::max<int64_t>(1, d.batch * d.kvHeads * depth * padded))));
  return {out, [=](int64_t bh) {
            int64_t base = bh / kvHeads * batchStride + bh % kvHeads * headStride;
            bool finite = true;
            for (int64_t j0 = 0; j0 < padded; j0 += tile) {
              Word *block = out + bh * depth * padded + j0 * depth;
              int64_t keys = std::min(tile, kvLen - j0);
              // A fill that returns bool says whether its keys are finite.
              if constexpr (std::is_same_v<decltype(fill(block, base, keys)), bool>)
                finite &= fill(block, base + j0 * rowStride, keys);
              else
                fill(block, base + j0 * rowStride, keys);
              for (int64_t c = 0; c < depth; ++c)
                std::fill(block + c * tile + keys, block + (c + 1) * tile, Word(0));
            }
#if defined(__SSE2__)
            _mm_sfence(); // orders any non-temporal stores of fill before the kernel reads them
#endif
            return finite;
          }};
}

/// kBlocksPacker with word (c, j) = element(offset of k's row j, c).
template <typename Word, typename Element>
KPacker kTilesPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k, int64_t depth,
                     Element element) {
  int64_t tile = tileKeys(sig), rowStride = k.strides[2];
  return kBlocksPacker<Word>(sig, d, k, depth, [=](Word *block, int64_t firstRow, int64_t keys) {
    for (int64_t jj = 0; jj < keys; ++jj) {
      int64_t row = firstRow + jj * rowStride;
      for (int64_t c = 0; c < depth; ++c)
        block[c * tile + jj] = element(row, c);
    }
  });
}

/// Whether packed k (`headBytes` per kv head) goes past the caches, with
/// non-temporal stores: over 32 MB in all, packed up front or per head.
/// (Per head, streaming a head over the L2 alone made GQA causal at 4k keys,
/// 2 MB a head and 17 MB in all, 2-5% slower: the L3 kept it.)
bool streamsPackedK(const BoundDims &d, int64_t headBytes);

#if defined(__SSE2__)
/// block[c * tile + jj] = src[jj * rowStride + c] for keys jj < `keys` and
/// c < depth: 32-bit words (f32, or bf16 pairs), moved as floats (moves keep
/// every bit pattern). With `wide` 16 x 16 AVX-512 steps (depth % 16 == 0),
/// with `stream` their stores non-temporal; then 4 x 4 SSE steps; then one
/// word at a time.
void transposeKeys(const float *src, int64_t rowStride, int64_t depth, float *block, int64_t tile, int64_t keys,
                   bool wide, bool stream);
#endif

} // namespace attn::packing

#endif // ATTN_RUNTIME_PACKINGSTEPS_H
