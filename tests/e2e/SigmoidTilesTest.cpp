//===- SigmoidTilesTest.cpp - Sigmoid weights on the tiled path ------------===//
//
// Sigmoid weights (p = 1 / (1 + exp(-s)), unnormalized) take the tiled path
// like softmax where a call has the rows for it, and the row path for a few
// rows (decoding). Every case here is checked against the reference with
// sizes that are not multiples of the tiles: masks that cut blocks, a score
// function, grouped heads, bf16 (pairs, and AMX tiles where this host has
// them), NaN and inf where masks rule them out and where they reach o.
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include "compiler/Target/CodeGen.h"

#include <cmath>
#include <limits>

using namespace attn;
using namespace attn::test;

namespace {

std::string spec(const std::string &name, const std::string &types, const std::string &fields) {
  return "attention " + name + " {\n q: " + types + "[B, H, L, D]\n k: " + types + "[B, G, M, D]\n v: " + types +
         "[B, G, M, E]\n weights: sigmoid\n" + fields + "\n}\n";
}

/// `sizes`: B, H, G, L, M, D, E. Asserts the call takes the tiled path.
void check(const std::string &name, const std::string &fields, InputSizes sizes = {2, 4, 2, 45, 70, 24, 17},
           const std::string &types = "f32") {
  std::string text = spec(name, types, fields);
  ASSERT_TRUE(takesTiledPath(sizes.heads / sizes.kvHeads, sizes.seq)) << name;
  expectMatchesReference(text, name, randomInputs(text, name, sizes, 7));
}

TEST(SigmoidTiles, Dense) { check("sig_dense", ""); }
TEST(SigmoidTiles, Causal) { check("sig_causal", "mask: j <= i"); }
TEST(SigmoidTiles, WindowAndScore) {
  check("sig_window", "bias: f32\nw: i32\nscore: s + bias\nmask: j <= i + (M - L) && i + (M - L) - j < w");
}
TEST(SigmoidTiles, Documents) { check("sig_doc", "doc: i32[B, M]\nmask: doc[b, j] == doc[b, min(i, M - 1)]"); }
TEST(SigmoidTiles, Bf16Pairs) { check("sig_bf16", "mask: j <= i + 5", {1, 4, 1, 50, 61, 20, 12}, "bf16"); }

TEST(SigmoidTiles, Bf16OnAmxTiles) {
  // Fixed head dims that are multiples of 32 take AMX tiles where the host
  // has them (else bf16 pairs or conversions).
  std::string text = "attention sig_amx {\n q: bf16[1, 4, L, 64]\n k: bf16[1, 2, L, 64]\n v: bf16[1, 2, L, 32]\n"
                     " mask: j <= i\n weights: sigmoid\n}\n";
  expectMatchesReference(text, "sig_amx", randomInputs(text, "sig_amx", {1, 4, 2, 83, 83, 64, 32}, 7));
}

TEST(SigmoidTiles, RowsAndTilesAgree) {
  // One row a call takes the row path, many the tiled one: the same o for
  // the shared rows (each against the reference).
  std::string text = spec("sig_paths", "f32", "mask: j <= i + (M - L)");
  for (int64_t rows : {1, 3, 40}) {
    SCOPED_TRACE(std::to_string(rows) + " query rows");
    expectMatchesReference(text, "sig_paths", randomInputs(text, "sig_paths", {1, 2, 2, rows, 90, 16, 16}, 7));
  }
}

TEST(SigmoidTiles, NaNAndInfinity) {
  // NaN in one key reaches the rows that keep it; NaN and inf in the v of
  // keys a causal mask rules out for some rows of their tiles must not
  // reach those rows (p is exactly 0 there, and 0 x inf is NaN); huge
  // scores give weights of exactly 0 and 1. Query heads 0, 1 read kv head
  // 0; 2, 3 kv head 1 (chooseDims: twice the kv heads).
  for (std::string types : {"f32", "bf16"}) {
    std::string name = "sig_nan_" + types;
    std::string text = spec(name, types, "mask: j <= i");
    ArgumentMap args = randomInputs(text, name, {1, 4, 2, 40, 40, 8, 8}, 7);
    auto at = [](int64_t head, int64_t row, int64_t d) { return (head * 40 + row) * 8 + d; };
    args["k"].data[at(0, 17, 3)] = NAN;
    args["v"].data[at(0, 15, 1)] = NAN;
    args["v"].data[at(1, 29, 2)] = std::numeric_limits<double>::infinity();
    for (int64_t d = 0; d < 8; ++d)
      args["q"].data[at(2, 7, d)] = d % 2 ? 1e30 : -1e30; // scores of +-huge
    expectMatchesReference(text, name, args);
    Expected<ReferenceOutput> got = runOnHost(compiled(text, name), args, false);
    ASSERT_TRUE(got) << got.error();
    EXPECT_FALSE(std::isnan(got->o[at(1, 16, 0)])) << types << ": row 16 masks key 17";
    EXPECT_TRUE(std::isnan(got->o[at(1, 17, 0)])) << types << ": row 17 keeps key 17";
    EXPECT_FALSE(std::isnan(got->o[at(0, 14, 1)])) << types << ": row 14 masks key 15's NaN v";
    EXPECT_TRUE(std::isnan(got->o[at(0, 15, 1)])) << types << ": row 15 keeps it";
    EXPECT_TRUE(std::isfinite(got->o[at(2, 28, 2)])) << types << ": row 28 masks key 29's infinite v";
    EXPECT_TRUE(std::isinf(got->o[at(3, 29, 2)])) << types << ": row 29 keeps it";
    EXPECT_TRUE(std::isfinite(got->o[at(2, 7, 0)])) << types << ": huge scores";
  }
}

} // namespace
