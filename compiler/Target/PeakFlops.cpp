//===- PeakFlops.cpp - This machine's measured FMA peak --------------------===//
#include "compiler/Target/PeakFlops.h"

#include "compiler/Target/CodeGen.h"

#include "attn/Signature.h"

#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/IntrinsicsX86.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace attn {

namespace {

constexpr int kChains = 12; // independent accumulators: hides the FMA latency

/// The function `void fma_loop(i64 iterations, float *state)` in a new
/// module, with its entry, loop and exit blocks (empty).
struct LoopFunction {
  std::unique_ptr<llvm::Module> m;
  llvm::Value *n, *state;
  llvm::BasicBlock *entry, *loop, *exit;
  LoopFunction(llvm::LLVMContext &ctx, const char *name) : m(std::make_unique<llvm::Module>(name, ctx)) {
    llvm::Type *ptr = llvm::PointerType::get(ctx, 0), *i64 = llvm::Type::getInt64Ty(ctx);
    auto *fn = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {i64, ptr}, false),
                                      llvm::GlobalValue::ExternalLinkage, "fma_loop", *m);
    n = fn->getArg(0);
    state = fn->getArg(1);
    entry = llvm::BasicBlock::Create(ctx, "entry", fn);
    loop = llvm::BasicBlock::Create(ctx, "loop", fn);
    exit = llvm::BasicBlock::Create(ctx, "exit", fn);
  }
};

/// void fma_loop(i64 iterations, float *state): kChains vector FMA chains;
/// with `bf16`, chains of vdpbf16ps (acc += a.even * b.even + a.odd * b.odd
/// over 2 x width bf16 values).
std::unique_ptr<llvm::Module> buildLoop(llvm::LLVMContext &ctx, int width, bool bf16) {
  LoopFunction f(ctx, "peak");
  std::unique_ptr<llvm::Module> &m = f.m;
  llvm::Value *n = f.n, *state = f.state;
  llvm::BasicBlock *entry = f.entry, *loop = f.loop, *exit = f.exit;
  llvm::IRBuilder<> b(ctx);
  llvm::Type *vec = llvm::FixedVectorType::get(b.getFloatTy(), width);
  b.SetInsertPoint(entry);
  std::vector<llvm::Value *> init;
  for (int c = 0; c < kChains; ++c)
    init.push_back(b.CreateAlignedLoad(vec, b.CreateConstGEP1_32(vec, state, c), llvm::Align(4)));
  llvm::Value *mulA = b.CreateAlignedLoad(vec, b.CreateConstGEP1_32(vec, state, kChains), llvm::Align(4));
  llvm::Value *addB = b.CreateAlignedLoad(vec, b.CreateConstGEP1_32(vec, state, kChains + 1), llvm::Align(4));
  b.CreateBr(loop);
  b.SetInsertPoint(loop);
  llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2);
  i->addIncoming(b.getInt64(0), entry);
  std::vector<llvm::PHINode *> acc;
  std::vector<llvm::Value *> next;
  llvm::Function *fma = bf16 ? llvm::Intrinsic::getDeclaration(m.get(), llvm::Intrinsic::x86_avx512bf16_dpbf16ps_512)
                              : llvm::Intrinsic::getDeclaration(m.get(), llvm::Intrinsic::fma, {vec});
  for (int c = 0; c < kChains; ++c) { // PHIs first: they head the block
    acc.push_back(b.CreatePHI(vec, 2));
    acc.back()->addIncoming(init[c], entry);
  }
  llvm::Type *pairs = llvm::FixedVectorType::get(b.getBFloatTy(), 2 * width);
  for (int c = 0; c < kChains; ++c)
    next.push_back(bf16 ? b.CreateCall(fma, {acc[c], b.CreateBitCast(mulA, pairs), b.CreateBitCast(addB, pairs)})
                        : b.CreateCall(fma, {acc[c], mulA, addB}));
  for (int c = 0; c < kChains; ++c)
    acc[c]->addIncoming(next[c], loop);
  llvm::Value *iNext = b.CreateAdd(i, b.getInt64(1));
  i->addIncoming(iNext, loop);
  b.CreateCondBr(b.CreateICmpULT(iNext, n), loop, exit);
  b.SetInsertPoint(exit);
  for (int c = 0; c < kChains; ++c)
    b.CreateAlignedStore(next[c], b.CreateConstGEP1_32(vec, state, c), llvm::Align(4));
  b.CreateRetVoid();
  return std::move(m);
}

