//===- TestUtil.h - Helpers shared by the frontend tests --------*- C++ -*-===//
#ifndef ATTN_TESTS_UNIT_TESTUTIL_H
#define ATTN_TESTS_UNIT_TESTUTIL_H

#include "compiler/Frontend/Sema.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace attn::test {

/// All diagnostics of parsing and checking `text`, rendered.
inline std::string diagnose(const std::string &text) {
  CheckedSpec spec = parseAndCheck("t.attn", text);
  std::ostringstream os;
  spec.diags->print(os);
  return os.str();
}

/// The first rendered line of the diagnostics ("t.attn:L:C: error: ...").
inline std::string firstError(const std::string &text) {
  std::string all = diagnose(text);
  return all.substr(0, all.find('\n'));
}

inline std::string readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The example specs shipped in examples/specs.
inline std::vector<std::filesystem::path> exampleSpecs() {
  std::vector<std::filesystem::path> out;
  for (const auto &entry :
       std::filesystem::directory_iterator(std::string(ATTN_SOURCE_DIR) + "/examples/specs"))
    if (entry.path().extension() == ".attn")
      out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

/// q, k, v of shape [B, H, L, D] plus the given extra fields.
inline std::string kernel(const std::string &fields) {
  return "attention t {\n  q: f32[B, H, L, D]\n  k: f32[B, H, L, D]\n"
         "  v: f32[B, H, L, D]\n" + fields + "\n}\n";
}

} // namespace attn::test

#endif // ATTN_TESTS_UNIT_TESTUTIL_H
