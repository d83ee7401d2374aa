//===- SpecSignature.cpp - The runtime signature of a checked spec ---------===//
#include "compiler/Frontend/SpecSignature.h"

#include "compiler/Frontend/MaskShape.h"

namespace attn {

attn_dtype toDType(ElemType type) {
  switch (type) {
  case ElemType::F32: return ATTN_F32;
  case ElemType::BF16: return ATTN_BF16;
  case ElemType::F16: return ATTN_F16;
  case ElemType::I32: return ATTN_I32;
  }
  return ATTN_F32;
}

KernelSignature signatureOf(const AttentionSpec &spec, const Schedule &schedule) {
  KernelSignature sig;
  sig.name = spec.name;
  for (const InputDecl &in : spec.inputs) {
    InputSig s;
    s.name = in.name;
    s.dtype = toDType(in.type);
    for (const Dim &d : in.dims)
      s.dims.push_back(d.isFixed ? DimSig{d.size, ""} : DimSig{-1, d.name});
    sig.inputs.push_back(std::move(s));
  }
  sig.weights = static_cast<Weights>(static_cast<int>(spec.weights));
  sig.topk = spec.topk;
  sig.returnLse = spec.returnLse;
  sig.schedule = schedule;
  return sig;
}

int64_t defaultBlockQ(const AttentionSpec &spec) {
  if (keepsEarlierKeys(spec.mask.expr.get()))
    return 512;
  return spec.mask.expr ? 64 : 128;
}

Precision highestPrecision(const AttentionSpec &spec) {
  return keepsEarlierKeys(spec.mask.expr.get()) ? Precision::Highest : Precision::Fma;
}

} // namespace attn
