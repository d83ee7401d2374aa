//===- attn-bench.cpp - The benchmark behind `make bench` ------------------===//
//
// In one run on this machine: the fp32 FMA peak (1 and all threads) and the
// memory bandwidth, measured here; every kernel of the suite JIT-compiled,
// checked against the double-precision reference (the same kernel at a
// smaller size), then timed; the naive unfused baseline at the same shape.
// Prints a table and writes it as markdown and CSV (for the plot).
//
//   attn-bench [--out DIR] [--quick]
//
//===----------------------------------------------------------------------===//
#include "Baselines.h"

#include "compiler/Frontend/Sema.h"
#include "compiler/JIT/HostRun.h"
#include "compiler/Reference/RandomInputs.h"
#include "compiler/Target/PeakFlops.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

using namespace attn;

namespace {

struct Case {
  std::string name, spec;
  std::map<std::string, int64_t> dims, checkDims;
  bool sweep = false;      // part of the sequence-length sweep of the plot
  bool oneThread = true;   // also timed on one thread
};

std::string qkv(const std::string &type, int heads, int kvHeads, int d, const std::string &lq = "L",
                const std::string &lk = "L") {
  auto t = [&](int h, const std::string &l) {
    return type + "[B, " + std::to_string(h) + ", " + l + ", " + std::to_string(d) + "]";
  };
  return "  q: " + t(heads, lq) + "\n  k: " + t(kvHeads, lk) + "\n  v: " + t(kvHeads, lk) + "\n";
}

std::string attention(const std::string &name, const std::string &body) {
  return "attention " + name + " {\n" + body + "}\n";
}

std::vector<Case> suite(bool quick) {
  int64_t s = quick ? 4 : 1; // --quick divides sequence lengths
  std::map<std::string, int64_t> small = {{"B", 1}, {"L", 77}, {"M", 93}};
  auto dims = [&](int64_t b, int64_t l) { return std::map<std::string, int64_t>{{"B", b}, {"L", l / s}}; };
  std::vector<Case> cases = {
      {"dense D=128", attention("dense128", qkv("f32", 16, 16, 128)), dims(1, 2048), small, true},
      {"dense D=64", attention("dense64", qkv("f32", 8, 8, 64)), dims(1, 4096), small},
      {"causal D=128", attention("causal128", qkv("f32", 16, 16, 128) + "  mask: j <= i\n"), dims(1, 2048), small, true},
      {"causal D=64", attention("causal64", qkv("f32", 8, 8, 64) + "  mask: j <= i\n"), dims(1, 4096), small},
      {"GQA 32:8 causal", attention("gqa", qkv("f32", 32, 8, 128) + "  mask: j <= i\n"), dims(1, 4096), small},
      {"window 256 L=4k", attention("win4k", qkv("f32", 16, 16, 128) + "  mask: j <= i && i - j < 256\n"),
       dims(1, 4096), small},
      {"window 256 L=16k", attention("win16k", qkv("f32", 16, 16, 128) + "  mask: j <= i && i - j < 256\n"),
       dims(1, 16384), small},
      {"document (4 docs)", attention("doc", qkv("f32", 16, 16, 128) + "  doc: i32[B, L]\n  mask: j <= i && doc[b, i] == doc[b, j]\n"),
       dims(1, 2048), small},
      {"ALiBi + causal", attention("alibi", qkv("f32", 16, 16, 128) + "  slopes: f32[16]\n  score: s - slopes[h] * (i - j)\n  mask: j <= i\n"),
       dims(1, 2048), small},
      {"softcap", attention("softcap", qkv("f32", 16, 16, 128) + "  score: 30 * tanh(s / 30)\n"), dims(1, 2048), small},
      {"top-k(32) causal", attention("topk", qkv("f32", 16, 16, 128) + "  mask: j <= i\n  weights: topk(32)\n"),
       dims(1, 2048), small},
      {"argmax", attention("argmax", qkv("f32", 16, 16, 128) + "  weights: argmax\n"), dims(1, 2048), small},
      {"decode Lk=4k", attention("decode4k", qkv("f32", 32, 8, 128, "1", "M")), {{"B", 8}, {"M", 4096 / s}},
       {{"B", 2}, {"M", 93}}},
      {"decode Lk=32k", attention("decode32k", qkv("f32", 32, 8, 128, "1", "M")), {{"B", 8}, {"M", 32768 / s}},
       {{"B", 2}, {"M", 93}}},
      {"bf16 dense", attention("bf16dense", qkv("bf16", 16, 16, 128)), dims(1, 2048), small},
      {"bf16 causal", attention("bf16causal", qkv("bf16", 16, 16, 128) + "  mask: j <= i\n"), dims(1, 2048), small},
  };
  if (!quick)
    for (int64_t l : {512, 1024, 4096})
      for (const char *kind : {"dense", "causal"}) {
        std::string mask = std::string(kind) == "causal" ? "  mask: j <= i\n" : "";
        cases.push_back({std::string(kind) + " D=128", attention(std::string(kind) + "sweep", qkv("f32", 16, 16, 128) + mask),
                         dims(1, l), small, true, false});
      }
  return cases;
}

struct Result {
  std::string name, dtype, shape, check;
  unsigned threads = 0;
  int64_t seq = 0;
  double minMs = 0, medMs = 0, gflop = 0, denseGflop = 0, peak = 0, naiveMs = 0, onednnMs = 0, bytes = 0;
  double coldCompileMs = 0, cachedLoadMs = 0;
  bool sweep = false;
};

double millis(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// The kernel at the case's check size against the reference.
std::string check(const Kernel &kernel, const AttentionSpec &spec, const Case &c) {
  std::map<std::string, int64_t> dims = chooseDims(spec, InputSizes{});
  for (auto &[n, v] : c.checkDims)
    if (dims.count(n))
      dims[n] = v;
  ArgumentMap args = makeInputs(spec, dims, 3);
  Expected<ReferenceOutput> ref = runReference(spec, args);
  Expected<ReferenceOutput> got = runOnHost(kernel, args, false);
  if (!ref || !got)
    return "error: " + (!ref ? ref.error() : got.error());
  double peak = 1, err = 0;
  for (double x : ref->o)
    peak = std::max(peak, std::fabs(x));
  for (size_t n = 0; n < ref->o.size(); ++n)
    err = std::max(err, std::fabs(got->o[n] - ref->o[n]));
  double tol = spec.q().type == ElemType::F32 ? 1e-4 : 2e-2;
  return err / peak <= tol ? fmt::format("ok ({:.0e})", err / peak) : fmt::format("MISMATCH ({:.1e})", err / peak);
}

Result runCase(const Case &c, unsigned threads, const PeakFlops &peak) {
  Result r;
  r.name = c.name;
  r.threads = threads;
  r.sweep = c.sweep;
  CheckedSpec spec = parseAndCheck(c.name + ".attn", c.spec);
  const AttentionSpec &k = spec.module.kernels.at(0);
  r.dtype = elemTypeName(k.q().type);
  // JIT cost: a compile that skips the cache, then one that loads from it.
  CompileOptions cold;
  cold.useCache = false;
  auto t0 = std::chrono::steady_clock::now();
  Expected<Kernel> fresh = Compiler(cold).compile(c.spec, k.name, c.name + ".attn");
  r.coldCompileMs = millis(t0);
  if (fresh)
    (void)Compiler().compile(c.spec, k.name, c.name + ".attn"); // make sure the cache has it
  // The best of three loads, as for the kernels' times (one run's first load
  // once took 34 ms, the others under 1 ms: the VM's disk).
  Expected<Kernel> kernel = Error{"not loaded"};
  for (int load = 0; load < 3; ++load) {
    t0 = std::chrono::steady_clock::now();
    kernel = Compiler().compile(c.spec, k.name, c.name + ".attn");
    double ms = millis(t0);
    r.cachedLoadMs = load ? std::min(r.cachedLoadMs, ms) : ms;
  }
  if (!kernel) {
    r.check = "compile error";
    return r;
  }
  r.check = check(*kernel, k, c);
  std::map<std::string, int64_t> dims = chooseDims(k, InputSizes{});
  for (auto &[n, v] : c.dims)
    if (dims.count(n))
      dims[n] = v;
  ArgumentMap args = makeInputs(k, dims, 1);
  const auto &q = args.at("q").shape, &kk = args.at("k").shape, &v = args.at("v").shape;
  r.seq = q[2] > 1 ? q[2] : kk[2];
  r.shape = fmt::format("B={} H={}:{} L={}{} D={}", q[0], q[1], kk[1], q[2], q[2] == kk[2] ? "" : "/" + std::to_string(kk[2]),
                        q[3]);
  Expected<double> measured = maskDensity(k, args, 64, false);
  double density = measured ? *measured : 1.0;
  // Q.K^T over the unmasked pairs, then the weights times v: every unmasked
  // key for softmax and sigmoid, K keys per row for topk(K), none for argmax
  // (a copy of one v row).
  double rowsTotal = double(q[0]) * q[1] * q[2], qk = 2.0 * rowsTotal * kk[2] * q[3] / 1e9;
  double pv = k.weights == WeightsKind::Argmax ? 0
              : k.weights == WeightsKind::TopK  ? 2.0 * rowsTotal * std::min<int64_t>(k.topk, kk[2]) * v[3] / 1e9
                                                 : 2.0 * rowsTotal * kk[2] * v[3] / 1e9;
  bool selects = k.weights == WeightsKind::Argmax || k.weights == WeightsKind::TopK;
  r.denseGflop = qk + (selects ? pv : 2.0 * rowsTotal * kk[2] * v[3] / 1e9);
  r.gflop = qk * density + (selects ? pv : pv * density);
  r.bytes = 2.0 * kk[0] * kk[1] * kk[2] * kk[3] * (r.dtype == "f32" ? 4 : 2);

  Expected<HostCall> call = prepareCall(*kernel, args);
  if (!call) {
    r.check = "error: " + call.error();
    return r;
  }
  InvokeOptions options;
  options.threads = threads;
  call->run(*kernel, false, options); // warm up: caches, packing buffers
  std::vector<double> times;
  auto start = std::chrono::steady_clock::now();
  while (times.size() < 3 || (millis(start) < 1000 && times.size() < 20)) {
    auto t0 = std::chrono::steady_clock::now();
    std::string err = call->run(*kernel, false, options);
    times.push_back(millis(t0));
    if (!err.empty()) {
      r.check = "run error: " + err;
      return r;
    }
  }
  std::sort(times.begin(), times.end());
  r.minMs = times.front();
  r.medMs = times[times.size() / 2];
  // bf16 rows against the bf16 dot peak where the host has vdpbf16ps.
  if (r.dtype == "bf16" && peak.bf16AllThreads > 0)
    r.peak = threads == 1 ? peak.bf16OneThread : peak.bf16AllThreads;
  else
    r.peak = threads == 1 ? peak.gflopsOneThread : peak.gflopsAllThreads;
  // The naive unfused baseline: one (batch, head) timed, times B x Hq,
  // divided over the threads (heads are independent).
  if (k.weights == WeightsKind::Softmax && q[2] > 1)
    r.naiveMs = 1e3 * bench::naiveUnfusedSeconds(q[2], kk[2], q[3], v[3]) * q[0] * q[1] / threads;
  // oneDNN where it computes the same thing (no mask or causal, no score
  // change) and S fits in 3 GB.
  bool plainMask = !k.mask.expr || c.spec.find("mask: j <= i\n") != std::string::npos;
  if (k.weights == WeightsKind::Softmax && !k.score.expr && plainMask && q[2] > 1 &&
      q[0] * q[1] * q[2] * kk[2] * 4 <= (int64_t(3) << 30)) {
    double s = bench::oneDnnUnfusedSeconds(q[0] * q[1], q[2], kk[2], q[3], v[3], k.mask.expr != nullptr, threads);
    r.onednnMs = s > 0 ? 1e3 * s : 0;
  }
  return r;
}

/// Issue 4's targets, from the all-threads rows of this run.
std::vector<std::string> targetLines(const std::vector<Result> &results, unsigned cores, double bandwidth) {
  // The suite's row of that name (the sequence-length sweep's extra rows
  // come after it).
  auto find = [&](const std::string &name) -> const Result * {
    for (const Result &r : results)
      if (r.name == name && r.threads == cores)
        return r.minMs > 0 ? &r : nullptr;
    return nullptr;
  };
  auto rate = [](const Result *r) { return r->gflop / (r->minMs / 1e3); };
  auto mark = [](bool met) { return met ? "met" : "NOT met"; };
  std::vector<std::string> lines;
  const Result *dense = find("dense D=128"), *dense64 = find("dense D=64"), *causal = find("causal D=128"),
               *causal64 = find("causal D=64"), *window = find("window 256 L=16k"), *topk = find("top-k(32) causal"),
               *bf16 = find("bf16 dense");
  if (dense)
    lines.push_back(fmt::format("1. dense fp32 D=128: {:.1f}% of peak (target >= 90%): {}", 100 * rate(dense) / dense->peak,
                                mark(rate(dense) >= 0.9 * dense->peak)));
  if (dense64)
    lines.push_back(fmt::format("2. dense fp32 D=64: {:.1f}% of peak (>= 85%): {}", 100 * rate(dense64) / dense64->peak,
                                mark(rate(dense64) >= 0.85 * dense64->peak)));
  if (dense && causal)
    lines.push_back(fmt::format("3. causal / dense time at D=128: {:.2f} (<= 0.55): {}", causal->minMs / dense->minMs,
                                mark(causal->minMs <= 0.55 * dense->minMs)));
  if (dense && window)
    lines.push_back(fmt::format("4. window 256 L=16k: {:.0f}% of the dense rate (>= 75%): {}", 100 * rate(window) / rate(dense),
                                mark(rate(window) >= 0.75 * rate(dense))));
  if (causal && topk)
    lines.push_back(fmt::format("5. top-k(32) causal / causal time: {:.2f} (<= 1.5): {}", topk->minMs / causal->minMs,
                                mark(topk->minMs <= 1.5 * causal->minMs)));
  for (const char *name : {"decode Lk=4k", "decode Lk=32k"})
    if (const Result *d = find(name)) {
      double share = d->bytes / (d->minMs / 1e3) / bandwidth;
      lines.push_back(fmt::format("6. {}: K+V at {:.0f}% of the measured bandwidth (>= 80%): {}", name, 100 * share,
                                  mark(share >= 0.8)));
    }
  if (dense && bf16)
    lines.push_back(fmt::format("7. bf16 dense / fp32 dense GFLOP/s: {:.2f}x (>= 1.7x): {}", rate(bf16) / rate(dense),
                                mark(rate(bf16) >= 1.7 * rate(dense))));
  for (auto [r, want] : {std::pair{dense, 1.3}, {dense64, 1.3}, {causal, 2.5}, {causal64, 2.5}})
    if (r && r->onednnMs > 0)
      lines.push_back(fmt::format("8. {} vs oneDNN unfused: {:.2f}x (>= {}x): {}", r->name, r->onednnMs / r->minMs, want,
                                  mark(r->onednnMs / r->minMs >= want)));
  const Result *slowest = nullptr;
  double worstCached = 0;
  for (const Result &r : results) {
    if (!slowest || r.coldCompileMs > slowest->coldCompileMs)
      slowest = &r;
    worstCached = std::max(worstCached, r.cachedLoadMs);
  }
  if (slowest)
    lines.push_back(fmt::format("9. JIT: slowest cold compile {:.0f} ms ({}; <= 300), slowest cached load {:.1f} ms "
                                "(<= 5): {}",
                                slowest->coldCompileMs, slowest->name, worstCached,
                                mark(slowest->coldCompileMs <= 300 && worstCached <= 5)));
  lines.push_back("8. PyTorch SDPA / flex_attention: not run (see README)");
  return lines;
}

} // namespace

int main(int argc, char **argv) {
  std::string out = "bench-results";
  bool quick = false;
  for (int n = 1; n < argc; ++n) {
    std::string a = argv[n];
    if (a == "--quick")
      quick = true;
    else if (a == "--out" && n + 1 < argc)
      out = argv[++n];
    else {
      std::cerr << "usage: attn-bench [--out DIR] [--quick]\n";
      return 1;
    }
  }
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  Expected<PeakFlops> peak = measurePeakFlops(cores);
  if (!peak) {
    std::cerr << "attn-bench: " << peak.error() << "\n";
    return 1;
  }
  double bw = bench::memoryBandwidth(cores);
  std::string cpu = "unknown CPU";
  {
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line))
      if (line.rfind("model name", 0) == 0) {
        cpu = line.substr(line.find(':') + 2);
        break;
      }
  }
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  std::string bf16Peak = peak->bf16AllThreads > 0
                             ? fmt::format("bf16 dot (vdpbf16ps) peak {:.0f} GFLOP/s on 1 thread, {:.0f} on {}; ",
                                           peak->bf16OneThread, peak->bf16AllThreads, cores)
                             : std::string("no bf16 dot instruction; ");
  std::string machine = fmt::format("{}, {} cores, {}-wide fp32 vectors. Measured: fp32 FMA peak {:.0f} GFLOP/s on 1 "
                                    "thread, {:.0f} GFLOP/s on {}; {}memory read bandwidth {:.1f} GB/s. {}.",
                                    cpu, cores, peak->vectorWidth, peak->gflopsOneThread, peak->gflopsAllThreads,
                                    cores, bf16Peak, bw / 1e9, date);
  fmt::print("{}\n\n", machine);

  std::vector<Result> results;
  std::string header = fmt::format(
      "| {:<18} | {:>3} | {:<5} | {:<22} | {:>9} | {:>9} | {:>9} | {:>7} | {:>10} | {:>8} | {:>10} | {:>9} | {} |", "case",
      "thr", "dtype", "shape", "min ms", "median ms", "GFLOP/s", "% peak", "naive ms", "vs naive", "oneDNN ms",
      "vs oneDNN", "check");
  std::string rule = "|" + std::string(20, '-') + "|" + std::string(5, '-') + "|" + std::string(7, '-') + "|" +
                     std::string(24, '-') + "|" + std::string(11, '-') + "|" + std::string(11, '-') + "|" +
                     std::string(11, '-') + "|" + std::string(9, '-') + "|" + std::string(12, '-') + "|" +
                     std::string(10, '-') + "|" + std::string(12, '-') + "|" + std::string(11, '-') + "|---|";
  fmt::print("{}\n{}\n", header, rule);
  std::vector<std::string> rows;
  for (const Case &c : suite(quick))
    for (unsigned threads : {cores, 1u}) {
      if (threads == 1 && !c.oneThread)
        continue;
      Result r = runCase(c, threads, *peak);
      std::string extra = r.name.rfind("decode", 0) == 0
                              ? fmt::format(" (K+V {:.1f} GB/s, {:.0f}% of bandwidth)", r.bytes / (r.minMs / 1e3) / 1e9,
                                            100 * r.bytes / (r.minMs / 1e3) / bw)
                              : "";
      std::string row = fmt::format(
          "| {:<18} | {:>3} | {:<5} | {:<22} | {:>9.2f} | {:>9.2f} | {:>9.1f} | {:>6.1f}% | {:>10} | {:>8} | {:>10} | {:>9} | {}{} |",
          r.name, r.threads, r.dtype, r.shape, r.minMs, r.medMs, r.gflop / (r.minMs / 1e3),
          100 * r.gflop / (r.minMs / 1e3) / r.peak, r.naiveMs > 0 ? fmt::format("{:.1f}", r.naiveMs) : "-",
          r.naiveMs > 0 ? fmt::format("{:.1f}x", r.naiveMs / r.minMs) : "-",
          r.onednnMs > 0 ? fmt::format("{:.1f}", r.onednnMs) : "-",
          r.onednnMs > 0 ? fmt::format("{:.2f}x", r.onednnMs / r.minMs) : "-", r.check, extra);
      fmt::print("{}\n", row);
      std::fflush(stdout);
      rows.push_back(row);
      results.push_back(r);
    }

  std::filesystem::create_directories(out);
  std::ofstream md(out + "/bench.md");
  md << "attn benchmark: " << machine << "\n\nGFLOP/s counts unmasked work (top-k: Q.Kt and K keys of P.V per row; "
        "argmax: Q.Kt only); % peak is against the measured fp32 FMA "
        "peak at the same thread count (bf16 rows: the bf16 dot peak); naive: unfused S = QKt, softmax, PV in float loops; oneDNN: the same steps as oneDNN "
        "primitives (matmul with the scale as its output scale, a binary add of the causal mask, softmax, matmul), "
        "S in memory, fp32 inputs for every row.\n\n"
     << header << "\n" << rule << "\n";
  for (const std::string &row : rows)
    md << row << "\n";
  std::vector<std::string> targets = targetLines(results, cores, bw);
  fmt::print("\nTargets (issue 4), {} threads:\n", cores);
  md << "\nTargets (issue 4), " << cores << " threads, from this run:\n\n";
  for (const std::string &line : targets) {
    fmt::print("  {}\n", line);
    md << "- " << line << "\n";
  }
  std::ofstream csv(out + "/bench.csv");
  csv << "case,threads,dtype,seq,min_ms,gflops,peak_gflops,naive_ms,onednn_ms,sweep,cold_compile_ms,cached_load_ms\n";
  for (const Result &r : results)
    csv << '"' << r.name << "\"," << r.threads << "," << r.dtype << "," << r.seq << "," << r.minMs << ","
        << r.gflop / (r.minMs / 1e3) << "," << r.peak << "," << r.naiveMs << "," << r.onednnMs << "," << r.sweep
        << "," << r.coldCompileMs << "," << r.cachedLoadMs << "\n";
  fmt::print("\nwrote {}/bench.md and {}/bench.csv\n", out, out);
  bool ok = std::all_of(results.begin(), results.end(), [](const Result &r) { return r.check.rfind("ok", 0) == 0; });
  return ok ? 0 : 1;
}
