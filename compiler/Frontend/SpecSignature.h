//===- SpecSignature.h - The runtime signature of a checked spec *- C++ -*-===//
#ifndef ATTN_FRONTEND_SPECSIGNATURE_H
#define ATTN_FRONTEND_SPECSIGNATURE_H

#include "attn/Signature.h"
#include "compiler/Frontend/AST.h"

namespace attn {

attn_dtype toDType(ElemType type);
KernelSignature signatureOf(const AttentionSpec &spec, const Schedule &schedule = {});

/// Query rows per work item where the caller left it to the compiler
/// (Schedule::blockQ 0; a call may take fewer: callQBlockRows). 512 without
/// a mask or with one that keeps every earlier key (keepsEarlierKeys:
/// causal): each q block reads all the keys before it (all of them without a
/// mask), from beyond L2 once a head's k and v outgrow it, and larger q
/// blocks read them fewer times (attnc tune, two threads, against 128 rows:
/// dense D=128 L=2048 0.97x, L=4096 0.94x, D=64 L=4096 0.97x, bf16 dense on
/// AMX 0.99x; against 64 rows: causal D=128 L=4096 0.92x, bf16 causal
/// L=2048 on AMX 0.95x, causal L=512-2048, D=64 L=4096, ALiBi, top-k within
/// 1%). 64 with any other mask, whose q blocks read few keys each and whose
/// blocks at a window's edge are partly masked for more rows (windows and
/// documents: 1.02-1.04x at 128-512). Every weights kind alike.
int64_t defaultBlockQ(const AttentionSpec &spec);

/// What precision highest (f32-grade products) compiles to where the target
/// has AMX: Highest (bf16x6 tiles, see splitsF32) without a mask or with one
/// that keeps every earlier key, whose q blocks take long runs of whole key
/// blocks; Fma (f32 FMAs) under any other mask, whose q blocks take few
/// blocks each, so splitting each tile's q and k's four parts cost more than
/// the tiles save (attnc bench, two threads, alternating, fma against bf16x6:
/// window 256 at L=4096 31.7 vs 40.7 ms, 4 documents at L=2048 17.5 vs
/// 20.7; dense 100.8 vs 79.2, causal 55.7 vs 49.5, ALiBi causal 55.9 vs 51.7,
/// softcap 112.1 vs 103.9, sigmoid causal 54.4 vs 46.4, D=64 97.2 vs 92.9).
Precision highestPrecision(const AttentionSpec &spec);

} // namespace attn

#endif // ATTN_FRONTEND_SPECSIGNATURE_H
