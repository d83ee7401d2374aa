//===- Commands.h - The subcommands of attnc --------------------*- C++ -*-===//
#ifndef ATTN_TOOLS_ATTNC_COMMANDS_H
#define ATTN_TOOLS_ATTNC_COMMANDS_H

#include "compiler/Frontend/Sema.h"
#include "compiler/JIT/Compiler.h"
#include "compiler/tools/attnc/Options.h"

namespace attn {

/// Each returns the process exit code: 0 on success, 1 on any error (already
/// printed to stderr).
int runCheck(const Options &opts, CheckedSpec &spec);
int runEmit(const Options &opts, CheckedSpec &spec);
int runRun(const Options &opts, CheckedSpec &spec);
int runCompile(const Options &opts, CheckedSpec &spec);
int runBench(const Options &opts, CheckedSpec &spec);
int runTiles(const Options &opts, const AttentionSpec &kernel);

/// Compiles `kernel` of the spec file with the target and cache options.
Expected<Kernel> compileForOptions(const Options &opts, const AttentionSpec &kernel);

/// The kernel named by --kernel, or the only kernel of the file; prints an
/// error and returns null otherwise.
const AttentionSpec *selectKernel(const Options &opts, const SpecModule &module);

} // namespace attn

#endif // ATTN_TOOLS_ATTNC_COMMANDS_H
