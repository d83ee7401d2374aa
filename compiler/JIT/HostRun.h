//===- HostRun.h - Run a compiled kernel on host tensors ---------*- C++ -*-===//
//
// The glue used by attnc, the demo and the tests: the reference's host
// tensors (double values) stored in each input's element type, a kernel
// call, and o / lse read back as doubles for comparison.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_JIT_HOSTRUN_H
#define ATTN_JIT_HOSTRUN_H

#include "compiler/JIT/Compiler.h"
#include "compiler/Reference/Interpreter.h"

namespace attn {

/// Typed storage for one tensor, and a view of it.
struct HostBuffer {
  std::vector<uint64_t> words; // storage for any dtype; view.data is its first 64-byte boundary
  TensorView view;
  static HostBuffer from(const HostTensor &t, attn_dtype dtype);
  static HostBuffer zeros(std::vector<int64_t> sizes, attn_dtype dtype);
  std::vector<double> values() const;
};

/// Everything a call of `kernel` on `args` needs, stored once: typed inputs,
/// the named argument values, o and lse. Timing loops call run() repeatedly.
struct HostCall {
  std::vector<HostBuffer> inputs;
  std::map<std::string, ArgValue> values;
  HostBuffer o, lse;
  std::string run(const Kernel &kernel, bool wantLse, const InvokeOptions &options = {}) {
    return kernel.run(values, o.view, wantLse ? &lse.view : nullptr, options);
  }
};
Expected<HostCall> prepareCall(const Kernel &kernel, const ArgumentMap &args);

/// Runs `kernel` on `args`; o (and lse when `wantLse`) come back as doubles
/// in the reference's layout.
Expected<ReferenceOutput> runOnHost(const Kernel &kernel, const ArgumentMap &args, bool wantLse,
                                    const InvokeOptions &options = {});

} // namespace attn

#endif // ATTN_JIT_HOSTRUN_H
