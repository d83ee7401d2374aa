//===- CPUPipeline.h - attn to the LLVM dialect, for CPUs -------*- C++ -*-===//
#ifndef ATTN_PIPELINES_CPUPIPELINE_H
#define ATTN_PIPELINES_CPUPIPELINE_H

#include "attn/Signature.h"

#include "mlir/Pass/PassManager.h"

namespace attn {

/// How deep to lower: `Lowered` stops after convert-attn-to-cpu and cleanup
/// (scf/vector/arith/math/llvm), `LLVMDialect` goes all the way.
enum class CPUStage { Lowered, LLVMDialect };

/// The CPU pipeline as a list of passes, one concept per line:
/// attn -> loop nest -> canonicalize/CSE -> polynomial math -> LLVM dialect.
/// `paths`: see createConvertAttnToCPUPass.
void buildCPUPipeline(mlir::OpPassManager &pm, const Schedule &schedule,
                      CPUStage stage = CPUStage::LLVMDialect, KernelPaths paths = KernelPaths::Both);

/// Registers `attn-cpu-pipeline` (and the attn passes) with attn-opt.
void registerCPUPipeline();

} // namespace attn

#endif // ATTN_PIPELINES_CPUPIPELINE_H
