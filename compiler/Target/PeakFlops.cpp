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
#include <functional>
#include <optional>
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
  /// Ends the entry block and starts the loop at its counter (0, 1, ...).
  llvm::PHINode *enterLoop(llvm::IRBuilder<> &b) {
    b.CreateBr(loop);
    b.SetInsertPoint(loop);
    llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2);
    i->addIncoming(b.getInt64(0), entry);
    return i;
  }
  /// Ends the loop (back while i + 1 < n) and starts the exit block.
  void closeLoop(llvm::IRBuilder<> &b, llvm::PHINode *i) {
    llvm::Value *iNext = b.CreateAdd(i, b.getInt64(1));
    i->addIncoming(iNext, loop);
    b.CreateCondBr(b.CreateICmpULT(iNext, n), loop, exit);
    b.SetInsertPoint(exit);
  }
  /// From here on `state` is the argument rounded up to 64 bytes (see
  /// aligned64), so vector and tile rows load whole cache lines.
  void alignState(llvm::IRBuilder<> &b) {
    llvm::Value *at = b.CreatePtrToInt(state, b.getInt64Ty());
    llvm::Value *up = b.CreateAnd(b.CreateAdd(at, b.getInt64(63)), b.getInt64(-64));
    state = b.CreateGEP(b.getInt8Ty(), state, b.CreateSub(up, at));
  }
};

/// The first 64-byte boundary in `s` (which has 16 floats to spare), where
/// alignState puts a loop's state.
float *aligned64(std::vector<float> &s) {
  auto at = reinterpret_cast<uintptr_t>(s.data());
  return s.data() + ((at + 63) / 64 * 64 - at) / sizeof(float);
}

/// void fma_loop(i64 iterations, float *state): kChains vector FMA chains;
/// with `bf16`, chains of vdpbf16ps (acc += a.even * b.even + a.odd * b.odd
/// over 2 x width bf16 values).
std::unique_ptr<llvm::Module> buildLoop(llvm::LLVMContext &ctx, int width, bool bf16) {
  LoopFunction f(ctx, "peak");
  std::unique_ptr<llvm::Module> &m = f.m;
  llvm::IRBuilder<> b(ctx);
  llvm::Type *vec = llvm::FixedVectorType::get(b.getFloatTy(), width);
  b.SetInsertPoint(f.entry);
  std::vector<llvm::Value *> init;
  for (int c = 0; c < kChains; ++c)
    init.push_back(b.CreateAlignedLoad(vec, b.CreateConstGEP1_32(vec, f.state, c), llvm::Align(4)));
  llvm::Value *mulA = b.CreateAlignedLoad(vec, b.CreateConstGEP1_32(vec, f.state, kChains), llvm::Align(4));
  llvm::Value *addB = b.CreateAlignedLoad(vec, b.CreateConstGEP1_32(vec, f.state, kChains + 1), llvm::Align(4));
  llvm::PHINode *i = f.enterLoop(b);
  std::vector<llvm::PHINode *> acc;
  std::vector<llvm::Value *> next;
  llvm::Function *fma = bf16 ? llvm::Intrinsic::getDeclaration(m.get(), llvm::Intrinsic::x86_avx512bf16_dpbf16ps_512)
                              : llvm::Intrinsic::getDeclaration(m.get(), llvm::Intrinsic::fma, {vec});
  for (int c = 0; c < kChains; ++c) { // PHIs first: they head the block
    acc.push_back(b.CreatePHI(vec, 2));
    acc.back()->addIncoming(init[c], f.entry);
  }
  llvm::Type *pairs = llvm::FixedVectorType::get(b.getBFloatTy(), 2 * width);
  for (int c = 0; c < kChains; ++c)
    next.push_back(bf16 ? b.CreateCall(fma, {acc[c], b.CreateBitCast(mulA, pairs), b.CreateBitCast(addB, pairs)})
                        : b.CreateCall(fma, {acc[c], mulA, addB}));
  for (int c = 0; c < kChains; ++c)
    acc[c]->addIncoming(next[c], f.loop);
  f.closeLoop(b, i);
  for (int c = 0; c < kChains; ++c)
    b.CreateAlignedStore(next[c], b.CreateConstGEP1_32(vec, f.state, c), llvm::Align(4));
  b.CreateRetVoid();
  return std::move(m);
}

