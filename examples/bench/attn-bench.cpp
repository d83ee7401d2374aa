//===- attn-bench.cpp - The benchmark behind `make bench` ------------------===//
//
// In one run on this machine: the fp32 FMA peak (1 and all threads) and the
// memory bandwidth, measured here; every kernel of the suite JIT-compiled,
// checked against the double-precision reference (the same kernel at a
// smaller size), then timed, in two rounds through the whole suite (the
// VM's speed moves for seconds to minutes at a time); the naive unfused
// baseline at the same shape (first round only: minutes for some rows).
// PyTorch's SDPA and flex_attention times come from torch_baselines.py
// (--torch), which runs on the cases this program lists (--write-cases).
// Prints a table and writes it as markdown and CSV (for the plot).
//
//   attn-bench [--out DIR] [--quick] [--torch TORCH.csv] [--only NAME,...]
//   attn-bench --write-cases CASES.tsv [--quick]
//
//===----------------------------------------------------------------------===//
#include "Baselines.h"

#include "compiler/Frontend/Sema.h"
#include "compiler/JIT/HostRun.h"
#include "compiler/Reference/RandomInputs.h"
#include "compiler/Reference/Work.h"
#include "attn/KeySplits.h"
#include "compiler/Target/CodeGen.h"
#include "compiler/Target/PeakFlops.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <tuple>

using namespace attn;

namespace {

/// What PyTorch's baselines (torch_baselines.py) need to run a case: the
/// mask or score family and its parameter; empty where PyTorch has no form
/// of the variant (top-k, argmax).
struct TorchForm {
  std::string kind; // dense, causal, window, document, alibi_causal, softcap
  int64_t param = 0; // window length, documents, softcap
};

struct Case {
  std::string name, spec;
  std::map<std::string, int64_t> dims, checkDims;
  bool sweep = false;      // part of the sequence-length sweep of the plot
  bool oneThread = true;   // also timed on one thread
  TorchForm torch{};
  // Timed cold: the caches evicted before each call (bench::evictCaches),
  // so K and V come from memory as in a model's decode step, where the
  // layers' caches together far exceed the L3; warm, a large L3 held much of
  // them between repetitions. The PyTorch baselines of the row are timed
  // the same way.
  bool cold = false;
  // A precision other than the default (Schedule::precision: high, bf16x3
  // on AMX tiles; fma, f32 FMAs), a row beside `baselineOf`, the
  // default-precision row of the same case, whose baselines (naive, oneDNN,
  // PyTorch) it shares.
  Precision precision = Precision::Highest;
  std::string baselineOf{};
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
      {"dense D=128", attention("dense128", qkv("f32", 16, 16, 128)), dims(1, 2048), small, true, true, {"dense"}},
      {"dense D=64", attention("dense64", qkv("f32", 8, 8, 64)), dims(1, 4096), small, false, true, {"dense"}},
      {"causal D=128", attention("causal128", qkv("f32", 16, 16, 128) + "  mask: j <= i\n"), dims(1, 2048), small, true, true, {"causal"}},
      {"causal D=64", attention("causal64", qkv("f32", 8, 8, 64) + "  mask: j <= i\n"), dims(1, 4096), small, false, true, {"causal"}},
      {"GQA 32:8 causal", attention("gqa", qkv("f32", 32, 8, 128) + "  mask: j <= i\n"), dims(1, 4096), small, false, true, {"causal"}},
      {"window 256 L=4k", attention("win4k", qkv("f32", 16, 16, 128) + "  mask: j <= i && i - j < 256\n"),
       dims(1, 4096), small, false, true, {"window", 256}},
      {"window 256 L=16k", attention("win16k", qkv("f32", 16, 16, 128) + "  mask: j <= i && i - j < 256\n"),
       dims(1, 16384), small, false, true, {"window", 256}},
      {"document (4 docs)", attention("doc", qkv("f32", 16, 16, 128) + "  doc: i32[B, L]\n  mask: j <= i && doc[b, i] == doc[b, j]\n"),
       dims(1, 2048), small, false, true, {"document", 4}},
      {"ALiBi + causal", attention("alibi", qkv("f32", 16, 16, 128) + "  slopes: f32[16]\n  score: s - slopes[h] * (i - j)\n  mask: j <= i\n"),
       dims(1, 2048), small, false, true, {"alibi_causal"}},
      {"softcap", attention("softcap", qkv("f32", 16, 16, 128) + "  score: 30 * tanh(s / 30)\n"), dims(1, 2048), small, false, true, {"softcap", 30}},
      {"top-k(32) causal", attention("topk", qkv("f32", 16, 16, 128) + "  mask: j <= i\n  weights: topk(32)\n"),
       dims(1, 2048), small},
      {"argmax", attention("argmax", qkv("f32", 16, 16, 128) + "  weights: argmax\n"), dims(1, 2048), small},
      // Not in the suite: sigmoid attention, unnormalized weights.
      {"sigmoid causal", attention("sigmoid", qkv("f32", 16, 16, 128) + "  mask: j <= i\n  weights: sigmoid\n"),
       dims(1, 2048), small, false, false},
      {"decode Lk=4k", attention("decode4k", qkv("f32", 32, 8, 128, "1", "M")), {{"B", 8}, {"M", 4096 / s}},
       {{"B", 2}, {"M", 93}}, false, true, {"dense"}, true},
      {"decode Lk=32k", attention("decode32k", qkv("f32", 32, 8, 128, "1", "M")), {{"B", 8}, {"M", 32768 / s}},
       {{"B", 2}, {"M", 93}}, false, true, {"dense"}, true},
      // One sequence on one kv head: a single work item unless its keys
      // are split (KeySplits.h).
      {"decode B=1 Lk=128k", attention("decode1", qkv("f32", 4, 1, 128, "1", "M")), {{"B", 1}, {"M", 131072 / s}},
       {{"B", 1}, {"M", 1000}}, false, true, {"dense"}, true},
      // Eight draft tokens verified against a long cache: 64 rows of one kv
      // head's group, one q block of the tiled path unless keys are split.
      {"verify 8 Lk=32k", attention("verify8", qkv("f32", 8, 1, 128, "8", "M") + "  mask: j <= i + (M - 8)\n"),
       {{"B", 1}, {"M", 32768 / s}}, {{"B", 1}, {"M", 1000}}, false, true},
      {"bf16 dense", attention("bf16dense", qkv("bf16", 16, 16, 128)), dims(1, 2048), small, false, true, {"dense"}},
      {"bf16 causal", attention("bf16causal", qkv("bf16", 16, 16, 128) + "  mask: j <= i\n"), dims(1, 2048), small, false, true, {"causal"}},
  };
  // Precisions high and fma where the host has AMX: the default, highest,
  // runs f32 as bf16x6 on the tiles there. Elsewhere all three are the same
  // f32 FMA kernel, and these rows would only time it again.
  bool amxHost = hostRuns("x86-64-amx") && requestAmxTiles();
  for (Precision precision : {Precision::High, Precision::Fma})
    for (const char *name : {"dense D=128", "dense D=64", "causal D=128", "causal D=64", "GQA 32:8 causal"})
      for (const Case &c : std::vector<Case>(cases))
        if (amxHost && c.name == name) {
          Case other = c;
          other.name = c.name + " " + precisionName(precision);
          other.torch = {};
          other.sweep = false;
          other.precision = precision;
          other.baselineOf = c.name;
          cases.push_back(other);
        }
  if (!quick)
    for (int64_t l : {512, 1024, 4096})
      for (const char *kind : {"dense", "causal"}) {
        std::string mask = std::string(kind) == "causal" ? "  mask: j <= i\n" : "";
        cases.push_back({std::string(kind) + " D=128", attention(std::string(kind) + "sweep", qkv("f32", 16, 16, 128) + mask),
                         dims(1, l), small, true, false, {kind}});
      }
  return cases;
}

