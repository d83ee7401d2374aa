//===- TuneCommand.cpp - attnc tune: choose a schedule by measuring --------===//
//
//   attnc tune FILE [--kernel NAME] --size B=1,L=4096 [--threads N] [--reps N]
//              [--target T] [--cache-dir DIR]
//
// Compiles the kernel with each candidate schedule, checks each against the
// reference at a small size, times it at the given sizes, and stores the
// fastest in the cache as the kernel's tuned schedule: later compiles of the
// same spec by this compiler for this target (the JIT, attnc run and bench)
// use it. The candidates are the q block sizes of the tiled path (rows per
// work item, all of whose tiles share each K/V block). They are timed in
// rounds, each candidate once per round, so a machine whose speed drifts
// during the sweep (a VM's neighbours: 10-30% over minutes) favours none of
// them; timed one after the other, the last ones won on a machine that was
// speeding up.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/SpecSignature.h"
#include "compiler/tools/attnc/Commands.h"

#include "compiler/JIT/HostRun.h"
#include "compiler/Reference/Interpreter.h"
#include "compiler/Reference/Tolerance.h"

#include <fmt/core.h>

#include <algorithm>
#include <iostream>

namespace attn {

namespace {

constexpr int64_t kCandidateBlockQ[] = {16, 32, 64, 128, 256, 512};
/// Rounds of timing: --reps calls per candidate in all, split among them.
constexpr int kRounds = 3;

/// The kernel's output at a small size (odd lengths) against the reference.
std::string checkCandidate(const Kernel &compiled, const AttentionSpec &kernel) {
  ArgumentMap small = makeInputs(kernel, chooseDims(kernel, InputSizes{}), 7);
  Expected<ReferenceOutput> want = runReference(kernel, small);
  if (!want)
    return want.error();
  Expected<ReferenceOutput> got = runOnHost(compiled, small, false, InvokeOptions{});
  if (!got)
    return got.error();
  if (firstMismatch(got->o, want->o, tolerance(kernel, want->o)) >= 0)
    return "its output differs from the reference";
  return {};
}

} // namespace

int runTune(const Options &opts, CheckedSpec &spec) {
  const AttentionSpec *kernel = selectKernel(opts, spec.module);
  if (!kernel)
    return 1;
  if (opts.noCache)
    return fail("tune stores its choice in the kernel cache; --no-cache leaves it nowhere to go");
  std::optional<std::map<std::string, int64_t>> dims = sizedDims(opts, *kernel);
  if (!dims)
    return 1;
  ArgumentMap args = makeInputs(*kernel, *dims, 1);
  std::string text = specText(opts);
  CompileOptions base = compileOptionsFor(opts);

  fmt::print("tuning {} at", kernel->name);
  for (const auto &[name, size] : *dims)
    fmt::print(" {}={}", name, size);
  fmt::print(", threads {} (candidates alternating, {} rounds)\n",
             opts.threads ? std::to_string(opts.threads) : std::string("all"), kRounds);
  struct Candidate {
    Schedule schedule;
    Kernel compiled;
    std::vector<double> times;
  };
  std::vector<Candidate> candidates;
  for (int64_t blockQ : kCandidateBlockQ) {
    CompileOptions options = base;
    options.schedule.blockQ = blockQ;
    Expected<Kernel> compiled = Compiler(options).compile(text, kernel->name, opts.file);
    if (!compiled)
      return fail(compiled.error());
    if (std::string bad = checkCandidate(*compiled, *kernel); !bad.empty())
      return fail(fmt::format("blockQ {}: {}", blockQ, bad));
    candidates.push_back({options.schedule, std::move(*compiled), {}});
  }
  Options perRound = opts;
  perRound.reps = std::max(1, (opts.reps + kRounds - 1) / kRounds);
  for (int round = 0; round < kRounds; ++round)
    for (Candidate &c : candidates) {
      Expected<std::vector<double>> times = timeCalls(c.compiled, args, perRound);
      if (!times)
        return fail(times.error());
      c.times.insert(c.times.end(), times->begin(), times->end());
    }
  Schedule best = nativeSchedule();
  double bestMs = -1, defaultMs = -1;
  for (Candidate &c : candidates) {
    std::sort(c.times.begin(), c.times.end());
    double minMs = c.times.front(), medMs = c.times[c.times.size() / 2];
    fmt::print("  blockQ {:>4}  min {:9.3f} ms  median {:9.3f} ms\n", c.schedule.blockQ, minMs, medMs);
    if (c.schedule.blockQ == defaultBlockQ(*kernel))
      defaultMs = minMs;
    if (bestMs < 0 || minMs < bestMs) {
      bestMs = minMs;
      best = c.schedule;
    }
  }
  Compiler compiler(base);
  if (!compiler.storeTunedSchedule(text, kernel->name, best))
    return fail("cannot store the tuned schedule in '" + compiler.cacheDir() + "'");
  fmt::print("chose blockQ {} ({:.2f}x the default's time); stored in {}: compiles of this spec use it\n",
             best.blockQ, defaultMs > 0 ? bestMs / defaultMs : 1.0, compiler.cacheDir());
  return 0;
}

} // namespace attn
