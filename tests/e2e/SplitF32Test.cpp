//===- SplitF32Test.cpp - f32 kernels as bf16 parts on AMX tiles ----------===//
//
// Where the target has AMX, an f32 kernel multiplies q, k and v on the tiles
// as bf16 parts (splitsF32): at precision highest (the default) three parts
// and six products (bf16x6), at high two parts and three products (bf16x3).
// Checked against the reference on every weights kind they serve, with sizes
// that are not multiples of a tile (16 rows) or a block (32 keys), masks
// that cut blocks, a score function, grouped heads and NaN and inf in q, k
// and v; bf16x6 held to the f32 FMA kernel's error at every input scale,
// bf16x3 to about 2^-17 of |o|, far inside the tolerance (bf16 products
// alone would miss it by a hundred times). Hosts without AMX run the same
// kernels with f32 FMAs, and must agree all the same.
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include "attn/PackedKV.h"
#include "compiler/JIT/Compiler.h"
#include "compiler/Target/CodeGen.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace attn;
using namespace attn::test;

namespace {

/// f32 q, k, v with D = 128 and Dv = 64 fixed (whole tiles), named heads
/// and lengths.
std::string spec(const std::string &name, const std::string &fields, int64_t d = 128, int64_t e = 64) {
  return "attention " + name + " {\n q: f32[B, H, L, " + std::to_string(d) + "]\n k: f32[B, G, M, " +
         std::to_string(d) + "]\n v: f32[B, G, M, " + std::to_string(e) + "]\n" + fields + "\n}\n";
}

struct Case {
  std::string name, fields;
  InputSizes sizes; // B, H, G, L, M (D, E from the spec)
};

/// Each test at precision highest (bf16x6) and high (bf16x3).
class SplitF32 : public ::testing::TestWithParam<Precision> {
protected:
  /// Kernel `name` of `text` at this precision, once per binary.
  const Kernel &kernel(const std::string &text, const std::string &name, Precision precision) {
    CompileOptions options;
    options.schedule.precision = precision;
    return compiled(text, name, options);
  }
  const Kernel &kernel(const std::string &text, const std::string &name) { return kernel(text, name, GetParam()); }
  /// Runs `name` and the reference on `args`: o (and lse) within the f32
  /// tolerance; returns o's largest error against max(1, max |o|). The
  /// kernel splits f32 on a host with AMX unless precision highest chose
  /// f32 FMAs for its mask (highestPrecision).
  double expectMatches(const std::string &text, const std::string &name, const ArgumentMap &args,
                       const InvokeOptions &options = {}) {
    const Kernel &k = kernel(text, name);
    const Schedule &s = k.signature().schedule;
    EXPECT_EQ(splitsF32(k.signature()), hostRunsAmx() && s.precision == GetParam()) << name;
    return expectKernelMatchesReference(k, text, name, args, options);
  }
  /// o's error bound for inputs in [-1, 1]: bf16x6 that of f32 FMAs (short
  /// causal rows see each weight's exp error, 2.7e-6, unaveraged: 2e-6 of
  /// |o| seen), bf16x3 2^-17 (7.6e-6) of a weight more.
  double bound() const { return GetParam() == Precision::High ? 1.5e-5 : 4e-6; }
};

TEST_P(SplitF32, MatchesReference) {
  for (const Case &c : std::vector<Case>{
           {"x3_dense", "outputs: o, lse", {1, 2, 2, 333, 517, 0, 0}},
           {"x3_causal", "mask: j <= i", {2, 4, 2, 150, 150, 0, 0}},
           {"x3_window_softcap", "score: 30 * tanh(s / 30)\nmask: j <= i && i - j < 70", {1, 2, 1, 200, 200, 0, 0}},
           {"x3_docs", "doc: i32[B, M]\nmask: doc[b, j] == doc[b, min(i, M - 1)]", {1, 2, 2, 130, 130, 0, 0}},
           {"x3_sigmoid", "mask: j <= i + 9\nweights: sigmoid", {1, 4, 2, 77, 90, 0, 0}},
           {"x3_softcap", "score: 30 * tanh(s / 30)", {1, 2, 1, 100, 120, 0, 0}},
       }) {
    SCOPED_TRACE(c.name);
    std::string text = spec(c.name, c.fields);
    EXPECT_LT(expectMatches(text, c.name, randomInputs(text, c.name, c.sizes, 11)), bound()) << c.name;
  }
  std::string narrow = spec("x3_d64", "mask: j <= i", 64, 32);
  EXPECT_LT(expectMatches(narrow, "x3_d64", randomInputs(narrow, "x3_d64", {1, 2, 1, 97, 97, 0, 0}, 5)), bound());
}

TEST_P(SplitF32, SplitKeysAndSmallQBlocks) {
  // Eight query rows of eight heads against a long cache (the tiled path,
  // its keys split in parts of whole 32-key blocks and merged), and q blocks
  // of 16 rows a call.
  std::string text = spec("x3_verify", "mask: j <= i + (M - L)");
  ArgumentMap args = randomInputs(text, "x3_verify", {1, 8, 1, 8, 1000, 0, 0}, 9);
  InvokeOptions split;
  split.keySplits = 3;
  EXPECT_LT(expectMatches(text, "x3_verify", args, split), bound());
  InvokeOptions rows;
  rows.qBlockRows = 16;
  EXPECT_LT(expectMatches(text, "x3_verify", randomInputs(text, "x3_verify", {2, 4, 2, 70, 70, 0, 0}, 4), rows),
            bound());
}

TEST_P(SplitF32, LargeInputs) {
  // q and k of +-4, +-8 and +-16: scores up to hundreds, peaked weights. A
  // score's error grows with its terms' sizes: bf16x3's at about 2^-17 of
  // them (+-8 reached 1.2e-4 of |o|, past the tolerance), bf16x6's and f32
  // FMAs' at 2^-24, so bf16x6 stays within the FMA kernel's error.
  std::string text = spec("x3_large", "");
  for (double scale : {4.0, 8.0, 16.0}) {
    SCOPED_TRACE(scale);
    if (GetParam() == Precision::High && scale > 4)
      continue;
    ArgumentMap args = randomInputs(text, "x3_large", {1, 2, 2, 70, 140, 0, 0}, 3);
    for (const char *name : {"q", "k"})
      for (double &x : args[name].data)
        x *= scale;
    double split = expectKernelMatchesReference(kernel(text, "x3_large"), text, "x3_large", args);
    if (GetParam() == Precision::High)
      continue;
    double fma = expectKernelMatchesReference(kernel(text, "x3_large", Precision::Fma), text, "x3_large", args);
    EXPECT_LE(split, 1.5 * fma + 1e-7) << "f32 FMAs: " << fma;
  }
}

TEST_P(SplitF32, NaNAndInfinity) {
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
  Expected<ReferenceOutput> got = runOnHost(kernel(text, "x3_nan"), args, false);
  ASSERT_TRUE(got) << got.error();
  EXPECT_FALSE(std::isnan(got->o[at(0, 16, E, 0)])) << "row 16 masks key 17";
  EXPECT_TRUE(std::isnan(got->o[at(0, 17, E, 0)])) << "row 17 keeps key 17";
  EXPECT_TRUE(std::isfinite(got->o[at(2, 28, E, 2)])) << "row 28 masks key 29's infinite v";
  EXPECT_TRUE(std::isinf(got->o[at(3, 29, E, 2)])) << "row 29 keeps it";
  EXPECT_TRUE(std::isnan(got->o[at(2, 70, E, 1)])) << "row 70 keeps key 70's NaN v";
}

TEST_P(SplitF32, KAndVPastBf16Range) {
  // Finite k and v past bf16's largest value, which rounds to inf: the
  // packers' fast split (vcvtne2ps2bf16) sees an inf first part and packs
  // that kv head again with the exact split, which clamps part 1 to bf16's
  // largest value and carries the rest in part 2. Kv head 1 stays on the
  // fast split, so one call holds heads of both.
  std::string text = spec("x3_big", "mask: j <= i");
  const int64_t L = 50, D = 128, E = 64;
  ArgumentMap args = randomInputs(text, "x3_big", {1, 4, 2, L, L, 0, 0}, 12);
  auto at = [](int64_t head, int64_t row, int64_t dim, int64_t d) { return (head * L + row) * dim + d; };
  const double big = 3.395e38; // below FLT_MAX (3.4028e38), past bf16's 3.3895e38
  args["v"].data[at(0, 20, E, 7)] = big;
  args["k"].data[at(0, 33, D, 2)] = big / 1e30; // a score of about 1e8: key 33 wins rows 33.. or loses
  args["k"].data[at(0, 34, D, 100)] = -big;
  args["q"].data[at(0, 45, D, 100)] = 0; // row 45 of head 0 does not meet key 34's -big
  expectMatches(text, "x3_big", args);
}

INSTANTIATE_TEST_SUITE_P(Precisions, SplitF32, ::testing::Values(Precision::Highest, Precision::High),
                         [](const ::testing::TestParamInfo<Precision> &info) {
                           return std::string(precisionName(info.param));
                         });

TEST(SplitF32Rules, OnlyWhereAmxAndF32WholeTiles) {
  // The precision is the caller's; the kernel takes it where it can.
  Schedule s = nativeSchedule();
  s.precision = Precision::High;
  s.vectorWidth = 16;
  s.bf16Dot = s.amx = true;
  KernelSignature sig;
  sig.name = "x3";
  sig.schedule = s;
  auto input = [](attn_dtype type, int64_t d) {
    return InputSig{"x", type, {DimSig{1, ""}, DimSig{-1, "H"}, DimSig{-1, "L"}, DimSig{d, ""}}};
  };
  sig.inputs = {input(ATTN_F32, 64), input(ATTN_F32, 64), input(ATTN_F32, 48)};
  EXPECT_TRUE(splitsF32(sig));
  EXPECT_TRUE(usesAmx(sig));
  std::optional<KernelSignature> back = parseSignature(serializeSignature(sig));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->schedule.precision, Precision::High);
  EXPECT_EQ(bf16Parts(sig), 2);
  KernelSignature highest = sig;
  highest.schedule.precision = Precision::Highest;
  EXPECT_EQ(bf16Parts(highest), 3);
  KernelSignature fma = sig;
  fma.schedule.precision = Precision::Fma;
  EXPECT_FALSE(splitsF32(fma));
  EXPECT_EQ(parseSignature(serializeSignature(fma))->schedule.precision, Precision::Fma);
  KernelSignature odd = sig;
  odd.inputs[0] = odd.inputs[1] = input(ATTN_F32, 40); // D not whole tiles
  EXPECT_FALSE(splitsF32(odd));
  KernelSignature topK = sig;
  topK.weights = Weights::TopK;
  EXPECT_FALSE(splitsF32(topK));
  KernelSignature bf16 = sig;
  for (InputSig &in : bf16.inputs)
    in.dtype = ATTN_BF16;
  EXPECT_FALSE(splitsF32(bf16));
  KernelSignature noAmx = sig;
  noAmx.schedule.amx = false;
  EXPECT_FALSE(splitsF32(noAmx));

