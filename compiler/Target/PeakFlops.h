//===- PeakFlops.h - This machine's measured FMA peak -----------*- C++ -*-===//
#ifndef ATTN_TARGET_PEAKFLOPS_H
#define ATTN_TARGET_PEAKFLOPS_H

#include "compiler/Support/Expected.h"

#include "attn/Signature.h"

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

  /// The peak a kernel is held to on `threads` threads (1, or all): the AMX
  /// peak for one on AMX tiles, the bf16 dot peak for one that multiplies
  /// bf16 pairs, else the fp32 FMA peak.
  struct Held {
    double gflops;
    const char *what;
  };
  Held forKernel(const KernelSignature &sig, unsigned threads) const {
    bool one = threads == 1;
    if (usesAmx(sig) && amxAllThreads > 0)
      return {one ? amxOneThread : amxAllThreads, "bf16 AMX tiles (tdpbf16ps)"};
    if (usesBf16Dot(sig) && bf16AllThreads > 0)
      return {one ? bf16OneThread : bf16AllThreads, "bf16 dot (vdpbf16ps)"};
    return {one ? gflopsOneThread : gflopsAllThreads, "fp32 FMA"};
  }
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
