//===- OneDNNBaseline.cpp - Unfused attention with oneDNN ------------------===//
//
// S = scale * Q Kt (+ the causal mask, a binary add), softmax over the rows
// of S, O = P V: oneDNN primitives on all B x Hq heads at once,
// with S materialized in memory. Built when Debian's libdnnl-dev is there.
//
//===----------------------------------------------------------------------===//
#include "Baselines.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

extern "C" void omp_set_num_threads(int);

namespace attn::bench {

using namespace dnnl;
using dt = memory::data_type;

double oneDnnUnfusedSeconds(int64_t heads, int64_t lq, int64_t lk, int64_t d, int64_t dv, bool causal,
                            unsigned threads) {
  omp_set_num_threads(static_cast<int>(threads));
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  memory::desc qd({heads, lq, d}, dt::f32, memory::format_tag::abc);
  memory::desc kd({heads, d, lk}, dt::f32, memory::dims{lk * d, 1, d}); // K seen as Kt
  memory::desc sd({heads, lq, lk}, dt::f32, memory::format_tag::abc);
  memory::desc vd({heads, lk, dv}, dt::f32, memory::format_tag::abc);
  memory::desc od({heads, lq, dv}, dt::f32, memory::format_tag::abc);
  memory::desc maskd({1, lq, lk}, dt::f32, memory::format_tag::abc);

  std::vector<float> q(heads * lq * d, 0.01f), k(heads * lk * d, 0.02f), v(heads * lk * dv, 0.03f);
  std::vector<float> s(heads * lq * lk), o(heads * lq * dv), mask(lq * lk, 0.0f);
  for (int64_t i = 0; i < lq; ++i)
    for (int64_t j = i + 1 + (lk - lq); causal && j < lk; ++j)
      mask[i * lk + j] = -std::numeric_limits<float>::infinity();
  memory qm(qd, eng, q.data()), km(kd, eng, k.data()), sm(sd, eng, s.data()), vm(vd, eng, v.data()),
      om(od, eng, o.data()), mm(maskd, eng, mask.data());

  primitive_attr qkAttr;
  qkAttr.set_output_scales(0, {1.0f / std::sqrt(static_cast<float>(d))});
  matmul qk(matmul::primitive_desc(matmul::desc(qd, kd, sd), qkAttr, eng));
  // The causal mask as its own binary primitive (as a matmul post-op with a
  // broadcast operand, oneDNN 2.6 falls back to a reference kernel).
  binary addMask(binary::primitive_desc(binary::desc(algorithm::binary_add, sd, maskd, sd), eng));
  softmax_forward soft(softmax_forward::primitive_desc(
      softmax_forward::desc(prop_kind::forward_inference, sd, 2), eng));
  matmul pv(matmul::primitive_desc(matmul::desc(sd, vd, od), eng));

  auto run = [&] {
    qk.execute(strm, {{DNNL_ARG_SRC, qm}, {DNNL_ARG_WEIGHTS, km}, {DNNL_ARG_DST, sm}});
    if (causal)
      addMask.execute(strm, {{DNNL_ARG_SRC_0, sm}, {DNNL_ARG_SRC_1, mm}, {DNNL_ARG_DST, sm}});
    soft.execute(strm, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_DST, sm}});
    pv.execute(strm, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, vm}, {DNNL_ARG_DST, om}});
    strm.wait();
  };
  run(); // warm up
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

} // namespace attn::bench
