//===- ReferenceTest.cpp - The reference on hand-computed cases ------------===//
#include "ReferenceTestUtil.h"

#include "compiler/Reference/Work.h"

#include <cmath>
#include <limits>

using namespace attn;
using namespace attn::test;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// One query (q = 1, D = 1, so the scale is 1) against keys k: the scores are k.
std::string oneRow(const std::string &fields) {
  return "attention t {\n q: f32[1, 1, 1, 1]\n k: f32[1, 1, N, 1]\n v: f32[1, 1, N, 1]\n" + fields + "\n}";
}

ArgumentMap oneRowArgs(std::vector<double> k, std::vector<double> v) {
  int64_t n = k.size();
  return {{"q", tensor({1, 1, 1, 1}, {1})},
          {"k", tensor({1, 1, n, 1}, std::move(k))},
          {"v", tensor({1, 1, n, 1}, std::move(v))}};
}

TEST(Reference, SoftmaxByHand) {
  // scores 0 and ln 2: weights 1/3 and 2/3.
  CheckedSpec spec = compileSpec(oneRow("outputs: o, lse"));
  ReferenceOutput out = run(spec, oneRowArgs({0, std::log(2.0)}, {3, 6}));
  EXPECT_NEAR(out.o.at(0), 5.0, 1e-12);
  EXPECT_NEAR(out.lse.at(0), std::log(3.0), 1e-12);
  EXPECT_EQ(out.oShape, (std::vector<int64_t>{1, 1, 1, 1}));
}

TEST(Reference, ScaleAndScoreModification) {
  // scale 2, score s * s: scores 0 and 4 * ln2^2.
  CheckedSpec spec = compileSpec(oneRow("scale: 2\nscore: s * s"));
  double a = 2 * std::log(2.0);
  ReferenceOutput out = run(spec, oneRowArgs({0, std::log(2.0)}, {1, 0}));
  double w0 = 1 / (1 + std::exp(a * a));
  EXPECT_NEAR(out.o.at(0), w0, 1e-12);
}

TEST(Reference, DefaultScaleIsInverseSqrtHeadDim) {
  CheckedSpec spec = compileSpec("attention t {\n q: f32[1, 1, 1, 4]\n k: f32[1, 1, 2, 4]\n v: f32[1, 1, 2, 1]\n outputs: o, lse\n}");
  // q.k0 = 0, q.k1 = 4; scaled by 1/2: scores 0 and 2.
  ArgumentMap args = {{"q", tensor({1, 1, 1, 4}, {1, 1, 1, 1})},
                      {"k", tensor({1, 1, 2, 4}, {0, 0, 0, 0, 1, 1, 1, 1})},
                      {"v", tensor({1, 1, 2, 1}, {0, 1})}};
  ReferenceOutput out = run(spec, args);
  EXPECT_NEAR(out.o.at(0), std::exp(2.0) / (1 + std::exp(2.0)), 1e-12);
  EXPECT_NEAR(out.lse.at(0), std::log(1 + std::exp(2.0)), 1e-12);
}

TEST(Reference, FullyMaskedRowGivesZerosAndMinusInfLse) {
  CheckedSpec spec = compileSpec(oneRow("mask: j > 5\noutputs: o, lse"));
  ReferenceOutput out = run(spec, oneRowArgs({1, 2}, {3, 4}));
  EXPECT_EQ(out.o.at(0), 0.0);
  EXPECT_EQ(out.lse.at(0), -kInf);
}

TEST(Reference, MinusInfScoresCountAsMasked) {
  CheckedSpec spec = compileSpec(oneRow("score: j == 0 ? s : -1.0 / 0.0\noutputs: o, lse"));
  ReferenceOutput out = run(spec, oneRowArgs({1, 2}, {3, 4}));
  EXPECT_NEAR(out.o.at(0), 3.0, 1e-12);
  EXPECT_NEAR(out.lse.at(0), 1.0, 1e-12);
  CheckedSpec all = compileSpec(oneRow("score: -1.0 / 0.0\noutputs: o, lse"));
  ReferenceOutput none = run(all, oneRowArgs({1, 2}, {3, 4}));
  EXPECT_EQ(none.o.at(0), 0.0);
  EXPECT_EQ(none.lse.at(0), -kInf);
}

