//===- CompileCommand.cpp - attnc compile: ahead-of-time libraries ---------===//
#include "compiler/tools/attnc/Commands.h"

#include "compiler/Target/AOT.h"

#include <iostream>

namespace attn {

int runCompile(const Options &opts, CheckedSpec &spec) {
  if (opts.output.empty()) {
    std::cerr << "attnc: error: compile needs -o DIR\n";
    return 1;
  }
  if (opts.backend != "mlir") {
    std::cerr << "attnc: error: backend '" << opts.backend
              << "' cannot compile ahead of time; this build provides: mlir\n";
    return 1;
  }
  std::vector<const AttentionSpec *> kernels;
  if (!opts.kernel.empty()) {
    const AttentionSpec *k = selectKernel(opts, spec.module);
    if (!k)
      return 1;
    kernels.push_back(k);
  } else {
    for (const AttentionSpec &k : spec.module.kernels)
      kernels.push_back(&k);
  }
  for (const AttentionSpec *k : kernels) {
    // The output folder is used exactly as given; file names come from the
    // kernel name, which the lexer restricts to [A-Za-z_][A-Za-z0-9_]*.
    Expected<KernelSignature> ok = compileAheadOfTime(*k, opts.file, opts.target, opts.output, opts.precision);
    if (!ok) {
      std::cerr << "attnc: error: " << ok.error() << "\n";
      return 1;
    }
    notePrecision(opts, *ok);
    std::cout << "wrote " << opts.output << "/" << k->name << ".h and " << opts.output << "/lib"
              << k->name << ".a\n";
  }
  return 0;
}

} // namespace attn
