//===- AlignedVTest.cpp - v off the cache lines, read from a copy ----------===//
//
// The tiled path's P V reads f32 v in place where its rows start on 64-byte
// lines, and from the runtime's copy of v on the lines otherwise
// (readsAlignedV, vAlignedCopyPacker): loads that span two lines made P V a
// third slower. Here the packer copies exactly where it should, and kernels
// given v off the lines (16 bytes off, rows padded off them, a slice of a
// fused buffer) match the reference, with and without a mask, with value
// dims the copy takes and ones it leaves in place.
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include "attn/PackedKV.h"

#include <cstring>

using namespace attn;
using namespace attn::test;

namespace {

BoundDims dims(int64_t batch, int64_t kvHeads, int64_t kvLen, int64_t vDim) {
  BoundDims d;
  d.batch = batch, d.qHeads = kvHeads, d.kvHeads = kvHeads, d.qLen = kvLen, d.kvLen = kvLen, d.headDim = vDim;
  d.vDim = vDim;
  return d;
}

/// Floats whose first element is `offset` floats past a 64-byte line.
struct OffsetFloats {
  std::vector<float> storage;
  float *data;
  OffsetFloats(size_t n, size_t offset) : storage(n + 16 + offset) {
    auto at = reinterpret_cast<uintptr_t>(storage.data());
    data = reinterpret_cast<float *>((at + 63) / 64 * 64) + offset;
  }
};

TEST(AlignedV, CopiesOnlyRowsOffTheLines) {
  const int64_t B = 2, H = 3, L = 5, Dv = 32;
  OffsetFloats onLines(B * H * L * Dv, 0), offLines(B * H * L * Dv, 4);
  for (int64_t n = 0; n < B * H * L * Dv; ++n)
    onLines.data[n] = offLines.data[n] = static_cast<float>(n);
  auto view = [&](float *data, std::vector<int64_t> strides) {
    return TensorView{data, ATTN_F32, {B, H, L, Dv}, std::move(strides)};
  };
  std::vector<int64_t> rowMajor = TensorView::contiguousStrides({B, H, L, Dv});
  EXPECT_EQ(vAlignedCopyPacker(dims(B, H, L, Dv), view(onLines.data, rowMajor)).data, nullptr);
  // Rows of 40 floats: the second row starts 32 bytes into a line.
  OffsetFloats padded(B * H * L * 40, 0);
  EXPECT_NE(vAlignedCopyPacker(dims(B, H, L, Dv), view(padded.data, {H * L * 40, L * 40, 40, 1})).data, nullptr);
  // Value dims that are not whole lines: no copy could put every row on one.
  OffsetFloats narrow(B * H * L * 24, 4);
  EXPECT_EQ(vAlignedCopyPacker(dims(B, H, L, 24), TensorView{narrow.data, ATTN_F32, {B, H, L, 24},
                                                             TensorView::contiguousStrides({B, H, L, 24})})
                .data,
            nullptr);

  VPacker packer = vAlignedCopyPacker(dims(B, H, L, Dv), view(offLines.data, rowMajor));
  ASSERT_NE(packer.data, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(packer.data) % 64, 0u);
  for (int64_t bh = 0; bh < B * H; ++bh)
    EXPECT_TRUE(packer.packHead(bh));
  EXPECT_EQ(std::memcmp(packer.data, offLines.data, B * H * L * Dv * sizeof(float)), 0);
}

/// Runs kernel `name` of `text` on `args` with v stored by `place` (which
/// copies the row-major values it is given and returns their view), and
/// expects the reference's o.
void expectMatchesWithV(const std::string &text, const std::string &name, const ArgumentMap &args,
                        const std::function<TensorView(const std::vector<float> &, const std::vector<int64_t> &)> &place) {
  const Kernel &kernel = compiled(text, name);
  Expected<HostCall> call = prepareCall(kernel, args);
  ASSERT_TRUE(call) << call.error();
  const HostTensor &v = args.at("v");
  std::vector<float> values(v.data.begin(), v.data.end());
  call->values["v"].tensor = place(values, v.shape);
  ASSERT_EQ(call->run(kernel, false), "");
  CheckedSpec spec = parseAndCheck("test.attn", text);
  Expected<ReferenceOutput> ref = runReference(*spec.module.find(name), args);
  ASSERT_TRUE(ref) << ref.error();
  EXPECT_TRUE(matches(call->o.values(), ref->o, ref->oShape, tolerance(*spec.module.find(name), ref->o)));
}

std::string spec(const std::string &name, int64_t dv, const std::string &fields) {
  std::string v = "[B, G, M, " + std::to_string(dv) + "]";
  return "attention " + name + " {\n q: f32[B, H, L, D]\n k: f32[B, G, M, D]\n v: f32" + v + "\n" + fields + "\n}\n";
}

TEST(AlignedV, KernelsMatchWithVOffTheLines) {
  for (int64_t dv : {64, 40})
    for (const char *mask : {"", "mask: j <= i + (M - L)"}) {
      SCOPED_TRACE("Dv " + std::to_string(dv) + " " + mask);
      std::string name = std::string(*mask ? "causal" : "dense") + std::to_string(dv);
      std::string text = spec(name, dv, mask);
      // L and M past whole tiles and key blocks; two query heads per kv head.
      ArgumentMap args = randomInputs(text, name, InputSizes{2, 4, 2, 45, 130, 24, dv});
      std::vector<std::unique_ptr<OffsetFloats>> keep;
      // 16 bytes past a line.
      expectMatchesWithV(text, name, args, [&](const std::vector<float> &x, const std::vector<int64_t> &shape) {
        keep.push_back(std::make_unique<OffsetFloats>(x.size(), 4));
        std::copy(x.begin(), x.end(), keep.back()->data);
        return TensorView{keep.back()->data, ATTN_F32, shape, {}};
      });
      // Rows padded by 4 floats: every row a different distance off.
      expectMatchesWithV(text, name, args, [&](const std::vector<float> &x, const std::vector<int64_t> &shape) {
        int64_t rows = shape[0] * shape[1] * shape[2], row = shape[3] + 4;
        keep.push_back(std::make_unique<OffsetFloats>(rows * row, 0));
        for (int64_t r = 0; r < rows; ++r)
          std::copy(x.begin() + r * shape[3], x.begin() + (r + 1) * shape[3], keep.back()->data + r * row);
        return TensorView{keep.back()->data, ATTN_F32, shape, {shape[1] * shape[2] * row, shape[2] * row, row, 1}};
      });
      // The third part of a fused [B, M, G, 3 Dv] buffer (q, k, v of each key
      // side by side), one float past a line.
      expectMatchesWithV(text, name, args, [&](const std::vector<float> &x, const std::vector<int64_t> &shape) {
        int64_t B = shape[0], G = shape[1], M = shape[2], Dv = shape[3];
        keep.push_back(std::make_unique<OffsetFloats>(B * M * G * 3 * Dv, 1));
        float *fused = keep.back()->data;
        for (int64_t b = 0; b < B; ++b)
          for (int64_t g = 0; g < G; ++g)
            for (int64_t m = 0; m < M; ++m)
              std::copy_n(x.begin() + ((b * G + g) * M + m) * Dv, Dv, fused + ((b * M + m) * G + g) * 3 * Dv + 2 * Dv);
        return TensorView{fused + 2 * Dv, ATTN_F32, shape, {M * G * 3 * Dv, 3 * Dv, G * 3 * Dv, 1}};
      });
    }
}

} // namespace
