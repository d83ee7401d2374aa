//===- Arguments.cpp - Binding host tensors to a spec ----------------------===//
#include "compiler/Reference/Arguments.h"

#include <cmath>
#include <cstring>

namespace attn {

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static std::string shapeString(const InputDecl &in) {
  std::string s = "[";
  for (size_t d = 0; d < in.dims.size(); ++d)
    s += (d ? ", " : "") + in.dims[d].str();
  return s + "]";
}

Expected<Binding> bindArguments(const AttentionSpec &spec, const ArgumentMap &args) {
  for (const auto &[name, tensor] : args)
    if (!spec.findInput(name)) {
      std::string names;
      for (const InputDecl &in : spec.inputs)
        names += (names.empty() ? "" : ", ") + in.name;
      return Error{"unknown input '" + name + "'; kernel '" + spec.name +
                   "' takes " + names};
    }

  Binding binding;
  // Where each named dimension was bound first, for messages.
  std::map<std::string, std::string> boundBy;
  for (const InputDecl &in : spec.inputs) {
    auto it = args.find(in.name);
    if (it == args.end())
      return Error{"missing input '" + in.name + "'"};
    const HostTensor &t = it->second;
    if (in.isScalar()) {
      if (!t.shape.empty() || t.data.size() != 1)
        return Error{"input '" + in.name + "' is a scalar (" +
                     elemTypeName(in.type) + "), but a tensor was given"};
      if (in.type == ElemType::I32 &&
          (t.data[0] != std::trunc(t.data[0]) || t.data[0] < INT32_MIN ||
           t.data[0] > INT32_MAX))
        return Error{"input '" + in.name + "' is i32, but " +
                     std::to_string(t.data[0]) + " is not a 32-bit integer"};
      continue;
    }
    if (t.shape.size() != in.dims.size())
      return Error{"tensor '" + in.name + "' has rank " + std::to_string(t.shape.size()) +
                   ", expected rank " + std::to_string(in.dims.size()) + " " +
                   shapeString(in)};
    if (static_cast<int64_t>(t.data.size()) != t.numElements())
      return Error{"tensor '" + in.name + "' holds " + std::to_string(t.data.size()) +
                   " values, but its shape needs " + std::to_string(t.numElements())};
    for (size_t d = 0; d < in.dims.size(); ++d) {
      const Dim &dim = in.dims[d];
      int64_t got = t.shape[d];
      std::string where = "tensor '" + in.name + "' dimension " + std::to_string(d) +
                          " (" + dim.str() + ")";
      if (dim.isFixed) {
        if (got != dim.size)
          return Error{where + " must be " + std::to_string(dim.size) + ", got " +
                       std::to_string(got)};
        continue;
      }
      auto [bound, inserted] = binding.dims.emplace(dim.name, got);
      if (inserted) {
        boundBy[dim.name] = "'" + in.name + "' dimension " + std::to_string(d);
      } else if (bound->second != got) {
        return Error{where + " is " + std::to_string(got) + ", but " + dim.name +
                     " = " + std::to_string(bound->second) + " from " +
                     boundBy[dim.name]};
      }
    }
  }
  const HostTensor &q = args.at("q"), &k = args.at("k"), &v = args.at("v");
  binding.batch = q.shape[0];
  binding.qHeads = q.shape[1];
  binding.kvHeads = k.shape[1];
  binding.qLen = q.shape[2];
  binding.kvLen = k.shape[2];
  binding.headDim = q.shape[3];
  binding.vDim = v.shape[3];
  if (binding.kvHeads == 0 || binding.qHeads % binding.kvHeads != 0)
    return Error{"tensor 'q' dimension 1 (heads) is " + std::to_string(binding.qHeads) +
                 ", which is not a multiple of the " + std::to_string(binding.kvHeads) +
                 " kv heads of tensor 'k' dimension 1"};
  return binding;
}

double roundToElemType(double x, ElemType type) {
  switch (type) {
  case ElemType::F32:
    return static_cast<float>(x);
  case ElemType::F16:
    return static_cast<double>(static_cast<_Float16>(x));
  case ElemType::BF16: {
    float f = static_cast<float>(x);
    if (std::isnan(f))
      return f;
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits += 0x7fff + ((bits >> 16) & 1); // round to nearest even
    bits &= 0xffff0000u;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case ElemType::I32:
    return x;
  }
  return x;
}

} // namespace attn