/// void fma_loop(i64 iterations, float *state) on AMX tiles: state holds the
/// 64-byte tile configuration (amxConfig), then 1 KB of bf16 pairs loaded
/// as A and B, then the four 16 x 16 f32 accumulators stored at the end.
/// Each iteration is four independent tdpbf16ps (16 x 16 x 32 products).
constexpr int kAmxChains = 4;
std::unique_ptr<llvm::Module> buildAmxLoop(llvm::LLVMContext &ctx) {
  LoopFunction f(ctx, "peak_amx");
  std::unique_ptr<llvm::Module> &m = f.m;
  llvm::Value *n = f.n, *state = f.state;
  llvm::BasicBlock *entry = f.entry, *loop = f.loop, *exit = f.exit;
  llvm::IRBuilder<> b(ctx);
  auto intrinsic = [&](llvm::Intrinsic::ID id) { return llvm::Intrinsic::getDeclaration(m.get(), id); };
  b.SetInsertPoint(entry);
  llvm::Value *data = b.CreateConstGEP1_32(b.getInt8Ty(), state, 64);
  llvm::Value *stride = b.getInt64(64);
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_ldtilecfg), {state});
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_tileloadd64), {b.getInt8(kAmxChains), data, stride});
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_tileloadd64), {b.getInt8(kAmxChains + 1), data, stride});
  for (int c = 0; c < kAmxChains; ++c)
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tilezero), {b.getInt8(c)});
  b.CreateBr(loop);
  b.SetInsertPoint(loop);
  llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2);
  i->addIncoming(b.getInt64(0), entry);
  for (int c = 0; c < kAmxChains; ++c)
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tdpbf16ps),
                 {b.getInt8(c), b.getInt8(kAmxChains), b.getInt8(kAmxChains + 1)});
  llvm::Value *iNext = b.CreateAdd(i, b.getInt64(1));
  i->addIncoming(iNext, loop);
  b.CreateCondBr(b.CreateICmpULT(iNext, n), loop, exit);
  b.SetInsertPoint(exit);
  for (int c = 0; c < kAmxChains; ++c)
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tilestored64),
                 {b.getInt8(c), b.CreateConstGEP1_32(b.getInt8Ty(), state, 64 + 1024 + 1024 * c), stride});
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_tilerelease), {});
  b.CreateRetVoid();
  return std::move(m);
}

/// Palette 1, every tile 16 rows of 64 bytes (the largest).
void amxConfig(uint8_t *cfg) {
  std::fill(cfg, cfg + 64, 0);
  cfg[0] = 1;
  for (int t = 0; t < 8; ++t) {
    cfg[16 + 2 * t] = 64;
    cfg[48 + t] = 16;
  }
}

/// The loop compiled for the host and JIT-loaded.
struct PeakLoop {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  void (*fn)(int64_t, float *) = nullptr;
};

Expected<PeakLoop> compileLoop(llvm::TargetMachine &tm, int width, bool bf16, bool amx = false) {
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = amx ? buildAmxLoop(ctx) : buildLoop(ctx, width, bf16);
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  for (llvm::Function &f : *m)
    if (!f.isDeclaration()) {
      f.addFnAttr("target-cpu", tm.getTargetCPU());
      f.addFnAttr("target-features", tm.getTargetFeatureString());
    }
  Expected<std::string> object = emitObject(*m, tm);
  if (!object)
    return object.takeError();
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit)
    return Error{llvm::toString(jit.takeError())};
  if (llvm::Error err = (*jit)->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(*object)))
    return Error{llvm::toString(std::move(err))};
  auto sym = (*jit)->lookup("fma_loop");
  if (!sym)
    return Error{llvm::toString(sym.takeError())};
  PeakLoop loop;
  loop.fn = sym->toPtr<void (*)(int64_t, float *)>();
  loop.jit = std::move(*jit);
  return loop;
}

