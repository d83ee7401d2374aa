//===- SpecSignature.h - The runtime signature of a checked spec *- C++ -*-===//
#ifndef ATTN_FRONTEND_SPECSIGNATURE_H
#define ATTN_FRONTEND_SPECSIGNATURE_H

#include "attn/Signature.h"
#include "compiler/Frontend/AST.h"

namespace attn {

attn_dtype toDType(ElemType type);
KernelSignature signatureOf(const AttentionSpec &spec, const Schedule &schedule = {});

/// Query rows per work item where the caller left it to the compiler
/// (Schedule::blockQ 0; a call may take fewer: callQBlockRows): 128 without
/// a mask, whose K/V blocks then serve twice the rows per trip from L2
/// (attnc tune, dense D=128 and D=64, 1 and 2 threads: 0.94-0.97x the time
/// of 64); 512 with a mask that keeps every earlier key (keepsEarlierKeys:
/// causal), whose q blocks each read all the keys before them, from beyond
/// L2 once a head's k and v outgrow it (attnc tune, two threads, against
/// 64 rows: causal D=128 L=4096 0.92x, bf16 causal L=2048 on AMX 0.95x,
/// causal L=2048 and D=64 L=4096, ALiBi, top-k 0.99-1.01x; not for sigmoid
/// weights, which run on the row path); 64 with any
/// other mask, whose q blocks read few keys each and whose blocks at a
/// window's edge are partly masked for more rows (windows and documents:
/// 1.02-1.04x at 128-512).
int64_t defaultBlockQ(const AttentionSpec &spec);

} // namespace attn

#endif // ATTN_FRONTEND_SPECSIGNATURE_H
