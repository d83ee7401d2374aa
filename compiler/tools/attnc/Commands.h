//===- Commands.h - The subcommands of attnc --------------------*- C++ -*-===//
#ifndef ATTN_TOOLS_ATTNC_COMMANDS_H
#define ATTN_TOOLS_ATTNC_COMMANDS_H

#include "compiler/Frontend/Sema.h"
#include "compiler/JIT/Compiler.h"
#include "compiler/Reference/RandomInputs.h"
#include "compiler/tools/attnc/Options.h"

#include <map>
#include <optional>
#include <vector>

namespace attn {

/// Each returns the process exit code: 0 on success, 1 on any error (already
/// printed to stderr).
int runCheck(const Options &opts, CheckedSpec &spec);
int runEmit(const Options &opts, CheckedSpec &spec);
int runRun(const Options &opts, CheckedSpec &spec);
int runCompile(const Options &opts, CheckedSpec &spec);
int runBench(const Options &opts, CheckedSpec &spec);
int runTune(const Options &opts, CheckedSpec &spec);
int runTiles(const Options &opts, const AttentionSpec &kernel);

/// Prints "attnc: error: MESSAGE" to stderr; returns the exit code 1.
int fail(const std::string &message);

/// The spec file's text, and the compile options --target, --cache-dir and
/// --no-cache give.
std::string specText(const Options &opts);
CompileOptions compileOptionsFor(const Options &opts);

/// With --precision high, a note on stderr where the kernel multiplies in
/// f32 after all, and why (whyNotSplit).
void notePrecision(const Options &opts, const KernelSignature &sig);

/// Compiles `kernel` of the spec file with the target and cache options.
Expected<Kernel> compileForOptions(const Options &opts, const AttentionSpec &kernel);

/// The kernel's dimensions at their default sizes with --size applied;
/// prints an error and returns nothing for a name the kernel lacks.
std::optional<std::map<std::string, int64_t>> sizedDims(const Options &opts, const AttentionSpec &kernel);

/// Times `compiled` on `args`: at least --reps calls and 300 ms (at most
/// 1001 calls); the times in ms, sorted.
Expected<std::vector<double>> timeCalls(const Kernel &compiled, const ArgumentMap &args, const Options &opts);

/// The kernel named by --kernel, or the only kernel of the file; prints an
/// error and returns null otherwise.
const AttentionSpec *selectKernel(const Options &opts, const SpecModule &module);

} // namespace attn

#endif // ATTN_TOOLS_ATTNC_COMMANDS_H