struct Result {
  std::string name, dtype, shape, check;
  unsigned threads = 0;
  int64_t seq = 0;
  double minMs = 0, medMs = 0, gflop = 0, denseGflop = 0, peak = 0, naiveMs = 0, onednnMs = 0, bytes = 0;
  std::vector<double> times; // every timed call of every round, sorted (minMs, medMs come from them)
  double coldCompileMs = 0, cachedLoadMs = 0;
  double unsplitMs = 0; // decode: the min time with keys not split (0: the call does not split them)
  int64_t keySplits = 1; // the parts the cost model split each row's keys into
  double sdpaMs = 0, flexMs = 0; // PyTorch's, from torch_baselines.py (0: not run)
  bool sweep = false;
  std::string baselineOf; // Case::baselineOf: set for a row at another precision
  Precision precision = Precision::Highest;
  int bf16Parts = 0; // f32 split into bf16 parts on AMX tiles (bf16Parts: 2 bf16x3, 3 bf16x6)
  bool amx = false; // ran on AMX tiles (its % peak is of the AMX peak)
  bool fmaPeak = false; // held to the fp32 FMA peak (which the probes beside each row re-measure)
  double startPeak = 0; // the peak measured at the start of the run
};

/// The case's q and k shapes, from its spec and sizes (no inputs made).
std::pair<std::vector<int64_t>, std::vector<int64_t>> caseShapes(const Case &c) {
  CheckedSpec spec = parseAndCheck(c.name + ".attn", c.spec);
  const AttentionSpec &k = spec.module.kernels.at(0);
  std::map<std::string, int64_t> dims = chooseDims(k, InputSizes{});
  for (auto &[n, v] : c.dims)
    if (dims.count(n))
      dims[n] = v;
  auto shape = [&](const InputDecl &in) {
    std::vector<int64_t> s;
    for (const Dim &d : in.dims)
      s.push_back(d.isFixed ? d.size : dims.at(d.name));
    return s;
  };
  return {shape(k.q()), shape(k.k())};
}