/// void fma_loop(i64 iterations, float *state) on AMX tiles: state holds the
/// 64-byte tile configuration (amxConfig), then 1 KB of bf16 pairs loaded
/// as A and B, then the four 16 x 16 f32 accumulators stored at the end.
/// Each iteration is four independent tdpbf16ps (16 x 16 x 32 products).
constexpr int kAmxChains = 4;
// The Q.Kt loop's shape: the tiled path's tile (Signature.h), D = 128.
constexpr int kBlockRows = static_cast<int>(kTileRows), kBlockVectors = static_cast<int>(kTileKeyVectors);
constexpr int kBlockDepth = 128;
/// P.V's accumulator tiles: those of a dense q block (128 rows, 8 tiles of
/// 16) at Dv = 128, 64 KB, in pairs of 2 KB.
constexpr int kAmxAccPairs = 32;
constexpr int kAmxStateBytes = 64 + 2048 + 4096 + 2048 * kAmxAccPairs;
std::unique_ptr<llvm::Module> buildAmxLoop(llvm::LLVMContext &ctx) {
  LoopFunction f(ctx, "peak_amx");
  std::unique_ptr<llvm::Module> &m = f.m;
  llvm::IRBuilder<> b(ctx);
  auto intrinsic = [&](llvm::Intrinsic::ID id) { return llvm::Intrinsic::getDeclaration(m.get(), id); };
  b.SetInsertPoint(f.entry);
  llvm::Value *data = b.CreateConstGEP1_32(b.getInt8Ty(), f.state, 64);
  llvm::Value *stride = b.getInt64(64);
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_ldtilecfg), {f.state});
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_tileloadd64), {b.getInt8(kAmxChains), data, stride});
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_tileloadd64), {b.getInt8(kAmxChains + 1), data, stride});
  for (int c = 0; c < kAmxChains; ++c)
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tilezero), {b.getInt8(c)});
  llvm::PHINode *i = f.enterLoop(b);
  for (int c = 0; c < kAmxChains; ++c)
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tdpbf16ps),
                 {b.getInt8(c), b.getInt8(kAmxChains), b.getInt8(kAmxChains + 1)});
  f.closeLoop(b, i);
  for (int c = 0; c < kAmxChains; ++c)
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tilestored64),
                 {b.getInt8(c), b.CreateConstGEP1_32(b.getInt8Ty(), f.state, 64 + 1024 + 1024 * c), stride});
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