TEST(Reference, CausalMaskRows) {
  CheckedSpec spec = compileSpec("attention t {\n q: f32[1, 1, L, 1]\n k: f32[1, 1, L, 1]\n v: f32[1, 1, L, 1]\n mask: j <= i\n}");
  // q = 0: equal scores, so row i averages v[0..i].
  ArgumentMap args = {{"q", tensor({1, 1, 3, 1}, {0, 0, 0})},
                      {"k", tensor({1, 1, 3, 1}, {5, 6, 7})},
                      {"v", tensor({1, 1, 3, 1}, {3, 6, 12})}};
  ReferenceOutput out = run(spec, args);
  expectNear(out.o, {3, 4.5, 7}, 1e-12, "o");
}

TEST(Reference, ArgmaxPicksLowestJOnTies) {
  CheckedSpec spec = compileSpec(oneRow("weights: argmax"));
  EXPECT_EQ(run(spec, oneRowArgs({1, 3, 3, 2}, {10, 20, 30, 40})).o.at(0), 20.0);
  EXPECT_EQ(run(spec, oneRowArgs({5, 5}, {10, 20})).o.at(0), 10.0);
  CheckedSpec masked = compileSpec(oneRow("mask: j != 1\nweights: argmax"));
  EXPECT_EQ(run(masked, oneRowArgs({1, 3, 2}, {10, 20, 30})).o.at(0), 30.0);
}

TEST(Reference, TopKKeepsTheKHighest) {
  CheckedSpec spec = compileSpec(oneRow("weights: topk(2)\noutputs: o, lse"));
  // Scores 0, 3, 1, 3 keep j = 1 and j = 3 (equal): o = mean(v1, v3).
  ReferenceOutput out = run(spec, oneRowArgs({0, 3, 1, 3}, {100, 2, 100, 4}));
  EXPECT_NEAR(out.o.at(0), 3.0, 1e-12);
  EXPECT_NEAR(out.lse.at(0), 3 + std::log(2.0), 1e-12);
  // Ties at the cut keep the lower j: scores 1, 2, 2, 2 keep j = 1, 2.
  ReferenceOutput tie = run(spec, oneRowArgs({1, 2, 2, 2}, {100, 2, 4, 100}));
  EXPECT_NEAR(tie.o.at(0), 3.0, 1e-12);
  // Fewer unmasked keys than K: softmax over all of them.
  ReferenceOutput few = run(spec, oneRowArgs({0}, {7}));
  EXPECT_NEAR(few.o.at(0), 7.0, 1e-12);
}

TEST(Reference, SigmoidIsUnnormalized) {
  CheckedSpec spec = compileSpec(oneRow("weights: sigmoid"));
  double want = 2 / (1 + std::exp(-1.0)) + 3 / (1 + std::exp(2.0));
  EXPECT_NEAR(run(spec, oneRowArgs({1, -2}, {2, 3})).o.at(0), want, 1e-12);
}

TEST(Reference, ExtraTensorAndScalarInputs) {
  CheckedSpec spec = compileSpec(oneRow("bias: f32[N]\nlimit: i32\nscore: s + bias[j]\nmask: j < limit"));
  ArgumentMap args = oneRowArgs({0, 0, 0}, {1, 2, 100});
  args["bias"] = tensor({3}, {0, std::log(3.0), 50});
  args["limit"] = scalar(2);
  EXPECT_NEAR(run(spec, args).o.at(0), (1 + 3 * 2) / 4.0, 1e-12);
}

TEST(Reference, OutOfRangeReadIsAnErrorNamingTheTensor) {
  CheckedSpec spec = compileSpec(oneRow("bias: f32[N]\nscore: s + bias[j + 1]"));
  ArgumentMap args = oneRowArgs({0, 0}, {1, 2});
  args["bias"] = tensor({2}, {0, 0});
  Expected<ReferenceOutput> out = runReference(spec.module.kernels[0], args);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error(), "index 2 is out of range for dimension 0 of 'bias' (size 2) at b=0, h=0, i=0, j=1");
}

