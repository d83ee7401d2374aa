// The micro-kernel loops the benchmark times beside the FMA peaks: each must
// do the arithmetic it is credited with, or its GFLOP/s mean nothing.
#include "compiler/Target/PeakFlops.h"

#include <gtest/gtest.h>

namespace attn {
namespace {

TEST(MicroKernel, BlockedLoopMakesEveryProductItCounts) {
  // 300 steps: twice round the 128-step block and part of a third.
  constexpr int64_t kSteps = 300;
  Expected<std::vector<float>> acc = runMicroKernel(MicroKernel::Blocked, kSteps);
  if (!acc)
    GTEST_SKIP() << acc.error();
  ASSERT_EQ(acc->size(), 8u * 3 * 16);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 3; ++c)
      for (int lane = 0; lane < 16; ++lane) {
        double want = 0;
        for (int64_t i = 0; i < kSteps; ++i) {
          int64_t d = i % 128;
          want += static_cast<double>((8 * d + r) % 3) * static_cast<double>((48 * d + 16 * c + lane) % 5);
        }
        EXPECT_EQ((*acc)[(r * 3 + c) * 16 + lane], want) << "row " << r << " vector " << c << " lane " << lane;
      }
}

TEST(MicroKernel, AmxLoopsMakeEveryProductTheyCount) {
  constexpr int64_t kSteps = 7;
  // Q.Kt's shape: four accumulator tiles, one product each per step.
  Expected<std::vector<float>> operands = runMicroKernel(MicroKernel::AmxOperands, kSteps);
  if (!operands)
    GTEST_SKIP() << operands.error();
  ASSERT_EQ(operands->size(), 1024u);
  for (size_t i = 0; i < operands->size(); ++i)
    ASSERT_EQ((*operands)[i], 32.0f * kSteps) << "element " << i;
  // P.V's: a pair of accumulator tiles (512 floats) through memory per step,
  // two products each, the 32 pairs in turn: 40 steps take pairs 0-7 twice.
  Expected<std::vector<float>> accumulators = runMicroKernel(MicroKernel::AmxAccumulators, 40);
  ASSERT_TRUE(accumulators) << accumulators.error();
  ASSERT_EQ(accumulators->size(), 32u * 512);
  for (size_t i = 0; i < accumulators->size(); ++i)
    ASSERT_EQ((*accumulators)[i], i < 8 * 512 ? 128.0f : 64.0f) << "element " << i;
}

} // namespace
} // namespace attn
