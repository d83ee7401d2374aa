//===- Compiler.h - Spec text to a callable kernel, in process --*- C++ -*-===//
//
//   attn::Compiler compiler;
//   attn::Expected<attn::Kernel> k = compiler.compile(specText, "causal");
//   std::string err = k->run({{"q", q}, {"k", k}, {"v", v}}, o);
//
// Compiled objects are cached on disk, keyed by a hash of the spec, the
// kernel, the target, the schedule and the compiler version; a cached kernel
// loads without running MLIR or LLVM's optimizer again.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_JIT_COMPILER_H
#define ATTN_JIT_COMPILER_H

#include "attn/Invoke.h"
#include "attn/Signature.h"
#include "compiler/Support/Expected.h"

#include <map>
#include <memory>
#include <string>

namespace attn {

struct CompileOptions {
  std::string target = "host";
  /// The default (nativeSchedule()) means: the tuned one where `attnc tune`
  /// stored one for the spec in the cache, else the default.
  Schedule schedule = nativeSchedule();
  /// Cache folder; empty: $ATTN_CACHE_DIR, else $XDG_CACHE_HOME/attn, else
  /// ~/.cache/attn.
  std::string cacheDir;
  bool useCache = true;
  /// How many parts a kernel path's machine code is generated in, each on a
  /// thread of its own during a cold compile (SplitCodeGen.h); 0: the
  /// machine's cores, at most 3. (A kernel whose calls choose their path
  /// compiles its two paths on two threads either way.)
  unsigned codegenParts = 0;
};

class LoadedObject; // the JIT that owns a kernel's code

class Kernel {
public:
  const KernelSignature &signature() const { return sig_; }
  /// Its code: one function, or one per path (see pathDecidedPerCall).
  const KernelEntries &entries() const { return entries_; }
  /// Whether this kernel came from the disk cache, and how long compiling
  /// (or loading) it took.
  bool fromCache() const { return fromCache_; }
  double compileMillis() const { return compileMillis_; }
  /// Whether its schedule is the one `attnc tune` stored for its spec.
  bool tunedSchedule() const { return tuned_; }

  /// Runs the kernel on named inputs; every argument is checked first.
  /// Returns an empty string on success, else the error.
  std::string run(const std::map<std::string, ArgValue> &inputs, const TensorView &o,
                  const TensorView *lse = nullptr, const InvokeOptions &options = {}) const;

private:
  friend class Compiler;
  KernelSignature sig_;
  KernelEntries entries_;
  std::shared_ptr<LoadedObject> object_;
  bool fromCache_ = false;
  bool tuned_ = false;
  double compileMillis_ = 0;
};

class Compiler {
public:
  explicit Compiler(CompileOptions options = {});
  /// Compiles kernel `kernelName` of `specText` (may be empty when the text
  /// holds one kernel). Spec errors come back rendered with file:line:col.
  Expected<Kernel> compile(const std::string &specText, const std::string &kernelName = "",
                           const std::string &fileName = "<spec>") const;
  const CompileOptions &options() const { return options_; }
  std::string cacheDir() const;

  /// Stores `schedule` in the cache as the tuned one for kernel `kernelName`
  /// of `specText` on this compiler and target (what `attnc tune` does):
  /// later compiles of that kernel with the default schedule use it. False
  /// when it could not be stored (no usable cache folder).
  bool storeTunedSchedule(const std::string &specText, const std::string &kernelName,
                          const Schedule &schedule) const;

private:
  std::string targetKey() const;
  std::string tunedKey(const std::string &specText, const std::string &kernelName) const;
  CompileOptions options_;
};

/// The version string that keys the cache.
const char *compilerVersion();

} // namespace attn

#endif // ATTN_JIT_COMPILER_H