TEST(Reference, ShortCircuitSkipsReadsThatAreNotNeeded) {
  CheckedSpec spec = compileSpec(oneRow("bias: f32[2]\nmask: j < 2 && bias[j] > 0 || j >= 2 && true"));
  ArgumentMap args = oneRowArgs({0, 0, 0}, {1, 2, 4});
  args["bias"] = tensor({2}, {-1, 1});
  Expected<ReferenceOutput> out = runReference(spec.module.kernels[0], args);
  ASSERT_TRUE(out) << out.error();
  EXPECT_NEAR(out->o.at(0), 3.0, 1e-12); // keys 1 and 2
  CheckedSpec ternary = compileSpec(oneRow("bias: f32[2]\nscore: j < 2 ? bias[j] : 0.0"));
  ASSERT_TRUE(runReference(ternary.module.kernels[0], args));
}

TEST(Reference, IntegerDivisionNeverTraps) {
  // x / 0 = 0 and x % 0 = 0: with zero = 0 every key passes `i / zero == 0`.
  CheckedSpec spec = compileSpec(oneRow("zero: i32\nmask: j / zero == 0 && j % zero == 0 && "
                                        "(0 - 9223372036854775807 - 1) / -1 < 0"));
  ArgumentMap args = oneRowArgs({0, 0}, {2, 4});
  args["zero"] = scalar(0);
  EXPECT_NEAR(run(spec, args).o.at(0), 3.0, 1e-12);
}

TEST(Reference, CIntegerDivisionTruncates) {
  // -3 / 2 == -1 and -3 % 2 == -1 in C.
  CheckedSpec spec = compileSpec(oneRow("mask: (j - 3) / 2 == -1 && (j - 3) % 2 == -1"));
  // j = 0: -3/2 = -1, -3%2 = -1 -> kept; j = 1: -2/2 = -1, 0 -> dropped.
  EXPECT_NEAR(run(spec, oneRowArgs({0, 0}, {2, 4})).o.at(0), 2.0, 1e-12);
}

TEST(Reference, NaNReachesOnlyItsRows) {
  CheckedSpec spec = compileSpec("attention t {\n q: f32[1, 1, 2, 1]\n k: f32[1, 1, 2, 1]\n v: f32[1, 1, 2, 1]\n mask: j <= i\n outputs: o, lse\n}");
  ArgumentMap args = {{"q", tensor({1, 1, 2, 1}, {1, 1})},
                      {"k", tensor({1, 1, 2, 1}, {0, NAN})},
                      {"v", tensor({1, 1, 2, 1}, {3, 4})}};
  ReferenceOutput out = run(spec, args);
  EXPECT_EQ(out.o.at(0), 3.0); // row 0 never sees key 1
  EXPECT_TRUE(std::isnan(out.o.at(1)));
  EXPECT_TRUE(std::isnan(out.lse.at(1)));
}

TEST(Reference, LargeScoresDoNotOverflow) {
  CheckedSpec spec = compileSpec(oneRow("score: s * 1000\noutputs: o, lse"));
  ReferenceOutput out = run(spec, oneRowArgs({1, 1}, {2, 4}));
  EXPECT_NEAR(out.o.at(0), 3.0, 1e-12);
  EXPECT_NEAR(out.lse.at(0), 1000 + std::log(2.0), 1e-9);
}

