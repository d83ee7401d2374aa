//===- RandomInputs.cpp - Plausible inputs for any spec --------------------===//
#include "compiler/Reference/RandomInputs.h"

#include <algorithm>
#include <random>

namespace attn {

std::map<std::string, int64_t> chooseDims(const AttentionSpec &spec, const InputSizes &sizes) {
  std::map<std::string, int64_t> dims;
  auto bind = [&](const Dim &d, int64_t size) {
    if (!d.isFixed)
      dims.emplace(d.name, size);
  };
  const InputDecl &q = spec.q(), &k = spec.k(), &v = spec.v();
  bind(q.dims[0], sizes.batch);
  // Query heads must be a multiple of kv heads: a fixed count on one side
  // decides the other; one shared name is plain multi-head attention.
  int64_t kvHeads = k.dims[1].isFixed ? k.dims[1].size
                    : q.dims[1].sameAs(k.dims[1]) ? sizes.heads
                                                  : sizes.kvHeads;
  int64_t qHeads = q.dims[1].isFixed ? q.dims[1].size
                   : q.dims[1].sameAs(k.dims[1]) ? kvHeads
                                                 : kvHeads * 2;
  bind(q.dims[1], qHeads);
  bind(k.dims[1], kvHeads);
  bind(q.dims[2], sizes.seq);
  bind(k.dims[2], sizes.kvSeq);
  bind(q.dims[3], sizes.headDim);
  bind(v.dims[3], sizes.vDim);
  for (const InputDecl &in : spec.inputs)
    for (const Dim &d : in.dims)
      bind(d, sizes.seq);
  return dims;
}

ArgumentMap makeInputs(const AttentionSpec &spec, const std::map<std::string, int64_t> &dims,
                       unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  auto size = [&](const Dim &d) { return d.isFixed ? d.size : dims.at(d.name); };
  int64_t kvLen = size(spec.k().dims[2]);
  ArgumentMap args;
  for (const InputDecl &in : spec.inputs) {
    HostTensor t;
    for (const Dim &d : in.dims)
      t.shape.push_back(size(d));
    int64_t n = t.numElements();
    int64_t last = t.shape.empty() ? 1 : t.shape.back();
    for (int64_t e = 0; e < n; ++e) {
      double x;
      if (isFloatElem(in.type))
        x = in.isScalar() ? 0.5 : unit(rng);
      else if (in.isScalar())
        x = std::max<int64_t>(1, kvLen / 4);          // windows, chunks, counts
      else if (in.dims.size() == 1)
        x = kvLen > 0 ? 1 + static_cast<int64_t>(rng() % kvLen) : 0; // lengths
      else
        x = (e % last) * 4 / last;                    // ids in four runs
      t.data.push_back(roundToElemType(x, in.type));
    }
    args.emplace(in.name, std::move(t));
  }
  return args;
}

} // namespace attn
