//===- BenchCommand.cpp - attnc bench: time a kernel -----------------------===//
//
//   attnc bench FILE [--kernel NAME] --size B=1,L=4096 [--threads N] [--reps N]
//
// Prints min and median time over repetitions, GFLOP/s counting only the
// unmasked work (and the dense count), and the fraction of this machine's
// FMA peak, measured here by a JIT-compiled FMA loop.
//
//===----------------------------------------------------------------------===//
#include "compiler/tools/attnc/Commands.h"

#include "compiler/JIT/HostRun.h"
#include "compiler/Reference/RandomInputs.h"
#include "compiler/Reference/Work.h"
#include "compiler/Target/PeakFlops.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

namespace attn {

std::optional<std::map<std::string, int64_t>> sizedDims(const Options &opts, const AttentionSpec &kernel) {
  std::map<std::string, int64_t> dims = chooseDims(kernel, InputSizes{});
  for (const auto &[name, size] : opts.sizes) {
    if (!dims.count(name)) {
      std::string names;
      for (const auto &[n, _] : dims)
        names += (names.empty() ? "" : ", ") + n;
      std::cerr << "attnc: error: --size names '" << name << "', which is not a named dimension of '"
                << kernel.name << "' (" << names << ")\n";
      return std::nullopt;
    }
    dims[name] = size;
  }
  return dims;
}

Expected<std::vector<double>> timeCalls(const Kernel &compiled, const ArgumentMap &args, const Options &opts) {
  // Typed buffers once; the timed loop is the kernel call alone.
  Expected<HostCall> call = prepareCall(compiled, args);
  if (!call)
    return call.takeError();
  InvokeOptions iopts;
  iopts.threads = static_cast<unsigned>(opts.threads);
  std::vector<double> times;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < std::max(1, opts.reps) || std::chrono::steady_clock::now() - start <
                                                     std::chrono::milliseconds(300); ++r) {
    auto t0 = std::chrono::steady_clock::now();
    std::string err = call->run(compiled, false, iopts);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!err.empty())
      return Error{err};
    if (r > 1000)
      break;
  }
  std::sort(times.begin(), times.end());
  return times;
}

int runBench(const Options &opts, CheckedSpec &spec) {
  const AttentionSpec *kernel = selectKernel(opts, spec.module);
  if (!kernel)
    return 1;
  std::optional<std::map<std::string, int64_t>> dims = sizedDims(opts, *kernel);
  if (!dims)
    return 1;
  ArgumentMap args = makeInputs(*kernel, *dims, 1);
  Expected<Kernel> compiled = compileForOptions(opts, *kernel);
  if (!compiled) {
    std::cerr << "attnc: error: " << compiled.error() << "\n";
    return 1;
  }
  // The bf16 dot peak only for a kernel that is held to it (below).
  Expected<PeakFlops> peak = measurePeakFlops(opts.threads, usesBf16Dot(compiled->signature()));
  if (!peak) {
    std::cerr << "attnc: error: measuring the FMA peak: " << peak.error() << "\n";
    return 1;
  }
  Expected<double> density = maskDensity(*kernel, args);
  if (!density) {
    std::cerr << "attnc: error: " << density.error() << "\n";
    return 1;
  }
  const KernelSignature &sig = compiled->signature();
  Expected<std::vector<double>> timed = timeCalls(*compiled, args, opts);
  if (!timed) {
    std::cerr << "attnc: error: " << timed.error() << "\n";
    return 1;
  }
  const std::vector<double> &times = *timed;
  const auto &q = args.at("q").shape, &k = args.at("k").shape, &v = args.at("v").shape;
  double minMs = times.front(), medMs = times[times.size() / 2];
  Work counted = attentionWork(*kernel, args, *density);
  double dense = counted.denseGflop, work = counted.gflop;
  unsigned threads = opts.threads ? opts.threads : peak->threads;
  PeakFlops::Held held = peak->forKernel(sig, threads);
  double peakGflops = held.gflops;
  fmt::print("kernel {} ({}{}): B={} H={}/{} Lq={} Lk={} D={} Dv={}, threads {}\n", kernel->name,
             dtypeName(sig.inputs[0].dtype), bf16Parts(sig) == 2 ? ", precision high: bf16x3 on AMX tiles"
             : bf16Parts(sig) == 3 ? ", bf16x6 on AMX tiles"
                                   : "", q[0],
             q[1], k[1], q[2], k[2], q[3], v[3], threads);
  fmt::print("  time       min {:.3f} ms, median {:.3f} ms over {} runs\n", minMs, medMs, times.size());
  fmt::print("  work       {:.3f} GFLOP unmasked ({:.1f}% of the dense {:.3f} GFLOP)\n", work,
             100 * *density, dense);
  fmt::print("  rate       {:.1f} GFLOP/s unmasked, {:.1f} GFLOP/s dense-equivalent\n", work / (minMs / 1e3),
             dense / (minMs / 1e3));
  fmt::print("  peak       {:.1f} GFLOP/s {} on {} thread{} (measured, {}-wide vectors)\n", peakGflops,
             held.what, threads, threads == 1 ? "" : "s", peak->vectorWidth);
  fmt::print("  fraction   {:.1f}% of peak\n", 100 * work / (minMs / 1e3) / peakGflops);
  fmt::print("  compile    {:.1f} ms{}{}\n", compiled->compileMillis(), compiled->fromCache() ? " (cached)" : "",
             compiled->tunedSchedule() ? fmt::format(", tuned schedule (blockQ {})", sig.schedule.blockQ) : "");
  return 0;
}

} // namespace attn
