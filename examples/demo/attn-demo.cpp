//===- attn-demo.cpp - The showcase: every example spec, end to end --------===//
//
// For each spec file of a folder (examples/specs by default): parse and
// check it, build and verify its attn IR, run every kernel on random inputs
// through the reference interpreter, check the output, and print one table
// row per kernel with its shape and time.
//
//   attn-demo [DIR] [--seq L] [--kv-seq L] [--batch B]
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/ASTToAttn.h"
#include "compiler/Frontend/Sema.h"
#include "compiler/Reference/Interpreter.h"
#include "compiler/Reference/RandomInputs.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace attn;
namespace fs = std::filesystem;

namespace {

struct Row {
  std::string kernel, file, variant, shape, check;
  double ms = 0, gflop = 0;
  bool ok = false;
};

std::string variantOf(const AttentionSpec &k) {
  std::string v = elemTypeName(k.q().type);
  v += " ";
  v += weightsKindName(k.weights);
  if (k.weights == WeightsKind::TopK)
    v += "(" + std::to_string(k.topk) + ")";
  if (k.mask.expr) v += " +mask";
  if (k.score.expr) v += " +score";
  if (k.inputs.size() > 3) v += " +" + std::to_string(k.inputs.size() - 3) + " in";
  return v;
}

/// Sanity of a reference result: finite values, and for softmax-like
/// weights every unmasked row a convex combination of v (|o| <= max |v|).
std::string checkOutput(const AttentionSpec &k, const ArgumentMap &args, const ReferenceOutput &out,
                        int64_t &emptyRows) {
  double vmax = 0;
  for (double x : args.at("v").data)
    vmax = std::max(vmax, std::fabs(x));
  int64_t dv = out.oShape[3];
  emptyRows = 0;
  for (size_t row = 0; row * dv < out.o.size(); ++row) {
    bool zero = true;
    for (int64_t d = 0; d < dv; ++d) {
      double x = out.o[row * dv + d];
      if (!std::isfinite(x))
        return "non-finite o";
      zero &= x == 0;
      if (k.weights != WeightsKind::Sigmoid && std::fabs(x) > vmax * (1 + 1e-12))
        return "o outside the hull of v";
    }
    emptyRows += zero;
  }
  return "ok";
}

Row runKernel(const AttentionSpec &k, const std::string &file, const InputSizes &sizes) {
  Row row;
  row.kernel = k.name;
  row.file = file;
  row.variant = variantOf(k);
  auto dims = chooseDims(k, sizes);
  ArgumentMap args = makeInputs(k, dims, 42);
  const auto &q = args.at("q").shape, &kk = args.at("k").shape, &v = args.at("v").shape;
  row.shape = fmt::format("B={} H={}/{} L={}/{} D={}/{}", q[0], q[1], kk[1], q[2], kk[2], q[3], v[3]);

  auto start = std::chrono::steady_clock::now();
  Expected<ReferenceOutput> out = runReference(k, args);
  row.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!out) {
    row.check = "error: " + out.error();
    return row;
  }
  // Dense work: two dot products of the head dims per (row, key).
  row.gflop = 2.0 * q[0] * q[1] * q[2] * kk[2] * (q[3] + v[3]) / 1e9;
  int64_t emptyRows = 0;
  row.check = checkOutput(k, args, *out, emptyRows);
  if (row.check == "ok" && emptyRows)
    row.check = fmt::format("ok ({} empty rows)", emptyRows);
  row.ok = row.check.rfind("ok", 0) == 0;
  return row;
}

} // namespace

int main(int argc, char **argv) {
  std::string dir = std::string(ATTN_SOURCE_DIR) + "/examples/specs";
  InputSizes sizes;
  for (int n = 1; n < argc; ++n) {
    std::string a = argv[n];
    auto value = [&]() -> int64_t {
      if (n + 1 >= argc) {
        std::cerr << "attn-demo: " << a << " needs a value\n";
        std::exit(1);
      }
      return std::max<int64_t>(1, std::atoll(argv[++n]));
    };
    if (a == "--seq") sizes.seq = value();
    else if (a == "--kv-seq") sizes.kvSeq = value();
    else if (a == "--batch") sizes.batch = value();
    else dir = a;
  }
  std::vector<fs::path> files;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.path().extension() == ".attn")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "attn-demo: no .attn files in " << dir << "\n";
    return 1;
  }

  std::vector<Row> rows;
  bool allOk = true;
  for (const fs::path &path : files) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    CheckedSpec spec = parseAndCheck(path.filename().string(), text.str());
    if (!spec.ok) {
      spec.diags->print(std::cerr);
      allOk = false;
      continue;
    }
    mlir::MLIRContext context;
    auto module = buildAttnModule(context, spec.module, path.filename().string());
    bool irOk = mlir::succeeded(mlir::verify(*module));
    for (const AttentionSpec &k : spec.module.kernels) {
      Row row = runKernel(k, path.filename().string(), sizes);
      if (!irOk) {
        row.check = "attn IR does not verify";
        row.ok = false;
      }
      allOk &= row.ok;
      rows.push_back(row);
    }
  }

  fmt::print("{:<14} {:<24} {:<31} {:<34} {:>10} {:>8}  {}\n", "kernel", "spec", "variant",
             "shape (q/kv)", "ref ms", "GFLOP", "check");
  fmt::print("{}\n", std::string(143, '-'));
  for (const Row &r : rows)
    fmt::print("{:<14} {:<24} {:<31} {:<34} {:>10.2f} {:>8.3f}  {}\n", r.kernel, r.file, r.variant,
               r.shape, r.ms, r.gflop, r.check);
  fmt::print("\n{} kernels from {} spec files; the reference interpreter runs in double "
             "precision on one thread.\n",
             rows.size(), files.size());
  return allOk ? 0 : 1;
}
