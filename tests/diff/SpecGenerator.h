//===- SpecGenerator.h - Random valid attention specs with inputs -*- C++ -*-===//
//
// The differential tester's source of cases: a random spec (masks, score
// modifications, weights, extra inputs, grouped heads, element types, fixed
// and named dimensions) together with sizes and input data for one call.
//
// Hard selection (topk, argmax) depends on the exact order of scores, which a
// float kernel and the double reference only share when every score is exact
// in both. For those cases the generator keeps to exact arithmetic: q and k
// hold small multiples of 1/4, the scale is a power of two, and score terms
// are sums and products of small dyadic numbers and integers. Ties then occur
// often and identically, which also tests the tie rule (lowest j first).
// Softmax and sigmoid cases use the whole expression language (tanh, exp,
// log, sqrt, division...), kept bounded so float cannot overflow where double
// does not.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TESTS_DIFF_SPECGENERATOR_H
#define ATTN_TESTS_DIFF_SPECGENERATOR_H

#include "attn/Invoke.h"
#include "compiler/Reference/Arguments.h"

#include <cstdint>
#include <string>

namespace attn::diff {

struct GeneratedCase {
  std::string name;    // the kernel's name
  std::string text;    // the spec file
  ArgumentMap args;    // q, k, v and every extra input (round to the declared types before use)
  unsigned threads = 0;
  int64_t keySplits = 0;   // InvokeOptions::keySplits (used where a call can split keys)
  int64_t qBlockRows = 0;  // InvokeOptions::qBlockRows (the tiled path's q blocks; 0: chosen per call)
  KVPacking packing = KVPacking::Auto; // InvokeOptions::packing (used where the tiled path packs k)
  bool badIndices = false; // some index data may leave its tensor
  std::string summary; // weights, heads, sizes: one line for reports
};

/// The case for `seed` (the same seed always gives the same case).
GeneratedCase generateCase(uint64_t seed);

} // namespace attn::diff

#endif // ATTN_TESTS_DIFF_SPECGENERATOR_H
