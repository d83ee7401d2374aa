//===- ReferenceTestUtil.h - Building arguments for the reference *- C++ -*-===//
#ifndef ATTN_TESTS_UNIT_REFERENCETESTUTIL_H
#define ATTN_TESTS_UNIT_REFERENCETESTUTIL_H

#include "compiler/Frontend/Sema.h"
#include "compiler/Reference/Interpreter.h"

#include <gtest/gtest.h>

#include <random>

namespace attn::test {

/// A checked single-kernel spec; fails the test when the text is invalid.
inline CheckedSpec compileSpec(const std::string &text) {
  CheckedSpec spec = parseAndCheck("t.attn", text);
  EXPECT_TRUE(spec.ok) << "spec does not check:\n" << text;
  return spec;
}

inline HostTensor tensor(std::vector<int64_t> shape, std::vector<double> data) {
  return HostTensor{std::move(shape), std::move(data)};
}

inline HostTensor scalar(double v) { return HostTensor{{}, {v}}; }

/// Values in [-1, 1] from a fixed seed.
inline HostTensor randomTensor(std::vector<int64_t> shape, unsigned seed) {
  HostTensor t{std::move(shape), {}};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  t.data.resize(t.numElements());
  for (double &x : t.data)
    x = dist(rng);
  return t;
}

inline ReferenceOutput run(const CheckedSpec &spec, const ArgumentMap &args) {
  Expected<ReferenceOutput> out = runReference(spec.module.kernels.at(0), args);
  if (!out) {
    ADD_FAILURE() << "reference failed: " << out.error();
    return {};
  }
  return std::move(*out);
}

/// Element-wise comparison that names the first differing index.
inline void expectNear(const std::vector<double> &got, const std::vector<double> &want,
                       double tol, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t n = 0; n < got.size(); ++n) {
    if (std::isnan(want[n]) && std::isnan(got[n]))
      continue;
    ASSERT_NEAR(got[n], want[n], tol) << what << " differs at flat index " << n;
  }
}

} // namespace attn::test

#endif // ATTN_TESTS_UNIT_REFERENCETESTUTIL_H
