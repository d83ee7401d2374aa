//===- CacheTest.cpp - The on-disk kernel cache ----------------------------===//
#include "E2ETestUtil.h"

#include "compiler/Frontend/SpecSignature.h"
#include "compiler/JIT/ObjectCache.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace attn;
using namespace attn::test;
namespace fs = std::filesystem;

namespace {

const char *kSpec = "attention c {\n q: f32[B, H, L, D]\n k: f32[B, H, L, D]\n v: f32[B, H, L, D]\n"
                    " mask: j <= i\n}";
// Its calls choose their path (L is named): one object per path.
constexpr size_t kEntriesPerKernel = 2;

class Cache : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("attn-cache-test-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  Expected<Kernel> compile() {
    CompileOptions options;
    options.cacheDir = dir.string();
    return Compiler(options).compile(kSpec, "c");
  }
  void expectWorks(const Kernel &k) {
    std::vector<float> q(2 * 4, 0.0f), v = {1, 2, 3, 4, 5, 6, 7, 8}, o(8);
    TensorView qv{q.data(), ATTN_F32, {1, 1, 2, 4}, {}}, vv{v.data(), ATTN_F32, {1, 1, 2, 4}, {}};
    TensorView ov{o.data(), ATTN_F32, {1, 1, 2, 4}, {}};
    ASSERT_EQ(k.run({{"q", {qv}}, {"k", {qv}}, {"v", {vv}}}, ov), "");
    EXPECT_FLOAT_EQ(o[4], 3.0f); // row 1 averages v rows 0 and 1
  }
  static void overwriteByte(const fs::path &file, std::streamoff at, char byte) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(at);
    f.put(byte);
  }
  std::vector<fs::path> entries() {
    std::vector<fs::path> out;
    for (const auto &e : fs::directory_iterator(dir))
      out.push_back(e.path());
    return out;
  }
  fs::path dir;
};

TEST_F(Cache, MissThenHit) {
  Expected<Kernel> cold = compile();
  ASSERT_TRUE(cold) << cold.error();
  EXPECT_FALSE(cold->fromCache());
  expectWorks(*cold);
  ASSERT_EQ(entries().size(), kEntriesPerKernel);
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all) << "the folder is private";
  Expected<Kernel> warm = compile();
  ASSERT_TRUE(warm) << warm.error();
  EXPECT_TRUE(warm->fromCache());
  expectWorks(*warm);
}

TEST_F(Cache, CorruptedEntryIsRecompiled) {
  ASSERT_TRUE(compile());
  fs::path entry = entries().at(0);
  overwriteByte(entry, 200, '\x5a');
  Expected<Kernel> k = compile();
  ASSERT_TRUE(k) << k.error();
  EXPECT_FALSE(k->fromCache());
  expectWorks(*k);
  EXPECT_TRUE(compile()->fromCache()) << "the bad entry was replaced";
}

TEST_F(Cache, TruncatedEntryIsRecompiled) {
  ASSERT_TRUE(compile());
  fs::path entry = entries().at(0);
  fs::resize_file(entry, fs::file_size(entry) / 2);
  Expected<Kernel> k = compile();
  ASSERT_TRUE(k) << k.error();
  EXPECT_FALSE(k->fromCache());
  expectWorks(*k);
  fs::resize_file(entries().at(0), 3);
  Expected<Kernel> again = compile();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->fromCache());
}

TEST_F(Cache, UnusableFolderStillCompiles) {
  // A folder that cannot exist (a path under a regular file): no caching,
  // but a working kernel.
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  CompileOptions options;
  options.cacheDir = (dir / "file" / "cache").string();
  Expected<Kernel> k = Compiler(options).compile(kSpec, "c");
  ASSERT_TRUE(k) << k.error();
  expectWorks(*k);
}