/// void fma_loop(i64 iterations, float *state): one step of the Q.Kt
/// micro-kernel per iteration, as the kernels run it: kBlockRows x
/// kBlockVectors accumulators fed by kBlockVectors vector loads of k and
/// kBlockRows broadcasts of q, step d of a kBlockDepth-step block that stays
/// in L1. state: the accumulators, then k's block ([depth][vectors x
/// width]), then q's ([depth][rows]).
std::unique_ptr<llvm::Module> buildBlockedLoop(llvm::LLVMContext &ctx, int width) {
  LoopFunction f(ctx, "blocked");
  llvm::IRBuilder<> b(ctx);
  llvm::Type *vec = llvm::FixedVectorType::get(b.getFloatTy(), width);
  constexpr int kAcc = kBlockRows * kBlockVectors;
  b.SetInsertPoint(f.entry);
  f.alignState(b);
  std::vector<llvm::Value *> init;
  for (int a = 0; a < kAcc; ++a)
    init.push_back(b.CreateAlignedLoad(vec, b.CreateConstGEP1_32(vec, f.state, a), llvm::Align(4)));
  llvm::Value *kBlock = b.CreateConstGEP1_32(vec, f.state, kAcc);
  llvm::Value *qBlock = b.CreateConstGEP1_32(vec, kBlock, kBlockDepth * kBlockVectors);
  llvm::PHINode *i = f.enterLoop(b);
  std::vector<llvm::PHINode *> acc;
  for (int a = 0; a < kAcc; ++a) {
    acc.push_back(b.CreatePHI(vec, 2));
    acc.back()->addIncoming(init[a], f.entry);
  }
  llvm::Value *d = b.CreateAnd(i, b.getInt64(kBlockDepth - 1));
  llvm::Value *kRow = b.CreateGEP(vec, kBlock, b.CreateMul(d, b.getInt64(kBlockVectors)));
  llvm::Value *qRow = b.CreateGEP(b.getFloatTy(), qBlock, b.CreateMul(d, b.getInt64(kBlockRows)));
  std::vector<llvm::Value *> kv;
  for (int c = 0; c < kBlockVectors; ++c)
    kv.push_back(b.CreateAlignedLoad(vec, b.CreateConstGEP1_32(vec, kRow, c), llvm::Align(64)));
  llvm::Function *fma = llvm::Intrinsic::getDeclaration(f.m.get(), llvm::Intrinsic::fma, {vec});
  std::vector<llvm::Value *> next;
  for (int r = 0; r < kBlockRows; ++r) {
    llvm::Value *q = b.CreateAlignedLoad(b.getFloatTy(), b.CreateConstGEP1_32(b.getFloatTy(), qRow, r), llvm::Align(4));
    llvm::Value *qs = b.CreateVectorSplat(width, q);
    for (int c = 0; c < kBlockVectors; ++c)
      next.push_back(b.CreateCall(fma, {qs, kv[c], acc[r * kBlockVectors + c]}));
  }
  for (int a = 0; a < kAcc; ++a)
    acc[a]->addIncoming(next[a], f.loop);
  f.closeLoop(b, i);
  for (int a = 0; a < kAcc; ++a)
    b.CreateAlignedStore(next[a], b.CreateConstGEP1_32(vec, f.state, a), llvm::Align(4));
  b.CreateRetVoid();
  return std::move(f.m);
}

