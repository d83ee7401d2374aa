//===- AOTObjectsTest.cpp - Every example spec through the AOT library -----===//
//
// For each kernel of examples/specs: `attnc compile`'s library (kernel,
// attn_NAME_info, attn_NAME entry) is written to a scratch folder, its
// archive is linked in process with only attn_run from the runtime visible,
// and attn_NAME is called through the C ABI on odd-sized inputs; o must match
// the reference. (examples/aot does the same through find_package and a real
// link.)
//
//===----------------------------------------------------------------------===//
#include "E2ETestUtil.h"

#include "compiler/Frontend/SpecSignature.h"
#include "compiler/Target/AOT.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/TargetSelect.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace attn;
using namespace attn::test;
namespace fs = std::filesystem;

namespace {

std::string readText(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

attn_tensor cTensor(const TensorView &v) {
  attn_tensor t{};
  t.data = v.data;
  t.dtype = v.dtype;
  t.rank = static_cast<int32_t>(v.sizes.size());
  for (size_t d = 0; d < v.sizes.size(); ++d)
    t.sizes[d] = v.sizes[d];
  return t;
}

/// Compiles kernel `k` of `file` into `dir`'s library at `precision`, links the archive in process and runs attn_NAME through the C
/// ABI on odd-sized inputs against the reference. Returns the library's
/// signature text.
std::string runThroughArchive(const AttentionSpec &k, const std::string &file, const fs::path &dir, Precision precision,
                              InputSizes sizes = {2, 6, 3, 37, 53, 13, 7}) {
  Expected<KernelSignature> ok = compileAheadOfTime(k, file, "host", dir.string(), precision);
  EXPECT_TRUE(ok) << ok.error();
  if (!ok)
    return "";
  std::string header = readText(dir / (k.name + ".h"));
  EXPECT_NE(header.find("int32_t attn_" + k.name + "("), std::string::npos);

  // Link the archive in process; the only outside symbol it needs is attn_run.
  auto jit = llvm::orc::LLJITBuilder().create();
  EXPECT_TRUE(!!jit);
  if (!jit)
    return "";
  auto &lib = (*jit)->getMainJITDylib();
  llvm::orc::SymbolMap runtime;
  runtime[(*jit)->mangleAndIntern("attn_run")] = {llvm::orc::ExecutorAddr::fromPtr(&attn_run),
                                                  llvm::JITSymbolFlags::Exported};
  EXPECT_FALSE(!!lib.define(llvm::orc::absoluteSymbols(runtime)));
  auto archive = llvm::orc::StaticLibraryDefinitionGenerator::Load((*jit)->getObjLinkingLayer(),
                                                                   (dir / ("lib" + k.name + ".a")).c_str());
  EXPECT_TRUE(!!archive) << llvm::toString(archive.takeError());
  if (!archive)
    return "";
  lib.addGenerator(std::move(*archive));
  auto info = (*jit)->lookup("attn_" + k.name + "_info");
  EXPECT_TRUE(!!info) << llvm::toString(info.takeError());
  if (!info)
    return "";

  ArgumentMap args = makeInputs(k, chooseDims(k, sizes), 11);
  KernelSignature sig = signatureOf(k);
  std::vector<HostBuffer> buffers;
  std::vector<attn_tensor> tensors;
  std::vector<double> scalars;
  buffers.reserve(sig.inputs.size());
  for (const InputSig &in : sig.inputs) {
    if (in.isScalar()) {
      scalars.push_back(args.at(in.name).data.at(0));
    } else {
      buffers.push_back(HostBuffer::from(args.at(in.name), in.dtype));
      tensors.push_back(cTensor(buffers.back().view));
    }
  }
  std::vector<const attn_tensor *> tensorPtrs;
  for (const attn_tensor &t : tensors)
    tensorPtrs.push_back(&t);
  Expected<ReferenceOutput> ref = runReference(k, args);
  EXPECT_TRUE(ref) << ref.error();
  if (!ref)
    return "";
  HostBuffer o = HostBuffer::zeros(ref->oShape, sig.inputs[0].dtype);
  attn_tensor oc = cTensor(o.view);
  char error[256] = {0};
  const attn_kernel_info *kernelInfo = info->toPtr<const attn_kernel_info *>();
  int32_t rc = attn_run(kernelInfo, tensorPtrs.data(), static_cast<int32_t>(tensorPtrs.size()), scalars.data(),
                        static_cast<int32_t>(scalars.size()), &oc, nullptr, 0, error, sizeof error);
  EXPECT_EQ(rc, 0) << error;
  EXPECT_TRUE(matches(o.values(), ref->o, ref->oShape, tolerance(k, ref->o)));
  return kernelInfo->signature ? kernelInfo->signature : "";
}

TEST(AOTObjects, EveryExampleMatchesReference) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  fs::path dir = fs::temp_directory_path() / ("attn-aot-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  int kernels = 0;
  for (const auto &entry : fs::directory_iterator(std::string(ATTN_SOURCE_DIR) + "/examples/specs")) {
    if (entry.path().extension() != ".attn")
      continue;
    std::string text = readText(entry.path());
    CheckedSpec spec = parseAndCheck(entry.path().string(), text);
    ASSERT_TRUE(spec.ok);
    for (const AttentionSpec &k : spec.module.kernels) {
      SCOPED_TRACE(k.name);
      runThroughArchive(k, entry.path().string(), dir, Precision::Highest);
      ++kernels;
    }
  }
  fs::remove_all(dir);
  EXPECT_GE(kernels, 16);
}

TEST(AOTObjects, Precisions) {
  // attnc compile --precision high or highest: the library's signature
  // carries it, and the runtime packs k and v in the parts bf16x3 or bf16x6
  // needs where the host has AMX.
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  fs::path dir = fs::temp_directory_path() / ("attn-aot-high-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string text = "attention high {\n q: f32[B, 4, L, 64]\n k: f32[B, 2, L, 64]\n v: f32[B, 2, L, 32]\n"
                     " mask: j <= i\n}\n";
  CheckedSpec spec = parseAndCheck("high.attn", text);
  ASSERT_TRUE(spec.ok);
  for (Precision precision : {Precision::High, Precision::Highest}) {
    std::string signature =
        runThroughArchive(spec.module.kernels.at(0), "high.attn", dir, precision, {1, 4, 2, 90, 90, 0, 0});
    std::optional<KernelSignature> sig = parseSignature(signature);
    ASSERT_TRUE(sig) << signature;
    // Where the host has no AMX every precision is FMAs, and says highest.
    EXPECT_EQ(sig->schedule.precision, sig->schedule.amx ? precision : Precision::Highest);
    EXPECT_EQ(bf16Parts(*sig), !sig->schedule.amx ? 0 : precision == Precision::High ? 2 : 3);
    // The header says so where it applies.
    std::string header = readText(dir / "high.h");
    EXPECT_EQ(header.find("Precision high") != std::string::npos, bf16Parts(*sig) == 2);
    EXPECT_EQ(header.find("bf16x6") != std::string::npos, bf16Parts(*sig) == 3);
    fs::remove_all(dir);
  }
}

} // namespace
