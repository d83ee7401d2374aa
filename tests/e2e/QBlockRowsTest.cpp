//===- QBlockRowsTest.cpp - Rows of a tiled work item, chosen per call -----===//
//
// A kernel's tiled path is compiled for q blocks of up to blockQ rows (512
// for causal masks: defaultBlockQ); each call takes the rows of its work
// items from a parameter (callQBlockRows, or InvokeOptions::qBlockRows).
// Every row count here is checked against the reference: q blocks of part
// of a tile, of whole and partial tiles, across query heads of a GQA group,
// larger than the compiled blockQ (clamped), with top-K and on AMX tiles.
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include "compiler/Target/CodeGen.h"

using namespace attn;
using namespace attn::test;

namespace {

std::string gqaSpec(const std::string &name, const std::string &type, int64_t d, const std::string &fields) {
  std::string dim = d > 0 ? std::to_string(d) : "D";
  return "attention " + name + " {\n q: " + type + "[B, H, L, " + dim + "]\n k: " + type + "[B, G, L, " + dim +
         "]\n v: " + type + "[B, G, L, " + dim + "]\n" + fields + "\n}\n";
}

InvokeOptions rows(int64_t r) {
  InvokeOptions options;
  options.qBlockRows = r;
  return options;
}

void checkRows(const std::string &text, const std::string &name, InputSizes sizes) {
  ASSERT_EQ(compiled(text, name).signature().schedule.blockQ, 512) << "causal masks compile q blocks of 512 rows";
  ArgumentMap args = randomInputs(text, name, sizes, 5);
  for (int64_t r : {0, 1, 5, 8, 20, 64, 100, 512, 4096}) {
    SCOPED_TRACE(name + " with q blocks of " + std::to_string(r) + " rows");
    expectMatchesReference(text, name, args, rows(r));
  }
}

TEST(QBlockRows, CausalGroupAcrossHeads) {
  // Group rows (query head in group, position): 4 heads x 45 positions, so
  // most q blocks span two query heads.
  checkRows(gqaSpec("qr_causal", "f32", 0, "mask: j <= i\noutputs: o, lse"), "qr_causal",
            {2, 8, 2, 45, 45, 24, 24});
}

TEST(QBlockRows, TopK) {
  checkRows(gqaSpec("qr_topk", "f32", 0, "mask: j <= i\nweights: topk(5)"), "qr_topk", {1, 4, 1, 70, 70, 16, 16});
}

TEST(QBlockRows, Bf16) {
  // bf16 pairs, and AMX tiles (16-row tiles) where this host has them.
  checkRows(gqaSpec("qr_bf16", "bf16", 32, "mask: j <= i + 3\noutputs: o, lse"), "qr_bf16",
            {1, 4, 2, 77, 77, 0, 0});
}

TEST(QBlockRows, ChosenPerCall) {
  KernelSignature sig;
  sig.schedule.blockQ = 512;
  auto chosen = [&](int64_t b, int64_t hq, int64_t hkv, int64_t l, unsigned threads) {
    BoundDims d;
    d.batch = b, d.qHeads = hq, d.kvHeads = hkv, d.qLen = l, d.kvLen = l, d.headDim = 128, d.vDim = 128;
    return callQBlockRows(sig, d, threads);
  };
  // Enough items at 512 rows: kItemsPerWorker (16) per worker.
  EXPECT_EQ(chosen(1, 16, 16, 4096, 2), 512);
  EXPECT_EQ(chosen(1, 32, 8, 4096, 2), 512);
  EXPECT_EQ(chosen(1, 16, 16, 2048, 2), 512);
  // Fewer heads or more workers: halved until they are enough ...
  EXPECT_EQ(chosen(1, 2, 2, 4096, 2), 256);
  EXPECT_EQ(chosen(1, 1, 1, 4096, 2), 128);
  EXPECT_EQ(chosen(1, 16, 16, 2048, 16), 128);
  // ... but not below 64 rows, nor above the compiled blockQ.
  EXPECT_EQ(chosen(1, 1, 1, 100, 16), 64);
  sig.schedule.blockQ = 48;
  EXPECT_EQ(chosen(1, 1, 1, 100, 16), 48);
}

TEST(QBlockRows, NegativeRowsAreAnError) {
  std::string text = gqaSpec("qr_neg", "f32", 0, "mask: j <= i");
  Expected<ReferenceOutput> got =
      runOnHost(compiled(text, "qr_neg"), randomInputs(text, "qr_neg", {1, 2, 1, 40, 40, 8, 8}, 5), false, rows(-3));
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("qBlockRows is -3"), std::string::npos) << got.error();
}

} // namespace
