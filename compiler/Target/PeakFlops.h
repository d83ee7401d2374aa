//===- PeakFlops.h - This machine's measured FMA peak -----------*- C++ -*-===//
#ifndef ATTN_TARGET_PEAKFLOPS_H
#define ATTN_TARGET_PEAKFLOPS_H

#include "compiler/Support/Expected.h"

namespace attn {

struct PeakFlops {
  double gflopsOneThread = 0; // fp32 FMA, widest vectors of the host
  double gflopsAllThreads = 0;
  double bf16OneThread = 0;   // vdpbf16ps (AVX512-BF16); 0 where the host lacks it
  double bf16AllThreads = 0;
  double amxOneThread = 0;    // tdpbf16ps on AMX tiles; 0 where the host or OS has none
  double amxAllThreads = 0;
  unsigned threads = 0;
  int vectorWidth = 0;
};

/// JIT-compiles a loop of independent vector FMAs for the host (through
/// LLVM, like the kernels) and times it on one thread and on `threads`
/// threads (0: every core). Takes about half a second.
/// fp32 FMA peak on 1 and `threads` threads (0: all cores); with `bf16`, also
/// the vdpbf16ps peak where the host has it (another second of timing), and
/// the AMX tdpbf16ps peak where the host has AMX-BF16 and the OS grants
/// this process the tiles.
Expected<PeakFlops> measurePeakFlops(unsigned threads = 0, bool bf16 = true);

} // namespace attn

#endif // ATTN_TARGET_PEAKFLOPS_H
