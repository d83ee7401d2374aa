//===- OneDNNMissing.cpp - No oneDNN in this build -------------------------===//
#include "Baselines.h"

namespace attn::bench {

double oneDnnUnfusedSeconds(int64_t, int64_t, int64_t, int64_t, int64_t, bool, unsigned) { return -1; }

} // namespace attn::bench
