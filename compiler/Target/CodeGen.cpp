//===- CodeGen.cpp - LLVM IR, optimization, objects and assembly -----------===//
#include "compiler/Target/CodeGen.h"

#include "llvm/Passes/PassBuilder.h"
#include "mlir/Target/LLVMIR/Dialect/AMX/AMXToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <algorithm>
#include <mutex>

namespace attn {

static void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

Expected<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(const std::string &target) {
  initializeNativeTarget();
  std::string triple = llvm::sys::getProcessTriple();
  std::string cpu, features;
  if (target == "host") {
    cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures f;
    for (const auto &[name, on] : llvm::sys::getHostCPUFeatures())
      f.AddFeature(name, on);
    features = f.getString();
  } else if (target == "x86-64-avx2") {
    cpu = "haswell";
  } else if (target == "x86-64-avx512") {
    cpu = "skylake-avx512";
  } else if (target == "x86-64-amx") {
    cpu = "sapphirerapids"; // AVX512-BF16 and AMX-BF16 tiles
  } else {
    return Error{"unknown target '" + target + "'; expected host, x86-64-avx2, x86-64-avx512 or x86-64-amx"};
  }
  std::string error;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!t)
    return Error{"no LLVM target for " + triple + ": " + error};
  llvm::TargetOptions options;
  // FMA contraction is what the kernels want; nothing relies on strict
  // rounding of a*b+c.
  options.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  // Code generation at -O1: the hot loops come out instruction for
  // instruction as at -O2 (the Q Kt, P V, tile and bf16-pair loops of f32
  // causal and bf16 causal on AMX, compared by opcode), the kernels' other
  // code is 8% smaller, and a cold compile spends 8% fewer instructions
  // (code generation is most of it).
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      triple, cpu, features, options, llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Less));
  if (!tm)
    return Error{"cannot create a target machine for " + triple + " (" + cpu + ")"};
  return tm;
}

std::string hostDescription() {
  static const std::string description = [] {
    std::string s = llvm::sys::getHostCPUName().str();
    std::vector<std::string> on;
    for (const auto &[name, enabled] : llvm::sys::getHostCPUFeatures())
      if (enabled)
        on.push_back(name.str());
    std::sort(on.begin(), on.end());
    for (const std::string &f : on)
      s += " +" + f;
    return s;
  }();
  return description;
}

// The subtarget's features: the CPU's own (x86-64-amx names only a CPU)
// and those the feature string adds (host).
bool hasBf16Dot(const llvm::TargetMachine &tm) { return tm.getMCSubtargetInfo()->checkFeatures("+avx512bf16"); }

bool hasAmxBf16(const llvm::TargetMachine &tm) {
  return tm.getMCSubtargetInfo()->checkFeatures("+amx-bf16,+amx-tile");
}

bool hostRuns(const std::string &target) {
  Expected<std::unique_ptr<llvm::TargetMachine>> host = createTargetMachine("host");
  if (!host)
    return false;
  // What each named target's CPU model adds that kernels use.
  const char *needs = target == "host"            ? ""
                      : target == "x86-64-avx2"   ? "+avx2,+fma,+f16c,+bmi2"
                      : target == "x86-64-avx512" ? "+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512cd,+f16c,+bmi2"
                      : target == "x86-64-amx"    ? "+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512bf16,+amx-bf16,+amx-tile"
                                                  : nullptr;
  return needs && (*host)->getMCSubtargetInfo()->checkFeatures(needs);
}

// 16 lanes where AVX-512 has DQ too (every AVX-512 core but Xeon Phi's): the
// kernels' exp takes its fraction from vreduceps (expWeights).
int64_t nativeVectorWidth(const llvm::TargetMachine &tm) {
  return tm.getMCSubtargetInfo()->checkFeatures("+avx512f,+avx512dq") ? 16 : 8;
}

/// The kernels arrive from MLIR vectorized, blocked for registers and with
/// no memory the optimizer has to promote, so they need only the scalar
/// clean-up: redundant loads and index arithmetic, loop-invariant code out
/// of the key loops, and the control flow scf left. This short function
/// pipeline is a third of -O2's instructions on a tiled kernel (callgrind:
/// 725M -> 250M for bf16 causal) and gives the hot loops the same code
/// (the Q.Kt and P.V loops compared instruction by instruction); -O2 with
/// unrolling and the vectorizers off was the previous choice, -O3 measured
/// no faster.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm;
  // (A pipeline's text turns on instcombine's fixpoint check, which aborts
  // the process where one round leaves more to combine: -O2 turns it off.)
  llvm::Error error = pb.parsePassPipeline(mpm, "function(sroa,early-cse,simplifycfg,instcombine<no-verify-fixpoint>,"
                                                "loop-mssa(loop-rotate,licm),gvn,instcombine<no-verify-fixpoint>,"
                                                "simplifycfg)");
  // The text is a constant: a parse error is a bug in this file.
  if (error)
    llvm::report_fatal_error(std::move(error));
  mpm.run(module, mam);
}

Expected<std::unique_ptr<llvm::Module>> translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &context,
                                                          llvm::TargetMachine &tm) {
  mlir::registerBuiltinDialectTranslation(*module->getContext());
  mlir::registerLLVMDialectTranslation(*module->getContext());
  mlir::registerAMXDialectTranslation(*module->getContext());
  std::unique_ptr<llvm::Module> llvmModule = mlir::translateModuleToLLVMIR(module, context, "attn");
  if (!llvmModule)
    return Error{"translation to LLVM IR failed"};
  llvmModule->setDataLayout(tm.createDataLayout());
  llvmModule->setTargetTriple(tm.getTargetTriple().str());
  for (llvm::Function &fn : *llvmModule)
    if (!fn.isDeclaration()) {
      fn.addFnAttr("target-cpu", tm.getTargetCPU());
      fn.addFnAttr("target-features", tm.getTargetFeatureString());
      // Only divisions flagged arcp and ninf take the estimate (and one
      // Newton step): those of the math approximations (ApproximateMath.cpp).
      fn.addFnAttr("reciprocal-estimates", "vec-divf");
    }
  return llvmModule;
}

Expected<std::unique_ptr<llvm::Module>> translateAndOptimize(mlir::ModuleOp module,
                                                             llvm::LLVMContext &context,
                                                             llvm::TargetMachine &tm) {
  Expected<std::unique_ptr<llvm::Module>> llvmModule = translateToLLVMIR(module, context, tm);
  if (llvmModule)
    optimizeModule(**llvmModule, tm);
  return llvmModule;
}

static Expected<std::string> emit(llvm::Module &module, llvm::TargetMachine &tm,
                                  llvm::CodeGenFileType type) {
  std::string problems;
  llvm::raw_string_ostream why(problems);
  if (llvm::verifyModule(module, &why))
    return Error{"internal error: invalid LLVM IR: " + problems};
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type))
    return Error{"the target cannot emit this file type"};
  pm.run(module);
  return std::string(buffer.begin(), buffer.end());
}

Expected<std::string> emitObject(llvm::Module &module, llvm::TargetMachine &tm) {
  return emit(module, tm, llvm::CodeGenFileType::ObjectFile);
}

Expected<std::string> emitAssembly(llvm::Module &module, llvm::TargetMachine &tm) {
  return emit(module, tm, llvm::CodeGenFileType::AssemblyFile);
}

} // namespace attn
