//===- RunCommand.cpp - attnc run: a kernel on .npy arrays -----------------===//
#include "compiler/tools/attnc/Commands.h"

#include "compiler/JIT/HostRun.h"
#include "compiler/Reference/Interpreter.h"
#include "compiler/Support/Npy.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace attn {
namespace {

/// Reads one --input value for the declared input `in`: a bare number for a
/// scalar, a .npy file for a tensor (float32 for float inputs, converted to
/// the declared type; int32 for i32 inputs).
Expected<HostTensor> loadInput(const InputDecl &in, const std::string &value) {
  HostTensor t;
  if (in.isScalar()) {
    char *end = nullptr;
    double x = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0')
      return Error{"input '" + in.name + "' is a scalar (" + elemTypeName(in.type) +
                   "); give a number, not '" + value + "'"};
    t.data = {in.type == ElemType::I32 ? x : roundToElemType(x, in.type)};
    return t;
  }
  Expected<NpyArray> arr = readNpyFile(value);
  if (!arr)
    return Error{"input '" + in.name + "': " + arr.error()};
  bool wantInt = in.type == ElemType::I32;
  if (wantInt != (arr->dtype == NpyArray::DType::I32))
    return Error{"input '" + in.name + "' is " + elemTypeName(in.type) + ", so " + value +
                 " must hold " + (wantInt ? "int32" : "float32") + " values"};
  t.shape = arr->shape;
  if (wantInt)
    t.data.assign(arr->i32.begin(), arr->i32.end());
  else
    for (float x : arr->f32)
      t.data.push_back(roundToElemType(x, in.type));
  return t;
}

std::vector<float> toFloat(const std::vector<double> &v) {
  return std::vector<float>(v.begin(), v.end());
}

int writeOutputs(const Options &opts, const ReferenceOutput &out) {
  if (Expected<bool> ok = writeNpyFile(opts.output, out.oShape, toFloat(out.o)); !ok)
    return fail(ok.error());
  if (!opts.lseOutput.empty())
    if (Expected<bool> ok = writeNpyFile(opts.lseOutput, out.lseShape, toFloat(out.lse)); !ok)
      return fail(ok.error());
  return 0;
}

/// Compiles (or loads from the cache) and runs the kernel.
int runCompiled(const Options &opts, const AttentionSpec &kernel, const ArgumentMap &args) {
  Expected<Kernel> compiled = compileForOptions(opts, kernel);
  if (!compiled)
    return fail(compiled.error());
  InvokeOptions iopts;
  iopts.threads = static_cast<unsigned>(opts.threads);
  Expected<ReferenceOutput> out = runOnHost(*compiled, args, !opts.lseOutput.empty(), iopts);
  if (!out)
    return fail(out.error());
  return writeOutputs(opts, *out);
}

} // namespace

int fail(const std::string &message) {
  std::cerr << "attnc: error: " << message << "\n";
  return 1;
}

std::string specText(const Options &opts) {
  std::ifstream in(opts.file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

CompileOptions compileOptionsFor(const Options &opts) {
  CompileOptions copts;
  copts.target = opts.target;
  copts.cacheDir = opts.cacheDir;
  copts.useCache = !opts.noCache;
  copts.schedule.precision = opts.precision;
  return copts;
}

void notePrecision(const Options &opts, const KernelSignature &sig) {
  if (opts.precision != Precision::High)
    return;
  if (std::string why = whyNotSplit(sig); !why.empty())
    std::cerr << "attnc: note: --precision high does not change kernel '" << sig.name << "': " << why << "\n";
}

Expected<Kernel> compileForOptions(const Options &opts, const AttentionSpec &kernel) {
  Expected<Kernel> k = Compiler(compileOptionsFor(opts)).compile(specText(opts), kernel.name, opts.file);
  if (k)
    notePrecision(opts, k->signature());
  return k;
}

int runRun(const Options &opts, CheckedSpec &spec) {
  const AttentionSpec *kernel = selectKernel(opts, spec.module);
  if (!kernel)
    return 1;
  if (opts.backend != "reference" && opts.backend != "mlir")
    return fail("unknown backend '" + opts.backend + "'; this build provides: mlir, reference");
  if (opts.output.empty())
    return fail("run needs --output o.npy");
  if (!opts.lseOutput.empty() && !kernel->returnLse)
    return fail("kernel '" + kernel->name +
                "' has no lse output; declare 'outputs: o, lse' to get it");

  ArgumentMap args;
  for (const auto &[name, value] : opts.inputs) {
    const InputDecl *in = kernel->findInput(name);
    if (!in) {
      std::string names;
      for (const InputDecl &d : kernel->inputs)
        names += (names.empty() ? "" : ", ") + d.name;
      return fail("unknown input '" + name + "'; kernel '" + kernel->name + "' takes " + names);
    }
    if (args.count(name))
      return fail("input '" + name + "' is given twice");
    Expected<HostTensor> t = loadInput(*in, value);
    if (!t)
      return fail(t.error());
    args.emplace(name, std::move(*t));
  }
  // Sizes are checked before anything is compiled or run.
  if (Expected<Binding> bound = bindArguments(*kernel, args); !bound)
    return fail(bound.error());

  if (opts.backend == "mlir")
    return runCompiled(opts, *kernel, args);
  Expected<ReferenceOutput> out = runReference(*kernel, args);
  if (!out)
    return fail(out.error());
  return writeOutputs(opts, *out);
}

} // namespace attn
