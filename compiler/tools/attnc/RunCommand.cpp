//===- RunCommand.cpp - attnc run: a kernel on .npy arrays -----------------===//
#include "compiler/tools/attnc/Commands.h"

#include "attn/Half.h"
#include "compiler/Frontend/SpecSignature.h"
#include "compiler/JIT/Compiler.h"
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

/// Storage in the declared element type for the compiled kernel.
struct Buffer {
  std::vector<uint32_t> words; // 4-byte aligned storage for any dtype
  TensorView view;
};

Buffer toBuffer(const HostTensor &t, attn_dtype dtype) {
  Buffer buf;
  int64_t n = t.numElements();
  buf.words.resize(std::max<int64_t>(1, (n * dtypeBytes(dtype) + 3) / 4));
  char *p = reinterpret_cast<char *>(buf.words.data());
  for (int64_t e = 0; e < n; ++e) {
    double x = t.data[e];
    switch (dtype) {
    case ATTN_F32: reinterpret_cast<float *>(p)[e] = static_cast<float>(x); break;
    case ATTN_I32: reinterpret_cast<int32_t *>(p)[e] = static_cast<int32_t>(x); break;
    case ATTN_BF16: reinterpret_cast<uint16_t *>(p)[e] = floatToBF16(static_cast<float>(x)); break;
    case ATTN_F16: reinterpret_cast<uint16_t *>(p)[e] = floatToF16(static_cast<float>(x)); break;
    }
  }
  buf.view.data = p;
  buf.view.dtype = dtype;
  buf.view.sizes = t.shape;
  return buf;
}

std::vector<float> fromBuffer(const Buffer &buf) {
  int64_t n = buf.view.numElements();
  std::vector<float> out(n);
  const char *p = reinterpret_cast<const char *>(buf.words.data());
  for (int64_t e = 0; e < n; ++e) {
    switch (buf.view.dtype) {
    case ATTN_F32: out[e] = reinterpret_cast<const float *>(p)[e]; break;
    case ATTN_BF16: out[e] = bf16ToFloat(reinterpret_cast<const uint16_t *>(p)[e]); break;
    case ATTN_F16: out[e] = f16ToFloat(reinterpret_cast<const uint16_t *>(p)[e]); break;
    case ATTN_I32: out[e] = static_cast<float>(reinterpret_cast<const int32_t *>(p)[e]); break;
    }
  }
  return out;
}

std::vector<float> toFloat(const std::vector<double> &v) {
  return std::vector<float>(v.begin(), v.end());
}

int fail(const std::string &message) {
  std::cerr << "attnc: error: " << message << "\n";
  return 1;
}

/// Compiles (or loads from the cache) and runs the kernel.
int runCompiled(const Options &opts, const AttentionSpec &kernel, const ArgumentMap &args) {
  std::ifstream in(opts.file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  CompileOptions copts;
  copts.target = opts.target;
  copts.cacheDir = opts.cacheDir;
  copts.useCache = !opts.noCache;
  Expected<Kernel> compiled = Compiler(copts).compile(text.str(), kernel.name, opts.file);
  if (!compiled)
    return fail(compiled.error());
  KernelSignature sig = signatureOf(kernel);
  std::vector<Buffer> buffers;
  buffers.reserve(args.size() + 2);
  std::map<std::string, ArgValue> values;
  for (const InputSig &s : sig.inputs) {
    const HostTensor &t = args.at(s.name);
    ArgValue v;
    if (s.isScalar()) {
      v.scalar = t.data.at(0);
    } else {
      buffers.push_back(toBuffer(t, s.dtype));
      v.tensor = buffers.back().view;
    }
    values[s.name] = v;
  }
  const HostTensor &q = args.at("q"), &vv = args.at("v");
  HostTensor oShape{{q.shape.at(0), q.shape.at(1), q.shape.at(2), vv.shape.at(3)}, {}};
  oShape.data.assign(oShape.numElements(), 0.0);
  Buffer o = toBuffer(oShape, sig.inputs[0].dtype);
  HostTensor lseShape{{q.shape[0], q.shape[1], q.shape[2]}, {}};
  lseShape.data.assign(lseShape.numElements(), 0.0);
  Buffer lse = toBuffer(lseShape, ATTN_F32);
  InvokeOptions iopts;
  iopts.threads = static_cast<unsigned>(opts.threads);
  std::string err = compiled->run(values, o.view, opts.lseOutput.empty() ? nullptr : &lse.view, iopts);
  if (!err.empty())
    return fail(err);
  if (Expected<bool> ok = writeNpyFile(opts.output, o.view.sizes, fromBuffer(o)); !ok)
    return fail(ok.error());
  if (!opts.lseOutput.empty())
    if (Expected<bool> ok = writeNpyFile(opts.lseOutput, lse.view.sizes, fromBuffer(lse)); !ok)
      return fail(ok.error());
  return 0;
}

} // namespace

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
  if (Expected<bool> ok = writeNpyFile(opts.output, out->oShape, toFloat(out->o)); !ok)
    return fail(ok.error());
  if (!opts.lseOutput.empty())
    if (Expected<bool> ok = writeNpyFile(opts.lseOutput, out->lseShape, toFloat(out->lse)); !ok)
      return fail(ok.error());
  return 0;
}

} // namespace attn
