//===- attnc.cpp - The attn compiler driver --------------------------------===//
//
//   attnc check FILE                       parse and verify
//   attnc emit FILE --stage ast|attn       show a stage of the pipeline
//   attnc compile FILE -o DIR              ahead of time: DIR/NAME.h, DIR/libNAME.a
//   attnc run FILE --input ... --output    run a kernel on .npy arrays
//   attnc bench FILE --size B=1,L=4096     time a kernel against the FMA peak
//   attnc tune FILE --size B=1,L=4096      measure schedules, keep the fastest
//
//===----------------------------------------------------------------------===//
#include "compiler/tools/attnc/Commands.h"

#include <fstream>
#include <iostream>
#include <new>
#include <sstream>

using namespace attn;

int main(int argc, char **argv) {
  Expected<Options> opts = parseOptions(argc, argv);
  if (!opts) {
    std::cerr << "attnc: error: " << opts.error() << "\n" << usage();
    return 1;
  }
  std::ifstream in(opts->file, std::ios::binary);
  if (!in) {
    std::cerr << "attnc: error: cannot open '" << opts->file << "'\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    CheckedSpec spec = parseAndCheck(opts->file, text.str());
    spec.diags->print(std::cerr);
    if (!spec.ok)
      return 1;
    if (opts->command == "check")
      return runCheck(*opts, spec);
    if (opts->command == "emit")
      return runEmit(*opts, spec);
    if (opts->command == "compile")
      return runCompile(*opts, spec);
    if (opts->command == "bench")
      return runBench(*opts, spec);
    if (opts->command == "tune")
      return runTune(*opts, spec);
    return runRun(*opts, spec);
  } catch (const std::bad_alloc &) {
    std::cerr << "attnc: error: out of memory\n";
    return 1;
  }
}
