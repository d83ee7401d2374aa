//===- SpecSignature.h - The runtime signature of a checked spec *- C++ -*-===//
#ifndef ATTN_FRONTEND_SPECSIGNATURE_H
#define ATTN_FRONTEND_SPECSIGNATURE_H

#include "attn/Signature.h"
#include "compiler/Frontend/AST.h"

namespace attn {

attn_dtype toDType(ElemType type);
KernelSignature signatureOf(const AttentionSpec &spec, const Schedule &schedule = {});

} // namespace attn

#endif // ATTN_FRONTEND_SPECSIGNATURE_H
