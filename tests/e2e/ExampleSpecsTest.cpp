//===- ExampleSpecsTest.cpp - Every example spec, compiled, vs the reference ===//
//
// Each kernel of examples/specs at several shape sets: all ones, odd sizes
// that are not multiples of any tile or vector width (Lq != Lk, Dv != D), and
// the demo's sizes; with every core and with one thread.
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace attn;
using namespace attn::test;

namespace {

struct ExampleCase {
  std::string file, kernel, shapeName;
  InputSizes sizes;
  unsigned threads;
};

std::string readText(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<ExampleCase> allCases() {
  const std::pair<const char *, InputSizes> shapes[] = {
      {"ones", InputSizes{1, 1, 1, 1, 1, 1, 1}},
      {"odd", InputSizes{2, 6, 3, 37, 53, 13, 7}},
      {"demo", InputSizes{}},
  };
  std::vector<std::string> files;
  for (const auto &e : std::filesystem::directory_iterator(std::string(ATTN_SOURCE_DIR) + "/examples/specs"))
    if (e.path().extension() == ".attn")
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<ExampleCase> cases;
  for (const std::string &file : files) {
    CheckedSpec spec = parseAndCheck(file, readText(file));
    for (const AttentionSpec &k : spec.module.kernels)
      for (const auto &[shapeName, sizes] : shapes)
        for (unsigned threads : {0u, 1u})
          cases.push_back({file, k.name, shapeName, sizes, threads});
  }
  return cases;
}

void PrintTo(const ExampleCase &c, std::ostream *os) {
  *os << c.kernel << " (" << c.shapeName << ", threads " << c.threads << ")";
}

class ExampleSpecs : public ::testing::TestWithParam<ExampleCase> {};

TEST_P(ExampleSpecs, MatchesReference) {
  const ExampleCase &c = GetParam();
  std::string text = readText(c.file);
  CheckedSpec spec = parseAndCheck(c.file, text);
  const AttentionSpec &k = *spec.module.find(c.kernel);
  ArgumentMap args = makeInputs(k, chooseDims(k, c.sizes), 7);
  expectMatchesReference(text, c.kernel, args, c.threads);
}

INSTANTIATE_TEST_SUITE_P(CPU, ExampleSpecs, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<ExampleCase> &info) {
                           return info.param.kernel + "_" + info.param.shapeName +
                                  (info.param.threads == 1 ? "_1thread" : "_allthreads");
                         });

} // namespace
