//===- E2ETestUtil.h - Compile, run, compare with the reference -*- C++ -*-===//
#ifndef ATTN_TESTS_E2E_E2ETESTUTIL_H
#define ATTN_TESTS_E2E_E2ETESTUTIL_H

#include "compiler/Frontend/Sema.h"
#include "compiler/JIT/HostRun.h"
#include "compiler/Reference/RandomInputs.h"
#include "compiler/Reference/Tolerance.h"
#include "compiler/Target/CodeGen.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>

namespace attn::test {

/// Kernels compiled once per test binary, keyed by spec text, name,
/// precision (`options.schedule.precision`) and target.
inline const Kernel &compiled(const std::string &text, const std::string &name, const CompileOptions &options = {}) {
  static std::map<std::string, std::unique_ptr<Kernel>> kernels;
  std::string key = name + "\n" + text + "\n" + precisionName(options.schedule.precision) + "\n" + options.target;
  auto it = kernels.find(key);
  if (it == kernels.end()) {
    Expected<Kernel> k = Compiler(options).compile(text, name, "test.attn");
    if (!k) {
      ADD_FAILURE() << "compile failed: " << k.error();
      static Kernel none;
      return none;
    }
    it = kernels.emplace(key, std::make_unique<Kernel>(std::move(*k))).first;
  }
  return *it->second;
}

/// Random arguments (seeded) for kernel `name` of `text` at `sizes`
/// (chooseDims: named query heads are twice the named kv heads).
inline ArgumentMap randomInputs(const std::string &text, const std::string &name, InputSizes sizes,
                                unsigned seed = 3) {
  CheckedSpec s = parseAndCheck("t.attn", text);
  const AttentionSpec &k = *s.module.find(name);
  return makeInputs(k, chooseDims(k, sizes), seed);
}

/// Compares o [B, H, L, Dv] (or lse [B, H, L]) and names the first bad index.
inline ::testing::AssertionResult matches(const std::vector<double> &got,
                                          const std::vector<double> &want,
                                          const std::vector<int64_t> &shape, double tol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  int64_t n = firstMismatch(got, want, tol);
  if (n < 0)
    return ::testing::AssertionSuccess();
  std::vector<int64_t> idx(shape.size());
  int64_t rest = n;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = rest % shape[d];
    rest /= shape[d];
  }
  std::string at;
  for (size_t d = 0; d < idx.size(); ++d)
    at += (d ? ", " : "") + std::to_string(idx[d]);
  return ::testing::AssertionFailure() << "first mismatch at [" << at << "] (b, h, i, d): got " << got[n]
                                       << ", want " << want[n] << ", tolerance " << tol;
}

/// Whether this host runs AMX tiles (and the OS lets this process).
inline bool hostRunsAmx() {
  Expected<std::unique_ptr<llvm::TargetMachine>> host = createTargetMachine("host");
  return host && hasBf16Dot(**host) && hasAmxBf16(**host) && requestAmxTiles();
}

/// Runs `kernel` (kernel `name` of `text`) and the reference on `args`;
/// expects equal o (and lse when the kernel returns it). Returns o's largest
/// error against max(1, max |o|) over the elements the reference has finite
/// (infinity where either run failed).
inline double expectKernelMatchesReference(const Kernel &kernel, const std::string &text, const std::string &name,
                                           const ArgumentMap &args, const InvokeOptions &options = {}) {
  CheckedSpec spec = parseAndCheck("test.attn", text);
  EXPECT_TRUE(spec.ok);
  if (!spec.ok)
    return INFINITY;
  const AttentionSpec *found = spec.module.find(name);
  EXPECT_TRUE(found) << "no kernel '" << name << "' in the spec";
  if (!found)
    return INFINITY;
  const AttentionSpec &k = *found;
  Expected<ReferenceOutput> ref = runReference(k, args);
  EXPECT_TRUE(ref) << ref.error();
  Expected<ReferenceOutput> got = runOnHost(kernel, args, k.returnLse, options);
  EXPECT_TRUE(got) << got.error();
  if (!ref || !got)
    return INFINITY;
  EXPECT_TRUE(matches(got->o, ref->o, ref->oShape, tolerance(k, ref->o))) << "o of " << name;
  if (k.returnLse) {
    EXPECT_TRUE(matches(got->lse, ref->lse, ref->lseShape, tolerance(k, ref->lse)))
        << "lse of " << name;
  }
  double scale = 1, worst = 0;
  for (double x : ref->o)
    if (std::isfinite(x))
      scale = std::max(scale, std::fabs(x));
  for (size_t n = 0; n < ref->o.size(); ++n)
    if (std::isfinite(ref->o[n]))
      worst = std::max(worst, std::fabs(got->o[n] - ref->o[n]) / scale);
  return worst;
}

/// The same for the kernel named `name` of `text`, compiled once.
inline void expectMatchesReference(const std::string &text, const std::string &name,
                                   const ArgumentMap &args, const InvokeOptions &options) {
  expectKernelMatchesReference(compiled(text, name), text, name, args, options);
}

inline void expectMatchesReference(const std::string &text, const std::string &name,
                                   const ArgumentMap &args, unsigned threads = 0) {
  InvokeOptions options;
  options.threads = threads;
  expectMatchesReference(text, name, args, options);
}

} // namespace attn::test

#endif // ATTN_TESTS_E2E_E2ETESTUTIL_H
