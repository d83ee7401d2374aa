//===- CAPI.cpp - attn_run, the C entry of ahead-of-time kernels -----------===//
#include "attn/Invoke.h"

#include <cstring>
#include <map>
#include <mutex>

using namespace attn;

namespace {

/// Signatures parsed once per kernel. Keyed by the info's address and
/// checked against its text, since an unloaded library's address can be
/// reused by another kernel.
const KernelSignature *signatureOf(const attn_kernel_info *info, std::string &error) {
  static std::mutex mutex;
  static std::map<const attn_kernel_info *, std::pair<std::string, KernelSignature>> parsed;
  if (!info->signature) {
    error = "kernel info holds no signature";
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mutex);
  auto it = parsed.find(info);
  if (it != parsed.end() && it->second.first == info->signature)
    return &it->second.second;
  std::optional<KernelSignature> sig = parseSignature(info->signature);
  if (!sig) {
    error = "kernel info holds no valid signature";
    return nullptr;
  }
  auto &slot = parsed[info];
  slot = {info->signature, std::move(*sig)};
  return &slot.second;
}

std::string toView(const attn_tensor *t, const char *name, TensorView &view) {
  if (!t)
    return std::string("tensor '") + name + "' is NULL";
  if (t->rank < 0 || t->rank > ATTN_MAX_RANK)
    return std::string("tensor '") + name + "' has rank " + std::to_string(t->rank) +
           ", outside [0, " + std::to_string(ATTN_MAX_RANK) + "]";
  view.data = t->data;
  view.dtype = t->dtype;
  view.sizes.assign(t->sizes, t->sizes + t->rank);
  bool anyStride = false;
  for (int d = 0; d < t->rank; ++d)
    anyStride |= t->strides[d] != 0;
  if (anyStride)
    view.strides.assign(t->strides, t->strides + t->rank);
  return {};
}

int32_t fail(const std::string &message, char *error, int64_t size) {
  if (error && size > 0) {
    size_t n = std::min<size_t>(message.size(), static_cast<size_t>(size) - 1);
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
  }
  return 1;
}

} // namespace

extern "C" int32_t attn_run(const attn_kernel_info *kernel, const attn_tensor *const *tensors,
                            int32_t numTensors, const double *scalars, int32_t numScalars,
                            const attn_tensor *o, const attn_tensor *lse, int32_t threads,
                            char *error, int64_t errorSize) {
  if (!kernel || !kernel->entry)
    return fail("no kernel", error, errorSize);
  std::string err;
  const KernelSignature *sig = signatureOf(kernel, err);
  if (!sig)
    return fail(err, error, errorSize);
  int32_t wantTensors = 0, wantScalars = 0;
  for (const InputSig &in : sig->inputs)
    (in.isScalar() ? wantScalars : wantTensors)++;
  if (numTensors != wantTensors || numScalars != wantScalars)
    return fail("kernel '" + sig->name + "' takes " + std::to_string(wantTensors) + " tensors and " +
                    std::to_string(wantScalars) + " scalars, got " + std::to_string(numTensors) +
                    " and " + std::to_string(numScalars),
                error, errorSize);
  std::vector<ArgValue> args(sig->inputs.size());
  int32_t t = 0, s = 0;
  for (size_t n = 0; n < sig->inputs.size(); ++n) {
    const InputSig &in = sig->inputs[n];
    if (in.isScalar()) {
      args[n].scalar = scalars[s++];
    } else if (std::string e = toView(tensors[t++], in.name.c_str(), args[n].tensor); !e.empty()) {
      return fail(e, error, errorSize);
    }
  }
  TensorView oView, lseView;
  if (std::string e = toView(o, "o", oView); !e.empty())
    return fail(e, error, errorSize);
  if (lse)
    if (std::string e = toView(lse, "lse", lseView); !e.empty())
      return fail(e, error, errorSize);
  InvokeOptions options;
  options.threads = threads > 0 ? static_cast<unsigned>(threads) : 0;
  err = invokeKernel(*sig, kernel->entry, args, oView, lse ? &lseView : nullptr, options);
  return err.empty() ? 0 : fail(err, error, errorSize);
}
