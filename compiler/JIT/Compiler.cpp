//===- Compiler.cpp - Spec text to a callable kernel, in process -----------===//
#include "compiler/JIT/Compiler.h"

#include "compiler/Frontend/Sema.h"
#include "compiler/JIT/ObjectCache.h"
#include "compiler/Target/CodeGen.h"
#include "compiler/Target/KernelObject.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <dlfcn.h>
#include <sys/stat.h>
#include <mutex>
#include <sstream>

namespace attn {

const char *compilerVersion() { return "attn-0.3 llvm-19 cpu-abi-5"; }

/// The version string plus the identity of the binary that holds this
/// compiler (path, size, modification time): any rebuild of the compiler
/// invalidates the cache, so an entry can never disagree with the runtime's
/// ABI or the lowering that made it.
static const std::string &compilerIdentity() {
  static const std::string id = [] {
    std::string s = compilerVersion();
    Dl_info info;
    struct stat st;
    if (::dladdr(reinterpret_cast<void *>(&compilerVersion), &info) && info.dli_fname &&
        ::stat(info.dli_fname, &st) == 0)
      s += std::string(" ") + info.dli_fname + " " + std::to_string(st.st_size) + " " +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    return s;
  }();
  return id;
}

/// Owns the JIT that holds one kernel's code; the code lives as long as any
/// Kernel that points into it.
class LoadedObject {
public:
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

static Expected<std::pair<std::shared_ptr<LoadedObject>, attn_kernel_fn>>
loadObject(const std::string &bytes, const std::string &symbol) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit)
    return Error{"cannot create the JIT: " + llvm::toString(jit.takeError())};
  // libm (sinf, fmaf, ...) and the rest of the process.
  auto generator = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!generator)
    return Error{"cannot search the process for symbols: " + llvm::toString(generator.takeError())};
  (*jit)->getMainJITDylib().addGenerator(std::move(*generator));
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(bytes, symbol);
  if (llvm::Error err = (*jit)->addObjectFile(std::move(buffer)))
    return Error{"cannot load the kernel's object: " + llvm::toString(std::move(err))};
  auto address = (*jit)->lookup(symbol);
  if (!address)
    return Error{"the kernel's object lacks " + symbol + ": " + llvm::toString(address.takeError())};
  auto owner = std::make_shared<LoadedObject>();
  owner->jit = std::move(*jit);
  return std::make_pair(owner, address->toPtr<attn_kernel_fn>());
}

std::string Kernel::run(const std::map<std::string, ArgValue> &inputs, const TensorView &o,
                        const TensorView *lse, const InvokeOptions &options) const {
  std::vector<ArgValue> ordered;
  for (const InputSig &in : sig_.inputs) {
    auto it = inputs.find(in.name);
    if (it == inputs.end())
      return "missing input '" + in.name + "'";
    ordered.push_back(it->second);
  }
  for (const auto &[name, value] : inputs) {
    bool known = false;
    for (const InputSig &in : sig_.inputs)
      known |= in.name == name;
    if (!known)
      return "unknown input '" + name + "'";
  }
  return invokeKernel(sig_, fn_, ordered, o, lse, options);
}

Compiler::Compiler(CompileOptions options) : options_(std::move(options)) {}

std::string Compiler::cacheDir() const { return resolveCacheDir(options_.cacheDir); }

std::string Compiler::targetKey() const {
  return options_.target == "host" ? "host " + hostDescription() : options_.target;
}

std::string Compiler::tunedKey(const std::string &specText, const std::string &kernelName) const {
  return cacheKey({compilerIdentity(), targetKey(), "tuned schedule", kernelName, specText});
}

bool Compiler::storeTunedSchedule(const std::string &specText, const std::string &kernelName,
                                  const Schedule &schedule) const {
  return ObjectCache(options_.useCache ? cacheDir() : std::string())
      .storeTuned(tunedKey(specText, kernelName), schedule);
}

Expected<Kernel> Compiler::compile(const std::string &specText, const std::string &kernelName,
                                   const std::string &fileName) const {
  auto start = std::chrono::steady_clock::now();
  CheckedSpec spec = parseAndCheck(fileName, specText);
  if (!spec.ok) {
    std::ostringstream os;
    spec.diags->print(os);
    return Error{os.str()};
  }
  const AttentionSpec *chosen = nullptr;
  if (kernelName.empty() && spec.module.kernels.size() == 1)
    chosen = &spec.module.kernels[0];
  else
    chosen = spec.module.find(kernelName);
  if (!chosen)
    return Error{kernelName.empty() ? fileName + " holds several kernels; name one"
                                    : "no kernel '" + kernelName + "' in " + fileName};

  Kernel kernel;
  std::string symbol = "attn_kernel_" + chosen->name;
  ObjectCache cache(options_.useCache ? cacheDir() : std::string());
  // A caller that left the schedule alone gets the one `attnc tune` chose
  // for this spec, if it chose one; a caller's own schedule stays.
  Schedule schedule = options_.schedule;
  if (scheduleKey(schedule) == scheduleKey(nativeSchedule()))
    if (std::optional<Schedule> tuned = cache.loadTuned(tunedKey(specText, chosen->name))) {
      schedule = *tuned;
      kernel.tuned_ = true;
    }
  std::string key = cacheKey({compilerIdentity(), targetKey(), scheduleKey(schedule), chosen->name, specText});
  std::optional<CachedKernel> cached = cache.load(key);
  if (cached) {
    auto loaded = loadObject(cached->object, symbol);
    if (loaded) {
      kernel.sig_ = cached->signature;
      kernel.object_ = loaded->first;
      kernel.fn_ = loaded->second;
      kernel.fromCache_ = true;
    }
  }
  if (!kernel.fn_) {
    Expected<StageOutput> object =
        compileKernel(*chosen, fileName, options_.target, schedule, Stage::Object);
    if (!object)
      return object.takeError();
    auto loaded = loadObject(object->text, symbol);
    if (!loaded)
      return loaded.takeError();
    kernel.sig_ = object->signature;
    kernel.object_ = loaded->first;
    kernel.fn_ = loaded->second;
    cache.store(key, CachedKernel{object->signature, object->text});
  }
  kernel.compileMillis_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return kernel;
}

} // namespace attn
