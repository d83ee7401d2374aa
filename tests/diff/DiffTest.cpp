//===- DiffTest.cpp - attn-difftest: random specs, kernel vs reference -----===//
//
//   attn-difftest [--cases N] [--seed S | --seed random] [--out DIR] [--print]
//                 [--target T]   (host by default; a target this host cannot run: exit 0, skipped)
//                 [--precision P]      (highest, high or fma: how f32 kernels multiply where the target
//                                       has AMX tiles; highest: bf16x6, high: bf16x3)
//
// Case n uses seed S + n: it generates a random valid spec with inputs
// (SpecGenerator.h), checks it, compiles it with the CPU backend, runs it,
// and compares o (and lse) with the double-precision reference at DESIGN.md's
// tolerance. Every failure is reported with its seed (rerun one case with
// `--seed SEED --cases 1`) and its spec is written to DIR. Exit status 1 when
// any case fails.
//
//===----------------------------------------------------------------------===//
#include "SpecGenerator.h"

#include "compiler/Frontend/Sema.h"
#include "compiler/JIT/HostRun.h"
#include "compiler/Reference/Interpreter.h"
#include "compiler/Reference/Tolerance.h"
#include "compiler/Target/CodeGen.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

using namespace attn;
using attn::firstMismatch;
using attn::tolerance;

namespace {

struct Options {
  uint64_t seed = 1;
  int64_t cases = 100;
  std::string outDir = ".";
  bool print = false; // print every case's spec
  std::string target = "host";
  Precision precision = Precision::Highest; // --precision
};

/// Empty when equal within `tol`, else where and how they differ.
std::string compare(const std::vector<double> &got, const std::vector<double> &want, double tol) {
  if (got.size() != want.size())
    return "size " + std::to_string(got.size()) + " != " + std::to_string(want.size());
  int64_t n = firstMismatch(got, want, tol);
  if (n < 0)
    return "";
  char buf[160];
  std::snprintf(buf, sizeof buf, "element %lld: got %.9g, want %.9g (tolerance %.3g)", static_cast<long long>(n),
                got[n], want[n], tol);
  return buf;
}

int agreedErrors = 0; // cases where both sides reported the same bad read
int amxKernels = 0;   // kernels compiled for AMX tiles (usesAmx)
int splitKernels = 0; // of those, f32 kernels as bf16 parts (splitsF32)

/// Runs one case; empty on success, else what went wrong.
std::string runCase(const diff::GeneratedCase &c, const Compiler &compiler) {
  CheckedSpec spec = parseAndCheck(c.name + ".attn", c.text);
  if (!spec.ok) {
    std::ostringstream diags;
    spec.diags->print(diags);
    return "the generated spec does not check:\n" + diags.str();
  }
  const AttentionSpec &k = *spec.module.find(c.name);
  ArgumentMap args = c.args;
  for (const InputDecl &in : k.inputs)
    for (double &x : args.at(in.name).data)
      x = roundToElemType(x, in.type);

  Expected<ReferenceOutput> ref = runReference(k, args);
  if (!ref && !c.badIndices)
    return "the reference failed: " + ref.error();
  Expected<Kernel> kernel = compiler.compile(c.text, c.name, c.name + ".attn");
  if (!kernel)
    return "compile failed: " + kernel.error();
  amxKernels += usesAmx(kernel->signature());
  splitKernels += splitsF32(kernel->signature());
  InvokeOptions options;
  options.threads = c.threads;
  options.keySplits = c.keySplits;
  options.qBlockRows = c.qBlockRows;
  options.packing = c.packing;
  Expected<ReferenceOutput> got = runOnHost(*kernel, args, k.returnLse, options);
  if (!ref) { // a bad index the reference evaluates: the kernel must report one too
    if (got)
      return "the reference failed (" + ref.error() + ") but the kernel succeeded";
    if (got.error().find("out of range") == std::string::npos)
      return "the kernel failed otherwise than the reference: " + got.error();
    ++agreedErrors;
    return "";
  }
  if (!got)
    return "the kernel failed: " + got.error();
  std::string bad = compare(got->o, ref->o, tolerance(k, ref->o));
  if (!bad.empty())
    return "o differs: " + bad;
  if (k.returnLse) {
    bad = compare(got->lse, ref->lse, tolerance(k, ref->lse));
    if (!bad.empty())
      return "lse differs: " + bad;
  }
  return "";
}

bool parseArgs(int argc, char **argv, Options &opts) {
  for (int a = 1; a < argc; ++a) {
    std::string arg = argv[a];
    auto value = [&]() -> const char * { return a + 1 < argc ? argv[++a] : nullptr; };
    const char *v = nullptr;
    if (arg == "--seed" && (v = value())) {
      if (std::string(v) == "random")
        opts.seed = std::random_device()() % 1000000000u;
      else
        opts.seed = std::strtoull(v, nullptr, 10);
    } else if (arg == "--cases" && (v = value())) {
      opts.cases = std::strtoll(v, nullptr, 10);
    } else if (arg == "--print") {
      opts.print = true;
    } else if (arg == "--out" && (v = value())) {
      opts.outDir = v;
    } else if (arg == "--target" && (v = value())) {
      opts.target = v;
    } else if (arg == "--precision" && (v = value()) && parsePrecision(v)) {
      opts.precision = *parsePrecision(v);
    } else {
      std::fprintf(stderr, "usage: attn-difftest [--cases N] [--seed S|random] [--out DIR] [--print] [--target T] "
                           "[--precision highest|high|fma]\n");
      return false;
    }
  }
  return opts.cases >= 0;
}

} // namespace

