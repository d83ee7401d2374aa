//===- KernelObject.h - One kernel through the whole CPU pipeline *- C++ -*-===//
#ifndef ATTN_TARGET_KERNELOBJECT_H
#define ATTN_TARGET_KERNELOBJECT_H

#include "attn/Signature.h"
#include "compiler/Frontend/AST.h"
#include "compiler/Support/Expected.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>
#include <vector>

namespace attn {

/// How far to take a kernel: the printable stages of `attnc emit` and the
/// object file that the JIT loads and AOT archives.
enum class Stage { Attn, Lowered, LLVMDialect, LLVMIR, Asm, Object };

struct StageOutput {
  std::string text;                 // IR or assembly text
  std::vector<std::string> objects; // Stage::Object: ELF objects, one or one per part (codegenParts)
  KernelSignature signature;
};

/// A kernel as an LLVM module, with what made it.
struct LLVMKernel {
  std::unique_ptr<llvm::TargetMachine> targetMachine;
  std::unique_ptr<llvm::Module> module;
  KernelSignature signature;
};

/// The target machine, and `schedule` as kernels of `spec` for it get it: a
/// zero q block replaced by defaultBlockQ(spec), a zero vector width by the
/// target's native width, bf16Dot and amx from its features (and, for
/// `host`, from whether the OS grants the tiles).
Expected<std::unique_ptr<llvm::TargetMachine>> resolveTarget(const std::string &target, const AttentionSpec &spec,
                                                             Schedule &schedule);

/// Runs `spec` through the whole pipeline to LLVM IR in `context`,
/// optimized unless `optimize` is false (optimizeAndEmitObjects optimizes
/// its parts itself). `paths`: the whole kernel, or one of its paths
/// (createConvertAttnToCPUPass).
Expected<LLVMKernel> compileToLLVM(const AttentionSpec &spec, const std::string &fileName,
                                   const std::string &target, Schedule schedule,
                                   llvm::LLVMContext &context, KernelPaths paths = KernelPaths::Both,
                                   bool optimize = true);

/// Runs `spec` (checked) through the CPU pipeline for `target` up to `stage`.
/// A zero vector width in `schedule` means the target's native width. Safe
/// to call from several threads at once (each call has its own contexts).
/// An object's code is generated in up to `codegenParts` parts on as many
/// threads (SplitCodeGen.h), each part an object of its own.
Expected<StageOutput> compileKernel(const AttentionSpec &spec, const std::string &fileName,
                                    const std::string &target, Schedule schedule, Stage stage,
                                    KernelPaths paths = KernelPaths::Both, unsigned codegenParts = 1);

} // namespace attn

#endif // ATTN_TARGET_KERNELOBJECT_H
