//===- jit_example.cpp - Write a spec at run time, compile it, run it ------===//
//
// A host program that builds a sliding-window spec from its arguments,
// JIT-compiles it in process (cached on disk for the next run), runs it on
// its own tensors laid out as [B, L, H, D] (the layout many models keep),
// and checks the result against the double-precision reference.
//
//   jit_example [window]
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/Sema.h"
#include "compiler/JIT/Compiler.h"
#include "compiler/Reference/Interpreter.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

int main(int argc, char **argv) {
  int window = argc > 1 ? std::atoi(argv[1]) : 16;
  std::string spec = "attention local {\n"
                     "  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n  v: f32[B, H, L, 64]\n"
                     "  mask: j <= i && i - j < " + std::to_string(window) + "\n"
                     "  outputs: o, lse\n}\n";

  attn::Expected<attn::Kernel> kernel = attn::Compiler().compile(spec, "local", "generated.attn");
  if (!kernel) {
    std::fprintf(stderr, "compile failed:\n%s\n", kernel.error().c_str());
    return 1;
  }
  std::printf("compiled 'local' (window %d) in %.1f ms%s\n", window, kernel->compileMillis(),
              kernel->fromCache() ? " (from the cache)" : "");

  // Tensors stored as [B, L, H, D]; the views describe them as [B, H, L, D].
  const int64_t B = 2, L = 77, H = 3, D = 64;
  std::vector<float> q(B * L * H * D), k(q.size()), v(q.size()), o(B * H * L * D), lse(B * H * L);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (auto *t : {&q, &k, &v})
    for (float &x : *t)
      x = dist(rng);
  std::vector<int64_t> sizes = {B, H, L, D}, strides = {L * H * D, D, H * D, 1};
  attn::TensorView qv{q.data(), ATTN_F32, sizes, strides}, kv{k.data(), ATTN_F32, sizes, strides},
      vv{v.data(), ATTN_F32, sizes, strides}, ov{o.data(), ATTN_F32, sizes, {}},
      lv{lse.data(), ATTN_F32, {B, H, L}, {}};
  std::string err = kernel->run({{"q", {qv}}, {"k", {kv}}, {"v", {vv}}}, ov, &lv);
  if (!err.empty()) {
    std::fprintf(stderr, "run failed: %s\n", err.c_str());
    return 1;
  }

  // The reference takes row-major [B, H, L, D] doubles.
  attn::CheckedSpec checked = attn::parseAndCheck("generated.attn", spec);
  attn::ArgumentMap args;
  for (auto [name, t] : {std::pair{"q", &q}, std::pair{"k", &k}, std::pair{"v", &v}}) {
    attn::HostTensor h{sizes, {}};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t hh = 0; hh < H; ++hh)
        for (int64_t i = 0; i < L; ++i)
          for (int64_t d = 0; d < D; ++d)
            h.data.push_back((*t)[((b * L + i) * H + hh) * D + d]);
    args[name] = h;
  }
  attn::Expected<attn::ReferenceOutput> ref = attn::runReference(checked.module.kernels[0], args);
  if (!ref) {
    std::fprintf(stderr, "reference failed: %s\n", ref.error().c_str());
    return 1;
  }
  double worst = 0;
  for (size_t n = 0; n < o.size(); ++n)
    worst = std::max(worst, std::fabs(o[n] - ref->o[n]));
  for (size_t n = 0; n < lse.size(); ++n)
    worst = std::max(worst, std::fabs(lse[n] - ref->lse[n]));
  std::printf("max |error| against the reference: %.2e\n", worst);
  if (!(worst < 1e-4)) {
    std::fprintf(stderr, "mismatch\n");
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