/// GFLOP/s of `loop` on n threads, each on its own state, `iters`
/// iterations of `flopsPerIteration` (best of 3).
double timeRuns(const PeakLoop &loop, std::vector<std::vector<float>> &states, int64_t iters,
                double flopsPerIteration) {
  unsigned n = static_cast<unsigned>(states.size());
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < n; ++t)
      pool.emplace_back([&, t] { loop.fn(iters, states[t].data()); });
    for (auto &t : pool)
      t.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flopsPerIteration * iters * n / s / 1e9);
  }
  return best;
}

/// GFLOP/s of a vector loop on n threads; `flopsPerLane` per lane of each
/// chain's step (2 for an FMA, 4 for vdpbf16ps).
double timeLoop(const PeakLoop &loop, unsigned n, int width, double flopsPerLane) {
  std::vector<std::vector<float>> states(n, std::vector<float>((kChains + 2) * width, 1e-3f));
  for (auto &s : states)
    std::fill(s.begin() + kChains * width, s.end(), 0.999f);
  return timeRuns(loop, states, 20'000'000, flopsPerLane * kChains * width);
}

/// GFLOP/s of the AMX loop on n threads.
double timeAmxLoop(const PeakLoop &loop, unsigned n) {
  std::vector<std::vector<float>> states(n, std::vector<float>((64 + 1024 + 4 * 1024) / 4, 0.0f));
  for (auto &s : states) {
    amxConfig(reinterpret_cast<uint8_t *>(s.data()));
    std::fill(s.begin() + 16, s.begin() + 16 + 256, 0.5f); // bf16 pairs of normal numbers
  }
  return timeRuns(loop, states, 2'000'000, 2.0 * 16 * 16 * 32 * kAmxChains);
}

} // namespace

Expected<PeakFlops> measurePeakFlops(unsigned threads, bool bf16) {
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = createTargetMachine("host");
  if (!tm)
    return tm.takeError();
  PeakFlops peak;
  peak.vectorWidth = static_cast<int>(nativeVectorWidth(**tm));
  peak.threads = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  Expected<PeakLoop> fp32 = compileLoop(**tm, peak.vectorWidth, false);
  if (!fp32)
    return fp32.takeError();
  peak.gflopsOneThread = timeLoop(*fp32, 1, peak.vectorWidth, 2);
  peak.gflopsAllThreads = peak.threads == 1 ? peak.gflopsOneThread : timeLoop(*fp32, peak.threads, peak.vectorWidth, 2);
  if (bf16 && peak.vectorWidth == 16 && hasBf16Dot(**tm)) {
    Expected<PeakLoop> dot = compileLoop(**tm, peak.vectorWidth, true);
    if (!dot)
      return dot.takeError();
    peak.bf16OneThread = timeLoop(*dot, 1, peak.vectorWidth, 4);
    peak.bf16AllThreads = peak.threads == 1 ? peak.bf16OneThread : timeLoop(*dot, peak.threads, peak.vectorWidth, 4);
    if (hasAmxBf16(**tm) && requestAmxTiles()) {
      Expected<PeakLoop> tiles = compileLoop(**tm, peak.vectorWidth, true, true);
      if (!tiles)
        return tiles.takeError();
      peak.amxOneThread = timeAmxLoop(*tiles, 1);
      peak.amxAllThreads = peak.threads == 1 ? peak.amxOneThread : timeAmxLoop(*tiles, peak.threads);
    }
  }
  return peak;
}

} // namespace attn
