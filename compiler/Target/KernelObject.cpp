//===- KernelObject.cpp - One kernel through the whole CPU pipeline --------===//
#include "compiler/Target/KernelObject.h"

#include "compiler/Frontend/ASTToAttn.h"
#include "compiler/Frontend/SpecSignature.h"
#include "compiler/Pipelines/CPUPipeline.h"
#include "compiler/Target/CodeGen.h"

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

Expected<StageOutput> compileKernel(const AttentionSpec &spec, const std::string &fileName,
                                    const std::string &target, Schedule schedule, Stage stage) {
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = createTargetMachine(target);
  if (!tm)
    return tm.takeError();
  if (schedule.vectorWidth == 0)
    schedule.vectorWidth = nativeVectorWidth(**tm);
  StageOutput out;
  out.signature = signatureOf(spec, schedule);

  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.loadDialect<mlir::func::FuncDialect, mlir::scf::SCFDialect, mlir::vector::VectorDialect,
                      mlir::LLVM::LLVMDialect>();
  mlir::OwningOpRef<mlir::ModuleOp> module = buildAttnModule(context, spec, fileName);
  if (mlir::failed(mlir::verify(*module)))
    return Error{"internal error: the attn IR of '" + spec.name + "' does not verify"};
  if (stage == Stage::Attn) {
    out.text = printOp(*module);
    return out;
  }
  mlir::PassManager pm(&context);
  buildCPUPipeline(pm, schedule, stage == Stage::Lowered ? CPUStage::Lowered : CPUStage::LLVMDialect);
  std::string diagnostics;
  {
    llvm::raw_string_ostream os(diagnostics);
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      os << d.str() << "\n";
      return mlir::success();
    });
    if (mlir::failed(pm.run(*module)))
      return Error{"internal error: lowering '" + spec.name + "' failed: " + diagnostics};
  }
  if (stage == Stage::Lowered || stage == Stage::LLVMDialect) {
    out.text = printOp(*module);
    return out;
  }
  llvm::LLVMContext llvmContext;
  Expected<std::unique_ptr<llvm::Module>> llvmModule = translateAndOptimize(*module, llvmContext, **tm);
  if (!llvmModule)
    return llvmModule.takeError();
  if (stage == Stage::LLVMIR) {
    llvm::raw_string_ostream os(out.text);
    (*llvmModule)->print(os, nullptr);
    return out;
  }
  Expected<std::string> code = stage == Stage::Asm ? emitAssembly(**llvmModule, **tm)
                                                   : emitObject(**llvmModule, **tm);
  if (!code)
    return code.takeError();
  out.text = std::move(*code);
  return out;
}

} // namespace attn