/// One row per case and thread count that PyTorch can express, for
/// torch_baselines.py: the same shapes, in the order attn-bench runs them.
void writeTorchCases(const std::vector<Case> &cases, unsigned cores, const std::string &path) {
  std::ofstream tsv(path);
  tsv << "id\tname\tthreads\tdtype\tB\tHq\tHkv\tLq\tLk\tD\tkind\tparam\tevict_bytes\n";
  for (size_t id = 0; id < cases.size(); ++id) {
    const Case &c = cases[id];
    if (c.torch.kind.empty())
      continue;
    auto [q, k] = caseShapes(c);
    std::string dtype = c.spec.find("bf16[") != std::string::npos ? "bf16" : "f32";
    for (unsigned threads : {cores, 1u})
      if (threads == cores || c.oneThread)
        tsv << id << "\t" << c.name << "\t" << threads << "\t" << dtype << "\t" << q[0] << "\t" << q[1] << "\t"
            << k[1] << "\t" << q[2] << "\t" << k[2] << "\t" << q[3] << "\t" << c.torch.kind << "\t"
            << c.torch.param << "\t" << (c.cold ? bench::beyondCachesBytes() : 0) << "\n";
  }
}

/// torch_baselines.py's times by (case id, threads), and its notes.
struct TorchTimes {
  std::map<std::pair<size_t, unsigned>, std::pair<double, double>> ms; // (SDPA, flex)
  std::vector<std::string> notes;
  std::string version;
  bool present = false;
};

/// Splits one CSV line as Python's csv module writes it (quoted fields may
/// hold commas and doubled quotes).
std::vector<std::string> splitCsv(const std::string &line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t n = 0; n < line.size(); ++n) {
    char ch = line[n];
    if (quoted && ch == '"' && n + 1 < line.size() && line[n + 1] == '"')
      fields.back() += '"', ++n;
    else if (ch == '"')
      quoted = !quoted;
    else if (ch == ',' && !quoted)
      fields.emplace_back();
    else if (ch != '\r')
      fields.back() += ch;
  }
  return fields;
}

TorchTimes readTorchTimes(const std::string &path) {
  TorchTimes t;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line))
    return t;
  t.present = true;
  while (std::getline(in, line)) {
    std::vector<std::string> f = splitCsv(line);
    if (f.size() == 2 && f[0] == "version") {
      t.version = f[1];
      continue;
    }
    if (f.size() < 8)
      continue;
    try {
      t.ms[{std::stoul(f[0]), unsigned(std::stoul(f[2]))}] = {std::stod(f[3]), std::stod(f[5])};
    } catch (const std::exception &) {
      continue; // a malformed row: that case's columns stay "-"
    }
    if (!f[7].empty())
      t.notes.push_back(f[1] + " (" + f[2] + " thr): " + f[7]);
  }
  return t;
}

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

