//===- Arguments.h - Host tensors and binding them to a spec ----*- C++ -*-===//
//
// The arguments of one call: named host tensors (double precision, row-major)
// and scalars, checked against a spec's declared inputs. Binding fixes the
// size of every named dimension; every mismatch is an error naming the tensor
// and the dimension.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_REFERENCE_ARGUMENTS_H
#define ATTN_REFERENCE_ARGUMENTS_H

#include "attn/Signature.h"
#include "compiler/Frontend/AST.h"
#include "compiler/Support/Expected.h"

#include <map>

namespace attn {

struct HostTensor {
  std::vector<int64_t> shape; // empty for a scalar
  std::vector<double> data;   // row-major, one value for a scalar
  int64_t numElements() const;
};

using ArgumentMap = std::map<std::string, HostTensor>;

/// Sizes bound for one call (the runtime's binding rules and messages).
using Binding = BoundDims;

Expected<Binding> bindArguments(const AttentionSpec &spec, const ArgumentMap &args);

/// The value `x` takes when stored as `type` (f32, bf16 and f16 round to
/// nearest even; i32 must already be an integer in range).
double roundToElemType(double x, ElemType type);

} // namespace attn

#endif // ATTN_REFERENCE_ARGUMENTS_H
