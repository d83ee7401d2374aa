//===- ParserTest.cpp - Syntax, syntax errors and robustness ---------------===//
#include "TestUtil.h"

#include "compiler/Frontend/Parser.h"

#include <gtest/gtest.h>

#include <random>

using namespace attn;
using namespace attn::test;

namespace {

TEST(Parser, EveryExampleSpecIsValid) {
  auto specs = exampleSpecs();
  ASSERT_GE(specs.size(), 14u);
  for (const auto &path : specs) {
    CheckedSpec spec = parseAndCheck(path.string(), readFile(path));
    EXPECT_TRUE(spec.ok) << path << "\n" << diagnose(readFile(path));
  }
}

TEST(Parser, FieldsAndExpressions) {
  CheckedSpec spec = parseAndCheck("t.attn", R"(
attention a {
  q: bf16[B, 16, L, 256]; k: bf16[B, 8, L, 256]; v: bf16[B, 8, L, 128]
  slopes: f32[16]
  window: i32
  scale: 1 / sqrt(256)
  score: 50 * tanh(s / 50) - slopes[h] * (i - j)
  mask: j <= i && i - j < window ? true : false
  weights: topk(4)
  outputs: o, lse
}
attention b { q: f32[1, 1, 1, 1] k: f32[1, 1, 1, 1] v: f32[1, 1, 1, 1] }
)");
  ASSERT_TRUE(spec.ok) << spec.diags->diagnostics().at(0).message;
  ASSERT_EQ(spec.module.kernels.size(), 2u);
  const AttentionSpec &a = spec.module.kernels[0];
  EXPECT_EQ(a.name, "a");
  ASSERT_EQ(a.inputs.size(), 5u);
  EXPECT_EQ(a.inputs[3].name, "slopes");
  EXPECT_TRUE(a.inputs[4].isScalar());
  EXPECT_EQ(a.weights, WeightsKind::TopK);
  EXPECT_EQ(a.topk, 4);
  EXPECT_TRUE(a.returnLse);
  // Precedence: * binds tighter than -, && tighter than ?:.
  EXPECT_EQ(dumpExpr(*a.score.expr),
            "(- (* 50:int (call tanh (/ s:float 50:int):float):float):float "
            "(* (index slopes h:int):float (- i:int j:int):int):float):float");
  EXPECT_EQ(dumpExpr(*a.mask.expr),
            "(select (&& (<= j:int i:int):bool (< (- i:int j:int):int window:int):bool):bool "
            "true false):bool");
}

TEST(Parser, SyntaxErrorsAreLocated) {
  EXPECT_EQ(firstError(""), "t.attn:1:1: error: no 'attention' block in this file");
  EXPECT_EQ(firstError("# only a comment\n"), "t.attn:1:1: error: no 'attention' block in this file");
  EXPECT_EQ(firstError("attn x {}"), "t.attn:1:1: error: expected 'attention', found 'attn'");
  EXPECT_EQ(firstError("attention {"), "t.attn:1:11: error: expected a kernel name after 'attention', found '{'");
  EXPECT_EQ(firstError("attention x {\n  q: f32[B, H, L, D]\n"),
            "t.attn:3:1: error: expected '}' to close attention 'x'");
  EXPECT_EQ(firstError("attention x { q f32 }"), "t.attn:1:17: error: expected ':' after 'q', found 'f32'");
  EXPECT_EQ(firstError("attention x { q: f64[B] }"),
            "t.attn:1:18: error: expected an element type (f32, bf16, f16 or i32), found 'f64'");
  EXPECT_EQ(firstError("attention x { q: f32[B H] }"),
            "t.attn:1:24: error: expected ',' or ']' in the dimensions of 'q', found 'H'");
  EXPECT_EQ(firstError("attention x { q: f32[B, -1] }"),
            "t.attn:1:25: error: expected a dimension (a number or a name), found '-'");
  EXPECT_EQ(firstError("attention x { mask: j < }"), "t.attn:1:25: error: expected an expression, found '}'");
  EXPECT_EQ(firstError("attention x { mask: (j < i }"), "t.attn:1:28: error: expected ')', found '}'");
  EXPECT_EQ(firstError("attention x { mask: x[1 }"), "t.attn:1:25: error: expected ',' or ']', found '}'");
  EXPECT_EQ(firstError("attention x { mask: i ? j }"), "t.attn:1:27: error: expected ':' in 'c ? x : y', found '}'");
  EXPECT_EQ(firstError("attention x { weights: relu }"),
            "t.attn:1:24: error: unknown weights 'relu'; expected softmax, sigmoid, topk(K) or argmax");
  EXPECT_EQ(firstError("attention x { weights: topk }"), "t.attn:1:29: error: expected '(' after topk, found '}'");
  EXPECT_EQ(firstError("attention x { weights: topk(k) }"),
            "t.attn:1:29: error: expected an integer K in topk(K), found 'k'");
  EXPECT_EQ(firstError("attention x { outputs: lse }"), "t.attn:1:24: error: the first output must be 'o', found 'lse'");
  EXPECT_EQ(firstError("attention x { outputs: o, m }"), "t.attn:1:27: error: unknown output 'm'; expected 'lse'");
  EXPECT_EQ(firstError("attention x { masks: j < i }"),
            "t.attn:1:22: error: expected an element type (f32, bf16, f16 or i32): 'masks' is not a field "
            "(scale, score, mask, weights, outputs), so it declares an input, found 'j'");
}

TEST(Parser, DuplicateFieldPointsAtBoth) {
  std::string d = diagnose("attention x {\n  mask: j < i\n  mask: j <= i\n}");
  EXPECT_EQ(d, "t.attn:3:3: error: duplicate field 'mask'\n  mask: j <= i\n  ^~~~\n"
               "t.attn:2:3: note: first defined here\n  mask: j < i\n  ^~~~\n");
}

TEST(Parser, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "attention x { mask: " + std::string(100000, '(') + "j" +
                     std::string(100000, ')') + " }";
  EXPECT_NE(diagnose(deep).find("expression is nested too deeply"), std::string::npos);
  std::string negs = "attention x { score: " + std::string(100000, '-') + "s }";
  EXPECT_NE(diagnose(negs).find("expression is nested too deeply"), std::string::npos);
  std::string chain = "attention x { score: s";
  for (int n = 0; n < 100000; ++n)
    chain += " + s";
  EXPECT_NE(diagnose(chain + " }").find("expression is nested too deeply"), std::string::npos);
}

TEST(Parser, ModerateNestingIsFine) {
  std::string e = std::string(50, '(') + "j" + std::string(50, ')') + " <= i";
  EXPECT_EQ(diagnose(kernel("  mask: " + e)), "");
}

// Every prefix of every example, and random byte strings, must parse to a
// result or to diagnostics: never a crash, hang or out-of-bounds read (the
// sanitizer build runs this too).
TEST(Parser, EveryPrefixOfEveryExample) {
  for (const auto &path : exampleSpecs()) {
    std::string text = readFile(path);
    for (size_t n = 0; n <= text.size(); ++n) {
      CheckedSpec spec = parseAndCheck("p.attn", text.substr(0, n));
      EXPECT_TRUE(spec.ok || spec.diags->hasErrors());
    }
  }
}

TEST(Parser, RandomBytes) {
  std::mt19937 rng(1234);
  const std::string alphabet = "attention{}[]():,;?+-*/%<>=!&|#\n qkvsbhij0123456789.eE_f32[]\0\xff";
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    size_t len = rng() % 120;
    for (size_t n = 0; n < len; ++n)
      text += (iter % 2) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 256);
    CheckedSpec spec = parseAndCheck("r.attn", text);
    std::ostringstream os;
    spec.diags->print(os); // rendering must not read out of bounds either
    EXPECT_TRUE(spec.ok || spec.diags->hasErrors());
  }
}

} // namespace
