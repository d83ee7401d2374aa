//===- KernelObject.cpp - One kernel through the whole CPU pipeline --------===//
#include "compiler/Target/KernelObject.h"

#include "compiler/Frontend/ASTToAttn.h"
#include "compiler/Frontend/SpecSignature.h"
#include "compiler/Pipelines/CPUPipeline.h"
#include "compiler/Target/CodeGen.h"
#include "compiler/Target/SplitCodeGen.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

namespace attn {

static std::string printOp(mlir::Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text + "\n";
}

/// attn IR for `spec`, lowered as far as `stage` (Attn, Lowered or LLVMDialect).
static Expected<mlir::OwningOpRef<mlir::ModuleOp>> lowerSpec(mlir::MLIRContext &context,
                                                              const AttentionSpec &spec,
                                                              const std::string &fileName,
                                                              const Schedule &schedule, Stage stage,
                                                              KernelPaths paths) {
  context.loadDialect<mlir::func::FuncDialect, mlir::scf::SCFDialect, mlir::vector::VectorDialect,
                      mlir::LLVM::LLVMDialect>();
  mlir::OwningOpRef<mlir::ModuleOp> module = buildAttnModule(context, spec, fileName);
  if (mlir::failed(mlir::verify(*module)))
    return Error{"internal error: the attn IR of '" + spec.name + "' does not verify"};
  if (stage == Stage::Attn)
    return module;
  mlir::PassManager pm(&context);
  // The IR is verified once, after the last pass: verifying after each of
  // the pipeline's passes was a third of the lowering's instructions.
  pm.enableVerifier(false);
  buildCPUPipeline(pm, schedule, stage == Stage::Lowered ? CPUStage::Lowered : CPUStage::LLVMDialect, paths);
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    os << d.str() << "\n";
    return mlir::success();
  });
  if (mlir::failed(pm.run(*module)) || mlir::failed(mlir::verify(*module)))
    return Error{"internal error: lowering '" + spec.name + "' failed: " + diagnostics};
  return module;
}

Expected<std::unique_ptr<llvm::TargetMachine>> resolveTarget(const std::string &target, const AttentionSpec &spec,
                                                             Schedule &schedule) {
  if (schedule.blockQ == 0)
    schedule.blockQ = defaultBlockQ(spec);
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = createTargetMachine(target);
  if (tm && schedule.vectorWidth == 0)
    schedule.vectorWidth = nativeVectorWidth(**tm);
  if (tm)
    schedule.bf16Dot = schedule.vectorWidth == 16 && hasBf16Dot(**tm);
  // This machine's kernels use AMX only where the OS lets this process
  // (and so, in practice, the programs that run them) use the tiles.
  if (tm)
    schedule.amx = schedule.bf16Dot && hasAmxBf16(**tm) && (target != "host" || requestAmxTiles());
  // Without AMX every precision is f32 FMAs: one kernel, one cache entry.
  if (!schedule.amx)
    schedule.precision = Precision::Highest;
  else if (schedule.precision == Precision::Highest)
    schedule.precision = highestPrecision(spec);
  return tm;
}

Expected<LLVMKernel> compileToLLVM(const AttentionSpec &spec, const std::string &fileName,
                                   const std::string &target, Schedule schedule,
                                   llvm::LLVMContext &llvmContext, KernelPaths paths, bool optimize) {
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = resolveTarget(target, spec, schedule);
  if (!tm)
    return tm.takeError();
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  auto module = lowerSpec(context, spec, fileName, schedule, Stage::LLVMDialect, paths);
  if (!module)
    return module.takeError();
  Expected<std::unique_ptr<llvm::Module>> llvmModule = optimize ? translateAndOptimize(**module, llvmContext, **tm)
                                                                 : translateToLLVMIR(**module, llvmContext, **tm);
  if (!llvmModule)
    return llvmModule.takeError();
  return LLVMKernel{std::move(*tm), std::move(*llvmModule), signatureOf(spec, schedule)};
}

Expected<StageOutput> compileKernel(const AttentionSpec &spec, const std::string &fileName,
                                    const std::string &target, Schedule schedule, Stage stage,
                                    KernelPaths paths, unsigned codegenParts) {
  StageOutput out;
  if (stage == Stage::Attn || stage == Stage::Lowered || stage == Stage::LLVMDialect) {
    Expected<std::unique_ptr<llvm::TargetMachine>> tm = resolveTarget(target, spec, schedule);
    if (!tm)
      return tm.takeError();
    mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
    auto module = lowerSpec(context, spec, fileName, schedule, stage, paths);
    if (!module)
      return module.takeError();
    out.text = printOp(**module);
    out.signature = signatureOf(spec, schedule);
    return out;
  }
  llvm::LLVMContext llvmContext;
  // An object's module is optimized in its parts, on their threads.
  Expected<LLVMKernel> k = compileToLLVM(spec, fileName, target, schedule, llvmContext, paths,
                                         /*optimize=*/stage != Stage::Object);
  if (!k)
    return k.takeError();
  out.signature = k->signature;
  if (stage == Stage::LLVMIR) {
    llvm::raw_string_ostream os(out.text);
    k->module->print(os, nullptr);
    return out;
  }
  if (stage == Stage::Object) {
    Expected<std::vector<std::string>> objects = optimizeAndEmitObjects(*k->module, *k->targetMachine, codegenParts);
    if (!objects)
      return objects.takeError();
    out.objects = std::move(*objects);
    return out;
  }
  Expected<std::string> code = emitAssembly(*k->module, *k->targetMachine);
  if (!code)
    return code.takeError();
  out.text = std::move(*code);
  return out;
}

} // namespace attn
