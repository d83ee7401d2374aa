//===- SemaTest.cpp - Every semantic diagnostic of the spec language -------===//
#include "TestUtil.h"

#include <gtest/gtest.h>

using namespace attn;
using namespace attn::test;

namespace {

// kernel(fields) puts the extra fields on line 5, after q, k, v on 2-4.

TEST(Sema, UnknownNames) {
  EXPECT_EQ(firstError(kernel("  mask: j < position")),
            "t.attn:5:13: error: unknown name 'position'");
  EXPECT_EQ(firstError(kernel("  score: s + bias[h]")), "t.attn:5:14: error: unknown tensor 'bias'");
  EXPECT_EQ(firstError(kernel("  score: relu(s)")), "t.attn:5:10: error: unknown function 'relu'");
  EXPECT_EQ(firstError(kernel("  score: tanh")),
            "t.attn:5:10: error: 'tanh' is a function; call it as tanh(...)");
}

TEST(Sema, MaskMayNotReadTheScore) {
  EXPECT_EQ(firstError(kernel("  mask: s > 0")), "t.attn:5:9: error: the mask may not read the score 's'");
}

TEST(Sema, ScaleIsAKernelConstant) {
  EXPECT_EQ(firstError(kernel("  scale: 1 / i")),
            "t.attn:5:14: error: scale may not use 'i'; it may use numbers, dimension names and scalar inputs");
  EXPECT_EQ(diagnose(kernel("  t: f32\n  scale: t / sqrt(D)")), "");
}

TEST(Sema, TypeErrors) {
  EXPECT_EQ(firstError(kernel("  mask: j + i")), "t.attn:5:9: error: mask must be a boolean expression, found int");
  EXPECT_EQ(firstError(kernel("  score: j < i")), "t.attn:5:10: error: score must be a number, found bool");
  EXPECT_EQ(firstError(kernel("  mask: (j < i) + 1")),
            "t.attn:5:17: error: operator '+' needs numbers, found bool and int");
  EXPECT_EQ(firstError(kernel("  mask: j && i")),
            "t.attn:5:11: error: operator '&&' needs booleans, found int and int");
  EXPECT_EQ(firstError(kernel("  mask: !j")), "t.attn:5:9: error: operator '!' needs a boolean, found int");
  EXPECT_EQ(firstError(kernel("  mask: -(j < i)")), "t.attn:5:9: error: operator '-' needs a number, found bool");
  EXPECT_EQ(firstError(kernel("  mask: (j < i) == 1")),
            "t.attn:5:17: error: operator '==' needs two numbers or two booleans, found bool and int");
  EXPECT_EQ(firstError(kernel("  mask: j ? true : false")),
            "t.attn:5:9: error: the condition of '?:' must be a boolean, found int");
  EXPECT_EQ(firstError(kernel("  score: j < i ? s : j < i")),
            "t.attn:5:16: error: the branches of '?:' have different types: float and bool");
  EXPECT_EQ(firstError(kernel("  score: exp(j < i)")), "t.attn:5:14: error: 'exp' needs a number, found bool");
  EXPECT_EQ(firstError(kernel("  score: max(s)")), "t.attn:5:10: error: 'max' takes 2 arguments, found 1");
  EXPECT_EQ(firstError(kernel("  score: exp(s, s)")), "t.attn:5:10: error: 'exp' takes 1 argument, found 2");
}

TEST(Sema, IntegerAndFloatTyping) {
  CheckedSpec spec = parseAndCheck("t.attn", kernel("  score: s + i / 2 + min(i, j) + max(s, 1)\n  mask: abs(i - j) % 3 == 0"));
  ASSERT_TRUE(spec.ok) << diagnose(kernel(""));
  EXPECT_EQ(dumpExpr(*spec.module.kernels[0].score.expr),
            "(+ (+ (+ s:float (/ i:int 2:int):int):float (call min i:int j:int):int):float "
            "(call max s:float 1:int):float):float");
}

TEST(Sema, IndexedReads) {
  std::string decl = "  doc: i32[B, L]\n  w: i32\n";
  EXPECT_EQ(firstError(kernel(decl + "  mask: doc[b] == 0")),
            "t.attn:7:9: error: 'doc' has 2 dimensions, but 1 index is given");
  EXPECT_EQ(firstError(kernel(decl + "  mask: doc[b, 1.5] == 0")),
            "t.attn:7:16: error: index 1 of 'doc' must be an integer, found float");
  EXPECT_EQ(firstError(kernel(decl + "  mask: w[0] == 0")),
            "t.attn:7:9: error: 'w' is a scalar and cannot be indexed");
  EXPECT_EQ(firstError(kernel(decl + "  mask: doc == 0")),
            "t.attn:7:9: error: 'doc' is a tensor; read it with an index, as doc[...]");
  EXPECT_EQ(firstError(kernel(decl + "  mask: L[0] == 0")),
            "t.attn:7:9: error: 'L' is a dimension and cannot be indexed");
  EXPECT_EQ(firstError(kernel("  score: s * q[b, h, i, 0]")),
            "t.attn:5:14: error: 'q' cannot be read in an expression");
}

TEST(Sema, HeadDimsMustAgree) {
  EXPECT_EQ(firstError("attention x {\n q: f32[B, H, L, 64]\n k: f32[B, H, L, 32]\n v: f32[B, H, L, 64]\n}"),
            "t.attn:3:18: error: the head dim of 'k' (32) differs from the head dim of 'q' (64)");
}

TEST(Sema, SharedDimensionsMustAgree) {
  EXPECT_EQ(firstError("attention x {\n q: f32[B, H, L, D]\n k: f32[C, H, L, D]\n v: f32[B, H, L, D]\n}"),
            "t.attn:3:9: error: the batch dimension of 'k' (C) differs from the batch dimension of 'q' (B)");
  EXPECT_EQ(firstError("attention x {\n q: f32[B, H, L, D]\n k: f32[B, H, L, D]\n v: f32[B, H, M, D]\n}"),
            "t.attn:4:15: error: the sequence length of 'v' (M) differs from the sequence length of 'k' (L)");
}

TEST(Sema, QueryHeadsMultipleOfKvHeads) {
  EXPECT_EQ(firstError("attention x {\n q: f32[B, 12, L, 64]\n k: f32[B, 8, L, 64]\n v: f32[B, 8, L, 64]\n}"),
            "t.attn:2:12: error: query heads (12) must be a multiple of kv heads (8)");
  EXPECT_EQ(diagnose("attention x {\n q: f32[B, 32, L, 64]\n k: f32[B, 8, L, 64]\n v: f32[B, 8, L, 64]\n}"), "");
}

TEST(Sema, QKVShapesAndTypes) {
  EXPECT_EQ(firstError("attention x {\n q: f32[B, H, L]\n k: f32[B, H, L, D]\n v: f32[B, H, L, D]\n}"),
            "t.attn:2:5: error: 'q' must have 4 dimensions [batch, heads, sequence, head dim], found 3");
  EXPECT_EQ(firstError("attention x {\n q: i32[B, H, L, D]\n k: f32[B, H, L, D]\n v: f32[B, H, L, D]\n}"),
            "t.attn:2:5: error: 'q' must be f32, bf16 or f16, not i32");
  EXPECT_EQ(firstError("attention x {\n q: f32[B, H, L, D]\n v: f32[B, H, L, D]\n}"),
            "t.attn:1:11: error: attention 'x' has no 'k' input");
  EXPECT_EQ(firstError("attention x {\n q: f32[B, 0, L, D]\n k: f32[B, 0, L, D]\n v: f32[B, 0, L, D]\n}"),
            "t.attn:2:12: error: dimension 0 of 'q' must be at least 1");
}

TEST(Sema, TopKNeedsPositiveK) {
  EXPECT_EQ(firstError(kernel("  weights: topk(0)")), "t.attn:5:17: error: topk(K) needs K >= 1, got 0");
  EXPECT_EQ(firstError(kernel("  weights: topk(-3)")), "t.attn:5:17: error: topk(K) needs K >= 1, got -3");
}

TEST(Sema, LseOnlyWithSoftmaxOrTopK) {
  EXPECT_EQ(firstError(kernel("  weights: argmax\n  outputs: o, lse")),
            "t.attn:6:12: error: output 'lse' needs softmax or topk weights, but the weights are argmax");
  EXPECT_EQ(diagnose(kernel("  weights: topk(2)\n  outputs: o, lse")), "");
}

TEST(Sema, DuplicateFieldsAndKernels) {
  EXPECT_EQ(firstError(kernel("  q: f32[B, H, L, D]")), "t.attn:5:3: error: duplicate field 'q'");
  std::string two = kernel("") + kernel("");
  EXPECT_EQ(firstError(two), "t.attn:7:11: error: duplicate attention 't'");
}

TEST(Sema, ReservedAndClashingNames) {
  EXPECT_EQ(firstError(kernel("  s: f32")), "t.attn:5:3: error: 's' is a reserved name and cannot name an input");
  EXPECT_EQ(firstError(kernel("  exp: f32")), "t.attn:5:3: error: 'exp' is a reserved name and cannot name an input");
  EXPECT_EQ(firstError("attention x {\n q: f32[b, H, L, D]\n k: f32[b, H, L, D]\n v: f32[b, H, L, D]\n}"),
            "t.attn:2:9: error: 'b' is a reserved name and cannot name a dimension");
  EXPECT_EQ(firstError(kernel("  L: i32")), "t.attn:2:16: error: dimension name 'L' is also the name of an input");
}

TEST(Sema, EveryErrorIsReportedInFileOrder) {
  std::string d = diagnose(kernel("  mask: s < position\n  weights: topk(0)"));
  size_t a = d.find("5:9: error: the mask may not read the score 's'");
  size_t b = d.find("5:13: error: unknown name 'position'");
  size_t c = d.find("6:17: error: topk(K) needs K >= 1");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

} // namespace
