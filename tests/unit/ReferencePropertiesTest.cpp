//===- ReferencePropertiesTest.cpp - Laws the reference must obey ----------===//
//
// Random inputs (fixed seeds), odd sizes, and identities between variants:
// these catch mistakes that hand-computed cases are too small to show.
//
//===----------------------------------------------------------------------===//
#include "ReferenceTestUtil.h"

#include <cmath>

using namespace attn;
using namespace attn::test;

namespace {

std::string spec(const std::string &heads, const std::string &kvHeads, const std::string &fields) {
  return "attention t {\n q: f32[B, " + heads + ", L, D]\n k: f32[B, " + kvHeads +
         ", M, D]\n v: f32[B, " + kvHeads + ", M, E]\n" + fields + "\n}";
}

ArgumentMap randomArgs(int64_t b, int64_t hq, int64_t hk, int64_t lq, int64_t lk, int64_t d,
                       int64_t e, unsigned seed) {
  return {{"q", randomTensor({b, hq, lq, d}, seed)},
          {"k", randomTensor({b, hk, lk, d}, seed + 1)},
          {"v", randomTensor({b, hk, lk, e}, seed + 2)}};
}

TEST(ReferenceProperties, SoftmaxWeightsSumToOne) {
  // With v = 1 everywhere, o is the sum of the weights.
  CheckedSpec s = compileSpec(spec("H", "H", "mask: (i + j) % 3 != 0"));
  ArgumentMap args = randomArgs(2, 3, 3, 7, 11, 5, 3, 10);
  std::fill(args["v"].data.begin(), args["v"].data.end(), 1.0);
  ReferenceOutput out = run(s, args);
  for (size_t n = 0; n < out.o.size(); ++n)
    ASSERT_NEAR(out.o[n], 1.0, 1e-12) << "flat index " << n;
}

TEST(ReferenceProperties, MaskTrueEqualsNoMask) {
  ArgumentMap args = randomArgs(2, 4, 2, 5, 9, 7, 6, 20);
  ReferenceOutput a = run(compileSpec(spec("H", "G", "outputs: o, lse")), args);
  ReferenceOutput b = run(compileSpec(spec("H", "G", "mask: true\noutputs: o, lse")), args);
  expectNear(a.o, b.o, 0, "o");
  expectNear(a.lse, b.lse, 0, "lse");
}

TEST(ReferenceProperties, GroupedQueryEqualsRepeatedKvHeads) {
  const int64_t b = 2, hq = 6, hk = 2, lq = 5, lk = 7, d = 3, e = 4;
  ArgumentMap gqa = randomArgs(b, hq, hk, lq, lk, d, e, 30);
  // Repeat each kv head hq / hk times.
  ArgumentMap mha = gqa;
  for (const char *name : {"k", "v"}) {
    const HostTensor &src = gqa[name];
    int64_t inner = src.shape[2] * src.shape[3];
    HostTensor rep{{b, hq, src.shape[2], src.shape[3]}, {}};
    for (int64_t bb = 0; bb < b; ++bb)
      for (int64_t h = 0; h < hq; ++h) {
        auto first = src.data.begin() + (bb * hk + h / (hq / hk)) * inner;
        rep.data.insert(rep.data.end(), first, first + inner);
      }
    mha[name] = rep;
  }
  ReferenceOutput a = run(compileSpec(spec("H", "G", "mask: j <= i + 1")), gqa);
  ReferenceOutput c = run(compileSpec(spec("H", "H", "mask: j <= i + 1")), mha);
  expectNear(a.o, c.o, 0, "o");
}

TEST(ReferenceProperties, TopKOfAllKeysEqualsSoftmax) {
  ArgumentMap args = randomArgs(1, 2, 2, 6, 13, 4, 4, 40);
  ReferenceOutput soft = run(compileSpec(spec("H", "H", "mask: j <= i + 3\noutputs: o, lse")), args);
  ReferenceOutput top = run(compileSpec(spec("H", "H", "mask: j <= i + 3\nweights: topk(13)\noutputs: o, lse")), args);
  expectNear(top.o, soft.o, 1e-12, "o");
  expectNear(top.lse, soft.lse, 1e-12, "lse");
}

TEST(ReferenceProperties, TopOneEqualsArgmax) {
  ArgumentMap args = randomArgs(2, 3, 1, 4, 9, 5, 2, 50);
  ReferenceOutput top = run(compileSpec(spec("H", "1", "weights: topk(1)")), args);
  ReferenceOutput arg = run(compileSpec(spec("H", "1", "weights: argmax")), args);
  expectNear(top.o, arg.o, 1e-12, "o");
}

TEST(ReferenceProperties, LseIsTheLogSumExpOfTheScores) {
  const int64_t lq = 3, lk = 5, d = 4;
  ArgumentMap args = randomArgs(1, 1, 1, lq, lk, d, 2, 60);
  ReferenceOutput out = run(compileSpec(spec("H", "H", "score: s + 0.5 * j\nmask: j != i\noutputs: o, lse")), args);
  for (int64_t i = 0; i < lq; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < lk; ++j) {
      if (j == i)
        continue;
      double dot = 0;
      for (int64_t c = 0; c < d; ++c)
        dot += args["q"].data[i * d + c] * args["k"].data[j * d + c];
      sum += std::exp(dot / 2 + 0.5 * j);
    }
    EXPECT_NEAR(out.lse[i], std::log(sum), 1e-12) << "row " << i;
  }
}

TEST(ReferenceProperties, ExplicitDefaultScaleChangesNothing) {
  ArgumentMap args = randomArgs(1, 2, 2, 3, 4, 9, 2, 70);
  ReferenceOutput a = run(compileSpec(spec("H", "H", "")), args);
  ReferenceOutput b = run(compileSpec(spec("H", "H", "scale: 1 / sqrt(D)")), args);
  expectNear(a.o, b.o, 1e-15, "o");
}

TEST(ReferenceProperties, KeyPermutationInvariance) {
  // Softmax attention without a mask does not depend on the order of keys.
  ArgumentMap args = randomArgs(1, 1, 1, 4, 6, 3, 2, 80);
  ArgumentMap rev = args;
  for (const char *name : {"k", "v"}) {
    HostTensor &t = rev[name];
    int64_t w = t.shape[3];
    for (int64_t j = 0; j < 3; ++j)
      std::swap_ranges(t.data.begin() + j * w, t.data.begin() + (j + 1) * w,
                       t.data.begin() + (5 - j) * w);
  }
  CheckedSpec s = compileSpec(spec("H", "H", ""));
  expectNear(run(s, args).o, run(s, rev).o, 1e-12, "o");
}

TEST(ReferenceProperties, CrossAttentionShapes) {
  CheckedSpec s = compileSpec(spec("H", "H", "mask: j <= i + (M - L)\noutputs: o, lse"));
  ReferenceOutput out = run(s, randomArgs(3, 2, 2, 1, 17, 5, 7, 90));
  EXPECT_EQ(out.oShape, (std::vector<int64_t>{3, 2, 1, 7}));
  EXPECT_EQ(out.lseShape, (std::vector<int64_t>{3, 2, 1}));
  EXPECT_EQ(out.o.size(), 3u * 2 * 1 * 7);
  for (double x : out.o)
    EXPECT_TRUE(std::isfinite(x));
}

} // namespace
