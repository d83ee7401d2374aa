//===- Compiler.cpp - Spec text to a callable kernel, in process -----------===//
#include "compiler/JIT/Compiler.h"

#include "compiler/Frontend/Sema.h"
#include "compiler/Frontend/SpecSignature.h"
#include "compiler/JIT/ObjectCache.h"
#include "compiler/Support/Concurrently.h"
#include "compiler/Target/CodeGen.h"
#include "compiler/Target/KernelObject.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <algorithm>
#include <chrono>
#include <dlfcn.h>
#include <sys/stat.h>
#include <mutex>
#include <sstream>
#include <thread>

namespace attn {

const char *compilerVersion() { return "attn-0.3 llvm-19 cpu-abi-7"; }

/// The version string plus the identity of the binary that holds this
/// compiler (path, size, modification time): any rebuild of the compiler
/// invalidates the cache, so an entry can never disagree with the runtime's
/// ABI or the lowering that made it.
static const std::string &compilerIdentity() {
  static const std::string id = [] {
    std::string s = compilerVersion();
    Dl_info info;
    if (!::dladdr(reinterpret_cast<void *>(&compilerVersion), &info) || !info.dli_fname)
      return s;
    // For code in the program itself dladdr names it as it was started: a
    // bare name found on PATH (`attnc`) that stat cannot find from another
    // directory, which left the identity without the binary and let a
    // rebuilt attnc load kernels of the old ABI; /proc/self/exe is the file.
    std::string path = info.dli_fname;
    if (path.find('/') == std::string::npos)
      path = "/proc/self/exe";
    struct stat st;
    if (::stat(path.c_str(), &st) == 0)
      s += " " + path + " " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + " " +
           std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec);
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

/// One JIT holding `objects` (ELF bytes, linked to each other), and the
/// address of each of `symbols` in them.
static Expected<std::pair<std::shared_ptr<LoadedObject>, std::vector<attn_kernel_fn>>>
loadObjects(const std::vector<const std::string *> &objects, const std::vector<std::string> &symbols) {
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
  // Linking errors (a symbol the code calls that this process lacks) go to
  // the session's reporter, which prints them to stderr by default; they
  // belong in the error the caller gets.
  auto linkErrors = std::make_shared<std::string>();
  (*jit)->getExecutionSession().setErrorReporter([linkErrors](llvm::Error err) {
    *linkErrors += (linkErrors->empty() ? "" : "; ") + llvm::toString(std::move(err));
  });
  for (size_t n = 0; n < objects.size(); ++n) {
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(*objects[n], "attn-object-" + std::to_string(n));
    if (llvm::Error err = (*jit)->addObjectFile(std::move(buffer)))
      return Error{"cannot load the kernel's object: " + llvm::toString(std::move(err))};
  }
  std::vector<attn_kernel_fn> fns;
  for (const std::string &symbol : symbols) {
    auto address = (*jit)->lookup(symbol);
    if (!address) {
      std::string why = llvm::toString(address.takeError());
      return Error{linkErrors->empty() ? "the kernel's object lacks " + symbol + ": " + why
                                       : "cannot link the kernel's code (" + symbol + "): " + *linkErrors};
    }
    fns.push_back(address->toPtr<attn_kernel_fn>());
  }
  auto owner = std::make_shared<LoadedObject>();
  owner->jit = std::move(*jit);
  return std::make_pair(owner, std::move(fns));
}

std::string Kernel::run(const std::map<std::string, ArgValue> &inputs, const TensorView &o,
                        const TensorView *lse, const InvokeOptions &options) const {
  if (sig_.inputs.empty())
    return "the kernel holds no code: it was default-constructed, not returned by Compiler::compile";
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
  return invokeKernel(sig_, entries_, ordered, o, lse, options);
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
  ObjectCache cache(options_.useCache ? cacheDir() : std::string());
  // A caller that left the schedule alone gets the one `attnc tune` chose
  // for this spec, if it chose one; a caller's own schedule stays.
  // The precision is the caller's either way.
  Schedule schedule = options_.schedule;
  Schedule tileChoice = schedule;
  tileChoice.precision = Precision::Highest;
  if (scheduleKey(tileChoice) == scheduleKey(nativeSchedule()))
    if (std::optional<Schedule> tuned = cache.loadTuned(tunedKey(specText, chosen->name))) {
      schedule = *tuned;
      schedule.precision = options_.schedule.precision;
      kernel.tuned_ = true;
    }
  std::string key = cacheKey({compilerIdentity(), targetKey(), scheduleKey(schedule), chosen->name, specText});
  // A kernel whose calls choose their path compiles as two objects, one per
  // path, on two threads: code generation of one large function is most of
  // a compile, and either path alone is a fraction of it.
  std::vector<KernelPaths> parts = {KernelPaths::Both};
  if (pathDecidedPerCall(signatureOf(*chosen, schedule)))
    parts = {KernelPaths::Tiled, KernelPaths::Rows};
  std::vector<std::string> keys, symbols;
  for (KernelPaths p : parts) {
    keys.push_back(p == KernelPaths::Both ? key : cacheKey({key, kernelSymbol(chosen->name, p)}));
    symbols.push_back(kernelSymbol(chosen->name, p));
  }
  // And the code of each is generated in parts on as many threads
  // (SplitCodeGen.h): by default one per core, up to three, since the tiled
  // path's Q Kt and softmax, the largest of its functions, is about two
  // fifths of its code (ALiBi + causal, two cores: 380-440 -> 190-250 ms).
  unsigned codegenParts = options_.codegenParts ? options_.codegenParts
                                                : std::max(1u, std::min(3u, std::thread::hardware_concurrency()));
  std::vector<std::optional<CachedKernel>> objects(parts.size());
  for (size_t n = 0; n < parts.size(); ++n)
    objects[n] = cache.load(keys[n]);
  bool compiledAny = false;
  // The parts not in `objects`, compiled at once (runConcurrently: the
  // calling thread takes the last).
  auto compileMissing = [&]() -> std::optional<Error> {
    std::vector<std::optional<Expected<StageOutput>>> compiled(parts.size());
    std::vector<std::function<void()>> jobs;
    for (size_t n = 0; n < parts.size(); ++n)
      if (!objects[n])
        jobs.push_back([&, n] {
          compiled[n] = compileKernel(*chosen, fileName, options_.target, schedule, Stage::Object, parts[n],
                                      codegenParts);
        });
    try {
      runConcurrently(jobs);
    } catch (const std::exception &e) {
      return Error{std::string("compiling failed: ") + e.what()};
    }
    for (size_t n = 0; n < parts.size(); ++n) {
      if (objects[n])
        continue;
      if (!*compiled[n])
        return compiled[n]->takeError();
      objects[n] = CachedKernel{(*compiled[n])->signature, std::move((*compiled[n])->objects)};
      cache.store(keys[n], *objects[n]);
      compiledAny = true;
    }
    return std::nullopt;
  };
  if (std::optional<Error> err = compileMissing())
    return *err;
  auto load = [&] {
    std::vector<const std::string *> bytes;
    for (const auto &o : objects)
      for (const std::string &part : o->objects)
        bytes.push_back(&part);
    return loadObjects(bytes, symbols);
  };
  auto loaded = load();
  if (!loaded && !compiledAny) {
    // A cached object that will not load (written by a build with the same
    // identity but other code, in practice never): compile afresh.
    for (auto &o : objects)
      o.reset();
    if (std::optional<Error> err = compileMissing())
      return *err;
    loaded = load();
  }
  if (!loaded)
    return loaded.takeError();
  kernel.sig_ = objects[0]->signature;
  kernel.object_ = loaded->first;
  if (parts.size() == 1) {
    kernel.entries_.both = loaded->second[0];
  } else {
    kernel.entries_.tiled = loaded->second[0];
    kernel.entries_.rows = loaded->second[1];
  }
  kernel.fromCache_ = !compiledAny;
  kernel.compileMillis_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return kernel;
}

} // namespace attn
