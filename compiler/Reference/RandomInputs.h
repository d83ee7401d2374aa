//===- RandomInputs.h - Plausible inputs for any spec -----------*- C++ -*-===//
//
// Binds every named dimension of a spec to a size chosen by its role (batch,
// heads, sequence, head dim) and fills every input with data that makes the
// variant do something visible: lengths inside the sequence, document ids in
// four runs, windows a quarter of the sequence.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_REFERENCE_RANDOMINPUTS_H
#define ATTN_REFERENCE_RANDOMINPUTS_H

#include "compiler/Reference/Arguments.h"

#include <map>
#include <string>

namespace attn {

struct InputSizes {
  int64_t batch = 2, heads = 4, kvHeads = 2, seq = 100, kvSeq = 131, headDim = 64, vDim = 48;
};

/// The size of every named dimension of `spec` under `sizes`.
std::map<std::string, int64_t> chooseDims(const AttentionSpec &spec, const InputSizes &sizes);

/// Random arguments (fixed seed), rounded to each input's element type.
ArgumentMap makeInputs(const AttentionSpec &spec, const std::map<std::string, int64_t> &dims,
                       unsigned seed);

} // namespace attn

#endif // ATTN_REFERENCE_RANDOMINPUTS_H
