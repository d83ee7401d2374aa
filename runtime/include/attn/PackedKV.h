//===- PackedKV.h - k and v packed for the tiled path's kernels -*- C++ -*-===//
//
// The tiled softmax path reads k transposed in tiles of keys (f32, or bf16
// pairs of head-dim elements) and, with bf16 pairs, v in pairs of keys;
// the runtime packs them into per-thread workspaces before or while the
// kernel runs. Layouts: Signature.h (paddedKvLen, tileKeys).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_PACKEDKV_H
#define ATTN_RUNTIME_PACKEDKV_H

#include "attn/Invoke.h"
#include "attn/Signature.h"

#include <cstddef>
#include <cstdint>
#include <functional>

namespace attn {

/// The calling thread's buffers (one per slot), kept between calls and
/// grown to the largest; cache-line aligned.
enum WorkspaceSlot { kPackedK = 0, kPackedV = 1, kPartials = 2, kScratch = 3, kNumWorkspaces };
uint32_t *workspace(WorkspaceSlot slot, size_t words);

/// k packed tile-major for the tiled path: `packHead(bh)` writes kv head
/// bh = b * kvHeads + hk into `data`, and orders its stores before it
/// returns; it returns whether that head's k is finite (no inf or NaN;
/// true from packers that do not look: only kSplitF32Packer's kernels ask,
/// ParamLayout::KFinite). Packers (k's and v's) read the data when called,
/// not when made.
struct KPacker {
  void *data = nullptr;
  std::function<bool(int64_t)> packHead;
  /// Where set, packHead leaves out of a finite head what only a kernel
  /// told "k is not finite" reads (kSplitF32Packer's k1'), and this packs
  /// head bh whole. Heads packed up front share one KFinite, the and of
  /// theirs: where it is false, every head is packed again with this.
  std::function<bool(int64_t)> packHeadWhole{};
};
/// f32 (any input type, converted) [B][Hkv][padded Lk / tile][D][tile].
KPacker transposedKPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k);
/// bf16 pairs (usesBf16Dot): [B][Hkv][padded Lk / tile][ceil(D / 2)][tile].
KPacker kPairsPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &k);

/// Split f32's k' (splitsF32): f32 k split into bf16 [k1 | k2 (| k3) | k1']
/// per key (k1' = k1, 0 for inf), packed as kPairsPacker packs bf16 k:
/// [B][Hkv][padded Lk / tile][(parts + 1) D / 2][tile].
KPacker kSplitF32Packer(const KernelSignature &sig, const BoundDims &d, const TensorView &k);

/// Whether KVPacking::Auto packs per head: with one query head per kv
/// head and every worker getting as many heads (or enough that one more is
/// little). With grouped heads each packed head serves `group` times the
/// rows, so its packing is that much less of the work, and workers on one
/// kv head share its K and V; per head, GQA 32:8 causal at 4k keys read
/// 1-2.5% slower in six alternating runs (within this machine's noise).
bool packsPerHead(const BoundDims &d, unsigned workers);

/// v in bf16 pairs of keys (usesBf16Dot): [B][Hkv][padded Lk / 2][Dv].
/// `packHead(bh)` writes kv head bh and returns whether its every element
/// is finite (no inf or NaN), which the kernel's items of that head are
/// told (ParamLayout::VFinite).
struct VPacker {
  void *data = nullptr;
  std::function<bool(int64_t)> packHead;
};
VPacker vPairsPacker(const KernelSignature &sig, const BoundDims &d, const TensorView &v);
/// Split f32's v (splitsF32): f32 v split into bf16Parts(sig) bf16 parts,
/// each in vPairsPacker's layout, each part's after all of the part
/// before's; packHead returns whether the head's v is finite.
VPacker vSplitF32Packer(const KernelSignature &sig, const BoundDims &d, const TensorView &v);
/// v of f16 or bf16 widened to f32 [B][Hkv][kvLen][Dv] (widensV); packHead
/// returns true.
VPacker vWidePacker(const BoundDims &d, const TensorView &v);
/// f32 v copied to f32 [B][Hkv][kvLen][Dv] on 64-byte lines (readsAlignedV)
/// where its rows are not on them and Dv is a whole number of lines; a
/// packer with no data where v is read in place. packHead returns true.
VPacker vAlignedCopyPacker(const BoundDims &d, const TensorView &v);

/// packHead(bh) for every kv head, on up to `maxWorkers` threads (0: all),
/// as many as the kernel then runs on (InvokeOptions::threads): the bits
/// every call returned (a bitwise and of them all).
unsigned packAllHeads(const BoundDims &d, const std::function<unsigned(int64_t)> &packHead, unsigned maxWorkers);

} // namespace attn

#endif // ATTN_RUNTIME_PACKEDKV_H
