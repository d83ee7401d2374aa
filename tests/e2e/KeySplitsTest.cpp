//===- KeySplitsTest.cpp - Decoding with each row's keys split -------------===//
//
// The row path of a softmax kernel can split each row's keys into parts, one
// work item each, merged by the runtime (KeySplits.h). Every split count
// here is checked against the reference, on the row path and the tiled
// path: parts that the mask empties, parts of fewer keys than a block, more
// parts than blocks, NaN, bf16 and f16 outputs, AMX tiles; and the cost
// model's choices.
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include "attn/KeySplits.h"

#include <limits>

using namespace attn;
using namespace attn::test;

namespace {

std::string decodeSpec(const std::string &name, const std::string &type, const std::string &fields) {
  return "attention " + name + " {\n q: " + type + "[B, Hq, L, D]\n k: " + type + "[B, Hkv, M, D]\n v: " + type +
         "[B, Hkv, M, E]\n" + fields + "\n}\n";
}

ArgumentMap decodeInputs(const std::string &text, const std::string &name, std::map<std::string, int64_t> dims,
                         unsigned seed = 11) {
  CheckedSpec s = parseAndCheck("t.attn", text);
  const AttentionSpec &k = *s.module.find(name);
  return makeInputs(k, dims, seed);
}

InvokeOptions splitInto(int64_t parts) {
  InvokeOptions options;
  options.keySplits = parts;
  return options;
}

struct Shape {
  int64_t b, hq, hkv, l, m, d, e;
  std::map<std::string, int64_t> dims() const {
    return {{"B", b}, {"Hq", hq}, {"Hkv", hkv}, {"L", l}, {"M", m}, {"D", d}, {"E", e}};
  }
};

void checkSplits(const std::string &name, const std::string &fields, Shape shape, const std::string &type = "f32",
                 std::initializer_list<int64_t> parts = {1, 2, 3, 7, 1000}) {
  std::string text = decodeSpec(name, type, fields);
  ArgumentMap args = decodeInputs(text, name, shape.dims());
  for (int64_t p : parts) {
    SCOPED_TRACE(name + " split into " + std::to_string(p));
    expectMatchesReference(text, name, args, splitInto(p));
  }
}

// Heads grouped four at a time (GroupedSoftmaxRows) and one at a time; key
// counts that leave a partial last block (1000 = 15 blocks of 64 + 40).
TEST(KeySplits, GroupedHeads) { checkSplits("split_grouped", "outputs: o, lse", {2, 8, 2, 1, 1000, 32, 20}); }
TEST(KeySplits, SingleHeads) { checkSplits("split_single", "outputs: o, lse", {1, 3, 1, 3, 1000, 24, 17}); }
TEST(KeySplits, FewKeys) { checkSplits("split_few", "outputs: o, lse", {1, 4, 1, 1, 70, 16, 16}); }

// Enough rows per kv head for the tiled path (a few draft tokens, or a
// chunk of a prompt, against a long cache): parts of whole 48-key blocks,
// q blocks of several tiles and a partial last tile.
TEST(KeySplits, TiledPath) {
  checkSplits("split_tiled", "outputs: o, lse", {2, 8, 2, 5, 1000, 32, 20});
  checkSplits("split_tiled_rows", "mask: j <= i + (M - L)\noutputs: o, lse", {1, 4, 1, 40, 700, 16, 24}, "f32",
              {1, 2, 5, 100});
  checkSplits("split_tiled_window", "mask: j <= i + (M - L) && i + (M - L) - j < 200\nscore: 20 * tanh(s / 20)",
              {1, 2, 2, 17, 1500, 16, 16}, "f32", {1, 3, 9});
  checkSplits("split_tiled_bf16", "score: 8 * s\noutputs: o, lse", {1, 4, 1, 8, 900, 32, 32}, "bf16", {1, 4});
}

// bf16 with D and Dv fixed to whole AMX tiles: on a host with AMX-BF16 the
// parts run on tiles.
TEST(KeySplits, TiledPathOnAmxTiles) {
  std::string text = "attention split_amx {\n q: bf16[B, Hq, L, 64]\n k: bf16[B, Hkv, M, 64]\n v: bf16[B, Hkv, M, 32]\n"
                     " mask: j <= i + (M - L)\n score: 8 * s\n outputs: o, lse\n}\n";
  ArgumentMap args = decodeInputs(text, "split_amx", {{"B", 1}, {"Hq", 8}, {"Hkv", 2}, {"L", 6}, {"M", 1100}});
  for (int64_t p : {1, 3, 8})
    expectMatchesReference(text, "split_amx", args, splitInto(p));
}

// A spec whose fixed sizes decide the path (one query row, fixed heads):
// one function for both paths, as in AOT libraries.
TEST(KeySplits, PathFixedBySpec) {
  std::string text = "attention split_fixed {\n q: f32[B, 8, 1, 64]\n k: f32[B, 2, M, 64]\n v: f32[B, 2, M, 48]\n"
                     " len: i32[B]\n mask: j < len[b]\n outputs: o, lse\n}\n";
  ArgumentMap args = decodeInputs(text, "split_fixed", {{"B", 2}, {"M", 1500}});
  args["len"].data = {1500, 700};
  EXPECT_TRUE(compiled(text, "split_fixed").entries().both);
  for (int64_t p : {1, 2, 6, 0})
    expectMatchesReference(text, "split_fixed", args, splitInto(p));
}

// Parts the mask empties entirely, or partly: padding per batch (one batch
// with no keys at all), a window at the end of the cache, a score change.
TEST(KeySplits, MaskedParts) {
  std::string pad = decodeSpec("split_pad", "f32", "len: i32[B]\nmask: j < len[b]\nscore: s - 0.1 * (j % 3)\n"
                                                   "outputs: o, lse");
  ArgumentMap args = decodeInputs(pad, "split_pad", Shape{3, 8, 2, 1, 900, 32, 32}.dims());
  args["len"].data = {0, 130, 900};
  for (int64_t p : {1, 4, 14})
    expectMatchesReference(pad, "split_pad", args, splitInto(p));
  Expected<ReferenceOutput> got = runOnHost(compiled(pad, "split_pad"), args, true, splitInto(4));
  ASSERT_TRUE(got) << got.error();
  for (int64_t n = 0; n < 8 * 32; ++n) // batch 0: no key takes part
    ASSERT_EQ(got->o[n], 0.0);
  for (int64_t h = 0; h < 8; ++h)
    ASSERT_EQ(got->lse[h], -std::numeric_limits<double>::infinity());
  checkSplits("split_window", "mask: j <= i + (M - L) && i + (M - L) - j < 100\noutputs: o, lse",
              {1, 4, 4, 2, 1000, 16, 16}, "f32", {1, 5, 16});
}

TEST(KeySplits, NaNReachesOnlyItsRows) {
  std::string text = decodeSpec("split_nan", "f32", "outputs: o, lse");
  ArgumentMap args = decodeInputs(text, "split_nan", Shape{1, 2, 2, 1, 500, 8, 8}.dims());
  args["k"].data[300 * 8 + 2] = NAN; // head 0, key 300: in the third part of 4
  expectMatchesReference(text, "split_nan", args, splitInto(4));
  Expected<ReferenceOutput> got = runOnHost(compiled(text, "split_nan"), args, true, splitInto(4));
  ASSERT_TRUE(got) << got.error();
  EXPECT_TRUE(std::isnan(got->o[0]));
  EXPECT_FALSE(std::isnan(got->o[8])); // head 1
}

TEST(KeySplits, HalfPrecisionOutputs) {
  // Scores spread wide, so that the parts' maxes differ by more than the
  // tolerance of half-precision outputs.
  checkSplits("split_bf16", "score: 8 * s\noutputs: o, lse", {1, 4, 1, 1, 777, 32, 32}, "bf16", {1, 3});
  checkSplits("split_f16", "score: 8 * s\noutputs: o, lse", {1, 4, 1, 1, 777, 32, 32}, "f16", {1, 3});
}

// The cost model's own choice, with every worker of this machine.
TEST(KeySplits, ChosenByTheCostModel) {
  checkSplits("split_auto", "outputs: o, lse", {1, 1, 1, 1, 5000, 64, 64}, "f32", {0});
}

KernelSignature signatureFor(const std::string &weights) {
  std::string text = decodeSpec("sig", "f32", "weights: " + weights);
  Expected<Kernel> k = Compiler().compile(text, "sig", "t.attn");
  EXPECT_TRUE(k) << (k ? "" : k.error());
  return k ? k->signature() : KernelSignature{};
}

BoundDims bound(int64_t b, int64_t hq, int64_t hkv, int64_t lq, int64_t lk) {
  BoundDims d;
  d.batch = b, d.qHeads = hq, d.kvHeads = hkv, d.qLen = lq, d.kvLen = lk, d.headDim = 128, d.vDim = 128;
  return d;
}

TEST(KeySplits, CostModel) {
  KernelSignature softmax = signatureFor("softmax");
  // One item (4 query heads on one kv head): every core gets a part.
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 4, 1, 1, 32768), false, 2), 2);
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 4, 1, 1, 32768), false, 16), 16);
  // Three items on two cores: six parts fill both in three waves of half.
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 12, 3, 1, 32768), false, 2), 2);
  // 64 items already fill 2 or 16 cores evenly.
  EXPECT_EQ(chooseKeySplits(softmax, bound(8, 32, 8, 1, 32768), false, 2), 1);
  EXPECT_EQ(chooseKeySplits(softmax, bound(8, 32, 8, 1, 32768), false, 16), 1);
  // Too few keys to be worth a part each, one thread, the tiled path.
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 4, 1, 1, 300), false, 2), 1);
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 4, 1, 1, 32768), false, 1), 1);
  // The tiled path: a prefill has items enough; eight draft tokens of eight
  // heads on one kv head are 64 rows, one q block.
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 16, 16, 2048, 2048), true, 2), 1);
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 8, 1, 8, 32768), true, 2), 2);
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 8, 1, 8, 32768), true, 16), 16);
  // With the call's q blocks set smaller (InvokeOptions::qBlockRows), the one
  // q block is eight items already: no split shortens a wave.
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 8, 1, 8, 32768), true, 2, 8), 1);
  // Never more parts than kMaxKeySplits.
  EXPECT_EQ(chooseKeySplits(softmax, bound(1, 4, 1, 1, 1 << 20), false, 256), kMaxKeySplits);
  // Hard selection and sigmoid do not split.
  EXPECT_EQ(chooseKeySplits(signatureFor("topk(4)"), bound(1, 4, 1, 1, 32768), false, 2), 1);
  EXPECT_EQ(chooseKeySplits(signatureFor("sigmoid"), bound(1, 4, 1, 1, 32768), false, 2), 1);
}

TEST(KeySplits, NegativeSplitsAreAnError) {
  std::string text = decodeSpec("split_neg", "f32", "");
  ArgumentMap args = decodeInputs(text, "split_neg", Shape{1, 1, 1, 1, 10, 8, 8}.dims());
  Expected<ReferenceOutput> got = runOnHost(compiled(text, "split_neg"), args, false, splitInto(-2));
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("keySplits is -2"), std::string::npos) << got.error();
}

} // namespace
