//===- RuntimeErrorsTest.cpp - Bad calls are errors, never wild accesses ---===//
#include "E2ETestUtil.h"

using namespace attn;
using namespace attn::test;

namespace {

const char *kSpec = "attention t {\n q: f32[B, 4, L, 8]\n k: f32[B, 2, M, 8]\n v: f32[B, 2, M, 8]\n"
                    " doc: i32[B, M]\n w: i32\n mask: doc[b, j] >= 0 && j < M - w\n outputs: o, lse\n}";

struct Call {
  std::vector<float> q = std::vector<float>(2 * 4 * 3 * 8, 0.5f);
  std::vector<float> k = std::vector<float>(2 * 2 * 5 * 8, 0.25f);
  std::vector<float> v = std::vector<float>(2 * 2 * 5 * 8, 1.0f);
  std::vector<int32_t> doc = std::vector<int32_t>(2 * 5, 1);
  std::vector<float> o = std::vector<float>(2 * 4 * 3 * 8);
  std::vector<float> lse = std::vector<float>(2 * 4 * 3);
  std::map<std::string, ArgValue> args() {
    return {{"q", {TensorView{q.data(), ATTN_F32, {2, 4, 3, 8}, {}}}},
            {"k", {TensorView{k.data(), ATTN_F32, {2, 2, 5, 8}, {}}}},
            {"v", {TensorView{v.data(), ATTN_F32, {2, 2, 5, 8}, {}}}},
            {"doc", {TensorView{doc.data(), ATTN_I32, {2, 5}, {}}}},
            {"w", {TensorView{}, 1}}};
  }
  TensorView oView() { return {o.data(), ATTN_F32, {2, 4, 3, 8}, {}}; }
  TensorView lseView() { return {lse.data(), ATTN_F32, {2, 4, 3}, {}}; }
};

std::string run(Call &c, std::map<std::string, ArgValue> args, TensorView o, TensorView *lse) {
  return compiled(kSpec, "t").run(args, o, lse);
}

TEST(RuntimeErrors, AValidCallWorks) {
  Call c;
  TensorView l = c.lseView();
  EXPECT_EQ(run(c, c.args(), c.oView(), &l), "");
  EXPECT_FLOAT_EQ(c.o[0], 1.0f);
}

TEST(RuntimeErrors, EachBadArgumentIsNamed) {
  struct Bad {
    const char *what;
    std::function<void(Call &, std::map<std::string, ArgValue> &, TensorView &)> mutate;
    std::string error;
  };
  std::vector<Bad> cases = {
      {"dtype", [](Call &, auto &a, auto &) { a["k"].tensor.dtype = ATTN_BF16; }, "tensor 'k' is bf16, expected f32"},
      {"rank", [](Call &, auto &a, auto &) { a["q"].tensor.sizes = {2, 4, 24}; }, "tensor 'q' has rank 3, expected rank 4"},
      {"fixed dim", [](Call &, auto &a, auto &) { a["k"].tensor.sizes = {2, 1, 10, 8}; },
       "tensor 'k' dimension 1 (2) must be 2, got 1"},
      {"named dim", [](Call &, auto &a, auto &) { a["v"].tensor.sizes = {2, 2, 4, 8}; },
       "tensor 'v' dimension 2 (M) is 4, but M = 5 from 'k' dimension 2"},
      {"extra dim", [](Call &, auto &a, auto &) { a["doc"].tensor.sizes = {2, 4}; },
       "tensor 'doc' dimension 1 (M) is 4, but M = 5 from 'k' dimension 2"},
      {"null", [](Call &, auto &a, auto &) { a["v"].tensor.data = nullptr; }, "tensor 'v' has a null data pointer"},
      {"negative stride", [](Call &, auto &a, auto &) { a["q"].tensor.strides = {96, 24, -8, 1}; },
       "tensor 'q' dimension 2 has a negative stride; negative strides are not supported"},
      {"stride count", [](Call &, auto &a, auto &) { a["q"].tensor.strides = {96, 24, 8}; },
       "tensor 'q' has 3 strides for rank 4"},
      {"scalar", [](Call &, auto &a, auto &) { a["w"].scalar = 1.5; }, "input 'w' is i32, but 1.500000 is not a 32-bit integer"},
      {"missing", [](Call &, auto &a, auto &) { a.erase("doc"); }, "missing input 'doc'"},
      {"unknown", [](Call &, auto &a, auto &) { a["zz"] = {}; }, "unknown input 'zz'"},
      {"o shape", [](Call &, auto &, auto &o) { o.sizes = {2, 4, 3, 4}; }, "tensor 'o' dimension 3 must be 8, got 4"},
      {"o dtype", [](Call &, auto &, auto &o) { o.dtype = ATTN_F16; }, "tensor 'o' is f16, expected f32"},
      {"overlap", [](Call &c, auto &, auto &o) { o.data = c.q.data(); }, "output 'o' overlaps input 'q'"},
  };
  for (Bad &bad : cases) {
    Call c;
    auto args = c.args();
    TensorView o = c.oView();
    bad.mutate(c, args, o);
    std::vector<float> before = c.o;
    std::string err = run(c, args, o, nullptr);
    EXPECT_NE(err.find(bad.error), std::string::npos) << bad.what << ": got '" << err << "'";
    EXPECT_EQ(c.o, before) << bad.what << ": o was written";
  }
}

TEST(RuntimeErrors, LseShapeAndPresence) {
  Call c;
  TensorView l = c.lseView();
  l.sizes = {2, 4, 2};
  EXPECT_EQ(run(c, c.args(), c.oView(), &l), "tensor 'lse' dimension 2 must be 3, got 2");
  const char *noLse = "attention n {\n q: f32[B, H, L, D]\n k: f32[B, H, L, D]\n v: f32[B, H, L, D]\n}";
  std::vector<float> buf(8, 0), o(8), lse(8);
  TensorView t{buf.data(), ATTN_F32, {1, 1, 2, 4}, {}};
  TensorView ov{o.data(), ATTN_F32, {1, 1, 2, 4}, {}}, lv{lse.data(), ATTN_F32, {1, 1, 2}, {}};
  EXPECT_EQ(compiled(noLse, "n").run({{"q", {t}}, {"k", {t}}, {"v", {t}}}, ov, &lv),
            "kernel 'n' has no lse output; declare 'outputs: o, lse' to get it");
}

TEST(RuntimeErrors, TopKKeysPastInt32AreAnError) {
  // 2^31 keys, every one the same row (stride 0): refused before any is read.
  const char *spec = "attention tk {\n q: f32[B, H, L, D]\n k: f32[B, H, M, D]\n v: f32[B, H, M, D]\n"
                     " weights: topk(4)\n}";
  std::vector<float> buf(4, 1.0f), o(4, 7.0f);
  TensorView q{buf.data(), ATTN_F32, {1, 1, 1, 4}, {}};
  TensorView keys{buf.data(), ATTN_F32, {1, 1, int64_t(1) << 31, 4}, {0, 0, 0, 1}};
  TensorView ov{o.data(), ATTN_F32, {1, 1, 1, 4}, {}};
  EXPECT_EQ(compiled(spec, "tk").run({{"q", {q}}, {"k", {keys}}, {"v", {keys}}}, ov, nullptr),
            "tensor 'k' dimension 2 is 2147483648 keys; kernel 'tk' (top-k or argmax) takes at most 2147483647");
  EXPECT_EQ(o[0], 7.0f) << "o was written";
}

TEST(RuntimeErrors, OutOfRangeIndexFromDataIsAnError) {
  const char *text = "attention g {\n q: f32[B, H, L, D]\n k: f32[B, H, L, D]\n v: f32[B, H, L, D]\n"
                     " doc: i32[B, L]\n pos: i32[B, L]\n mask: doc[b, pos[b, j]] == 0\n}";
  std::vector<float> x(1 * 1 * 4 * 2, 1.0f), o(8, 0.0f);
  std::vector<int32_t> doc(4, 0), pos = {0, 1, 2, 4}; // 4 is past the end of doc
  TensorView t{x.data(), ATTN_F32, {1, 1, 4, 2}, {}};
  TensorView ov{o.data(), ATTN_F32, {1, 1, 4, 2}, {}};
  std::map<std::string, ArgValue> args = {{"q", {t}}, {"k", {t}}, {"v", {t}},
                                          {"doc", {TensorView{doc.data(), ATTN_I32, {1, 4}, {}}}},
                                          {"pos", {TensorView{pos.data(), ATTN_I32, {1, 4}, {}}}}};
  EXPECT_NE(compiled(text, "g").run(args, ov).find("out of range for tensor 'doc'"), std::string::npos);
  pos[3] = 3;
  EXPECT_EQ(compiled(text, "g").run(args, ov), "");
}

// Found by comparing attnc run --backend reference and mlir: the bad read
// sits at a key no query row keeps (j <= i rules it out for every row), but C
// evaluates it before the `&&`, so the reference reports it. The kernel used
// to skip those tiles whole and return success; a mask whose reads may be out
// of range now never skips or trusts a tile. Row path (one head, 5 rows),
// grouped row path (4 heads, 2 rows) and tiled path (4 heads, 20 rows).
TEST(RuntimeErrors, OutOfRangeReadInAMaskedOutTileIsStillAnError) {
  const char *text = "attention skip {\n q: f32[1, H, Lq, 8]\n k: f32[1, 1, Lk, 8]\n v: f32[1, 1, Lk, 8]\n"
                     " idx: i32[Lk]\n tbl: f32[4]\n mask: tbl[idx[j]] > -10.0 && j <= i\n}";
  for (auto [heads, Lq] : {std::pair<int64_t, int64_t>{1, 5}, {4, 2}, {4, 20}}) {
    const int64_t Lk = 100;
    std::vector<float> q(heads * Lq * 8, 0.5f), kv(Lk * 8, 0.25f), o(heads * Lq * 8), tbl(4, 1.0f);
    std::vector<int32_t> idx(Lk, 0);
    idx[90] = 100; // read only for key 90, which every row masks
    std::map<std::string, ArgValue> args = {
        {"q", {TensorView{q.data(), ATTN_F32, {1, heads, Lq, 8}, {}}}},
        {"k", {TensorView{kv.data(), ATTN_F32, {1, 1, Lk, 8}, {}}}},
        {"v", {TensorView{kv.data(), ATTN_F32, {1, 1, Lk, 8}, {}}}},
        {"idx", {TensorView{idx.data(), ATTN_I32, {Lk}, {}}}},
        {"tbl", {TensorView{tbl.data(), ATTN_F32, {4}, {}}}}};
    TensorView ov{o.data(), ATTN_F32, {1, heads, Lq, 8}, {}};
    EXPECT_NE(compiled(text, "skip").run(args, ov).find("out of range for tensor 'tbl'"), std::string::npos)
        << heads << " heads";
    idx[90] = 3;
    EXPECT_EQ(compiled(text, "skip").run(args, ov), "");
  }
}

} // namespace
