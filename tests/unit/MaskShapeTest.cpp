//===- MaskShapeTest.cpp - Which masks keep every earlier key --------------===//
#include "TestUtil.h"

#include "compiler/Frontend/MaskShape.h"
#include "compiler/Frontend/SpecSignature.h"

#include <gtest/gtest.h>

using namespace attn;
using namespace attn::test;

namespace {

/// keepsEarlierKeys of kernel(fields), which must check cleanly.
bool keeps(const std::string &fields) {
  std::string text = kernel(fields);
  CheckedSpec spec = parseAndCheck("t.attn", text);
  EXPECT_EQ(diagnose(text), "") << fields;
  const AttentionSpec *k = spec.module.find("t");
  return k && keepsEarlierKeys(k->mask.expr.get());
}

TEST(MaskShape, CausalMasksKeepEarlierKeys) {
  EXPECT_TRUE(keeps(""));
  EXPECT_TRUE(keeps("  mask: j <= i"));
  EXPECT_TRUE(keeps("  mask: i >= j"));
  EXPECT_TRUE(keeps("  mask: !(j > i)"));
  EXPECT_TRUE(keeps("  mask: j < i + 1 && true"));
  // Bottom-right alignment with the lengths taken as equal, a kept prefix
  // from a scalar (the right side of || need not be known).
  EXPECT_TRUE(keeps("  mask: j <= i + L - L"));
  EXPECT_TRUE(keeps("  p: i32\n  mask: j <= i || j < p"));
  EXPECT_TRUE(keeps("  mask: j <= i || h > 100000"));
  EXPECT_TRUE(keeps("  mask: max(j, 0) <= abs(i)"));
  EXPECT_TRUE(keeps("  mask: (i > 3 ? j : j - 1) <= i"));
  // The score function does not matter.
  EXPECT_TRUE(keeps("  slopes: f32[H]\n  score: s - slopes[h] * (i - j)\n  mask: j <= i"));
}

TEST(MaskShape, OtherMasksDoNot) {
  EXPECT_FALSE(keeps("  mask: j <= i && i - j < 256"));
  EXPECT_FALSE(keeps("  mask: abs(i - j) < 1024"));
  EXPECT_FALSE(keeps("  mask: i / 64 == j / 64"));
  EXPECT_FALSE(keeps("  mask: j < 64 || i - j < 256"));     // global tokens and a window
  EXPECT_FALSE(keeps("  mask: j >= i"));                   // anti-causal
  EXPECT_FALSE(keeps("  mask: j % 2 == 0"));               // strided
  EXPECT_FALSE(keeps("  w: i32\n  mask: j <= i && i - j < w")); // a window from a scalar
  EXPECT_FALSE(keeps("  doc: i32[B, L]\n  mask: doc[b, i] == doc[b, j]"));
  EXPECT_FALSE(keeps("  n: i32[B]\n  mask: j <= i && j < n[b]"));
  EXPECT_FALSE(keeps("  mask: false"));
  // Lengths that may differ are not taken as equal: only names repeated.
  EXPECT_FALSE(keeps("  mask: j <= i - L / 2"));
}

TEST(MaskShape, DefaultQBlocks) {
  auto blockQ = [](const std::string &fields) {
    CheckedSpec spec = parseAndCheck("t.attn", kernel(fields));
    return defaultBlockQ(*spec.module.find("t"));
  };
  EXPECT_EQ(blockQ(""), 512);
  EXPECT_EQ(blockQ("  weights: sigmoid"), 512);
  EXPECT_EQ(blockQ("  mask: j <= i"), 512);
  EXPECT_EQ(blockQ("  mask: j <= i\n  weights: topk(4)"), 512);
  EXPECT_EQ(blockQ("  mask: j <= i\n  weights: sigmoid"), 512);
  EXPECT_EQ(blockQ("  mask: j <= i && i - j < 256"), 64);
  EXPECT_EQ(blockQ("  doc: i32[B, L]\n  mask: doc[b, i] == doc[b, j]"), 64);
}

} // namespace
