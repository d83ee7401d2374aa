//===- PeakFlops.h - This machine's measured FMA peak -----------*- C++ -*-===//
#ifndef ATTN_TARGET_PEAKFLOPS_H
#define ATTN_TARGET_PEAKFLOPS_H

#include "compiler/Support/Expected.h"

#include "attn/Signature.h"

#include <cstdint>
#include <vector>

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
    bool fp32Fma; // the fp32 FMA peak (gflopsOneThread / gflopsAllThreads)
  };
  /// The peak of what multiplies a kernel's inputs: f32 kernels against the
  /// fp32 FMA peak even where they multiply as bf16 parts on AMX tiles
  /// (splitsF32), so their rate may exceed it.
  Held forKernel(const KernelSignature &sig, unsigned threads) const {
    bool one = threads == 1;
    if (splitsF32(sig))
      return {one ? gflopsOneThread : gflopsAllThreads, "fp32 FMA", true};
    if (usesAmx(sig) && amxAllThreads > 0)
      return {one ? amxOneThread : amxAllThreads, "bf16 AMX tiles (tdpbf16ps)", false};
    if (usesBf16Dot(sig) && bf16AllThreads > 0)
      return {one ? bf16OneThread : bf16AllThreads, "bf16 dot (vdpbf16ps)", false};
    return {one ? gflopsOneThread : gflopsAllThreads, "fp32 FMA", true};
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

/// Loops shaped like the kernels' inner loops, their operands loaded from
/// L1 as the kernels load them, with nothing else in the way: what a
/// kernel built on them can reach, beside the peaks above (which hold every
/// operand in registers).
enum class MicroKernel {
  /// fp32 Q.Kt: 8 rows x 3 vectors of keys (kTileRows x kTileKeyVectors),
  /// per step 3 vector loads of k and 8 broadcasts of q for 24 FMAs.
  Blocked,
  /// AMX Q.Kt: a B tile loaded for every tdpbf16ps (an A tile per four),
  /// the four accumulators held in tiles.
  AmxOperands,
  /// AMX P.V: as AmxOperands, and each accumulator tile loaded and stored
  /// again around every two products (acc does not fit the tiles), those
  /// of a whole q block (64 KB) in turn.
  AmxAccumulators,
};

/// GFLOP/s of each (0 where the host lacks 16-wide vectors or AMX tiles).
struct MicroKernelCeilings {
  double blockedOneThread = 0, blockedAllThreads = 0;
  double amxOperandsOneThread = 0, amxOperandsAllThreads = 0;
  double amxAccumulatorsOneThread = 0, amxAccumulatorsAllThreads = 0;
};

/// Times every micro-kernel the host can run on 1 and `threads` threads
/// (0: every core); about two seconds.
Expected<MicroKernelCeilings> measureMicroKernelCeilings(unsigned threads = 0);

/// One micro-kernel's accumulators after `iterations` steps from zero on
/// small integer inputs (for tests: every sum is exact). Blocked: 8 x 3
/// vectors, acc[r][c] = sum over steps i of q[i % 128][r] * k[i % 128][c]
/// with q[d][r] = (8d + r) % 3 and k[d][c][lane] = (48d + 16c + lane) % 5;
/// AMX: the accumulator tiles (AmxOperands: 4 KB, AmxAccumulators: 32 pairs
/// of 2 KB, pair i % 32 taken by iteration i), every product adding 32 (A
/// and B all bf16 1.0). An error where the host cannot run it.
Expected<std::vector<float>> runMicroKernel(MicroKernel kind, int64_t iterations);

} // namespace attn

#endif // ATTN_TARGET_PEAKFLOPS_H
