//===- CodeGen.h - LLVM IR, optimization, objects and assembly --*- C++ -*-===//
#ifndef ATTN_TARGET_CODEGEN_H
#define ATTN_TARGET_CODEGEN_H

#include "compiler/Support/Expected.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace attn {

/// `host` (this machine's CPU and features), `x86-64-avx2` (Haswell) or
/// `x86-64-avx512` (Skylake-AVX512) or `x86-64-amx` (Sapphire Rapids:
/// AVX512-BF16 and AMX-BF16).
Expected<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(const std::string &target);
/// f32 lanes of the widest vector the target has (16 with AVX-512, else 8).
int64_t nativeVectorWidth(const llvm::TargetMachine &tm);
/// The target has vdpbf16ps (AVX512-BF16): see Schedule::bf16Dot.
bool hasBf16Dot(const llvm::TargetMachine &tm);
/// The target has AMX tiles with bf16 products (tdpbf16ps): see Schedule::amx.
bool hasAmxBf16(const llvm::TargetMachine &tm);
/// Whether this CPU has the instruction set of a named target ("host", or
/// one of x86-64-avx2|avx512|amx; AMX also needs the OS's leave, which
/// requestAmxTiles asks for).
bool hostRuns(const std::string &target);
/// The host CPU's name and enabled features, as one string: part of the
/// cache key of kernels built for `host`, so a cache shared between
/// machines never hands one a kernel built for the other's instructions.
std::string hostDescription();

/// Translates an LLVM-dialect module to LLVM IR for the target machine
/// (its data layout, and its CPU and features on every function).
Expected<std::unique_ptr<llvm::Module>> translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &context,
                                                          llvm::TargetMachine &tm);
/// The short function pipeline the kernels need (CodeGen.cpp says which
/// passes and why). Function passes only: a module split into parts
/// (SplitCodeGen.h) can be optimized part by part, each on its own thread,
/// to the same code.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm);
/// Both: translateToLLVMIR, then optimizeModule.
Expected<std::unique_ptr<llvm::Module>> translateAndOptimize(mlir::ModuleOp module,
                                                             llvm::LLVMContext &context,
                                                             llvm::TargetMachine &tm);

/// Machine code as an ELF object, or as assembly text.
Expected<std::string> emitObject(llvm::Module &module, llvm::TargetMachine &tm);
Expected<std::string> emitAssembly(llvm::Module &module, llvm::TargetMachine &tm);

} // namespace attn

#endif // ATTN_TARGET_CODEGEN_H
