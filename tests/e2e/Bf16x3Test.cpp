//===- Bf16x3Test.cpp - f32 kernels at precision "high" (bf16x3 on AMX) ----===//
//
// An f32 kernel compiled with Schedule::bf16x3 multiplies q, k and v on AMX
// tiles as bf16 hi + lo parts, three products each (usesBf16x3). Checked
// against the reference on every weights kind it serves, with sizes that
// are not multiples of a tile (16 rows) or a block (64 keys), masks that
// cut blocks, a score function, grouped heads and NaN and inf in q, k and
// v; and held to about 2^-17 of |o| (short causal rows see each weight's
// error unaveraged), far inside the tolerance: bf16 products alone would
// miss it by a hundred times. Hosts without AMX run the same
// kernels with f32 FMAs (the request is dropped), and must agree all the
// same.
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include "compiler/JIT/Compiler.h"
#include "compiler/Target/CodeGen.h"

#include <cmath>
#include <limits>

using namespace attn;
using namespace attn::test;

namespace {

/// Kernel `name` of `text` compiled at precision "high", once per binary.
const Kernel &highPrecision(const std::string &text, const std::string &name) {
  CompileOptions options;
  options.schedule.bf16x3 = true;
  return compiled(text, name, options);
}

/// f32 q, k, v with D = 128 and Dv = 64 fixed (whole tiles), named heads
/// and lengths.
std::string spec(const std::string &name, const std::string &fields, int64_t d = 128, int64_t e = 64) {
  return "attention " + name + " {\n q: f32[B, H, L, " + std::to_string(d) + "]\n k: f32[B, G, M, " +
         std::to_string(d) + "]\n v: f32[B, G, M, " + std::to_string(e) + "]\n" + fields + "\n}\n";
}

/// Runs `name` at precision "high" and the reference on `args`: o (and
/// lse) within the f32 tolerance; returns o's largest error against
/// max(1, max |o|).
double expectMatches(const std::string &text, const std::string &name, const ArgumentMap &args,
                     const InvokeOptions &options = {}) {
  const Kernel &kernel = highPrecision(text, name);
  EXPECT_EQ(usesBf16x3(kernel.signature()), hostRunsAmx()) << name;
  return expectKernelMatchesReference(kernel, text, name, args, options);
}

struct Case {
  std::string name, fields;
  InputSizes sizes; // B, H, G, L, M (D, E from the spec)
};

TEST(Bf16x3, MatchesReferenceAtF32Accuracy) {
  for (const Case &c : std::vector<Case>{
           {"x3_dense", "outputs: o, lse", {1, 2, 2, 333, 517, 0, 0}},
           {"x3_causal", "mask: j <= i", {2, 4, 2, 150, 150, 0, 0}},
           {"x3_window_softcap", "score: 30 * tanh(s / 30)\nmask: j <= i && i - j < 70", {1, 2, 1, 200, 200, 0, 0}},
           {"x3_docs", "doc: i32[B, M]\nmask: doc[b, j] == doc[b, min(i, M - 1)]", {1, 2, 2, 130, 130, 0, 0}},
           {"x3_sigmoid", "mask: j <= i + 9\nweights: sigmoid", {1, 4, 2, 77, 90, 0, 0}},
       }) {
    SCOPED_TRACE(c.name);
    std::string text = spec(c.name, c.fields);
    double worst = expectMatches(text, c.name, randomInputs(text, c.name, c.sizes, 11));
    // 2^-17 (7.6e-6) of a weight at most; bf16 p alone is off by 2^-9.
    EXPECT_LT(worst, 1.5e-5) << c.name;
  }
  std::string narrow = spec("x3_d64", "mask: j <= i", 64, 32);
  EXPECT_LT(expectMatches(narrow, "x3_d64", randomInputs(narrow, "x3_d64", {1, 2, 1, 97, 97, 0, 0}, 5)), 1.5e-5);
}

TEST(Bf16x3, SplitKeysAndSmallQBlocks) {
  // Eight query rows of eight heads against a long cache (the tiled path,
  // its keys split in parts of whole 32-key blocks and merged), and q blocks
  // of 16 rows a call.
  std::string text = spec("x3_verify", "mask: j <= i + (M - L)");
  ArgumentMap args = randomInputs(text, "x3_verify", {1, 8, 1, 8, 1000, 0, 0}, 9);
  InvokeOptions split;
  split.keySplits = 3;
  EXPECT_LT(expectMatches(text, "x3_verify", args, split), 1.5e-5);
  InvokeOptions rows;
  rows.qBlockRows = 16;
  EXPECT_LT(expectMatches(text, "x3_verify", randomInputs(text, "x3_verify", {2, 4, 2, 70, 70, 0, 0}, 4), rows),
            1.5e-5);
}

TEST(Bf16x3, LargeScoresStayAccurate) {
  // q and k of +-4: scores of +-20, peaked weights. A score's error is
  // about 2^-17 of its terms' sizes, so it grows with them (+-8 reached
  // 1.2e-4 of |o|, past the tolerance, where f32 FMAs stay near 1e-6).
  std::string text = spec("x3_large", "");
  ArgumentMap args = randomInputs(text, "x3_large", {1, 2, 2, 70, 140, 0, 0}, 3);
  for (const char *name : {"q", "k"})
    for (double &x : args[name].data)
      x *= 4;
  EXPECT_LT(expectMatches(text, "x3_large", args), 1e-4);
}

TEST(Bf16x3, NaNAndInfinity) {
  // Query heads 0, 1 read kv head 0; 2, 3 kv head 1 (chooseDims: twice
  // the kv heads).
  std::string text = spec("x3_nan", "mask: j <= i");
  const int64_t L = 80, D = 128, E = 64;
  ArgumentMap args = randomInputs(text, "x3_nan", {1, 4, 2, L, L, 0, 0}, 7);
  auto at = [](int64_t head, int64_t row, int64_t dim, int64_t d) { return (head * L + row) * dim + d; };
  const double inf = std::numeric_limits<double>::infinity();
  args["k"].data[at(0, 17, D, 3)] = NAN;
  args["k"].data[at(0, 40, D, 5)] = inf; // +-inf scores: NaN rows, or a key ruled out
  args["q"].data[at(1, 60, D, 9)] = -inf;
  args["q"].data[at(1, 61, D, 0)] = 3.4e38; // past bf16's largest finite value
  args["v"].data[at(1, 29, E, 2)] = inf; // only rows 29.. keep it
  args["v"].data[at(1, 70, E, 1)] = NAN;
  expectMatches(text, "x3_nan", args);
  Expected<ReferenceOutput> got = runOnHost(highPrecision(text, "x3_nan"), args, false);
  ASSERT_TRUE(got) << got.error();
  EXPECT_FALSE(std::isnan(got->o[at(0, 16, E, 0)])) << "row 16 masks key 17";
  EXPECT_TRUE(std::isnan(got->o[at(0, 17, E, 0)])) << "row 17 keeps key 17";
  EXPECT_TRUE(std::isfinite(got->o[at(2, 28, E, 2)])) << "row 28 masks key 29's infinite v";
  EXPECT_TRUE(std::isinf(got->o[at(3, 29, E, 2)])) << "row 29 keeps it";
  EXPECT_TRUE(std::isnan(got->o[at(2, 70, E, 1)])) << "row 70 keeps key 70's NaN v";
}

TEST(Bf16x3, OnlyWhereAmxAndF32WholeTiles) {
  // The request is the caller's; the kernel takes it where it can.
  Schedule s = nativeSchedule();
  s.bf16x3 = true;
  s.vectorWidth = 16;
  s.bf16Dot = s.amx = true;
  KernelSignature sig;
  sig.name = "x3";
  sig.schedule = s;
  auto input = [](attn_dtype type, int64_t d) {
    return InputSig{"x", type, {DimSig{1, ""}, DimSig{-1, "H"}, DimSig{-1, "L"}, DimSig{d, ""}}};
  };
  sig.inputs = {input(ATTN_F32, 64), input(ATTN_F32, 64), input(ATTN_F32, 48)};
  EXPECT_TRUE(usesBf16x3(sig));
  EXPECT_TRUE(usesAmx(sig));
  std::optional<KernelSignature> back = parseSignature(serializeSignature(sig));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->schedule.bf16x3);
  KernelSignature odd = sig;
  odd.inputs[0] = odd.inputs[1] = input(ATTN_F32, 40); // D not whole tiles
  EXPECT_FALSE(usesBf16x3(odd));
  KernelSignature topK = sig;
  topK.weights = Weights::TopK;
  EXPECT_FALSE(usesBf16x3(topK));
  KernelSignature bf16 = sig;
  for (InputSig &in : bf16.inputs)
    in.dtype = ATTN_BF16;
  EXPECT_FALSE(usesBf16x3(bf16));
  KernelSignature noAmx = sig;
  noAmx.schedule.amx = false;
  EXPECT_FALSE(usesBf16x3(noAmx));

  // Compiled for a target without AMX, the request is dropped.
  CompileOptions options;
  options.target = "x86-64-avx512";
  options.schedule.bf16x3 = true;
  options.useCache = false;
  Expected<Kernel> k = Compiler(options).compile(spec("x3_avx512", ""), "x3_avx512", "test.attn");
  ASSERT_TRUE(k) << k.error();
  EXPECT_FALSE(k->signature().schedule.bf16x3);
}

} // namespace
