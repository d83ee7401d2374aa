//===- Interpreter.h - The double-precision reference -----------*- C++ -*-===//
//
// The oracle every backend is tested against. It follows DESIGN.md literally
// and is not meant to be fast: for each query row it evaluates the mask and
// the score of every key in double precision, then applies the weights.
//
//   - a key whose mask is false, or whose score is -inf, takes no part;
//   - a row with no such key gives zeros in o and -inf in lse;
//   - a NaN score among a row's keys makes the whole row (and its lse) NaN;
//   - topk(K) keeps the K highest scores (lower j first on ties) and applies
//     softmax to them; argmax copies v at the highest score (lowest j on ties);
//   - && and || evaluate their right side only when needed and ?: only the
//     branch taken, so a read that is not evaluated is never out of range;
//   - integer arithmetic is 64-bit and wraps; x / 0 and x % 0 are 0;
//   - an index outside a tensor makes the call fail with the tensor's name.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_REFERENCE_INTERPRETER_H
#define ATTN_REFERENCE_INTERPRETER_H

#include "compiler/Reference/Arguments.h"

namespace attn {

struct ReferenceOutput {
  std::vector<int64_t> oShape;   // [batch, q heads, q seq, v dim]
  std::vector<double> o;
  std::vector<int64_t> lseShape; // [batch, q heads, q seq]; lse is empty unless requested
  std::vector<double> lse;
};

/// Evaluates `spec` (checked by Sema) on `args`. Tensor values are taken as
/// given: callers round them to the declared element type first.
Expected<ReferenceOutput> runReference(const AttentionSpec &spec,
                                       const ArgumentMap &args);

/// The fraction of (b, h, i, j) whose mask holds, from at most `maxRows`
/// query rows per (b, h) spread over the sequence: what a benchmark counts
/// as unmasked work.
Expected<double> maskDensity(const AttentionSpec &spec, const ArgumentMap &args,
                             int64_t maxRows = 256, bool allHeads = true);

/// The block mask of batch b, query head h: for each tile of `tileRows`
/// query rows x `tileKeys` keys, 0 when every position is masked, 2 when
/// none is, 1 when mixed. Row-major over tiles.
Expected<std::vector<uint8_t>> maskTiles(const AttentionSpec &spec, const ArgumentMap &args, int64_t b,
                                         int64_t h, int64_t tileRows, int64_t tileKeys);

} // namespace attn

#endif // ATTN_REFERENCE_INTERPRETER_H
