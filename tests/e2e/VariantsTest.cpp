//===- VariantsTest.cpp - Variant families and edge cases, compiled --------===//
#include "E2ETestUtil.h"

#include "compiler/Target/CodeGen.h"

#include <cmath>
#include <limits>
#include <random>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

using namespace attn;
using namespace attn::test;

namespace {

std::string spec(const std::string &name, const std::string &types, const std::string &fields) {
  return "attention " + name + " {\n q: " + types + "[B, H, L, D]\n k: " + types +
         "[B, G, M, D]\n v: " + types + "[B, G, M, E]\n" + fields + "\n}\n";
}

void check(const std::string &name, const std::string &fields, InputSizes sizes = {2, 4, 2, 45, 70, 24, 17},
           const std::string &types = "f32") {
  std::string text = spec(name, types, fields);
  expectMatchesReference(text, name, randomInputs(text, name, sizes));
}

TEST(Variants, DenseSoftmaxWithLse) { check("dense", "outputs: o, lse"); }
TEST(Variants, Causal) { check("causal", "mask: j <= i\noutputs: o, lse"); }
TEST(Variants, BottomRightCausalCrossAttention) { check("br", "mask: j <= i + (M - L)"); }
TEST(Variants, SlidingWindow) { check("window", "w: i32\nmask: j <= i && i - j < w"); }
TEST(Variants, Chunked) { check("chunked", "c: i32\nmask: i / c == j / c"); }
TEST(Variants, Alibi) { check("alibi", "slopes: f32[H]\nscore: s - slopes[h] * (i - j)\nmask: j <= i"); }
TEST(Variants, Softcap) { check("softcap", "score: 20 * tanh(s / 20)"); }
TEST(Variants, KeyPadding) { check("pad", "len: i32[B]\nmask: j < len[b]\noutputs: o, lse"); }
TEST(Variants, DocumentMask) { check("doc", "doc: i32[B, M]\nmask: doc[b, j] == doc[b, min(i, M - 1)]"); }
TEST(Variants, DocumentMaskWithScatteredIds) {
  // Ids in no order and of every size: tile classification reads them to
  // skip tiles, and must never skip one that holds a kept key.
  std::string text = spec("docs", "f32", "doc: i32[B, M]\nmask: doc[b, j] == doc[b, i % M] && j <= i + 7");
  ArgumentMap args = randomInputs(text, "docs", {2, 4, 2, 70, 90, 16, 16});
  std::mt19937 rng(9);
  for (double &id : args["doc"].data)
    id = static_cast<double>(rng() % 5) - 2; // negative ids too
  for (int64_t n = 30; n < 60; ++n)
    args["doc"].data[n] = 1000000; // a long run of one large id
  expectMatchesReference(text, "docs", args);
}

TEST(Variants, ScoreAndMaskReadTablesByKey) {
  // Reads indexed by j are gathers over the key lanes (f32, bf16, i32).
  check("kbias", "bias: f32[B, M]\nscore: s + bias[b, j]\nmask: j <= i + 3");
  std::string fields = "bias: bf16[G, M]\nkeep: i32[M]\nscore: s - bias[0, j]\nmask: keep[j] != 2";
  check("kbias16", fields);
  // Without AVX512-BF16 a bf16 gather must not become a call to compiler-rt's
  // __truncsfbf2 (the kernel would not load); loading shows it on any host.
  std::string text = spec("kbias16", "f32", fields);
  ArgumentMap args = randomInputs(text, "kbias16", {2, 4, 2, 45, 70, 24, 17});
  for (const char *target : {"x86-64-avx2", "x86-64-avx512"}) {
    CompileOptions options;
    options.target = target;
    SCOPED_TRACE(target);
    const Kernel &kernel = compiled(text, "kbias16", options);
    if (hostRuns(target) && !kernel.signature().inputs.empty())
      expectKernelMatchesReference(kernel, text, "kbias16", args);
  }
}
TEST(Variants, GlobalAndLocal) { check("gl", "w: i32\nmask: abs(i - j) <= w || i < 3 || j < 3"); }
TEST(Variants, Sigmoid) { check("sig", "bias: f32\nscore: s + bias\nweights: sigmoid"); }
TEST(Variants, TopK) { check("topk", "mask: j <= i + 5\nweights: topk(8)\noutputs: o, lse"); }
TEST(Variants, TopKAndArgmaxTiesKeepTheLowestKeys) {
  // Key 10 scores highest and every other key the same: topk(2) keeps keys
  // 10 and 0, argmax key 10 (and with key 10 masked out, keys 0, 1 / key 0),
  // on the row path (one query row) and the tiled path (40 rows); v[j] = j.
  for (int64_t rows : {1, 40})
    for (const char *weights : {"topk(2)", "argmax"})
      for (bool maskTop : {false, true}) {
        std::string name = std::string(weights[0] == 't' ? "ties_topk_" : "ties_argmax_") + std::to_string(rows) +
                           (maskTop ? "_masked" : "");
        std::string text = "attention " + name + " {\n q: f32[1, 1, " + std::to_string(rows) +
                           ", 4]\n k: f32[1, 1, 70, 4]\n v: f32[1, 1, 70, 4]\n weights: " + weights +
                           (maskTop ? "\n mask: j != 10" : "") + "\n}\n";
        ArgumentMap args = randomInputs(text, name, {1, 1, 1, rows, 70, 4, 4});
        for (double &x : args["q"].data)
          x = 1.0;
        for (int64_t j = 0; j < 70; ++j)
          for (int64_t d = 0; d < 4; ++d) {
            args["k"].data[j * 4 + d] = j == 10 ? 1.0 : 0.5;
            args["v"].data[j * 4 + d] = static_cast<double>(j);
          }
        expectMatchesReference(text, name, args);
        if (!maskTop)
          continue;
        Expected<ReferenceOutput> got = runOnHost(compiled(text, name), args, false);
        ASSERT_TRUE(got) << got.error();
        double want = weights[0] == 't' ? 0.5 : 0.0; // mean of v[0] and v[1], or v[0]
        for (int64_t i = 0; i < rows; ++i)
          EXPECT_NEAR(got->o[i * 4], want, 1e-6) << name << " row " << i;
      }
}

TEST(Variants, TopKSlotsInRegistersAndInMemory) {
  // K of 17, 40 and 64 keep a row's slots in registers (2 to 4 vectors of
  // 16, lanes shifted across vectors), 65 in memory; on AVX2 (8 lanes) 17
  // in 3 vectors, the others in memory. Scores take 5 values, so ties fall
  // across vector boundaries and must keep the lowest keys; rows see 101 to
  // 148 keys, fewer than K at first; v[j] = j shows every pick.
  for (int64_t K : {17, 40, 64, 65}) {
    std::string name = "topk_slots_" + std::to_string(K);
    std::string text = "attention " + name +
                       " {\n q: f32[1, 2, 48, 4]\n k: f32[1, 2, 150, 4]\n v: f32[1, 2, 150, 4]\n mask: j <= i + 100\n"
                       " weights: topk(" +
                       std::to_string(K) + ")\n outputs: o, lse\n}\n";
    ArgumentMap args = randomInputs(text, name, {1, 2, 2, 48, 150, 4, 4});
    for (double &x : args["q"].data)
      x = 1.0;
    for (int64_t n = 0; n < 2 * 150; ++n)
      for (int64_t d = 0; d < 4; ++d) {
        args["k"].data[n * 4 + d] = static_cast<double>(n * 7 % 5) * 0.25;
        args["v"].data[n * 4 + d] = static_cast<double>(n % 150);
      }
    expectMatchesReference(text, name, args);
    if (!hostRuns("x86-64-avx2"))
      continue;
    CompileOptions avx2;
    avx2.target = "x86-64-avx2";
    SCOPED_TRACE("x86-64-avx2");
    expectKernelMatchesReference(compiled(text, name, avx2), text, name, args);
  }
}

TEST(Variants, TopKLargerThanKeys) { check("topk_big", "weights: topk(500)\noutputs: o, lse"); }
TEST(Variants, Argmax) { check("argmax", "mask: j != i\nweights: argmax"); }
TEST(Variants, Decode) { check("decode", "outputs: o, lse", InputSizes{3, 8, 2, 1, 300, 32, 32}); }
// Few rows per kv head and a group that is a multiple of 4: the row path
// computes four query heads per k/v load (GroupedSoftmaxRows). Head counts
// are named (the kernel picks the grouped code at run time) or fixed.
std::string groupedSpec(const std::string &name, const std::string &qh, const std::string &kh,
                        const std::string &fields, const std::string &vDim = "E") {
  return "attention " + name + " {\n q: f32[B, " + qh + ", L, D]\n k: f32[B, " + kh + ", M, D]\n v: f32[B, " +
         kh + ", M, " + vDim + "]\n" + fields + "\n}\n";
}
ArgumentMap groupedInputs(const std::string &text, const std::string &name, int64_t qHeads, int64_t kvHeads,
                          int64_t rows, int64_t keys, int64_t d, int64_t e) {
  CheckedSpec s = parseAndCheck("t.attn", text);
  const AttentionSpec &k = *s.module.find(name);
  std::map<std::string, int64_t> dims = {{"B", 2}, {"Hq", qHeads}, {"Hkv", kvHeads}, {"L", rows},
                                         {"M", keys}, {"D", d}, {"E", e}};
  return makeInputs(k, dims, 5);
}

TEST(Variants, DecodeGroupedHeads) {
  std::string masked = groupedSpec("decode_grouped", "Hq", "Hkv",
                                   "len: i32[B]\nmask: j < len[b]\nscore: s - 0.1 * (j % 3)\noutputs: o, lse");
  expectMatchesReference(masked, "decode_grouped", groupedInputs(masked, "decode_grouped", 8, 2, 3, 300, 32, 20));
  std::string dense = groupedSpec("decode_grouped_dense", "Hq", "Hkv", "outputs: o, lse");
  expectMatchesReference(dense, "decode_grouped_dense",
                         groupedInputs(dense, "decode_grouped_dense", 16, 2, 1, 77, 19, 33));
  // A group of 2 takes the one-head code of the same kernel.
  expectMatchesReference(dense, "decode_grouped_dense",
                         groupedInputs(dense, "decode_grouped_dense", 4, 2, 1, 77, 19, 33));
}
TEST(Variants, DecodeGroupedHeadsFourKeysAtATime) {
  // No mask or score code and D whole vectors: scores of four keys at a
  // time with a transposing reduction; key counts that leave 1-3 keys and
  // a partial vector over; masked blocks (cache_len) take the per-key code.
  std::string dense = groupedSpec("decode_quads", "Hq", "Hkv", "outputs: o, lse");
  for (int64_t keys : {4, 203, 130})
    for (int64_t d : {16, 48})
      expectMatchesReference(dense, "decode_quads", groupedInputs(dense, "decode_quads", 8, 2, 1, keys, d, 24));
  std::string padded = groupedSpec("decode_quads_len", "Hq", "Hkv", "len: i32[B]\nmask: j < len[b]\noutputs: o, lse");
  expectMatchesReference(padded, "decode_quads_len",
                         groupedInputs(padded, "decode_quads_len", 4, 1, 1, 301, 32, 32));
}
TEST(Variants, DecodeGroupedHeadsFixedInTheSpec) {
  std::string text = groupedSpec("decode_fixed", "8", "2", "mask: j <= i + M - L && h != 5\noutputs: o, lse");
  expectMatchesReference(text, "decode_fixed", groupedInputs(text, "decode_fixed", 8, 2, 2, 150, 24, 16));
}
TEST(Variants, DecodeGroupedHeadsKeepNaNOfMaskedKeysOut) {
  std::string text = groupedSpec("decode_nan", "4", "1", "mask: j != 7 && (h != 2 || j < 40)");
  ArgumentMap args = groupedInputs(text, "decode_nan", 4, 1, 1, 90, 16, 16);
  args["v"].data[7 * 16 + 3] = NAN;  // batch 0, key 7: masked for every head
  args["v"].data[50 * 16 + 1] = NAN; // batch 0, key 50: masked for head 2 only
  expectMatchesReference(text, "decode_nan", args);
  Expected<ReferenceOutput> got = runOnHost(compiled(text, "decode_nan"), args, false);
  ASSERT_TRUE(got) << got.error();
  ASSERT_EQ(got->o.size(), size_t(2 * 4 * 16));
  for (int64_t d = 0; d < 16; ++d) {
    EXPECT_FALSE(std::isnan(got->o[2 * 16 + d])) << "head 2 must not see key 50";
    EXPECT_TRUE(std::isnan(got->o[1 * 16 + 1]) || d != 1) << "head 1 sees key 50";
  }
}
TEST(Variants, DecodeGroupedHeadsWithFixedValueDims) {
  // v's head dim fixed: several vectors of it per pass over the keys (1, 2
  // or 4 of them, or a scalar tail at 8 lanes), NaN in masked keys' v.
  for (int64_t e : {16, 32, 64, 48, 20}) {
    std::string name = "decode_e" + std::to_string(e);
    std::string text = groupedSpec(name, "8", "2", "mask: j != 7 && (h != 2 || j < 40)\noutputs: o, lse",
                                   std::to_string(e));
    ArgumentMap args = groupedInputs(text, name, 8, 2, 1, 130, 16, e);
    args["v"].data[7 * e + 3] = NAN;
    args["v"].data[50 * e + 1] = NAN;
    expectMatchesReference(text, name, args);
  }
}
TEST(Variants, ManyHeads) { check("heads", "mask: j <= i", InputSizes{1, 32, 32, 19, 19, 8, 8}); }
TEST(Variants, MultiQuery) { check("mqa", "mask: j <= i", InputSizes{2, 8, 1, 33, 33, 16, 16}); }
TEST(Variants, EveryExpressionForm) {
  check("exprs", "t: f32\nn: i32\nscale: t / sqrt(D)\n"
                 "score: (s > 0 ? exp2(s) : -log2(1 + abs(s))) + sin(s) * cos(s) - floor(s) % 2 + "
                 "max(s, -1) * min(i, j) / (1 + n) + sigmoid(s) + sqrt(abs(s)) + exp(-abs(s)) + log(2 + s)\n"
                 "mask: !(i % 3 == 1 && j % 2 == 0) || (i - j) / 0 == 0");
}
TEST(Variants, BF16) { check("bf16", "mask: j <= i\noutputs: o, lse", {2, 4, 2, 45, 70, 24, 17}, "bf16"); }
// f16 k is widened to f32 as the runtime packs it (halfRowsPacker): head
// dims a multiple of 16 (16-key AVX-512 transposes, a last tile cut short),
// odd ones (4x4 steps and single words), and past 32 MB of packed k
// (streamed stores; 140000 keys x 64).
TEST(Variants, F16KeysWidenedWhenPacked) {
  check("f16_wide", "mask: j <= i + (M - L)\noutputs: o, lse", {1, 4, 2, 40, 77, 48, 24}, "f16");
  check("f16_odd", "outputs: o, lse", {2, 4, 2, 45, 70, 37, 17}, "f16");
  check("f16_long", "mask: j <= i + (M - L) - 7", {1, 1, 1, 16, 140000, 64, 16}, "f16");
  // P V reads v widened to f32 once per kv head (widensV), softmax and
  // sigmoid: an infinite v on a key the mask rules out for some rows of its
  // tile must not reach them (their p is 0: 0 x inf is NaN).
  for (const char *weights : {"softmax", "sigmoid"}) {
    std::string name = std::string("f16_v_") + weights;
    std::string text = spec(name, "f16", std::string("mask: j <= i\nweights: ") + weights);
    ArgumentMap args = randomInputs(text, name, {1, 2, 1, 40, 40, 32, 24});
    args["v"].data[13 * 24 + 5] = std::numeric_limits<double>::infinity(); // key 13: rows 8..12 mask it
    expectMatchesReference(text, name, args);
    Expected<ReferenceOutput> got = runOnHost(compiled(text, name), args, false);
    ASSERT_TRUE(got) << got.error();
    EXPECT_TRUE(std::isfinite(got->o[12 * 24 + 5])) << weights;
    EXPECT_TRUE(std::isinf(got->o[13 * 24 + 5])) << weights;
  }
}
// bf16 q, k and v are multiplied as bf16 pairs (vdpbf16ps) where the host
// has AVX512-BF16 (Schedule::bf16Dot): odd head dims (the last q element
// pairs with zero), value dims with a two-vector, a one-vector and a scalar
// part, a last key block cut short, full and partly masked blocks, top-K.
TEST(Variants, BF16PairedDotProducts) {
  check("bf16_dense", "outputs: o, lse", {2, 4, 2, 45, 100, 37, 57}, "bf16");
  check("bf16_band", "mask: j <= i + 20 && i <= j + 60\noutputs: o, lse", {1, 4, 1, 70, 150, 65, 40}, "bf16");
  check("bf16_topk", "mask: j <= i + 7\nweights: topk(8)\noutputs: o, lse", {2, 4, 2, 45, 100, 37, 20}, "bf16");
}

TEST(Variants, BF16DotWhereTheHostHasIt) {
  Expected<std::unique_ptr<llvm::TargetMachine>> host = createTargetMachine("host");
  ASSERT_TRUE(host) << host.error();
  std::string text = spec("bf16_sig", "bf16", "");
  EXPECT_EQ(compiled(text, "bf16_sig").signature().schedule.bf16Dot, hasBf16Dot(**host));
}

/// A spec with fixed head dims D and E (so AMX applies where the host has
/// it: see usesAmx).
std::string fixedDimsSpec(const std::string &name, int64_t d, int64_t e, const std::string &fields) {
  return "attention " + name + " {\n q: bf16[B, H, L, " + std::to_string(d) + "]\n k: bf16[B, G, M, " +
         std::to_string(d) + "]\n v: bf16[B, G, M, " + std::to_string(e) + "]\n" + fields + "\n}\n";
}

TEST(Variants, AmxTiles) {
  // Fixed D and Dv in whole tiles; sequence lengths that are not multiples
  // of a block (48 keys) or of a tile's 8 rows; grouped heads; full blocks
  // (AMX P V) and masked ones (the f32 P V) in one kernel; top-K on AMX
  // scores. On a host without AMX the same kernels run the vdpbf16ps or f32
  // path and must agree all the same.
  struct Case {
    std::string name;
    int64_t d, e;
    std::string fields;
    InputSizes sizes;
  };
  for (const Case &c : std::vector<Case>{
           {"amx_dense", 64, 48, "outputs: o, lse", {2, 4, 2, 45, 100, 0, 0}},
           {"amx_causal", 128, 128, "mask: j <= i\noutputs: o, lse", {1, 2, 1, 133, 133, 0, 0}},
           {"amx_band", 32, 16, "mask: j <= i + 20 && i <= j + 60", {1, 4, 1, 70, 150, 0, 0}},
           {"amx_cross", 96, 32, "outputs: o, lse", {1, 3, 3, 17, 1000, 0, 0}},
           {"amx_topk", 32, 32, "mask: j <= i + 7\nweights: topk(8)\noutputs: o, lse", {2, 4, 2, 45, 100, 0, 0}},
           {"amx_argmax", 64, 16, "weights: argmax", {1, 2, 2, 40, 97, 0, 0}},
           // Running maxima that climb: by more than the lazy margin per
           // block (m must move every block, and overall by more than exp's
           // range), and by less (p grows past 1 until m moves).
           {"amx_climbing", 64, 32, "score: s + 0.4 * j\noutputs: o, lse", {1, 2, 1, 40, 300, 0, 0}},
           {"amx_creeping", 64, 32, "score: s + 0.05 * j\noutputs: o, lse", {1, 2, 1, 40, 300, 0, 0}},
       }) {
    std::string text = fixedDimsSpec(c.name, c.d, c.e, c.fields);
    expectMatchesReference(text, c.name, randomInputs(text, c.name, c.sizes));
    EXPECT_EQ(compiled(text, c.name).signature().schedule.amx, hostRunsAmx()) << c.name;
  }
}

/// Inputs whose row maxima the data moves (one kv head, k rows of d): q > 0;
/// key jumpKey's k all ones (it scores about 8 against about 1.5 for the
/// others at d = 64), or, with jumpKey -1, k growing by perKey per key.
void moveMaxima(ArgumentMap &args, int64_t d, int64_t jumpKey, double perKey) {
  for (double &x : args["q"].data)
    x = std::abs(x) + 0.5;
  std::vector<double> &k = args["k"].data;
  for (size_t at = 0; at < k.size(); ++at) {
    int64_t key = static_cast<int64_t>(at) / d;
    k[at] = key == jumpKey ? 1.0 : k[at] + perKey * static_cast<double>(key);
  }
}

TEST(Variants, AmxTilesWithMaximaMovingInTheData) {
  // Without a score function the AMX softmax works in units of log2 e (S
  // scaled by scale * log2 e, p = 2^(s - m)); its corrections and lse go
  // back to e. Maxima moved by q and k themselves (q > 0): one key whose k
  // is all ones scores about 8 against about 1.5 for the others, just past
  // the lazy margin (5.5), so the keys before it keep a weight the
  // correction must get right; and scores that climb along the key (k
  // growing with j) by about 10 per 64-key block (m moves every block) or
  // about 1 (p grows past 1 until m moves). Dense and causal, lse too.
  struct Case {
    int64_t jumpKey;
    double perKey;
  };
  for (Case c : {Case{70, 0}, Case{130, 0}, Case{200, 0}, Case{-1, 0.02}, Case{-1, 0.002}})
    for (const char *mask : {"", "mask: j <= i + 250\n"}) {
      std::string text = fixedDimsSpec("amx_moving", 64, 32, std::string(mask) + "outputs: o, lse");
      ArgumentMap args = randomInputs(text, "amx_moving", {1, 2, 1, 40, 300, 0, 0});
      moveMaxima(args, 64, c.jumpKey, c.perKey);
      expectMatchesReference(text, "amx_moving", args);
    }
}

TEST(Variants, TiledF32WithMaximaMovingInTheData) {
  // The f32 tiled softmax, like the AMX one: scores in units of log2 e on
  // 16-wide targets (q rows packed with scale * log2 e), and a running
  // maximum that moves only past the lazy margin (acc rescaled only then).
  // The same data as AmxTilesWithMaximaMovingInTheData: a key scoring just
  // past the margin, scores climbing by about 10 per block or about 1.
  struct Case {
    int64_t jumpKey;
    double perKey;
  };
  for (Case c : {Case{70, 0}, Case{130, 0}, Case{-1, 0.02}, Case{-1, 0.002}})
    for (const char *mask : {"", "mask: j <= i + 250\n"}) {
      std::string text = spec("f32_moving", "f32", std::string(mask) + "outputs: o, lse");
      ArgumentMap args = randomInputs(text, "f32_moving", {1, 2, 1, 40, 300, 64, 32});
      moveMaxima(args, 64, c.jumpKey, c.perKey);
      expectMatchesReference(text, "f32_moving", args);
    }
}

TEST(Variants, AmxTilesKeepNaNOfMaskedKeysOut) {
  // NaN in one key, in the v of a key that is masked for the rows before it
  // (its block takes the f32 P V, which skips masked keys), and in one
  // query, with the tiles of AMX.
  // With a non-finite v the masked blocks keep the f32 P V (see
  // ParamLayout::VFinite); an inf alone in a masked v must stay out too.
  for (const char *weights : {"softmax", "topk(5)"}) {
    std::string name = std::string("amx_nan_") + (weights[0] == 't' ? "topk" : "softmax");
    std::string text = fixedDimsSpec(name, 32, 16, std::string("mask: j <= i\nweights: ") + weights);
    ArgumentMap args = randomInputs(text, name, {1, 2, 2, 100, 100, 0, 0});
    args["k"].data[17 * 32 + 3] = NAN;  // key 17 of head 0: rows 17.. turn NaN
    args["v"].data[70 * 16 + 1] = NAN;  // v of key 70: masked for rows < 70
    args["q"].data[(100 + 5) * 32] = NAN; // head 1, row 5
    expectMatchesReference(text, name, args);
  }
  std::string text = fixedDimsSpec("amx_inf", 32, 16, "mask: j <= i");
  ArgumentMap args = randomInputs(text, "amx_inf", {1, 2, 2, 100, 100, 0, 0});
  args["v"].data[70 * 16 + 1] = INFINITY; // masked for rows < 70; inf from row 70 on
  expectMatchesReference(text, "amx_inf", args);
}

TEST(Variants, AmxTilesWithWeightsBelowTheSmallestNormal) {
  // The AMX exp leaves weights under 2^-126 to MXCSR.FTZ, which the runtime
  // sets while kernels run (without it they would be denormal, and slow):
  // a steep ALiBi-like slope puts every key more than ~30 back there. The
  // caller's MXCSR comes back as it was.
#if defined(__SSE__)
  unsigned before = _mm_getcsr();
  _mm_setcsr(before & ~_MM_FLUSH_ZERO_ON);
  unsigned callers = _mm_getcsr();
#endif
  std::string text = fixedDimsSpec("amx_steep", 32, 16, "score: s - 3 * (i - j)\nmask: j <= i\noutputs: o, lse");
  expectMatchesReference(text, "amx_steep", randomInputs(text, "amx_steep", {1, 2, 2, 150, 150, 0, 0}));
#if defined(__SSE__)
  EXPECT_EQ(_mm_getcsr(), callers);
  _mm_setcsr(before);
#endif
}

TEST(Variants, ValueDimsInChunksOfThreeVectors) {
  // f32 P V on AVX-512 takes 3 vectors of value dims per row where the rest
  // is whole pairs (48 + 32 at 80, 96 + 32 at 128, 96 + 64 at 160), else
  // pairs (64, 112) or a last single vector or scalars (20, 50); unmasked
  // blocks and, with the mask, the diagonal's masked ones.
  for (int64_t e : {20, 48, 50, 64, 80, 112, 128, 160})
    for (const char *fields : {"outputs: o, lse", "mask: j <= i"}) {
      std::string text = spec("chunks", "f32", fields);
      expectMatchesReference(text, "chunks", randomInputs(text, "chunks", {1, 2, 2, 70, 70, 16, e}));
    }
}

TEST(Variants, AmxTilesWithScalesOfEverySign) {
  // On AMX tiles S keeps raw products, and without a mask the softmax
  // scales them as it loads them; a masked -inf times a scale of 0 or below
  // is not -inf, so masks must see scaled scores. Scales of every sign,
  // with an inf in the k of a key masked for the first rows.
  for (const char *scale : {"-0.125", "0", "0.25"}) {
    std::string text = fixedDimsSpec("amx_scale", 32, 16, std::string("scale: ") + scale + "\nmask: j <= i");
    ArgumentMap args = randomInputs(text, "amx_scale", {1, 2, 2, 100, 100, 0, 0});
    args["k"].data[90 * 32 + 5] = INFINITY; // key 90 of head 0: masked for rows < 90
    expectMatchesReference(text, "amx_scale", args);
  }
}

TEST(Variants, AmxPairsOfBlocks) {
  // On AMX tiles P V takes two 64-key blocks per trip of the accumulators
  // when the second leaves every row's maximum where it was, else one block
  // after the other: odd and even numbers of blocks, a last one cut short;
  // a key whose scores jump (by 12) in the first block of a pair (the pair
  // still goes together, the first block's correction first), in the
  // second (one after the other) and in a last unpaired block; the causal
  // diagonal's masked blocks, and with NaN in a masked key's v (the masked
  // blocks then take the f32 P V, so their pair splits).
  for (int64_t m : {64, 127, 128, 129, 200, 256}) {
    std::string text = fixedDimsSpec("amx_pairs", 32, 16, "outputs: o, lse");
    expectMatchesReference(text, "amx_pairs", randomInputs(text, "amx_pairs", {1, 2, 1, 20, m, 0, 0}));
  }
  for (int64_t jump : {40, 100, 150, 240}) {
    std::string text = fixedDimsSpec("amx_jump", 32, 16,
                                     "score: s + (j == " + std::to_string(jump) + " ? 12 : 0)\noutputs: o, lse");
    expectMatchesReference(text, "amx_jump", randomInputs(text, "amx_jump", {1, 2, 1, 20, 250, 0, 0}));
  }
  std::string text = fixedDimsSpec("amx_pairs_causal", 32, 16, "mask: j <= i\noutputs: o, lse");
  expectMatchesReference(text, "amx_pairs_causal", randomInputs(text, "amx_pairs_causal", {1, 2, 2, 200, 200, 0, 0}));
  ArgumentMap args = randomInputs(text, "amx_pairs_causal", {1, 2, 2, 200, 200, 0, 0});
  args["v"].data[150 * 16 + 3] = NAN; // key 150 of kv head 0: masked for rows < 150
  expectMatchesReference(text, "amx_pairs_causal", args);
}

TEST(Variants, KAndVPackedPerHead) {
  // k (and bf16 pairs of v) packed all first or per kv head by the worker
  // that then runs the head's items: the same o, for f32, bf16 pairs
  // (vdpbf16ps: D named) and bf16 on AMX tiles where the host has them.
  // NaN in the v of a key masked for the rows before it, in one of the
  // eight kv heads only: per head, v's finite flag (ParamLayout::VFinite)
  // is the head's, and the other heads keep the fast P V.
  std::string f32 = spec("per_head", "f32", "mask: j <= i");
  std::string pairs = spec("per_head", "bf16", "mask: j <= i");
  std::string tiles = fixedDimsSpec("per_head", 32, 16, "mask: j <= i");
  for (KVPacking packing : {KVPacking::Upfront, KVPacking::PerHead})
    for (const std::string &text : {f32, pairs, tiles}) {
      ArgumentMap args = randomInputs(text, "per_head", {2, 8, 4, 50, 50, 32, 16});
      args["v"].data[((1 * 4 + 2) * 50 + 30) * 16 + 1] = NAN; // batch 1, kv head 2, key 30
      InvokeOptions options;
      options.threads = 2;
      options.packing = packing;
      expectMatchesReference(text, "per_head", args, options);
    }
  // A head's packed k over the L2 (5 MB) is streamed past the caches.
  std::string text = spec("per_head_long", "f32", "mask: j <= i + (M - L) - 5");
  InvokeOptions options;
  options.threads = 2;
  options.packing = KVPacking::PerHead;
  expectMatchesReference(text, "per_head_long", randomInputs(text, "per_head_long", {1, 2, 2, 16, 20000, 64, 16}),
                         options);
}

TEST(Variants, AmxOnlyForWholeTiles) {
  // D not a multiple of 32, or Dv not of 16, or D named: the vdpbf16ps path.
  Expected<std::unique_ptr<llvm::TargetMachine>> host = createTargetMachine("host");
  ASSERT_TRUE(host) << host.error();
  for (auto [d, e] : {std::pair<int64_t, int64_t>{48, 32}, {64, 40}}) {
    std::string name = "amx_no_" + std::to_string(d) + "_" + std::to_string(e);
    std::string text = fixedDimsSpec(name, d, e, "");
    KernelSignature sig = compiled(text, name).signature();
    EXPECT_FALSE(usesAmx(sig)) << name;
    expectMatchesReference(text, name, randomInputs(text, name, {1, 2, 2, 40, 50, 0, 0}));
  }
  EXPECT_FALSE(usesAmx(compiled(spec("amx_named", "bf16", ""), "amx_named").signature()));
}

TEST(Variants, QBlocksOfSeveralTiles) {
  // A work item of the tiled path is a q block of blockQ rows whose tiles (8
  // rows, 16 on AMX) take each K/V block in turn, their state in scratch:
  // q blocks of 2.5 tiles, of whole tiles, and one q block for a kv head's
  // whole group, whose rows span query heads (row f of the group is head
  // f / L at position f % L); masks that skip, keep and cut blocks; top-K's
  // integer state; AMX tiles where the host has them.
  struct Case {
    std::string name, text;
    InputSizes sizes;
  };
  std::vector<Case> cases = {
      {"qb_causal", spec("qb_causal", "f32", "mask: j <= i\noutputs: o, lse"), {1, 8, 2, 45, 45, 24, 17}},
      {"qb_window_topk", spec("qb_window_topk", "f32", "mask: j <= i && i - j < 30\nweights: topk(5)"),
       {2, 4, 1, 37, 37, 16, 16}},
      {"qb_amx", fixedDimsSpec("qb_amx", 32, 16, "mask: j <= i + 3\noutputs: o, lse"), {1, 4, 1, 45, 60, 0, 0}},
  };
  for (int64_t blockQ : {20, 24, 64, 400})
    for (const Case &c : cases) {
      CompileOptions options;
      options.schedule.blockQ = blockQ;
      options.useCache = false;
      Expected<Kernel> kernel = Compiler(options).compile(c.text, c.name, "t.attn");
      ASSERT_TRUE(kernel) << kernel.error();
      EXPECT_EQ(kernel->signature().schedule.blockQ, blockQ);
      CheckedSpec parsed = parseAndCheck("t.attn", c.text);
      const AttentionSpec &k = *parsed.module.find(c.name);
      ArgumentMap args = randomInputs(c.text, c.name, c.sizes);
      Expected<ReferenceOutput> ref = runReference(k, args);
      ASSERT_TRUE(ref) << ref.error();
      Expected<ReferenceOutput> got = runOnHost(*kernel, args, k.returnLse, InvokeOptions{});
      ASSERT_TRUE(got) << got.error();
      EXPECT_TRUE(matches(got->o, ref->o, ref->oShape, tolerance(k, ref->o))) << c.name << " blockQ " << blockQ;
      if (k.returnLse)
        EXPECT_TRUE(matches(got->lse, ref->lse, ref->lseShape, tolerance(k, ref->lse)))
            << c.name << " blockQ " << blockQ;
    }
}

TEST(Variants, BF16WithoutBf16Instructions) {
  // Targets without AVX512-BF16 convert f32 <-> bf16 in integer code (no
  // call to compiler-rt's __truncsfbf2, which the JIT could not resolve):
  // rounding, a NaN row and masked keys against the reference, on the
  // targets this host can run.
  std::string text = spec("bf16_plain", "bf16", "mask: j <= i\noutputs: o, lse");
  CheckedSpec parsed = parseAndCheck("t.attn", text);
  const AttentionSpec &k = *parsed.module.find("bf16_plain");
  ArgumentMap args = randomInputs(text, "bf16_plain", {2, 4, 2, 45, 70, 24, 17});
  args["q"].data[3 * 24] = NAN; // batch 0, head 0, row 3
  Expected<ReferenceOutput> ref = runReference(k, args);
  ASSERT_TRUE(ref) << ref.error();
  for (const char *target : {"x86-64-avx2", "x86-64-avx512"}) {
    CompileOptions options;
    options.target = target;
    options.useCache = false;
    Expected<Kernel> kernel = Compiler(options).compile(text, "bf16_plain", "t.attn");
    ASSERT_TRUE(kernel) << target << ": " << kernel.error();
    EXPECT_FALSE(kernel->signature().schedule.bf16Dot) << target;
    if (!hostRuns(target))
      continue; // compiled and loaded; this host cannot run it
    Expected<ReferenceOutput> got = runOnHost(*kernel, args, true, InvokeOptions{});
    ASSERT_TRUE(got) << target << ": " << got.error();
    EXPECT_TRUE(matches(got->o, ref->o, ref->oShape, tolerance(k, ref->o))) << target;
    EXPECT_TRUE(matches(got->lse, ref->lse, ref->lseShape, tolerance(k, ref->lse))) << target;
  }
}

TEST(Variants, F16) { check("f16", "outputs: o, lse", {2, 4, 2, 45, 70, 24, 17}, "f16"); }

TEST(Variants, FullyMaskedRowsAreZeroWithMinusInfLse) {
  std::string text = spec("none", "f32", "mask: j > i + 1000\noutputs: o, lse");
  ArgumentMap args = randomInputs(text, "none", {1, 2, 2, 5, 9, 8, 8});
  Expected<ReferenceOutput> got = runOnHost(compiled(text, "none"), args, true);
  ASSERT_TRUE(got) << got.error();
  for (double x : got->o)
    ASSERT_EQ(x, 0.0);
  for (double x : got->lse)
    ASSERT_EQ(x, -std::numeric_limits<double>::infinity());
}

TEST(Variants, NaNReachesOnlyItsRows) {
  for (const char *weights : {"softmax", "sigmoid", "topk(3)", "argmax"}) {
    std::string name = std::string("nan_") + (weights[0] == 't' ? "topk" : weights);
    std::string text = spec(name, "f32", std::string("mask: j <= i\nweights: ") + weights);
    ArgumentMap args = randomInputs(text, name, {1, 1, 1, 6, 6, 4, 4});
    args["k"].data[3 * 4 + 1] = NAN; // key 3: rows 3.. see it
    expectMatchesReference(text, name, args);
    Expected<ReferenceOutput> got = runOnHost(compiled(text, name), args, false);
    ASSERT_TRUE(got) << got.error();
    EXPECT_FALSE(std::isnan(got->o[2 * 4])) << weights;
    EXPECT_TRUE(std::isnan(got->o[4 * 4])) << weights;
  }
}

TEST(Variants, NaNInTheTiledPath) {
  // Enough rows for the tiled path; NaN in one key, in one masked key's v,
  // and in one query.
  for (std::string types : {"f32", "bf16"})
  for (const char *weights : {"softmax", "topk(5)"}) {
    std::string name = "tiled_nan_" + types + (weights[0] == 't' ? "topk" : "softmax");
    std::string text = spec(name, types, std::string("mask: j <= i\nweights: ") + weights);
    ArgumentMap args = randomInputs(text, name, {1, 2, 2, 40, 40, 8, 8});
    args["k"].data[17 * 8 + 3] = NAN;  // key 17 of head 0: rows 17.. turn NaN
    args["v"].data[30 * 8 + 1] = NAN;  // v of key 30: masked for rows < 30
    // Head 1, key 29: kept by rows 29.. of the tile of rows 24..31 (or
    // 16..31), so inside the keys its P V takes, and masked for rows 24..28,
    // whose o must stay finite (p = 0 times NaN is NaN).
    args["v"].data[(40 + 29) * 8 + 2] = NAN;
    args["q"].data[(40 + 5) * 8] = NAN; // head 1, row 5
    expectMatchesReference(text, name, args);
  }
}

TEST(Variants, LargeOutputsStreamPastTheCaches) {
  // o over 32 MB (36 MB here) of whole, aligned cache lines is written with
  // non-temporal stores, on the tiled path (16 rows a head) and the row
  // path (1 row), with masked keys.
  for (int64_t rows : {16, 1}) {
    std::string text = spec("big_o", "f32", "mask: j <= i || i == 3\noutputs: o, lse");
    ArgumentMap args = randomInputs(text, "big_o", {8192 / rows, 4, 4, rows, 4, 16, 272});
    expectMatchesReference(text, "big_o", args);
  }
}

TEST(Variants, LongKeysPackedPastTheCaches) {
  // Packed k over 32 MB (36 MB: 140000 keys x 64) is written with
  // non-temporal stores on AVX-512 hosts; the tail block is partly keys.
  check("long_k", "mask: j <= i + (M - L) - 7", {1, 1, 1, 16, 140000, 64, 16});
}

TEST(Variants, DiagonalKeysPrefetchedPastL2) {
  // A kv head's k and v over 2 MB (600 keys x (1000 + 1000) x 4 bytes):
  // each q block prefetches the keys at its own positions
  // (prefetchDiagonalKeys), clipped to kvLen; GQA q blocks of 64 rows that
  // cross from one query head to the next (600 rows each) prefetch none.
  // f32, and bf16 pairs (4.8 and 2.4 MB a head).
  check("pf_window", "w: i32\nmask: j <= i && i - j < w", {1, 4, 2, 600, 600, 1000, 1000});
  check("pf_window16", "mask: j <= i && i - j < 70", {1, 2, 2, 600, 620, 1000, 1000}, "bf16");
  // Fixed head dims that are multiples of 32 take AMX tiles where the host
  // has them (64-key blocks, k and v as bf16 pairs); 2.5 MB a head.
  std::string text = "attention pf_amx {\n q: bf16[1, 2, 610, 512]\n k: bf16[1, 2, 610, 512]\n"
                     " v: bf16[1, 2, 610, 512]\n mask: j <= i && i - j < 100\n}\n";
  expectMatchesReference(text, "pf_amx", randomInputs(text, "pf_amx", {1, 2, 2, 610, 610, 512, 512}));
}

TEST(Variants, LargeScoresDoNotOverflow) {
  check("large", "score: s * 1000\noutputs: o, lse");
}

TEST(Variants, AnyStrides) {
  // q stored as [B, L, H, D] and v with a head-dim stride of 2: the runtime
  // takes any layout.
  std::string text = spec("strided", "f32", "mask: j <= i\noutputs: o, lse");
  ArgumentMap args = randomInputs(text, "strided", {2, 4, 2, 11, 11, 8, 6});
  CheckedSpec s = parseAndCheck("t.attn", text);
  Expected<ReferenceOutput> ref = runReference(*s.module.find("strided"), args);
  ASSERT_TRUE(ref);
  const HostTensor &q = args["q"], &k = args["k"], &v = args["v"];
  int64_t B = 2, H = 4, G = 2, L = 11, D = 8, E = 6;
  std::vector<float> qBLHD(B * L * H * D), vWide(B * G * L * E * 2, 0), kF(k.data.begin(), k.data.end());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i)
        for (int64_t d = 0; d < D; ++d)
          qBLHD[((b * L + i) * H + h) * D + d] = q.data[((b * H + h) * L + i) * D + d];
  for (int64_t n = 0; n < B * G * L * E; ++n)
    vWide[2 * n] = v.data[n];
  std::vector<float> o(B * H * L * E * 3, -7.0f), lse(B * H * L);
  TensorView qv{qBLHD.data(), ATTN_F32, {B, H, L, D}, {L * H * D, D, H * D, 1}};
  TensorView kv{kF.data(), ATTN_F32, {B, G, L, D}, {}};
  TensorView vv{vWide.data(), ATTN_F32, {B, G, L, E}, {G * L * E * 2, L * E * 2, E * 2, 2}};
  TensorView ov{o.data(), ATTN_F32, {B, H, L, E}, {H * L * E * 3, L * E * 3, E * 3, 3}};
  TensorView lv{lse.data(), ATTN_F32, {B, H, L}, {}};
  std::string err = compiled(text, "strided").run({{"q", {qv}}, {"k", {kv}}, {"v", {vv}}}, ov, &lv);
  ASSERT_EQ(err, "");
  std::vector<double> got;
  for (int64_t n = 0; n < B * H * L * E; ++n)
    got.push_back(o[3 * n]);
  EXPECT_TRUE(matches(got, ref->o, ref->oShape, 1e-4));
  EXPECT_EQ(o[1], -7.0f) << "o's gaps must stay untouched";
  EXPECT_TRUE(matches(std::vector<double>(lse.begin(), lse.end()), ref->lse, ref->lseShape, 1e-4));
}

TEST(Variants, EmptySequencesAndBatches) {
  std::string text = spec("empty", "f32", "outputs: o, lse");
  for (InputSizes sizes : {InputSizes{0, 2, 2, 5, 5, 4, 4}, InputSizes{1, 2, 2, 0, 5, 4, 4},
                           InputSizes{1, 2, 2, 5, 0, 4, 4}})
    expectMatchesReference(text, "empty", randomInputs(text, "empty", sizes));
}

} // namespace