/// One round of a row. `again`: a later round of a row the first round
/// measured: the kernel from the cache (its cold compile and the naive
/// baseline, minutes for some rows, were the first round's), checked and
/// timed again, oneDNN too.
Result runCase(const Case &c, unsigned threads, const PeakFlops &peak, bool again = false) {
  Result r;
  r.name = c.name;
  r.threads = threads;
  r.sweep = c.sweep;
  CheckedSpec spec = parseAndCheck(c.name + ".attn", c.spec);
  const AttentionSpec &k = spec.module.kernels.at(0);
  r.dtype = elemTypeName(k.q().type);
  // JIT cost: compiles that skip the cache, then loads from it. The best
  // of three of each, as for the kernels' times: one cold compile of the
  // document kernel on the 2-core VM read 165 to 410 ms within minutes.
  CompileOptions cached;
  r.baselineOf = c.baselineOf;
  r.precision = c.precision;
  cached.schedule.precision = c.precision;
  CompileOptions cold = cached;
  cold.useCache = false;
  Expected<Kernel> fresh = Error{"not compiled"};
  std::chrono::steady_clock::time_point t0;
  for (int compile = 0; compile < (again ? 0 : 3); ++compile) {
    t0 = std::chrono::steady_clock::now();
    fresh = Compiler(cold).compile(c.spec, k.name, c.name + ".attn");
    double ms = millis(t0);
    r.coldCompileMs = compile ? std::min(r.coldCompileMs, ms) : ms;
  }
  if (fresh)
    (void)Compiler(cached).compile(c.spec, k.name, c.name + ".attn"); // make sure the cache has it
  // (One run's first load once took 34 ms, the others under 1 ms: the VM's
  // disk.)
  Expected<Kernel> kernel = Error{"not loaded"};
  for (int load = 0; load < 3; ++load) {
    t0 = std::chrono::steady_clock::now();
    kernel = Compiler(cached).compile(c.spec, k.name, c.name + ".attn");
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
  Work work = attentionWork(k, args, density);
  r.denseGflop = work.denseGflop;
  r.gflop = work.gflop;
  r.bytes = 2.0 * kk[0] * kk[1] * kk[2] * kk[3] * (r.dtype == "f32" ? 4 : 2);

  Expected<HostCall> call = prepareCall(*kernel, args);
  if (!call) {
    r.check = "error: " + call.error();
    return r;
  }
  // Sorted times of repeated calls (at least 3, up to 20 within a second
  // of calls); a cold case evicts the caches before each (not timed).
  auto timeCalls = [&](const InvokeOptions &options, std::vector<double> &times) -> std::string {
    if (std::string err = call->run(*kernel, false, options); !err.empty()) // warm up: caches, packing buffers
      return err;
    double spent = 0;
    while (times.size() < 3 || (spent < 1000 && times.size() < 20)) {
      if (c.cold)
        bench::evictCaches(threads);
      auto t0 = std::chrono::steady_clock::now();
      std::string err = call->run(*kernel, false, options);
      times.push_back(millis(t0));
      spent += times.back();
      if (!err.empty())
        return err;
    }
    std::sort(times.begin(), times.end());
    return "";
  };
  InvokeOptions options;
  options.threads = threads;
  std::vector<double> times;
  if (std::string err = timeCalls(options, times); !err.empty()) {
    r.check = "run error: " + err;
    return r;
  }
  r.times = times;
  r.minMs = times.front();
  r.medMs = times[times.size() / 2];
  // Where the cost model splits the keys, the same call unsplit.
  BoundDims bound;
  bound.batch = q[0], bound.qHeads = q[1], bound.kvHeads = kk[1], bound.qLen = q[2], bound.kvLen = kk[2];
  bool tiled = takesTiledPath(q[1] / kk[1], q[2]);
  r.keySplits = chooseKeySplits(kernel->signature(), bound, tiled, threads);
  if (r.keySplits > 1) {
    InvokeOptions unsplit = options;
    unsplit.keySplits = 1;
    std::vector<double> unsplitTimes;
    if (timeCalls(unsplit, unsplitTimes).empty())
      r.unsplitMs = unsplitTimes.front();
  }
  // bf16 rows against the peak of what multiplies them (AMX tiles, or
  // vdpbf16ps where the host has it).
  r.amx = usesAmx(kernel->signature());
  r.bf16Parts = bf16Parts(kernel->signature());
  PeakFlops::Held held = peak.forKernel(kernel->signature(), threads);
  r.peak = r.startPeak = held.gflops;
  r.fmaPeak = held.fp32Fma;
  if (!r.baselineOf.empty()) // baselines: the default-precision row's (main)
    return r;
  // The naive unfused baseline: one (batch, head) timed, times B x Hq,
  // divided over the threads (heads are independent).
  if (k.weights == WeightsKind::Softmax && q[2] > 1 && !again)
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
/// `loopShare`: the fp32 Q.Kt loop alone as a fraction of the FMA peak (0:
/// not measured), beside targets 1 and 2.
std::vector<std::string> targetLines(const std::vector<Result> &results, unsigned cores, double bandwidth,
                                     const TorchTimes &torch, double loopShare) {
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
  // The same ratio with each row's time or rate taken against the FMA
  // probe beside it (Result::peak), for a VM whose capacity moves between
  // rows; the verdict stays on the plain ratio the issue names.
  auto probed = [&](const Result *a, const Result *b, bool rates) -> std::string {
    if (!(a->peak > 0 && b->peak > 0))
      return "";
    if (rates)
      return fmt::format(" (against the FMA probe beside each row: {:.0f}%)",
                         100 * (rate(a) / a->peak) / (rate(b) / b->peak));
    return fmt::format(" (against the FMA probe beside each row: {:.2f})",
                       (a->minMs * a->peak) / (b->minMs * b->peak));
  };
  std::string loopAlone = loopShare > 0 ? fmt::format(" (the Q.Kt loop alone: {:.0f}%)", 100 * loopShare) : "";
  if (dense)
    lines.push_back(fmt::format("1. dense fp32 D=128: {:.1f}% of peak (target >= 90%): {}{}", 100 * rate(dense) / dense->peak,
                                mark(rate(dense) >= 0.9 * dense->peak), loopAlone));
  if (dense64)
    lines.push_back(fmt::format("2. dense fp32 D=64: {:.1f}% of peak (>= 85%): {}{}", 100 * rate(dense64) / dense64->peak,
                                mark(rate(dense64) >= 0.85 * dense64->peak), loopAlone));
  if (dense && causal)
    lines.push_back(fmt::format("3. causal / dense time at D=128: {:.2f} (<= 0.55): {}{}", causal->minMs / dense->minMs,
                                mark(causal->minMs <= 0.55 * dense->minMs), probed(causal, dense, false)));
  if (dense && window)
    lines.push_back(fmt::format("4. window 256 L=16k: {:.0f}% of the dense rate (>= 75%): {}{}", 100 * rate(window) / rate(dense),
                                mark(rate(window) >= 0.75 * rate(dense)), probed(window, dense, true)));
  if (causal && topk)
    lines.push_back(fmt::format("5. top-k(32) causal / causal time: {:.2f} (<= 1.5): {}{}", topk->minMs / causal->minMs,
                                mark(topk->minMs <= 1.5 * causal->minMs), probed(topk, causal, false)));
  for (const char *name : {"decode Lk=4k", "decode Lk=32k", "decode B=1 Lk=128k"})
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
    lines.push_back(fmt::format("9. JIT: slowest cold compile {:.0f} ms ({}; <= 300), slowest cached load {:.1f} ms (each the best of 3) "
                                "(<= 5): {}",
                                slowest->coldCompileMs, slowest->name, worstCached,
                                mark(slowest->coldCompileMs <= 300 && worstCached <= 5)));
  // Precisions high and fma (a caller's choice): their rows against the
  // same baselines, and against the default kernels and the FMA peak.
  for (const Result &r : results) {
    if (r.baselineOf.empty() || r.threads != cores || r.minMs <= 0)
      continue;
    const Result *base = find(r.baselineOf);
    if (!base || (r.precision == Precision::High && !r.bf16Parts) || (r.precision == Precision::Fma && !base->bf16Parts))
      continue;
    lines.push_back(fmt::format(
        "precision {}: {} {:.2f} ms, {:.2f}x the default kernel, {:.0f}% of the fp32 FMA peak; vs SDPA "
        "{}, vs flex {}, vs oneDNN {}",
        precisionName(r.precision), r.name, r.minMs, base->minMs / r.minMs, 100 * rate(&r) / r.peak,
        r.sdpaMs > 0 ? fmt::format("{:.2f}x", r.sdpaMs / r.minMs) : "-",
        r.flexMs > 0 ? fmt::format("{:.2f}x", r.flexMs / r.minMs) : "-",
        r.onednnMs > 0 ? fmt::format("{:.2f}x", r.onednnMs / r.minMs) : "-"));
  }
  if (!torch.present) {
    lines.push_back("8. PyTorch SDPA / flex_attention: not run (no --torch times: make bench passes them where python3 "
                    "imports torch; see README)");
    return lines;
  }
  // Every row PyTorch ran, on all threads: the worst ratio and the rows
  // under the target.
  for (auto [label, want, flex] : {std::tuple{"PyTorch SDPA", 1.5, false}, {"compiled flex_attention", 2.0, true}}) {
    double worst = 0;
    int rows = 0;
    std::vector<std::string> under;
    for (const Result &r : results) {
      double theirs = flex ? r.flexMs : r.sdpaMs;
      if (r.threads != cores || theirs <= 0 || r.minMs <= 0 || !r.baselineOf.empty())
        continue;
      double ratio = theirs / r.minMs;
      worst = rows++ ? std::min(worst, ratio) : ratio;
      if (ratio < want)
        under.push_back(fmt::format("{} at {} {:.2f}x", r.name, r.shape, ratio));
    }
    if (!rows) {
      lines.push_back(fmt::format("8. vs {} (torch {}): ran no row", label, torch.version));
      continue;
    }
    std::string list;
    for (const std::string &u : under)
      list += (list.empty() ? "; under: " : ", ") + u;
    lines.push_back(fmt::format("8. vs {} (torch {}): worst of {} rows {:.2f}x (>= {}x on every row): {}{}", label,
                                torch.version, rows, worst, want, mark(under.empty()), list));
  }
  return lines;
}

} // namespace

int main(int argc, char **argv) {
  std::string out = "bench-results", casesOut, torchCsv;
  std::vector<std::string> only; // case names containing one of these; empty: all
  bool quick = false;
  for (int n = 1; n < argc; ++n) {
    std::string a = argv[n];
    if (a == "--quick")
      quick = true;
    else if (a == "--out" && n + 1 < argc)
      out = argv[++n];
    else if (a == "--write-cases" && n + 1 < argc)
      casesOut = argv[++n];
    else if (a == "--torch" && n + 1 < argc)
      torchCsv = argv[++n];
    else if (a == "--only" && n + 1 < argc) {
      std::stringstream names(argv[++n]);
      for (std::string name; std::getline(names, name, ',');)
        only.push_back(name);
    } else {
      std::cerr << "usage: attn-bench [--out DIR] [--quick] [--torch TORCH.csv] [--only NAME,...]\n"
                   "       (--only: the cases whose name contains one of the NAMEs, e.g. --only \"dense,bf16\")\n"
                   "       attn-bench --write-cases CASES.tsv [--quick]   (the cases for torch_baselines.py)\n";
      return 1;
    }
  }
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<Case> cases = suite(quick);
  if (!casesOut.empty()) {
    std::filesystem::path dir = std::filesystem::path(casesOut).parent_path();
    if (!dir.empty())
      std::filesystem::create_directories(dir);
    writeTorchCases(cases, cores, casesOut);
    return 0;
  }
  TorchTimes torch = torchCsv.empty() ? TorchTimes{} : readTorchTimes(torchCsv);
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
  if (peak->amxAllThreads > 0)
    bf16Peak += fmt::format("bf16 AMX tile (tdpbf16ps) peak {:.0f} GFLOP/s on 1 thread, {:.0f} on {}; ",
                            peak->amxOneThread, peak->amxAllThreads, cores);
  // The kernels' inner loops alone, operands loaded from L1: how close to
  // the peaks above a kernel built on them can come at most.
  std::string ceilingLine;
  MicroKernelCeilings ceilings;
  if (Expected<MicroKernelCeilings> c = measureMicroKernelCeilings(cores)) {
    ceilings = *c;
    auto share = [](double gflops, double peakGflops) { return peakGflops > 0 ? 100 * gflops / peakGflops : 0.0; };
    if (ceilings.blockedAllThreads > 0)
      ceilingLine += fmt::format(" The kernels' inner loops alone, operands from L1: fp32 Q.Kt (8 rows x 3 vectors, 3 "
                                 "loads + 8 broadcasts per 24 FMAs) {:.0f} GFLOP/s on 1 thread ({:.0f}% of the FMA "
                                 "peak), {:.0f} on {} ({:.0f}%)",
                                 ceilings.blockedOneThread, share(ceilings.blockedOneThread, peak->gflopsOneThread),
                                 ceilings.blockedAllThreads, cores,
                                 share(ceilings.blockedAllThreads, peak->gflopsAllThreads));
    if (ceilings.amxOperandsAllThreads > 0)
      ceilingLine += fmt::format("; AMX with a B tile loaded per product (Q.Kt) {:.0f} and {:.0f} GFLOP/s ({:.0f}% and "
                                 "{:.0f}% of the AMX peak), and with the accumulator tiles loaded and stored around "
                                 "every two products, a q block's 64 KB of them in turn (P.V) {:.0f} and {:.0f} "
                                 "({:.0f}% and {:.0f}%)",
                                 ceilings.amxOperandsOneThread, ceilings.amxOperandsAllThreads,
                                 share(ceilings.amxOperandsOneThread, peak->amxOneThread),
                                 share(ceilings.amxOperandsAllThreads, peak->amxAllThreads),
                                 ceilings.amxAccumulatorsOneThread, ceilings.amxAccumulatorsAllThreads,
                                 share(ceilings.amxAccumulatorsOneThread, peak->amxOneThread),
                                 share(ceilings.amxAccumulatorsAllThreads, peak->amxAllThreads));
    if (!ceilingLine.empty())
      ceilingLine += ".";
  } else {
    std::cerr << "attn-bench: micro-kernel loops not timed: " << c.error() << "\n";
  }
  std::string machine = fmt::format("{}, {} cores, {}-wide fp32 vectors. Measured: fp32 FMA peak {:.0f} GFLOP/s on 1 "
                                    "thread, {:.0f} GFLOP/s on {}; {}memory read bandwidth {:.1f} GB/s (a {:.0f} MB buffer, twice the "
                                    "{:.0f} MB last-level cache).{} {}.",
                                    cpu, cores, peak->vectorWidth, peak->gflopsOneThread, peak->gflopsAllThreads,
                                    cores, bf16Peak, bw / 1e9, bench::beyondCachesBytes() / 1e6,
                                    bench::lastLevelCacheBytes() / 1e6, ceilingLine, date);
  fmt::print("{}\n\n", machine);

  std::string header = fmt::format(
      "| {:<20} | {:>3} | {:<10} | {:<22} | {:>9} | {:>9} | {:>9} | {:>7} | {:>10} | {:>8} | {:>10} | {:>9} | {:>9} | "
      "{:>7} | {:>9} | {:>7} | {} |",
      "case", "thr", "dtype", "shape", "min ms", "median ms", "GFLOP/s", "% peak", "naive ms", "vs naive", "oneDNN ms",
      "vs oneDNN", "SDPA ms", "vs SDPA", "flex ms", "vs flex", "check");
  std::string rule = "|" + std::string(22, '-') + "|" + std::string(5, '-') + "|" + std::string(12, '-') + "|" +
                     std::string(24, '-') + "|" + std::string(11, '-') + "|" + std::string(11, '-') + "|" +
                     std::string(11, '-') + "|" + std::string(9, '-') + "|" + std::string(12, '-') + "|" +
                     std::string(10, '-') + "|" + std::string(12, '-') + "|" + std::string(11, '-') + "|" + std::string(11, '-') +
                     "|" + std::string(9, '-') + "|" + std::string(11, '-') + "|" + std::string(9, '-') + "|---|";
  fmt::print("{}\n{}\n", header, rule);
  std::vector<std::string> rows;
  auto timeOr = [](double ms) { return ms > 0 ? fmt::format("{:.1f}", ms) : std::string("-"); };
  auto ratioOr = [](double theirs, double ours) {
    return theirs > 0 && ours > 0 ? fmt::format("{:.2f}x", theirs / ours) : std::string("-");
  };
  // The rows to run, in order: (case, threads).
  std::vector<std::pair<size_t, unsigned>> order;
  for (size_t id = 0; id < cases.size(); ++id)
    for (unsigned threads : {cores, 1u}) {
      const Case &c = cases[id];
      if (threads == 1 && !c.oneThread)
        continue;
      if (!only.empty() && std::none_of(only.begin(), only.end(), [&](const std::string &name) {
            return c.name.find(name) != std::string::npos;
          }))
        continue;
      order.push_back({id, threads});
    }
  auto render = [&](const Result &r) {
    std::vector<std::string> notes;
    if (r.precision == Precision::High && !r.bf16Parts)
      notes.push_back("no AMX here: f32 FMAs");
    if (r.name.rfind("decode", 0) == 0)
      notes.push_back(fmt::format("K+V {:.1f} GB/s, {:.0f}% of bandwidth", r.bytes / (r.minMs / 1e3) / 1e9,
                                  100 * r.bytes / (r.minMs / 1e3) / bw));
    if (r.unsplitMs > 0)
      notes.push_back(fmt::format("keys in {} parts, {:.2f}x unsplit", r.keySplits, r.unsplitMs / r.minMs));
    std::string extra;
    for (size_t n = 0; n < notes.size(); ++n)
      extra += (n ? "; " : " (") + notes[n] + (n + 1 == notes.size() ? ")" : "");
    std::string row = fmt::format(
        "| {:<20} | {:>3} | {:<10} | {:<22} | {:>9.2f} | {:>9.2f} | {:>9.1f} | {:>6.1f}% | {:>10} | {:>8} | {:>10} | {:>9} "
        "| {:>9} | {:>7} | {:>9} | {:>7} | {}{} |",
        r.name, r.threads, r.dtype + (r.bf16Parts == 2 ? "+bf16x3" : r.bf16Parts == 3 ? "+bf16x6" : r.amx ? "+amx" : ""), r.shape, r.minMs, r.medMs, r.gflop / (r.minMs / 1e3),
        100 * r.gflop / (r.minMs / 1e3) / r.peak, r.naiveMs > 0 ? fmt::format("{:.1f}", r.naiveMs) : "-",
        r.naiveMs > 0 ? fmt::format("{:.1f}x", r.naiveMs / r.minMs) : "-",
        r.onednnMs > 0 ? fmt::format("{:.1f}", r.onednnMs) : "-",
        r.onednnMs > 0 ? fmt::format("{:.2f}x", r.onednnMs / r.minMs) : "-", timeOr(r.sdpaMs),
        ratioOr(r.sdpaMs, r.minMs), timeOr(r.flexMs), ratioOr(r.flexMs, r.minMs), r.check, extra);
    return row;
  };
  // Every row in two rounds through the whole suite (torch_baselines.py
  // does the same): a row's times are both rounds', so a slow phase of the
  // VM (tens of percent, for seconds to minutes) costs one round's samples
  // of a row, not the row. The first round prints its rows as it goes; the
  // table is printed again, whole, after the second.
  constexpr int kRounds = 2;
  std::vector<Result> results(order.size());
  // The baselines row n shows: PyTorch's (both of its rounds) and, for
  // another precision, those its default row measured.
  auto withBaselines = [&](size_t n, Result r) {
    const std::string &of = cases[order[n].first].baselineOf;
    size_t own = n; // the row whose baselines r shows
    if (!of.empty())
      for (size_t m = 0; m < order.size(); ++m)
        if (results[m].name == of && results[m].threads == order[n].second) {
          own = m;
          r.naiveMs = results[m].naiveMs, r.onednnMs = results[m].onednnMs;
        }
    if (auto t = torch.ms.find(order[own]); t != torch.ms.end())
      std::tie(r.sdpaMs, r.flexMs) = t->second;
    return r;
  };
  Expected<PeakFlops> before = measurePeakFlops(cores, false);
  for (int round = 0; round < kRounds; ++round) {
    if (round)
      fmt::print("\nround {} of {} (every row again; its min and median are of both rounds):\n", round + 1, kRounds);
    for (size_t n = 0; n < order.size(); ++n) {
      size_t id = order[n].first;
      unsigned threads = order[n].second;
      const Case &c = cases[id];
      Result r = runCase(c, threads, *peak, /*again=*/round > 0);
      // The FMA peak beside the row: the probe before it and the one after
      // (the next row's before), the higher of the two. A VM's capacity
      // moves by tens of percent within a run (a neighbour on the core's
      // other hyperthread), so the start's peak can be far from what the
      // row had; the higher probe keeps the fraction conservative (and of
      // the two rounds', the higher again).
      Expected<PeakFlops> after = measurePeakFlops(cores, false);
      if (r.fmaPeak && before && after) {
        auto at = [&](const PeakFlops &p) { return threads == 1 ? p.gflopsOneThread : p.gflopsAllThreads; };
        r.peak = std::max(at(*before), at(*after));
      }
      if (after)
        before = std::move(after);
      if (round == 0) {
        results[n] = r;
        fmt::print("{}\n", render(withBaselines(n, r)));
        std::fflush(stdout);
        continue;
      }
      Result &first = results[n];
      double firstMin = first.minMs;
      auto least = [](double a, double b) { return a > 0 && b > 0 ? std::min(a, b) : std::max(a, b); };
      if (!r.times.empty()) {
        first.times.insert(first.times.end(), r.times.begin(), r.times.end());
        std::sort(first.times.begin(), first.times.end());
        first.minMs = first.times.front();
        first.medMs = first.times[first.times.size() / 2];
      }
      first.onednnMs = least(first.onednnMs, r.onednnMs);
      first.unsplitMs = least(first.unsplitMs, r.unsplitMs);
      first.cachedLoadMs = least(first.cachedLoadMs, r.cachedLoadMs);
      if (first.fmaPeak)
        first.peak = std::max(first.peak, r.peak);
      if (r.check.rfind("ok", 0) != 0 && first.check.rfind("ok", 0) == 0)
        first.check = r.check; // a failure in either round shows
      fmt::print("  {:<20} {} thr: min {:.2f} ms this round, {:.2f} the first\n", c.name, threads, r.minMs, firstMin);
      std::fflush(stdout);
    }
  }
  for (size_t n = 0; n < order.size(); ++n)
    results[n] = withBaselines(n, results[n]);
  if (kRounds > 1)
    fmt::print("\n{}\n{}\n", header, rule);
  for (const Result &r : results) {
    rows.push_back(render(r));
    if (kRounds > 1)
      fmt::print("{}\n", rows.back());
  }

  // The FMA probe again: a VM's neighbours can take cores during the run,
  // and the start's peak then overstates what the later rows had.
  std::string drift;
  if (Expected<PeakFlops> after = measurePeakFlops(cores, false)) {
    double change = after->gflopsAllThreads / peak->gflopsAllThreads - 1;
    drift = fmt::format("The FMA probe after the last row: {:.0f} GFLOP/s on 1 thread, {:.0f} on {} ({:+.0f}% against "
                        "the start{}).",
                        after->gflopsOneThread, after->gflopsAllThreads, cores, 100 * change,
                        std::fabs(change) > 0.1 ? "; the machine's capacity moved during the run: compare rows with care"
                                                : "");
    fmt::print("{}\n", drift);
  }

  std::filesystem::create_directories(out);
  std::ofstream md(out + "/bench.md");
  md << "attn benchmark: " << machine << "\n\nEvery row is timed in two rounds through the whole suite (PyTorch's "
        "rows too), each until a second of calls or 20 of them: min and median ms are of both rounds' calls. "
        "GFLOP/s counts unmasked work (top-k: Q.Kt and K keys of P.V per row; "
        "argmax: Q.Kt only); % peak is against the fp32 FMA peak at the same thread count probed beside the row, the "
        "higher of the probes just before and just after it in either round (the start's peak above is only the first of them; f32 "
        "rows too where they multiply as bf16 parts on AMX tiles, f32+bf16x6 and f32+bf16x3; bf16 rows: the bf16 dot "
        "peak, or the AMX peak where the kernel runs on AMX tiles, as measured at the start); naive: unfused S = QKt, softmax, PV in float loops; oneDNN: the same steps as oneDNN "
        "primitives (matmul with the scale as its output scale, a binary add of the causal mask, softmax, matmul), "
        "S in memory, fp32 inputs for every row; SDPA and flex: PyTorch's CPU scaled_dot_product_attention (is_causal, "
        "or a materialized boolean or ALiBi bias mask) and torch.compile'd flex_attention (mask_mod and score_mod, "
        "its block mask built outside the timing), from torch_baselines.py earlier in the same make bench"
        "; decode rows (theirs too) are timed cold, the caches evicted before each call"
     << (torch.present ? " (torch " + torch.version + ")" : std::string(" (not run: no --torch times, which make bench passes where python3 imports torch)"))
     << ".\n\n"
     << header << "\n" << rule << "\n";
  for (const std::string &row : rows)
    md << row << "\n";
  if (!drift.empty())
    md << "\n" << drift << "\n";
  std::vector<std::string> targets =
      targetLines(results, cores, bw, torch,
                  peak->gflopsAllThreads > 0 ? ceilings.blockedAllThreads / peak->gflopsAllThreads : 0);
  fmt::print("\nTargets (issue 4), {} threads:\n", cores);
  md << "\nTargets (issue 4), " << cores << " threads, from this run:\n\n";
  for (const std::string &line : targets) {
    fmt::print("  {}\n", line);
    md << "- " << line << "\n";
  }
  if (!torch.notes.empty()) {
    md << "\nPyTorch rows with a note:\n\n";
    for (const std::string &n : torch.notes)
      md << "- " << n << "\n";
  }
  std::ofstream csv(out + "/bench.csv");
  csv << "case,threads,dtype,seq,min_ms,gflops,peak_gflops,naive_ms,onednn_ms,sweep,cold_compile_ms,cached_load_ms,"
         "sdpa_ms,flex_ms,start_peak_gflops\n";
  for (const Result &r : results)
    csv << '"' << r.name << "\"," << r.threads << "," << r.dtype << "," << r.seq << "," << r.minMs << ","
        << r.gflop / (r.minMs / 1e3) << "," << r.peak << "," << r.naiveMs << "," << r.onednnMs << "," << r.sweep
        << "," << r.coldCompileMs << "," << r.cachedLoadMs << "," << r.sdpaMs << "," << r.flexMs << "," << r.startPeak
        << "\n";
  fmt::print("\nwrote {}/bench.md and {}/bench.csv\n", out, out);
  bool ok = std::all_of(results.begin(), results.end(), [](const Result &r) { return r.check.rfind("ok", 0) == 0; });
  return ok ? 0 : 1;
}