/// void fma_loop(i64 iterations, float *state): AMX tile products with
/// their operands loaded as the kernels load them. state: the tile
/// configuration (64 bytes), 2 KB of A tiles, 4 KB of B tiles (both stay in
/// L1), then accumulator tiles (kAmxAccPairs pairs). Each iteration makes
/// four tdpbf16ps, each with a B tile of its own loaded (two tile registers
/// in turn):
/// - AmxOperands, Q.Kt's shape: one A tile loaded, four accumulators held
///   in tiles (stored at the end to the first 4 KB);
/// - AmxAccumulators, P.V's: two A tiles held, and a pair of accumulator
///   tiles loaded, two products each, and stored again; iteration i takes
///   pair i mod kAmxAccPairs, as a kernel's P.V takes every accumulator tile
///   of its q block once per K/V block (so they come from L2, as there).
std::unique_ptr<llvm::Module> buildAmxLoadedLoop(llvm::LLVMContext &ctx, MicroKernel kind) {
  LoopFunction f(ctx, "amx_loaded");
  llvm::IRBuilder<> b(ctx);
  auto intrinsic = [&](llvm::Intrinsic::ID id) { return llvm::Intrinsic::getDeclaration(f.m.get(), id); };
  auto at = [&](int bytes) { return b.CreateConstGEP1_32(b.getInt8Ty(), f.state, bytes); };
  constexpr int kA = 64, kB = kA + 2048, kC = kB + 4096;
  llvm::Value *stride = b.getInt64(64);
  auto load = [&](int tile, int bytes) {
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tileloadd64), {b.getInt8(tile), at(bytes), stride});
  };
  auto store = [&](int tile, int bytes) {
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tilestored64), {b.getInt8(tile), at(bytes), stride});
  };
  auto dot = [&](int c, int a, int bt) {
    b.CreateCall(intrinsic(llvm::Intrinsic::x86_tdpbf16ps), {b.getInt8(c), b.getInt8(a), b.getInt8(bt)});
  };
  bool operands = kind == MicroKernel::AmxOperands;
  b.SetInsertPoint(f.entry);
  f.alignState(b);
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_ldtilecfg), {f.state});
  if (operands)
    for (int c = 0; c < 4; ++c) // accumulators tmm0-3, A tmm4, B tmm5/6
      load(c, kC + 1024 * c);
  else // A tmm0-1, accumulators tmm2-3, B tmm4/5
    for (int a = 0; a < 2; ++a)
      load(a, kA + 1024 * a);
  llvm::PHINode *i = f.enterLoop(b);
  if (operands) {
    load(4, kA);
    for (int u = 0; u < 4; ++u) {
      load(5 + u % 2, kB + 1024 * u);
      dot(u, 4, 5 + u % 2);
    }
  } else {
    llvm::Value *pair = b.CreateMul(b.CreateAnd(i, b.getInt64(kAmxAccPairs - 1)), b.getInt64(2048));
    auto accTile = [&](int u) { return b.CreateGEP(b.getInt8Ty(), at(kC + 1024 * u), pair); };
    for (int u = 0; u < 2; ++u)
      b.CreateCall(intrinsic(llvm::Intrinsic::x86_tileloadd64), {b.getInt8(2 + u), accTile(u), stride});
    for (int s = 0; s < 2; ++s)
      for (int u = 0; u < 2; ++u) {
        load(4 + u, kB + 1024 * (2 * s + u));
        dot(2 + u, s, 4 + u);
      }
    for (int u = 0; u < 2; ++u)
      b.CreateCall(intrinsic(llvm::Intrinsic::x86_tilestored64), {b.getInt8(2 + u), accTile(u), stride});
  }
  f.closeLoop(b, i);
  if (operands)
    for (int c = 0; c < 4; ++c)
      store(c, kC + 1024 * c);
  b.CreateCall(intrinsic(llvm::Intrinsic::x86_tilerelease), {});
  b.CreateRetVoid();
  return std::move(f.m);
}

/// The loop compiled for the host and JIT-loaded.
struct PeakLoop {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  void (*fn)(int64_t, float *) = nullptr;
};

using LoopBuilder = std::function<std::unique_ptr<llvm::Module>(llvm::LLVMContext &)>;

