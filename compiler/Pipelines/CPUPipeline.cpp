//===- CPUPipeline.cpp - attn to the LLVM dialect, for CPUs ----------------===//
#include "compiler/Pipelines/CPUPipeline.h"

#include "compiler/Conversion/AttnToCPU/AttnToCPU.h"
#include "compiler/Transforms/ApproximateMath.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace attn {

void buildCPUPipeline(mlir::OpPassManager &pm, const Schedule &schedule, CPUStage stage, KernelPaths paths) {
  pm.addPass(createConvertAttnToCPUPass(schedule, paths));
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addPass(mlir::createLoopInvariantCodeMotionPass());
  if (stage == CPUStage::Lowered)
    return;
  pm.addPass(createApproximateMathPass());
  pm.addPass(mlir::createConvertSCFToCFPass());
  mlir::ConvertVectorToLLVMPassOptions vectorOptions;
  vectorOptions.reassociateFPReductions = true; // tree reductions of dot products
  vectorOptions.amx = schedule.amx;              // the AMX intrinsics the tiled path emits stay legal
  pm.addPass(mlir::createConvertVectorToLLVMPass(vectorOptions));
  pm.addPass(mlir::createConvertMathToLLVMPass());
  // ceildivsi, maximumf, ...; and without AVX512-BF16 (no vcvtneps2bf16),
  // f32 <-> bf16 as integer ops: LLVM would call compiler-rt's __truncsfbf2,
  // which a JIT process or a program linking an AOT kernel need not have.
  mlir::arith::ArithExpandOpsPassOptions expandOptions;
  expandOptions.includeBf16 = !schedule.bf16Dot;
  pm.addPass(mlir::arith::createArithExpandOpsPass(expandOptions));
  pm.addPass(mlir::createArithToLLVMConversionPass());
  pm.addPass(mlir::createConvertIndexToLLVMPass());
  pm.addPass(mlir::createConvertFuncToLLVMPass());
  pm.addPass(mlir::createConvertControlFlowToLLVMPass());
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
  pm.addPass(mlir::createCanonicalizerPass());
}

void registerCPUPipeline() {
  registerAttnToCPUPass();
  registerApproximateMathPass();
  mlir::PassPipelineRegistration<>(
      "attn-cpu-pipeline", "Lower attn.attention all the way to the LLVM dialect for CPUs",
      [](mlir::OpPassManager &pm) { buildCPUPipeline(pm, Schedule{}); });
}

} // namespace attn
