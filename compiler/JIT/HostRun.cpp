//===- HostRun.cpp - Run a compiled kernel on host tensors -----------------===//
#include "compiler/JIT/HostRun.h"

#include "attn/Half.h"

namespace attn {

HostBuffer HostBuffer::zeros(std::vector<int64_t> sizes, attn_dtype dtype) {
  HostBuffer buf;
  buf.view.dtype = dtype;
  buf.view.sizes = std::move(sizes);
  int64_t bytes = buf.view.numElements() * dtypeBytes(dtype);
  // Cache-line aligned, as large allocations of real callers usually are
  // (a kernel streams an aligned o past the caches: rowStoreO).
  buf.words.assign(std::max<int64_t>(1, (bytes + 7) / 8) + 8, 0);
  auto at = reinterpret_cast<uintptr_t>(buf.words.data());
  buf.view.data = reinterpret_cast<void *>((at + 63) / 64 * 64);
  return buf;
}

HostBuffer HostBuffer::from(const HostTensor &t, attn_dtype dtype) {
  HostBuffer buf = zeros(t.shape, dtype);
  char *p = static_cast<char *>(buf.view.data);
  for (int64_t e = 0, n = t.numElements(); e < n; ++e) {
    double x = t.data[e];
    switch (dtype) {
    case ATTN_F32: reinterpret_cast<float *>(p)[e] = static_cast<float>(x); break;
    case ATTN_I32: reinterpret_cast<int32_t *>(p)[e] = static_cast<int32_t>(x); break;
    case ATTN_BF16: reinterpret_cast<uint16_t *>(p)[e] = floatToBF16(static_cast<float>(x)); break;
    case ATTN_F16: reinterpret_cast<uint16_t *>(p)[e] = floatToF16(static_cast<float>(x)); break;
    }
  }
  return buf;
}

std::vector<double> HostBuffer::values() const {
  int64_t n = view.numElements();
  std::vector<double> out(n);
  const char *p = static_cast<const char *>(view.data);
  for (int64_t e = 0; e < n; ++e) {
    switch (view.dtype) {
    case ATTN_F32: out[e] = reinterpret_cast<const float *>(p)[e]; break;
    case ATTN_BF16: out[e] = bf16ToFloat(reinterpret_cast<const uint16_t *>(p)[e]); break;
    case ATTN_F16: out[e] = f16ToFloat(reinterpret_cast<const uint16_t *>(p)[e]); break;
    case ATTN_I32: out[e] = reinterpret_cast<const int32_t *>(p)[e]; break;
    }
  }
  return out;
}

Expected<HostCall> prepareCall(const Kernel &kernel, const ArgumentMap &args) {
  const KernelSignature &sig = kernel.signature();
  if (sig.inputs.empty())
    return Error{"the kernel holds no code (its compile failed)"};
  HostCall call;
  call.inputs.reserve(sig.inputs.size());
  for (const InputSig &s : sig.inputs) {
    auto it = args.find(s.name);
    if (it == args.end())
      return Error{"missing input '" + s.name + "'"};
    ArgValue v;
    if (s.isScalar()) {
      if (it->second.data.size() != 1)
        return Error{"input '" + s.name + "' is a scalar, but a tensor was given"};
      v.scalar = it->second.data[0];
    } else {
      call.inputs.push_back(HostBuffer::from(it->second, s.dtype));
      v.tensor = call.inputs.back().view;
    }
    call.values[s.name] = v;
  }
  const std::vector<int64_t> &q = args.at("q").shape, &vShape = args.at("v").shape;
  if (q.size() != 4 || vShape.size() != 4)
    return Error{"q and v must have rank 4"};
  call.o = HostBuffer::zeros({q[0], q[1], q[2], vShape[3]}, sig.inputs[0].dtype);
  call.lse = HostBuffer::zeros({q[0], q[1], q[2]}, ATTN_F32);
  return call;
}

Expected<ReferenceOutput> runOnHost(const Kernel &kernel, const ArgumentMap &args, bool wantLse,
                                    const InvokeOptions &options) {
  Expected<HostCall> call = prepareCall(kernel, args);
  if (!call)
    return call.takeError();
  std::string err = call->run(kernel, wantLse, options);
  if (!err.empty())
    return Error{err};
  ReferenceOutput out;
  out.oShape = call->o.view.sizes;
  out.lseShape = call->lse.view.sizes;
  out.o = call->o.values();
  if (wantLse)
    out.lse = call->lse.values();
  return out;
}

} // namespace attn