int main(int argc, char **argv) {
  Options opts;
  if (!parseArgs(argc, argv, opts))
    return 2;
  // Other targets check the code paths the host does not take (8-wide
  // vectors, bf16 without vdpbf16ps or AMX) where the host can run them.
  if (!hostRuns(opts.target)) {
    std::printf("attn-difftest: skipped: this host cannot run %s code\n", opts.target.c_str());
    return 0;
  }
  CompileOptions compileOptions;
  compileOptions.target = opts.target;
  compileOptions.schedule.precision = opts.precision;
  Compiler compiler(compileOptions);
  std::map<std::string, int> byKind;
  int failures = 0, gqa = 0, half = 0, cross = 0;
  auto start = std::chrono::steady_clock::now();
  std::printf("attn-difftest: %lld cases from seed %llu for %s\n", static_cast<long long>(opts.cases),
              static_cast<unsigned long long>(opts.seed), opts.target.c_str());
  for (int64_t n = 0; n < opts.cases; ++n) {
    uint64_t seed = opts.seed + static_cast<uint64_t>(n);
    diff::GeneratedCase c = diff::generateCase(seed);
    std::string kind = c.summary.substr(0, c.summary.find_first_of("(+ "));
    ++byKind[kind];
    gqa += c.args.at("q").shape[1] != c.args.at("k").shape[1];
    half += c.summary.find(" f32 ") == std::string::npos;
    cross += c.args.at("q").shape[2] != c.args.at("k").shape[2];
    if (opts.print)
      std::printf("-- seed %llu: %s\n%s", static_cast<unsigned long long>(seed), c.summary.c_str(),
                  c.text.c_str());
    std::string error = runCase(c, compiler);
    if (error.empty())
      continue;
    ++failures;
    std::string path = opts.outDir + "/" + c.name + ".attn";
    std::ofstream(path) << c.text;
    std::printf("FAIL seed %llu (%s): %s\n  spec: %s\n  rerun: attn-difftest --seed %llu --cases 1\n%s",
                static_cast<unsigned long long>(seed), c.summary.c_str(), error.c_str(), path.c_str(),
                static_cast<unsigned long long>(seed), c.text.c_str());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("attn-difftest: %lld cases (", static_cast<long long>(opts.cases));
  bool first = true;
  for (const auto &[kind, count] : byKind) {
    std::printf("%s%s %d", first ? "" : ", ", kind.c_str(), count);
    first = false;
  }
  std::printf("; grouped heads %d, bf16/f16 %d, on AMX tiles %d (f32 as bf16 parts %d), cross %d; %d with an "
              "out-of-range read both sides reported) in %.1f s: %d failed\n",
              gqa, half, amxKernels, splitKernels, cross, agreedErrors, secs, failures);
  return failures == 0 ? 0 : 1;
}
