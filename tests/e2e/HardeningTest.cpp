//===- HardeningTest.cpp - Concurrency, 64-bit indices, hostile arguments --===//
//
// The promises of a kernel running inside someone else's program:
//   - many threads, or two processes, compiling the same spec into one cache
//     get one correct kernel and one cache entry;
//   - offsets past 2^31 elements are computed in 64 bits;
//   - any argument list, however wrong, gives a result or an error naming the
//     tensor, never a crash or a read outside the buffers passed in (this
//     file runs under ASan and UBSan in `make test-sanitize`).
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include <atomic>
#include <filesystem>
#include <random>
#include <sys/mman.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace attn;
using namespace attn::test;
namespace fs = std::filesystem;

namespace {

fs::path freshDir(const std::string &what) {
  fs::path dir = fs::temp_directory_path() /
                 ("attn-hardening-" + what + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

const char *kWindowSpec = "attention shared_cache {\n q: f32[B, 4, L, 24]\n k: f32[B, 2, L, 24]\n"
                          " v: f32[B, 2, L, 16]\n mask: j <= i && i - j < 40\n outputs: o, lse\n}\n";
// Its calls choose their path (L is named): one cache entry per path.
constexpr int kEntriesPerKernel = 2;

/// Compiles kWindowSpec into `dir`, runs it and compares with the reference.
/// Returns "" when all is well (usable from threads and child processes).
std::string compileRunCompare(const fs::path &dir, bool *fromCache = nullptr) {
  CompileOptions options;
  options.cacheDir = dir.string();
  Expected<Kernel> k = Compiler(options).compile(kWindowSpec, "shared_cache");
  if (!k)
    return "compile: " + k.error();
  if (fromCache)
    *fromCache = k->fromCache();
  CheckedSpec spec = parseAndCheck("t.attn", kWindowSpec);
  const AttentionSpec &s = *spec.module.find("shared_cache");
  ArgumentMap args = makeInputs(s, chooseDims(s, {2, 4, 2, 77, 77, 24, 16}), 11);
  Expected<ReferenceOutput> ref = runReference(s, args);
  Expected<ReferenceOutput> got = runOnHost(*k, args, true);
  if (!ref || !got)
    return "run: " + (ref ? got.error() : ref.error());
  if (!matches(got->o, ref->o, ref->oShape, tolerance(s, ref->o)) ||
      !matches(got->lse, ref->lse, ref->lseShape, tolerance(s, ref->lse)))
    return "results differ from the reference";
  return "";
}

/// The cache's entries, and any temporary file a writer left behind.
std::pair<int, int> entriesAndLeftovers(const fs::path &dir) {
  int entries = 0, leftovers = 0;
  for (const auto &e : fs::directory_iterator(dir))
    (e.path().filename().string()[0] == '.' ? leftovers : entries)++;
  return {entries, leftovers};
}

TEST(Concurrency, ManyThreadsCompileOneSpecIntoOneKernel) {
  fs::path dir = freshDir("threads");
  constexpr int kThreads = 8;
  std::vector<std::string> results(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) // start together: the widest race
        std::this_thread::yield();
      results[t] = compileRunCompare(dir);
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(results[t], "") << "thread " << t;
  auto [entries, leftovers] = entriesAndLeftovers(dir);
  EXPECT_EQ(entries, kEntriesPerKernel);
  EXPECT_EQ(leftovers, 0) << "a writer left its temporary file";
  bool cached = false;
  EXPECT_EQ(compileRunCompare(dir, &cached), "");
  EXPECT_TRUE(cached) << "the entry the threads wrote must load";
  fs::remove_all(dir);
}

TEST(Concurrency, AForkedChildRunsKernelsOnItsOwnThreads) {
  // The parent's pool has worker threads; the child has none of them and
  // must make its own pool instead of waiting for the parent's (it hung
  // before). An alarm turns a hang into a failure.
  fs::path dir = freshDir("fork");
  ASSERT_EQ(compileRunCompare(dir), ""); // the parent runs on its pool
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(120);
    std::string err = compileRunCompare(dir);
    if (!err.empty())
      std::fprintf(stderr, "child: %s\n", err.c_str());
    ::_exit(err.empty() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  fs::remove_all(dir);
}

TEST(Concurrency, TwoProcessesCompileOneSpecIntoOneKernel) {
  fs::path dir = freshDir("processes");
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      char byte;
      ::close(go[1]);
      if (::read(go[0], &byte, 1) != 1) // wait for the start signal
        ::_exit(3);
      std::string err = compileRunCompare(dir);
      if (!err.empty())
        std::fprintf(stderr, "child %d: %s\n", c, err.c_str());
      ::_exit(err.empty() ? 0 : 1);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ASSERT_EQ(::write(go[1], "gg", 2), 2); // both start at once
  ::close(go[1]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  auto [entries, leftovers] = entriesAndLeftovers(dir);
  EXPECT_EQ(entries, kEntriesPerKernel);
  EXPECT_EQ(leftovers, 0);
  bool cached = false;
  EXPECT_EQ(compileRunCompare(dir, &cached), "");
  EXPECT_TRUE(cached);
  fs::remove_all(dir);
}

/// Anonymous memory reserved but not committed: pages cost nothing until
/// touched, so a tensor can span more than 2^31 elements on a small machine.
struct Sparse {
  explicit Sparse(size_t bytes) : bytes(bytes) {
    ptr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
    if (ptr == MAP_FAILED)
      ptr = nullptr;
  }
  ~Sparse() {
    if (ptr)
      ::munmap(ptr, bytes);
  }
  float *floats() const { return static_cast<float *>(ptr); }
  void *ptr = nullptr;
  size_t bytes;
};

TEST(Indexing, OffsetsPastTwoToTheThirtyOne) {
  // A long windowed sequence with a [L, L] bias: bias[i, j] sits at i * L + j,
  // up to 2.2e9 > 2^31 elements. q's heads are 2^31 + 2^20 elements apart.
  // Only the window's pages are touched (~200 MB).
  const int64_t L = 47000, D = 8, W = 48;
  const char *text = "attention long_window {\n q: f32[1, 2, L, 8]\n k: f32[1, 1, L, 8]\n"
                     " v: f32[1, 1, L, 8]\n bias: f32[L, L]\n scale: 0.5\n score: s + bias[i, j]\n"
                     " mask: j <= i && i - j < 48\n}\n";
  ASSERT_GT(L * L, int64_t(1) << 31);
  const int64_t headStride = (int64_t(1) << 31) + (int64_t(1) << 20);
  Sparse bias(size_t(L) * L * sizeof(float)), q(size_t(headStride + L * D) * sizeof(float));
  ASSERT_TRUE(bias.ptr && q.ptr) << "cannot reserve address space";
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> unit(-1, 1);
  std::vector<float> k(L * D), v(L * D);
  for (float &x : k)
    x = unit(rng);
  for (float &x : v)
    x = unit(rng);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t n = 0; n < L * D; ++n)
      q.floats()[h * headStride + n] = unit(rng);
  auto biasAt = [](int64_t i, int64_t j) { return static_cast<float>((i * 7 + j * 3) % 11) * 0.125f; };
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = std::max<int64_t>(0, i - W + 1); j <= i; ++j)
      bias.floats()[i * L + j] = biasAt(i, j);

  std::vector<float> o(2 * L * D, -1.0f);
  TensorView qv{q.ptr, ATTN_F32, {1, 2, L, D}, {2 * headStride, headStride, D, 1}};
  TensorView kv{k.data(), ATTN_F32, {1, 1, L, D}, {}}, vv{v.data(), ATTN_F32, {1, 1, L, D}, {}};
  TensorView bv{bias.ptr, ATTN_F32, {L, L}, {}}, ov{o.data(), ATTN_F32, {1, 2, L, D}, {}};
  ASSERT_EQ(compiled(text, "long_window").run({{"q", {qv}}, {"k", {kv}}, {"v", {vv}}, {"bias", {bv}}}, ov),
            "");

  // The reference interpreter would take hours over L^2 pairs: rows spread
  // over the sequence (both ends, the middle, every tile phase) are
  // recomputed here in double precision from the same definition.
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i : {int64_t(0), int64_t(1), W - 1, W, int64_t(1000), int64_t(23457), int64_t(46341),
                      L / 2 + 5, L - 2, L - 1}) {
      const float *qi = q.floats() + h * headStride + i * D;
      std::vector<double> scores;
      double m = -INFINITY;
      for (int64_t j = std::max<int64_t>(0, i - W + 1); j <= i; ++j) {
        double s = 0;
        for (int64_t d = 0; d < D; ++d)
          s += double(qi[d]) * k[j * D + d];
        scores.push_back(s * 0.5 + biasAt(i, j));
        m = std::max(m, scores.back());
      }
      std::vector<double> want(D, 0.0);
      double sum = 0;
      for (size_t n = 0; n < scores.size(); ++n) {
        double p = std::exp(scores[n] - m);
        sum += p;
        int64_t j = std::max<int64_t>(0, i - W + 1) + static_cast<int64_t>(n);
        for (int64_t d = 0; d < D; ++d)
          want[d] += p * v[j * D + d];
      }
      for (int64_t d = 0; d < D; ++d)
        ASSERT_NEAR(o[(h * L + i) * D + d], want[d] / sum, 1e-4) << "h " << h << " row " << i << " d " << d;
    }
}

TEST(Numerics, InfinitiesFollowTheReference) {
  // +inf in a query makes its scores +-inf or NaN; inf in a value reaches the
  // rows that weight it; -inf scores are masked keys. Kernel and reference
  // must agree on every one of them, on the row and the tiled paths.
  for (int64_t rows : {int64_t(3), int64_t(40)}) {
    std::string name = "inf_rows_" + std::to_string(rows);
    std::string text = "attention " + name + " {\n q: f32[B, H, L, D]\n k: f32[B, H, L, D]\n"
                       " v: f32[B, H, L, D]\n score: s > 0.9 ? -1.0 / 0.0 : s\n mask: j <= i\n"
                       " outputs: o, lse\n}\n";
    CheckedSpec spec = parseAndCheck("t.attn", text);
    ASSERT_TRUE(spec.ok);
    const AttentionSpec &s = *spec.module.find(name);
    ArgumentMap args = makeInputs(s, chooseDims(s, {1, 2, 2, rows, rows, 8, 8}), 3);
    args["q"].data[1 * 8 + 2] = INFINITY;   // head 0, row 1
    args["v"].data[2 * 8 + 5] = -INFINITY;  // head 0, key 2
    args["q"].data[(rows + 2) * 8] = -INFINITY; // head 1, row 2
    expectMatchesReference(text, name, args);
  }
}

TEST(Numerics, SoftmaxWeightsAreCloseToDoublePrecision) {
  // The kernels' exp (KernelEmitter::expWeights: a polynomial and vscalefps
  // on AVX-512) over weights from 1 down to underflow: o and lse within
  // 1e-5, ten times tighter than DESIGN.md's f32 tolerance, on the tiled,
  // row and grouped decode paths.
  for (auto [name, sizes] : {std::pair<const char *, InputSizes>{"wide_tiled", {1, 4, 2, 60, 300, 16, 16}},
                             {"wide_rows", {2, 8, 8, 1, 700, 16, 16}},
                             {"wide_grouped", {2, 8, 2, 1, 700, 16, 16}}}) {
    std::string text = std::string("attention ") + name +
                       " {\n q: f32[B, Hq, L, D]\n k: f32[B, Hk, M, D]\n v: f32[B, Hk, M, D]\n"
                       " score: s * 12\n outputs: o, lse\n}\n";
    CheckedSpec spec = parseAndCheck("t.attn", text);
    const AttentionSpec &s = *spec.module.find(name);
    ArgumentMap args = makeInputs(s, chooseDims(s, sizes), 9);
    Expected<ReferenceOutput> ref = runReference(s, args);
    ASSERT_TRUE(ref) << ref.error();
    Expected<ReferenceOutput> got = runOnHost(compiled(text, name), args, true);
    ASSERT_TRUE(got) << got.error();
    EXPECT_TRUE(matches(got->o, ref->o, ref->oShape, 1e-5)) << name;
    EXPECT_TRUE(matches(got->lse, ref->lse, ref->lseShape, 1e-5)) << name;
  }
}

TEST(Numerics, HugeScoresKeepTheirSoftmax) {
  // Scores near the top of the float range: the running max is subtracted
  // before exp, so neither o nor lse overflows.
  std::string text = "attention huge {\n q: f32[B, H, L, D]\n k: f32[B, H, L, D]\n v: f32[B, H, L, D]\n"
                     " score: s * 1e36\n mask: j <= i\n outputs: o, lse\n}\n";
  CheckedSpec spec = parseAndCheck("t.attn", text);
  const AttentionSpec &s = *spec.module.find("huge");
  ArgumentMap args = makeInputs(s, chooseDims(s, {1, 2, 2, 30, 30, 16, 16}), 4);
  expectMatchesReference(text, "huge", args);
}

TEST(HostileArguments, RandomCorruptionsAreErrorsOrCorrectResults) {
  // A valid call, then one to three random corruptions of its arguments.
  // Every corruption either keeps the call valid (and the result must then
  // match the reference) or is reported as an error; buffers are never
  // read past their end (ASan in `make test-sanitize`).
  const char *text = "attention hostile {\n q: f32[B, 4, L, 8]\n k: f32[B, 2, M, 8]\n"
                     " v: f32[B, 2, M, 8]\n doc: i32[B, M]\n w: i32\n"
                     " mask: doc[b, j] >= 0 && j < M - w\n outputs: o, lse\n}\n";
  const Kernel &kernel = compiled(text, "hostile");
  std::mt19937_64 rng(2024);
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  int errors = 0, valid = 0;
  const int kCalls = 3000;
  for (int call = 0; call < kCalls; ++call) {
    std::vector<float> q(2 * 4 * 3 * 8, 0.5f), k(2 * 2 * 5 * 8, 0.25f), v(2 * 2 * 5 * 8, 1.0f);
    std::vector<int32_t> doc(2 * 5, 1);
    std::vector<float> o(2 * 4 * 3 * 8, 0.0f), lse(2 * 4 * 3, 0.0f);
    std::map<std::string, ArgValue> args = {
        {"q", {TensorView{q.data(), ATTN_F32, {2, 4, 3, 8}, {}}}},
        {"k", {TensorView{k.data(), ATTN_F32, {2, 2, 5, 8}, {}}}},
        {"v", {TensorView{v.data(), ATTN_F32, {2, 2, 5, 8}, {}}}},
        {"doc", {TensorView{doc.data(), ATTN_I32, {2, 5}, {}}}},
        {"w", {TensorView{}, 1}}};
    TensorView ov{o.data(), ATTN_F32, {2, 4, 3, 8}, {}}, lv{lse.data(), ATTN_F32, {2, 4, 3}, {}};
    bool withLse = true;
    for (int n = pick(3) + 1; n > 0; --n) {
      static const char *names[] = {"q", "k", "v", "doc", "o", "lse"};
      std::string name = names[pick(6)];
      TensorView &t = name == "o" ? ov : name == "lse" ? lv : args[name].tensor;
      if (t.sizes.empty())
        continue;
      int64_t d = pick(static_cast<int64_t>(t.sizes.size()));
      switch (pick(12)) {
      case 0: t.sizes[d] = pick(t.sizes[d] + 1); break;            // shrink: stays inside the buffer
      case 1: t.sizes[d] = -1 - pick(5); break;                     // negative
      case 2: t.sizes[d] = int64_t(1) << (40 + pick(23)); break;   // huge
      case 3: t.dtype = static_cast<attn_dtype>(pick(4)); break;   // another dtype
      case 4: t.sizes.pop_back(); break;                            // rank
      case 5: t.data = nullptr; break;
      case 6: t.strides = TensorView::contiguousStrides(t.sizes); t.strides[d] = -t.strides[d] - 1; break;
      case 7: t.strides = TensorView::contiguousStrides(t.sizes); t.strides[d] = INT64_MAX / 3; break;
      case 8: t.strides = {1}; break;                               // stride count
      case 9: args["w"].scalar = pick(2) ? 1.5 : 1e12; break;       // not an i32
      case 10: ov.data = q.data(); break;                           // o overlaps an input
      case 11: withLse = false; break;                              // lse missing
      }
    }
    std::string err = kernel.run(args, ov, withLse ? &lv : nullptr);
    if (!err.empty()) {
      ++errors;
      EXPECT_NE(err.find('\''), std::string::npos) << "an error names its tensor: " << err;
      continue;
    }
    ++valid;
    // A call that ran had consistent arguments: its o must be right where
    // the reference can tell (w = 1 masks the last key; all v rows are 1).
    for (int64_t n = 0; n < ov.numElements(); ++n)
      ASSERT_FLOAT_EQ(static_cast<const float *>(ov.data)[n], 1.0f) << "call " << call;
  }
  EXPECT_EQ(errors + valid, kCalls);
  EXPECT_GT(errors, kCalls / 2);
  std::printf("hostile arguments: %d calls, %d errors, %d valid\n", kCalls, errors, valid);
}

} // namespace
