//===- Arguments.cpp - Binding host tensors to a spec ----------------------===//
#include "compiler/Reference/Arguments.h"

#include "attn/Half.h"
#include "compiler/Frontend/SpecSignature.h"

#include <cmath>
#include <cstring>

namespace attn {

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Expected<Binding> bindArguments(const AttentionSpec &spec, const ArgumentMap &args) {
  for (const auto &[name, tensor] : args)
    if (!spec.findInput(name)) {
      std::string names;
      for (const InputDecl &in : spec.inputs)
        names += (names.empty() ? "" : ", ") + in.name;
      return Error{"unknown input '" + name + "'; kernel '" + spec.name + "' takes " + names};
    }
  std::vector<std::vector<int64_t>> shapes;
  for (const InputDecl &in : spec.inputs) {
    auto it = args.find(in.name);
    if (it == args.end())
      return Error{"missing input '" + in.name + "'"};
    const HostTensor &t = it->second;
    if (in.isScalar()) {
      if (!t.shape.empty() || t.data.size() != 1)
        return Error{"input '" + in.name + "' is a scalar (" + elemTypeName(in.type) +
                     "), but a tensor was given"};
      if (in.type == ElemType::I32 &&
          (t.data[0] != std::trunc(t.data[0]) || t.data[0] < INT32_MIN || t.data[0] > INT32_MAX))
        return Error{"input '" + in.name + "' is i32, but " + std::to_string(t.data[0]) +
                     " is not a 32-bit integer"};
    } else if (t.shape.size() == in.dims.size() &&
               static_cast<int64_t>(t.data.size()) != t.numElements()) {
      return Error{"tensor '" + in.name + "' holds " + std::to_string(t.data.size()) +
                   " values, but its shape needs " + std::to_string(t.numElements())};
    }
    shapes.push_back(t.shape);
  }
  std::string error;
  std::optional<BoundDims> bound = bindShapes(signatureOf(spec), shapes, error);
  if (!bound)
    return Error{error};
  return *bound;
}

double roundToElemType(double x, ElemType type) {
  switch (type) {
  case ElemType::F32:
    return static_cast<float>(x);
  case ElemType::F16:
    return static_cast<double>(static_cast<_Float16>(x));
  case ElemType::BF16:
    return bf16ToFloat(floatToBF16(static_cast<float>(x)));
  case ElemType::I32:
    return x;
  }
  return x;
}

} // namespace attn
