//===- SpecSignature.h - The runtime signature of a checked spec *- C++ -*-===//
#ifndef ATTN_FRONTEND_SPECSIGNATURE_H
#define ATTN_FRONTEND_SPECSIGNATURE_H

#include "attn/Signature.h"
#include "compiler/Frontend/AST.h"

namespace attn {

attn_dtype toDType(ElemType type);
KernelSignature signatureOf(const AttentionSpec &spec, const Schedule &schedule = {});

/// Query rows per work item where the caller left it to the compiler
/// (Schedule::blockQ 0): 128 without a mask, whose K/V blocks then serve
/// twice the rows per trip from L2 (attnc tune, dense D=128 and D=64, 1 and
/// 2 threads: 0.94-0.97x the time of 64); 64 with one, whose blocks at a
/// diagonal or a window's edge are partly masked for more rows at 128
/// (causal: 1.05x).
int64_t defaultBlockQ(const AttentionSpec &spec);

} // namespace attn

#endif // ATTN_FRONTEND_SPECSIGNATURE_H
