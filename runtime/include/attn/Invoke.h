//===- Invoke.h - Checking arguments and running a kernel -------*- C++ -*-===//
#ifndef ATTN_RUNTIME_INVOKE_H
#define ATTN_RUNTIME_INVOKE_H

#include "attn/Signature.h"

#include <string>
#include <vector>

namespace attn {

/// A view of caller-owned memory: sizes and strides in elements (any layout,
/// e.g. [B, L, H, D] seen as [B, H, L, D]). Empty strides mean row-major.
struct TensorView {
  void *data = nullptr;
  attn_dtype dtype = ATTN_F32;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;

  int64_t numElements() const;
  /// Row-major strides for `sizes`.
  static std::vector<int64_t> contiguousStrides(const std::vector<int64_t> &sizes);
};

/// One input: a tensor, or the value of a scalar input.
struct ArgValue {
  TensorView tensor;
  double scalar = 0;
};

/// When the tiled path packs k (and, with bf16 pairs, v) into its layouts:
/// every kv head before the kernel runs, or each head by the worker that
/// then runs the head's work items, so that one worker's packing, bound by
/// memory, overlaps the others' arithmetic (7% of a windowed attention at
/// 16k keys). Auto: per head where the heads balance across the workers
/// (packsPerHead).
enum class KVPacking { Auto, Upfront, PerHead };

struct InvokeOptions {
  unsigned threads = 0; // 0: every core
  /// Parts each row's keys are split into where a call can split them (a
  /// softmax kernel on its row path: see splitsKeys); 0: the cost model
  /// chooses (chooseKeySplits), 1: never split. More parts than the keys
  /// have blocks are as many parts as blocks.
  int64_t keySplits = 0;
  /// Query rows per work item of the tiled path; 0: callQBlockRows chooses.
  /// More than the compiled blockQ are blockQ.
  int64_t qBlockRows = 0;
  KVPacking packing = KVPacking::Auto;
};

/// A kernel's code: one function for every call, or, for a kernel the JIT
/// compiled as two objects (pathDecidedPerCall), one function per path.
struct KernelEntries {
  attn_kernel_fn both = nullptr, tiled = nullptr, rows = nullptr;
  attn_kernel_fn forPath(bool tiledPath) const { return both ? both : tiledPath ? tiled : rows; }
};

/// Checks every argument against `sig` before touching any memory, then runs
/// `entries`' function for the call's path over all work items. `inputs` follows the signature's order; `lse` may
/// be null. Returns an empty string on success, else a message naming the
/// tensor and the dimension (or the input an out-of-range index read).
std::string invokeKernel(const KernelSignature &sig, const KernelEntries &entries,
                         const std::vector<ArgValue> &inputs, const TensorView &o,
                         const TensorView *lse, const InvokeOptions &options = {});
/// The same for a kernel whose one function holds both paths.
std::string invokeKernel(const KernelSignature &sig, attn_kernel_fn fn,
                         const std::vector<ArgValue> &inputs, const TensorView &o,
                         const TensorView *lse, const InvokeOptions &options = {});

} // namespace attn

#endif // ATTN_RUNTIME_INVOKE_H