  // Compiled for a target without AMX, every precision is FMAs.
  CompileOptions options;
  options.target = "x86-64-avx512";
  options.schedule.precision = Precision::High;
  options.useCache = false;
  Expected<Kernel> k = Compiler(options).compile(spec("x3_avx512", ""), "x3_avx512", "test.attn");
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ(k->signature().schedule.precision, Precision::Highest);
  EXPECT_FALSE(splitsF32(k->signature()));

  // For AMX, precision highest is bf16x6 where q blocks take long runs of
  // whole key blocks (no mask, causal) and f32 FMAs under masks that cut
  // them short (highestPrecision).
  options.target = "x86-64-amx";
  options.schedule.precision = Precision::Highest;
  for (auto [fields, parts] : {std::pair{"", 3}, {"mask: j <= i", 3}, {"mask: j <= i && i - j < 256", 0}}) {
    Expected<Kernel> amx = Compiler(options).compile(spec("x6_amx", fields), "x6_amx", "test.attn");
    ASSERT_TRUE(amx) << amx.error();
    EXPECT_EQ(bf16Parts(amx->signature()), parts) << fields;
  }
}

TEST(SplitF32Packers, FastSplitMatchesExact) {
  // The packers split finite k and v with vcvtne2ps2bf16 and leave k1'
  // out; a head with a NaN takes the exact split (splitBf16) with k1'. Kv
  // head 1 is head 0 with one NaN in k and one in v, so every other word of
  // head 1 is the exact split of what head 0 holds (on a host without
  // AVX512-BF16 both heads take the exact split).
  KernelSignature sig;
  sig.name = "x6_pack";
  sig.schedule = nativeSchedule();
  sig.schedule.vectorWidth = 16;
  sig.schedule.bf16Dot = sig.schedule.amx = true;
  sig.schedule.precision = Precision::Highest;
  const int64_t L = 100, D = 128, E = 64, nanKey = 37;
  auto input = [](int64_t d) {
    return InputSig{"x", ATTN_F32, {DimSig{1, ""}, DimSig{-1, "H"}, DimSig{-1, "L"}, DimSig{d, ""}}};
  };
  sig.inputs = {input(D), input(D), input(E)};
  ASSERT_EQ(bf16Parts(sig), 3);
  BoundDims dims;
  dims.batch = 1;
  dims.qHeads = dims.kvHeads = 2;
  dims.qLen = dims.kvLen = L;
  dims.headDim = D;
  dims.vDim = E;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-3, 3);
  std::vector<float> k(2 * L * D), v(2 * L * E);
  for (float &x : k)
    x = uniform(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 40) - 20); // exponents of 2^-20 .. 2^20
  for (float &x : v)
    x = uniform(rng);
  std::copy(k.begin(), k.begin() + L * D, k.begin() + L * D);
  std::copy(v.begin(), v.begin() + L * E, v.begin() + L * E);
  k[(L + nanKey) * D + 9] = NAN;
  v[(L + nanKey) * E + 3] = NAN;
  TensorView kView{k.data(), ATTN_F32, {1, 2, L, D}, TensorView::contiguousStrides({1, 2, L, D})};
  TensorView vView{v.data(), ATTN_F32, {1, 2, L, E}, TensorView::contiguousStrides({1, 2, L, E})};

  KPacker kp = kSplitF32Packer(sig, dims, kView);
  EXPECT_TRUE(kp.packHead(0));
  EXPECT_FALSE(kp.packHead(1));
  int64_t tile = tileKeys(sig), padded = paddedKvLen(sig, L), depth = 4 * D / 2;
  const uint32_t *kw = static_cast<const uint32_t *>(kp.data);
  int64_t kMismatches = 0;
  for (int64_t j = 0; j < L; ++j)
    for (int64_t c = 0; c < 3 * D / 2; ++c) { // [k1 | k2 | k3]: k1' only where k is not finite
      int64_t at = j / tile * tile * depth + c * tile + j % tile;
      if (j != nanKey)
        kMismatches += kw[at] != kw[depth * padded + at];
    }
  EXPECT_EQ(kMismatches, 0);

  VPacker vp = vSplitF32Packer(sig, dims, vView);
  EXPECT_TRUE(vp.packHead(0));
  EXPECT_FALSE(vp.packHead(1));
  int64_t pairs = padded / 2, words = 2 * pairs * E; // of each part
  const uint32_t *vw = static_cast<const uint32_t *>(vp.data);
  int64_t vMismatches = 0;
  for (int part = 0; part < 3; ++part)
    for (int64_t jp = 0; jp < pairs; ++jp)
      for (int64_t c = 0; c < E; ++c) {
        int64_t at = part * words + jp * E + c;
        if (jp != nanKey / 2 || c != 3)
          vMismatches += vw[at] != vw[at + pairs * E];
      }
  EXPECT_EQ(vMismatches, 0);
}

} // namespace
