//===- PeakFlops.cpp - This machine's measured FMA peak --------------------===//
#include "compiler/Target/PeakFlops.h"

#include "compiler/Target/CodeGen.h"

#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace attn {

namespace {

constexpr int kChains = 12; // independent accumulators: hides the FMA latency

/// void fma_loop(i64 iterations, float *state): kChains vector FMA chains.
std::unique_ptr<llvm::Module> buildLoop(llvm::LLVMContext &ctx, int width) {
  auto m = std::make_unique<llvm::Module>("peak", ctx);
  llvm::IRBuilder<> b(ctx);
  llvm::Type *vec = llvm::FixedVectorType::get(b.getFloatTy(), width);
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  auto *fn = llvm::Function::Create(llvm::FunctionType::get(b.getVoidTy(), {b.getInt64Ty(), ptr}, false),
                                    llvm::GlobalValue::ExternalLinkage, "fma_loop", *m);
  llvm::Value *n = fn->getArg(0), *state = fn->getArg(1);
  auto *entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  auto *loop = llvm::BasicBlock::Create(ctx, "loop", fn);
  auto *exit = llvm::BasicBlock::Create(ctx, "exit", fn);
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
  llvm::Function *fma = llvm::Intrinsic::getDeclaration(m.get(), llvm::Intrinsic::fma, {vec});
  for (int c = 0; c < kChains; ++c) { // PHIs first: they head the block
    acc.push_back(b.CreatePHI(vec, 2));
    acc.back()->addIncoming(init[c], entry);
  }
  for (int c = 0; c < kChains; ++c)
    next.push_back(b.CreateCall(fma, {acc[c], mulA, addB}));
  for (int c = 0; c < kChains; ++c)
    acc[c]->addIncoming(next[c], loop);
  llvm::Value *iNext = b.CreateAdd(i, b.getInt64(1));
  i->addIncoming(iNext, loop);
  b.CreateCondBr(b.CreateICmpULT(iNext, n), loop, exit);
  b.SetInsertPoint(exit);
  for (int c = 0; c < kChains; ++c)
    b.CreateAlignedStore(next[c], b.CreateConstGEP1_32(vec, state, c), llvm::Align(4));
  b.CreateRetVoid();
  return m;
}

} // namespace

Expected<PeakFlops> measurePeakFlops(unsigned threads) {
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = createTargetMachine("host");
  if (!tm)
    return tm.takeError();
  PeakFlops peak;
  peak.vectorWidth = static_cast<int>(nativeVectorWidth(**tm));
  peak.threads = threads ? threads : std::max(1u, std::thread::hardware_concurrency());

  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = buildLoop(ctx, peak.vectorWidth);
  m->setDataLayout((*tm)->createDataLayout());
  m->setTargetTriple((*tm)->getTargetTriple().str());
  for (llvm::Function &f : *m)
    if (!f.isDeclaration()) {
      f.addFnAttr("target-cpu", (*tm)->getTargetCPU());
      f.addFnAttr("target-features", (*tm)->getTargetFeatureString());
    }
  Expected<std::string> object = emitObject(*m, **tm);
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
  auto loop = sym->toPtr<void (*)(int64_t, float *)>();

  auto run = [&](unsigned n) {
    const int64_t iters = 20'000'000;
    std::vector<std::vector<float>> states(n, std::vector<float>((kChains + 2) * peak.vectorWidth, 1e-3f));
    for (auto &s : states)
      std::fill(s.begin() + kChains * peak.vectorWidth, s.end(), 0.999f);
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> pool;
      for (unsigned t = 0; t < n; ++t)
        pool.emplace_back([&, t] { loop(iters, states[t].data()); });
      for (auto &t : pool)
        t.join();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, 2.0 * kChains * peak.vectorWidth * iters * n / s / 1e9);
    }
    return best;
  };
  peak.gflopsOneThread = run(1);
  peak.gflopsAllThreads = peak.threads == 1 ? peak.gflopsOneThread : run(peak.threads);
  return peak;
}

} // namespace attn