TEST_F(Cache, ReadOnlyFolderCompilesInMemory) {
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  Expected<Kernel> k = compile();
  ASSERT_TRUE(k) << k.error();
  expectWorks(*k);
  if (::geteuid() != 0) // root writes through permissions
    EXPECT_TRUE(entries().empty());
  fs::permissions(dir, fs::perms::owner_all);
}

TEST_F(Cache, MissingFoldersAreCreatedPrivate) {
  CompileOptions options;
  options.cacheDir = (dir / "a" / "b").string();
  Expected<Kernel> k = Compiler(options).compile(kSpec, "c");
  ASSERT_TRUE(k) << k.error();
  expectWorks(*k);
  EXPECT_EQ(fs::status(dir / "a" / "b").permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(Cache, EntriesWritableByOthersAreIgnored) {
  ASSERT_TRUE(compile());
  fs::permissions(entries().at(0), fs::perms::others_write, fs::perm_options::add);
  Expected<Kernel> k = compile();
  ASSERT_TRUE(k);
  EXPECT_FALSE(k->fromCache());
}

TEST_F(Cache, DifferentSpecsDifferentEntries) {
  ASSERT_TRUE(compile());
  CompileOptions options;
  options.cacheDir = dir.string();
  std::string other = std::string(kSpec);
  other.replace(other.find("j <= i"), 6, "j < i ");
  ASSERT_TRUE(Compiler(options).compile(other, "c"));
  EXPECT_EQ(entries().size(), 2 * kEntriesPerKernel);
}

TEST_F(Cache, OneObjectPerPathEachCompiledWhereMissing) {
  // A spec that fixes the path (Lq and the heads fixed) is one object.
  CompileOptions options;
  options.cacheDir = dir.string();
  ASSERT_TRUE(Compiler(options).compile("attention f {\n q: f32[B, 2, 1, 8]\n k: f32[B, 2, M, 8]\n"
                                        " v: f32[B, 2, M, 8]\n}", "f"));
  ASSERT_EQ(entries().size(), 1u);
  fs::remove_all(dir);
  // Two objects; with one of them gone, only that one is compiled again,
  // and the kernel still runs both paths' calls.
  ASSERT_TRUE(compile());
  ASSERT_EQ(entries().size(), kEntriesPerKernel);
  fs::remove(entries().at(0));
  Expected<Kernel> k = compile();
  ASSERT_TRUE(k) << k.error();
  EXPECT_FALSE(k->fromCache());
  EXPECT_EQ(entries().size(), kEntriesPerKernel);
  ASSERT_TRUE(k->entries().tiled && k->entries().rows && !k->entries().both);
  expectWorks(*k); // two rows: the row path
  std::vector<float> q(64 * 4, 0.5f), o(64 * 4);
  TensorView qv{q.data(), ATTN_F32, {1, 1, 64, 4}, {}}, ov{o.data(), ATTN_F32, {1, 1, 64, 4}, {}};
  ASSERT_EQ(k->run({{"q", {qv}}, {"k", {qv}}, {"v", {qv}}}, ov), ""); // 64 rows: the tiled path
  EXPECT_FLOAT_EQ(o[63 * 4], 0.5f);
  Expected<Kernel> warm = compile();
  ASSERT_TRUE(warm);
  EXPECT_TRUE(warm->fromCache());
}

TEST_F(Cache, CodeInPartsIsCachedAndLinked) {
  // The tiled path's functions (setup, Q Kt and softmax, P V, finish and
  // the kernel) dealt to three parts: three objects in its entry, linked to
  // each other when loaded, cold and from the cache; the row path is two
  // functions (the kernel and its block of keys), so two objects.
  CompileOptions options;
  options.cacheDir = dir.string();
  options.codegenParts = 3;
  for (bool warm : {false, true}) {
    Expected<Kernel> k = Compiler(options).compile(kSpec, "c");
    ASSERT_TRUE(k) << k.error();
    EXPECT_EQ(k->fromCache(), warm);
    expectWorks(*k); // the row path
    // Odd sizes, many rows per kv head: the tiled path, against the reference.
    expectKernelMatchesReference(*k, kSpec, "c", randomInputs(kSpec, "c", {1, 2, 2, 83, 83, 13, 13}));
  }
  std::vector<size_t> objectsPerEntry;
  ObjectCache cache(dir.string());
  for (const fs::path &p : entries())
    if (std::optional<CachedKernel> entry = cache.load(p.stem().string()))
      objectsPerEntry.push_back(entry->objects.size());
  std::sort(objectsPerEntry.begin(), objectsPerEntry.end());
  EXPECT_EQ(objectsPerEntry, (std::vector<size_t>{2, 3}));
}

TEST_F(Cache, TunedScheduleIsUsedByDefaultCompiles) {
  // What `attnc tune` stores: compiles with the default schedule take it;
  // a caller's own schedule stays; a damaged or foreign entry is ignored.
  CompileOptions options;
  options.cacheDir = dir.string();
  Schedule tuned = nativeSchedule();
  tuned.blockQ = 24;
  ASSERT_TRUE(Compiler(options).storeTunedSchedule(kSpec, "c", tuned));
  Expected<Kernel> k = compile();
  ASSERT_TRUE(k) << k.error();
  EXPECT_TRUE(k->tunedSchedule());
  EXPECT_EQ(k->signature().schedule.blockQ, 24);
  expectWorks(*k);
  EXPECT_TRUE(compile()->fromCache()) << "the tuned kernel is cached under its schedule";

  CompileOptions own = options;
  own.schedule.blockQ = 32;
  Expected<Kernel> mine = Compiler(own).compile(kSpec, "c");
  ASSERT_TRUE(mine) << mine.error();
  EXPECT_FALSE(mine->tunedSchedule());
  EXPECT_EQ(mine->signature().schedule.blockQ, 32);

  fs::path entry;
  for (const fs::path &p : entries())
    if (p.extension() == ".attntune")
      entry = p;
  ASSERT_FALSE(entry.empty());
  fs::permissions(entry, fs::perms::others_write, fs::perm_options::add);
  EXPECT_FALSE(compile()->tunedSchedule()) << "writable by others";
  fs::permissions(entry, fs::perms::others_write, fs::perm_options::remove);
  EXPECT_TRUE(compile()->tunedSchedule());
  overwriteByte(entry, 45, '9');
  Expected<Kernel> damaged = compile();
  ASSERT_TRUE(damaged) << damaged.error();
  EXPECT_FALSE(damaged->tunedSchedule());
  EXPECT_EQ(damaged->signature().schedule.blockQ, defaultBlockQ(*parseAndCheck("c.attn", kSpec).module.find("c")));
  expectWorks(*damaged);

  CompileOptions none = options;
  none.useCache = false;
  EXPECT_FALSE(Compiler(none).storeTunedSchedule(kSpec, "c", tuned)) << "no cache, nowhere to store it";
}

TEST(CacheFormat, SignatureRoundTrip) {
  KernelSignature sig;
  sig.name = "k";
  sig.weights = Weights::TopK;
  sig.topk = 5;
  sig.returnLse = true;
  sig.schedule = {8, 32, 16};
  sig.inputs = {{"q", ATTN_BF16, {{-1, "B"}, {16, ""}, {-1, "L"}, {64, ""}}},
                {"k", ATTN_BF16, {{-1, "B"}, {8, ""}, {-1, "L"}, {64, ""}}},
                {"v", ATTN_BF16, {{-1, "B"}, {8, ""}, {-1, "L"}, {64, ""}}},
                {"w", ATTN_I32, {}}};
  std::optional<KernelSignature> back = parseSignature(serializeSignature(sig));
  ASSERT_TRUE(back);
  EXPECT_EQ(serializeSignature(*back), serializeSignature(sig));
  EXPECT_FALSE(parseSignature("garbage"));
  EXPECT_FALSE(parseSignature("name x\nweights 9 0 0\n"));
}

} // namespace