Expected<PeakLoop> compileLoop(llvm::TargetMachine &tm, const LoopBuilder &build) {
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = build(ctx);
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

Expected<PeakLoop> compileLoop(llvm::TargetMachine &tm, int width, bool bf16, bool amx = false) {
  return compileLoop(tm, [&](llvm::LLVMContext &ctx) { return amx ? buildAmxLoop(ctx) : buildLoop(ctx, width, bf16); });
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

/// A micro-kernel loop's state (16 floats to spare for aligned64, filled
/// from there: a copy of it is not a state): small inputs with the
/// accumulators zero, or for tests small integers whose sums are exact.
std::vector<float> microKernelState(MicroKernel kind, int width, bool forTest) {
  if (kind == MicroKernel::Blocked) {
    constexpr int kAcc = kBlockRows * kBlockVectors;
    std::vector<float> s((kAcc + kBlockDepth * kBlockVectors) * width + kBlockDepth * kBlockRows + 16, 0.0f);
    float *k = aligned64(s) + kAcc * width, *q = k + kBlockDepth * kBlockVectors * width;
    for (int i = 0; i < kBlockDepth * kBlockVectors * width; ++i)
      k[i] = forTest ? static_cast<float>(i % 5) : 1e-3f;
    for (int i = 0; i < kBlockDepth * kBlockRows; ++i)
      q[i] = forTest ? static_cast<float>(i % 3) : 1e-3f;
    return s;
  }
  std::vector<float> s(kAmxStateBytes / 4 + 16, 0.0f);
  float *state = aligned64(s);
  amxConfig(reinterpret_cast<uint8_t *>(state));
  // A and B: bf16 pairs of 1.0 (each product adds 32 to every element).
  std::fill(reinterpret_cast<uint32_t *>(state + 16), reinterpret_cast<uint32_t *>(state + (64 + 2048 + 4096) / 4),
            0x3F803F80u);
  return s;
}

bool hostHasAmx(llvm::TargetMachine &tm) { return hasAmxBf16(tm) && requestAmxTiles(); }

Expected<PeakLoop> compileMicroKernel(llvm::TargetMachine &tm, MicroKernel kind, int width) {
  return compileLoop(tm, [&](llvm::LLVMContext &ctx) {
    return kind == MicroKernel::Blocked ? buildBlockedLoop(ctx, width) : buildAmxLoadedLoop(ctx, kind);
  });
}

/// GFLOP/s of a micro-kernel loop on n threads.
double timeMicroKernel(const PeakLoop &loop, MicroKernel kind, unsigned n, int width) {
  // Each state filled in place: a copy would move its 64-byte boundary.
  std::vector<std::vector<float>> states;
  for (unsigned t = 0; t < n; ++t)
    states.push_back(microKernelState(kind, width, false));
  if (kind == MicroKernel::Blocked)
    return timeRuns(loop, states, 20'000'000, 2.0 * kBlockRows * kBlockVectors * width);
  return timeRuns(loop, states, 2'000'000, 4 * 2.0 * 16 * 16 * 32);
}

} // namespace

Expected<MicroKernelCeilings> measureMicroKernelCeilings(unsigned threads) {
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = createTargetMachine("host");
  if (!tm)
    return tm.takeError();
  MicroKernelCeilings ceilings;
  int width = static_cast<int>(nativeVectorWidth(**tm));
  unsigned n = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  auto measure = [&](MicroKernel kind, double &one, double &all) -> std::optional<Error> {
    Expected<PeakLoop> loop = compileMicroKernel(**tm, kind, width);
    if (!loop)
      return loop.takeError();
    one = timeMicroKernel(*loop, kind, 1, width);
    all = n == 1 ? one : timeMicroKernel(*loop, kind, n, width);
    return std::nullopt;
  };
  if (width == 16)
    if (auto err = measure(MicroKernel::Blocked, ceilings.blockedOneThread, ceilings.blockedAllThreads))
      return *err;
  if (width == 16 && hostHasAmx(**tm)) {
    if (auto err = measure(MicroKernel::AmxOperands, ceilings.amxOperandsOneThread, ceilings.amxOperandsAllThreads))
      return *err;
    if (auto err = measure(MicroKernel::AmxAccumulators, ceilings.amxAccumulatorsOneThread,
                           ceilings.amxAccumulatorsAllThreads))
      return *err;
  }
  return ceilings;
}

Expected<std::vector<float>> runMicroKernel(MicroKernel kind, int64_t iterations) {
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = createTargetMachine("host");
  if (!tm)
    return tm.takeError();
  int width = static_cast<int>(nativeVectorWidth(**tm));
  if (width != 16)
    return Error{"the micro-kernel loops need 16-wide vectors (AVX-512)"};
  if (kind != MicroKernel::Blocked && !hostHasAmx(**tm))
    return Error{"this host (or its OS) has no AMX-BF16 tiles"};
  Expected<PeakLoop> loop = compileMicroKernel(**tm, kind, width);
  if (!loop)
    return loop.takeError();
  std::vector<float> s = microKernelState(kind, width, true);
  loop->fn(iterations, s.data());
  float *state = aligned64(s);
  if (kind == MicroKernel::Blocked)
    return std::vector<float>(state, state + kBlockRows * kBlockVectors * width);
  float *acc = state + (64 + 2048 + 4096) / 4;
  return std::vector<float>(acc, acc + (kind == MicroKernel::AmxOperands ? 1024 : 512 * kAmxAccPairs));
}

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
