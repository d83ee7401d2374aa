//===- Options.h - Command line of attnc ------------------------*- C++ -*-===//
#ifndef ATTN_TOOLS_ATTNC_OPTIONS_H
#define ATTN_TOOLS_ATTNC_OPTIONS_H

#include "attn/Signature.h"
#include "compiler/Support/Expected.h"

#include <string>
#include <utility>
#include <vector>

namespace attn {

struct Options {
  std::string command; // check | emit | run
  std::string file;
  std::string kernel;
  std::string stage;
  std::string backend = "mlir";
  std::string target = "host";
  std::string cacheDir;
  bool noCache = false;
  std::vector<std::pair<std::string, std::string>> inputs; // name, path or number
  std::string output;
  std::string lseOutput;
  std::string png; // emit --stage tiles --png FILE
  std::string paths = "both"; // emit: one path's half of a kernel the JIT compiles as two
  /// --precision: how f32 products are computed (Schedule::precision).
  Precision precision = Precision::Highest;
  int threads = 0;
  int reps = 10;
  std::vector<std::pair<std::string, int64_t>> sizes; // --size B=1,L=4096
};

Expected<Options> parseOptions(int argc, char **argv);
const char *usage();

} // namespace attn

#endif // ATTN_TOOLS_ATTNC_OPTIONS_H
