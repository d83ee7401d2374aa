//===- Options.cpp - Command line of attnc ---------------------------------===//
#include "compiler/tools/attnc/Options.h"

#include <cstdlib>
#include <sstream>

namespace attn {

const char *usage() {
  return "usage:\n"
         "  attnc check FILE\n"
         "  attnc emit FILE [--kernel NAME] --stage ast|attn|lowered|llvm-dialect|llvm|asm\n"
         "            [--target host|x86-64-avx2|x86-64-avx512|x86-64-amx] [--paths both|tiled|rows]\n"
         "  attnc emit FILE [--kernel NAME] --stage tiles [--size L=4096,...] [--png FILE]\n"
         "  attnc compile FILE -o DIR [--kernel NAME] [--target host|x86-64-avx2|x86-64-avx512|x86-64-amx]\n"
         "  attnc run FILE [--kernel NAME] --input q=q.npy --input k=k.npy --input v=v.npy\n"
         "            [--input NAME=FILE.npy|NUMBER ...] --output o.npy [--lse lse.npy]\n"
         "            [--backend mlir|reference] [--threads N] [--target T]\n"
         "            [--cache-dir DIR] [--no-cache]\n"
         "  attnc bench FILE [--kernel NAME] --size B=1,L=4096 [--threads N] [--reps N]\n"
         "  attnc tune FILE [--kernel NAME] --size B=1,L=4096 [--threads N] [--reps N]\n"
         "            [--target T] [--cache-dir DIR]   (stores the fastest schedule in the cache)\n"
         "  emit, compile, run, bench and tune take --precision highest|high|fma, how f32 q, k, v are\n"
         "  multiplied where the target has AMX tiles: highest (the default) as bf16x6 on the tiles (three\n"
         "  bf16 parts, six products: as accurate as f32), high as bf16x3 (two parts, three products: about\n"
         "  2^-17 of each term), fma as f32 FMAs; targets without AMX use f32 FMAs for all three\n";
}

Expected<Options> parseOptions(int argc, char **argv) {
  Options opts;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    return Error{"no command given"};
  opts.command = args[0];
  if (opts.command != "check" && opts.command != "emit" && opts.command != "run" &&
      opts.command != "compile" && opts.command != "bench" && opts.command != "tune")
    return Error{"unknown command '" + opts.command + "'"};
  for (size_t n = 1; n < args.size(); ++n) {
    const std::string &a = args[n];
    // Accept both `--flag value` and `--flag=value`.
    std::string flag = a, value;
    bool inlineValue = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos && a.rfind("--input", 0) != 0) {
      flag = a.substr(0, a.find('='));
      value = a.substr(a.find('=') + 1);
      inlineValue = true;
    }
    auto take = [&]() -> Expected<std::string> {
      if (inlineValue)
        return value;
      if (n + 1 >= args.size())
        return Error{"option '" + flag + "' needs a value"};
      return args[++n];
    };
    if (a == "--no-cache") {
      opts.noCache = true;
      continue;
    }
    if (flag == "--kernel" || flag == "--stage" || flag == "--backend" || flag == "--target" ||
        flag == "--cache-dir" || flag == "--output" || flag == "--lse" || flag == "--threads" ||
        flag == "-o" || flag == "--size" || flag == "--reps" || flag == "--png" || flag == "--paths" ||
        flag == "--precision") {
      Expected<std::string> v = take();
      if (!v)
        return v.takeError();
      if (flag == "--kernel") opts.kernel = *v;
      else if (flag == "--stage") opts.stage = *v;
      else if (flag == "--backend") opts.backend = *v;
      else if (flag == "--target") opts.target = *v;
      else if (flag == "--cache-dir") opts.cacheDir = *v;
      else if (flag == "--output" || flag == "-o") opts.output = *v;
      else if (flag == "--lse") opts.lseOutput = *v;
      else if (flag == "--png") opts.png = *v;
      else if (flag == "--precision") {
        std::optional<Precision> precision = parsePrecision(*v);
        if (!precision)
          return Error{"--precision needs highest, high or fma, got '" + *v + "'"};
        opts.precision = *precision;
      }
      else if (flag == "--paths") {
        if (*v != "both" && *v != "tiled" && *v != "rows")
          return Error{"--paths needs both, tiled or rows, got '" + *v + "'"};
        opts.paths = *v;
      }
      else if (flag == "--size") {
        std::stringstream items(*v);
        std::string item;
        while (std::getline(items, item, ',')) {
          size_t eq = item.find('=');
          char *end = nullptr;
          long long size = eq == std::string::npos ? -1 : std::strtoll(item.c_str() + eq + 1, &end, 10);
          if (eq == std::string::npos || eq == 0 || size < 0 || *end != '\0' || size > (1LL << 40))
            return Error{"--size needs NAME=SIZE[,NAME=SIZE...], got '" + item + "'"};
          opts.sizes.emplace_back(item.substr(0, eq), size);
        }
      } else if (flag == "--reps") {
        opts.reps = std::atoi(v->c_str());
        if (opts.reps < 1 || opts.reps > 100000)
          return Error{"--reps needs a number between 1 and 100000"};
      }
      else {
        char *end = nullptr;
        long t = std::strtol(v->c_str(), &end, 10);
        if (v->empty() || *end != '\0' || t < 0 || t > 4096)
          return Error{"--threads needs a number between 0 and 4096, got '" + *v + "'"};
        opts.threads = static_cast<int>(t);
      }
    } else if (a == "--input" || a.rfind("--input=", 0) == 0) {
      std::string spec;
      if (a == "--input") {
        if (n + 1 >= args.size())
          return Error{"option '--input' needs NAME=VALUE"};
        spec = args[++n];
      } else {
        spec = a.substr(8);
      }
      size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        return Error{"--input needs NAME=FILE.npy or NAME=NUMBER, got '" + spec + "'"};
      opts.inputs.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
    } else if (a.rfind("-", 0) == 0 && a.size() > 1) {
      return Error{"unknown option '" + a + "'"};
    } else if (opts.file.empty()) {
      opts.file = a;
    } else {
      return Error{"unexpected argument '" + a + "'"};
    }
  }
  if (opts.file.empty())
    return Error{"'" + opts.command + "' needs a spec FILE"};
  return opts;
}

} // namespace attn
