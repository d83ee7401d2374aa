//===- KernelObject.h - One kernel through the whole CPU pipeline *- C++ -*-===//
#ifndef ATTN_TARGET_KERNELOBJECT_H
#define ATTN_TARGET_KERNELOBJECT_H

#include "attn/Signature.h"
#include "compiler/Frontend/AST.h"
#include "compiler/Support/Expected.h"

#include <string>

namespace attn {

/// How far to take a kernel: the printable stages of `attnc emit` and the
/// object file that the JIT loads and AOT archives.
enum class Stage { Attn, Lowered, LLVMDialect, LLVMIR, Asm, Object };

struct StageOutput {
  std::string text;        // IR or assembly text, or the object's bytes
  KernelSignature signature;
};

/// Runs `spec` (checked) through the CPU pipeline for `target` up to `stage`.
/// A zero vector width in `schedule` means the target's native width.
Expected<StageOutput> compileKernel(const AttentionSpec &spec, const std::string &fileName,
                                    const std::string &target, Schedule schedule, Stage stage);

} // namespace attn

#endif // ATTN_TARGET_KERNELOBJECT_H
