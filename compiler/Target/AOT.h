//===- AOT.h - Ahead of time: a static library and a C header ---*- C++ -*-===//
#ifndef ATTN_TARGET_AOT_H
#define ATTN_TARGET_AOT_H

#include "compiler/Frontend/AST.h"
#include "compiler/Support/Expected.h"

#include "attn/Signature.h"

#include <string>

namespace attn {

/// Writes `outDir/NAME.h` and `outDir/libNAME.a` for kernel `spec`. The
/// library holds the kernel, its metadata (`attn_NAME_info`) and a C entry
/// point `attn_NAME(...)` that checks its arguments through the runtime; a
/// user links it with libAttnRuntime and needs nothing of LLVM or MLIR.
/// `precision`: how f32 products are computed (Schedule::precision). Returns
/// the kernel's signature (what its library was compiled for).
Expected<KernelSignature> compileAheadOfTime(const AttentionSpec &spec, const std::string &fileName,
                                             const std::string &target, const std::string &outDir,
                                             Precision precision = Precision::Highest);

/// The C header text for `spec` (exposed for tests).
/// `bf16Parts`: the kernel's f32 products split into that many bf16 parts
/// (bf16Parts of its signature; 0: none).
std::string aotHeader(const AttentionSpec &spec, const std::string &fileName, int bf16Parts = 0);

} // namespace attn

#endif // ATTN_TARGET_AOT_H