TEST(Reference, ArgumentErrorsNameTensorAndDimension) {
  CheckedSpec spec = compileSpec("attention t {\n q: f32[B, 4, L, 8]\n k: f32[B, 2, L, 8]\n v: f32[B, 2, L, 8]\n w: i32\n}");
  auto base = [] {
    return ArgumentMap{{"q", randomTensor({2, 4, 3, 8}, 1)}, {"k", randomTensor({2, 2, 3, 8}, 2)},
                       {"v", randomTensor({2, 2, 3, 8}, 3)}, {"w", scalar(1)}};
  };
  auto error = [&](ArgumentMap args) {
    Expected<ReferenceOutput> out = runReference(spec.module.kernels[0], args);
    return out ? std::string("ok") : out.error();
  };
  EXPECT_EQ(error(base()), "ok");
  ArgumentMap a = base();
  a["k"] = randomTensor({2, 3, 3, 8}, 2);
  EXPECT_EQ(error(a), "tensor 'k' dimension 1 (2) must be 2, got 3");
  a = base();
  a["v"] = randomTensor({3, 2, 3, 8}, 2);
  EXPECT_EQ(error(a), "tensor 'v' dimension 0 (B) is 3, but B = 2 from 'q' dimension 0");
  a = base();
  a["q"] = randomTensor({2, 4, 3}, 2);
  EXPECT_EQ(error(a), "tensor 'q' has rank 3, expected rank 4 [B, 4, L, 8]");
  a = base();
  a.erase("v");
  EXPECT_EQ(error(a), "missing input 'v'");
  a = base();
  a["w"] = scalar(1.5);
  EXPECT_EQ(error(a), "input 'w' is i32, but 1.500000 is not a 32-bit integer");
  a = base();
  a["w"] = randomTensor({1}, 1);
  EXPECT_EQ(error(a), "input 'w' is a scalar (i32), but a tensor was given");
  a = base();
  a["extra"] = scalar(1);
  EXPECT_EQ(error(a), "unknown input 'extra'; kernel 't' takes q, k, v, w");
  a = base();
  a["q"].data.pop_back();
  EXPECT_EQ(error(a), "tensor 'q' holds 191 values, but its shape needs 192");
}

TEST(Reference, RoundingToElementTypes) {
  EXPECT_EQ(roundToElemType(1.0 + 1.0 / 256, ElemType::BF16), 1.0);           // ties to even
  EXPECT_EQ(roundToElemType(1.0 + 3.0 / 256, ElemType::BF16), 1.0 + 1.0 / 64); // ties to even, up
  EXPECT_EQ(roundToElemType(1.0 + 1.0 / 4096, ElemType::F16), 1.0);
  EXPECT_EQ(roundToElemType(0.1, ElemType::F32), static_cast<double>(0.1f));
  EXPECT_TRUE(std::isnan(roundToElemType(NAN, ElemType::BF16)));
}

} // namespace

namespace {

TEST(Reference, WorkCountedByWeights) {
  // 2 x 3 rows of D = 4 against 10 keys, Dv = 5, half the pairs kept:
  // Q.Kt is 2 x 6 x 10 x 4, P.V 2 x 6 x 10 x 5 (all keys), x 5 x K (top-K)
  // or nothing (argmax).
  auto work = [](const std::string &weights) {
    CheckedSpec spec = compileSpec("attention t {\n q: f32[2, 3, 1, 4]\n k: f32[2, 3, 10, 4]\n"
                                   " v: f32[2, 3, 10, 5]\n weights: " + weights + "\n}");
    ArgumentMap args = {{"q", tensor({2, 3, 1, 4}, std::vector<double>(24))},
                        {"k", tensor({2, 3, 10, 4}, std::vector<double>(240))},
                        {"v", tensor({2, 3, 10, 5}, std::vector<double>(300))}};
    return attentionWork(*spec.module.find("t"), args, 0.5);
  };
  double qk = 2.0 * 6 * 10 * 4 / 1e9, pv = 2.0 * 6 * 10 * 5 / 1e9;
  for (const char *w : {"softmax", "sigmoid"}) {
    EXPECT_DOUBLE_EQ(work(w).gflop, (qk + pv) / 2) << w;
    EXPECT_DOUBLE_EQ(work(w).denseGflop, qk + pv) << w;
  }
  EXPECT_DOUBLE_EQ(work("topk(3)").gflop, qk / 2 + pv * 3 / 10);
  EXPECT_DOUBLE_EQ(work("topk(30)").gflop, qk / 2 + pv); // K past the keys: all of them
  EXPECT_DOUBLE_EQ(work("argmax").gflop, qk / 2);
  EXPECT_DOUBLE_EQ(work("argmax").denseGflop, qk);
}

} // namespace
