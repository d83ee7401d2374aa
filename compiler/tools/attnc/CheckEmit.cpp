//===- CheckEmit.cpp - attnc check and attnc emit --------------------------===//
#include "compiler/tools/attnc/Commands.h"

#include "compiler/Frontend/ASTToAttn.h"
#include "compiler/Target/KernelObject.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <iostream>

namespace attn {

const AttentionSpec *selectKernel(const Options &opts, const SpecModule &module) {
  if (opts.kernel.empty()) {
    if (module.kernels.size() == 1)
      return &module.kernels[0];
    std::cerr << "attnc: error: " << opts.file << " holds " << module.kernels.size()
              << " kernels; choose one with --kernel:";
    for (const AttentionSpec &k : module.kernels)
      std::cerr << " " << k.name;
    std::cerr << "\n";
    return nullptr;
  }
  if (const AttentionSpec *k = module.find(opts.kernel))
    return k;
  std::cerr << "attnc: error: no kernel '" << opts.kernel << "' in " << opts.file
            << "; it holds:";
  for (const AttentionSpec &k : module.kernels)
    std::cerr << " " << k.name;
  std::cerr << "\n";
  return nullptr;
}

int runCheck(const Options &opts, CheckedSpec &spec) {
  std::cout << opts.file << ": ok (";
  for (size_t n = 0; n < spec.module.kernels.size(); ++n)
    std::cout << (n ? ", " : "") << spec.module.kernels[n].name;
  std::cout << ")\n";
  return 0;
}

/// Keeps only the kernel chosen with --kernel, if any.
static bool narrowToKernel(const Options &opts, SpecModule &module) {
  if (opts.kernel.empty())
    return true;
  if (!selectKernel(opts, module))
    return false;
  auto &kernels = module.kernels;
  kernels.erase(std::remove_if(kernels.begin(), kernels.end(),
                               [&](const AttentionSpec &k) { return k.name != opts.kernel; }),
                kernels.end());
  return true;
}

int runEmit(const Options &opts, CheckedSpec &spec) {
  static const std::pair<const char *, Stage> kStages[] = {
      {"attn", Stage::Attn},       {"lowered", Stage::Lowered}, {"llvm-dialect", Stage::LLVMDialect},
      {"llvm", Stage::LLVMIR},     {"asm", Stage::Asm}};
  if (opts.stage.empty()) {
    std::cerr << "attnc: error: emit needs --stage ast|attn|lowered|llvm-dialect|llvm|asm|tiles\n";
    return 1;
  }
  if (!narrowToKernel(opts, spec.module))
    return 1;
  if (opts.stage == "ast") {
    std::cout << dumpAST(spec.module);
    return 0;
  }
  if (opts.stage == "tiles") {
    for (const AttentionSpec &k : spec.module.kernels)
      if (int rc = runTiles(opts, k))
        return rc;
    return 0;
  }
  auto stage = std::find_if(std::begin(kStages), std::end(kStages),
                            [&](const auto &s) { return opts.stage == s.first; });
  if (stage == std::end(kStages)) {
    std::cerr << "attnc: error: unknown stage '" << opts.stage
              << "'; expected ast, attn, lowered, llvm-dialect, llvm, asm or tiles\n";
    return 1;
  }
  if (stage->second == Stage::Attn) {
    mlir::MLIRContext context;
    mlir::OwningOpRef<mlir::ModuleOp> module = buildAttnModule(context, spec.module, opts.file);
    if (mlir::failed(mlir::verify(*module))) {
      std::cerr << "attnc: internal error: the attn IR built from " << opts.file
                << " does not verify\n";
      return 1;
    }
    // Fold what the spec leaves constant (1 / sqrt(256), `true && ...`).
    mlir::PassManager pm(&context);
    pm.addPass(mlir::createCanonicalizerPass());
    pm.addPass(mlir::createCSEPass());
    if (mlir::failed(pm.run(*module))) {
      std::cerr << "attnc: internal error: canonicalization failed\n";
      return 1;
    }
    module->print(llvm::outs());
    llvm::outs() << "\n";
    return 0;
  }
  for (const AttentionSpec &k : spec.module.kernels) {
    KernelPaths paths = opts.paths == "tiled" ? KernelPaths::Tiled
                        : opts.paths == "rows" ? KernelPaths::Rows
                                               : KernelPaths::Both;
    Schedule schedule = nativeSchedule();
    schedule.precision = opts.precision;
    Expected<StageOutput> out = compileKernel(k, opts.file, opts.target, schedule, stage->second, paths);
    if (!out) {
      std::cerr << "attnc: error: " << out.error() << "\n";
      return 1;
    }
    notePrecision(opts, out->signature);
    std::cout << out->text;
  }
  return 0;
}

} // namespace attn
