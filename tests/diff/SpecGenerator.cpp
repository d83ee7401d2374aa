//===- SpecGenerator.cpp - Random valid attention specs with inputs --------===//
#include "SpecGenerator.h"

#include <algorithm>
#include <functional>
#include <random>
#include <sstream>

namespace attn::diff {
namespace {

/// One extra input the spec declares, with how its data is drawn.
enum class Extra { Slopes, Bias, KvLen, Doc, Window, Offset, Temp, Perm, KeyMap };

class Generator {
public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  GeneratedCase generate(uint64_t seed);

private:
  // Random helpers.
  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T> const T &pick(const std::vector<T> &xs) {
    return xs[static_cast<size_t>(uniform(0, static_cast<int64_t>(xs.size()) - 1))];
  }
  bool has(Extra e) const { return std::find(extras_.begin(), extras_.end(), e) != extras_.end(); }

  // Expressions. Every one is exact in float and double unless general_.
  std::string intAtom();
  std::string intExpr(int depth);
  std::string boolAtom();
  std::string boolExpr(int depth);
  std::string floatAtom();
  std::string floatExpr(int depth);
  std::string literal();

  // Data.
  HostTensor tensor(std::vector<int64_t> shape, const std::function<double()> &draw);
  double quarter() { return static_cast<double>(uniform(-4, 4)) / 4; }
  double eighth() { return static_cast<double>(uniform(-16, 16)) / 8; }

  std::mt19937_64 rng_;
  bool general_ = false; // softmax/sigmoid: the whole expression language
  bool self_ = true;     // q and k share their sequence
  int64_t batch_ = 1, qHeads_ = 1, kvHeads_ = 1, lq_ = 1, lk_ = 1, d_ = 1, dv_ = 1;
  std::string qSeq_, kSeq_; // how the sequence dimensions are spelled
  std::vector<Extra> extras_;
};

std::string Generator::literal() {
  if (general_) {
    static const std::vector<std::string> xs = {"0.37", "1.5", "-0.8", "2.0", "0.05", "3"};
    return pick(xs);
  }
  static const std::vector<std::string> xs = {"0.5", "2.0", "-1.5", "0.25", "3", "1.25"};
  return pick(xs);
}

std::string Generator::intAtom() {
  std::vector<std::function<std::string()>> atoms = {
      [] { return std::string("i"); },
      [] { return std::string("j"); },
      [] { return std::string("h"); },
      [] { return std::string("b"); },
      [&] { return std::to_string(uniform(0, 9)); },
      [&] { return qSeq_; },
      [&] { return kSeq_; },
  };
  if (has(Extra::KvLen))
    atoms.push_back([] { return std::string("kv_len[b]"); });
  if (has(Extra::Window))
    atoms.push_back([] { return std::string("window"); });
  if (has(Extra::Offset))
    atoms.push_back([] { return std::string("offset"); });
  if (has(Extra::Doc))
    atoms.push_back([&] { return std::string(chance(0.5) ? "doc[b, i]" : "doc[b, j]"); });
  if (has(Extra::Perm))
    atoms.push_back([] { return std::string("perm[h]"); });
  return pick(atoms)();
}

std::string Generator::intExpr(int depth) {
  if (depth <= 0 || chance(0.4))
    return intAtom();
  // Division and remainder by zero are defined (0); C truncation for negatives.
  static const std::vector<std::string> ops = {"+", "-", "*", "/", "%", "+", "-"};
  return "(" + intExpr(depth - 1) + " " + pick(ops) + " " + intExpr(depth - 1) + ")";
}

std::string Generator::boolAtom() {
  std::vector<std::function<std::string()>> atoms = {
      [&] { return self_ ? std::string("j <= i") : "j <= i + (" + kSeq_ + " - " + qSeq_ + ")"; },
      [&] { return "i - j < " + std::to_string(uniform(1, 40)); },
      [&] { return "j - i <= " + std::to_string(uniform(0, 20)); },
      [&] {
        int64_t c = uniform(1, 17);
        return "i / " + std::to_string(c) + " == j / " + std::to_string(c);
      },
      [&] { return "(i + j) % " + std::to_string(uniform(2, 5)) + " != 0"; },
      [&] { return "j >= " + std::to_string(uniform(0, 30)); },
      [&] {
        static const std::vector<std::string> cmp = {"<", "<=", ">", ">=", "==", "!="};
        return intExpr(1) + " " + pick(cmp) + " " + intExpr(2);
      },
      [&] { return std::string(chance(0.8) ? "true" : "false"); },
      [&] { return "h % 2 == " + std::to_string(uniform(0, 1)); },
  };
  if (has(Extra::KvLen))
    atoms.push_back([] { return std::string("j < kv_len[b]"); });
  if (has(Extra::Doc)) {
    atoms.push_back([] { return std::string("doc[b, i] == doc[b, j]"); });
    // A read past the end is fine when C would not evaluate it.
    atoms.push_back([&] { return "(i + 1 < " + qSeq_ + " && doc[b, i + 1] == doc[b, j])"; });
  }
  if (has(Extra::Window))
    atoms.push_back([] { return std::string("i - j < window"); });
  if (has(Extra::Offset))
    atoms.push_back([] { return std::string("j <= i + offset"); });
  if (has(Extra::Bias))
    atoms.push_back([] { return std::string("bias[i, j] > -1.0"); });
  if (has(Extra::Slopes))
    atoms.push_back([] { return std::string("slopes[h] >= 0.0"); });
  if (has(Extra::KeyMap)) // a gather by key: may leave slopes where keymap is bad
    atoms.push_back([] { return std::string("slopes[keymap[j]] > -1.0"); });
  return pick(atoms)();
}

std::string Generator::boolExpr(int depth) {
  if (depth <= 0 || chance(0.3))
    return boolAtom();
  switch (uniform(0, 5)) {
  case 0:
  case 1: return boolExpr(depth - 1) + " && " + boolExpr(depth - 1);
  case 2: return "(" + boolExpr(depth - 1) + " || " + boolExpr(depth - 1) + ")";
  case 3: return "!(" + boolExpr(depth - 1) + ")";
  case 4:
    return "(" + boolAtom() + " ? " + boolExpr(depth - 1) + " : " + boolExpr(depth - 1) + ")";
  default: return boolAtom();
  }
}

std::string Generator::floatAtom() {
  std::vector<std::function<std::string()>> atoms = {
      [] { return std::string("s"); },
      [] { return std::string("s"); },
      [&] { return literal(); },
      // Integer terms stay small so that float keeps every bit of the score.
      [&] { return "(" + intAtom() + " - " + intAtom() + ")"; },
  };
  if (has(Extra::Slopes)) {
    atoms.push_back([] { return std::string("slopes[h]"); });
    if (has(Extra::Perm))
      atoms.push_back([] { return std::string("slopes[perm[h]]"); });
  }
  if (has(Extra::Bias))
    atoms.push_back([] { return std::string("bias[i, j]"); });
  if (has(Extra::Temp) && general_)
    atoms.push_back([] { return std::string("temp"); });
  return pick(atoms)();
}

std::string Generator::floatExpr(int depth) {
  if (depth <= 0 || chance(0.25))
    return floatAtom();
  std::string x = floatExpr(depth - 1);
  int choices = general_ ? 16 : 9;
  switch (uniform(0, choices - 1)) {
  case 0: return "(" + x + " + " + floatExpr(depth - 1) + ")";
  case 1: return "(" + x + " - " + floatExpr(depth - 1) + ")";
  case 2: return literal() + " * " + x;
  case 3: return "min(" + x + ", " + floatExpr(depth - 1) + ")";
  case 4: return "max(" + x + ", " + floatExpr(depth - 1) + ")";
  case 5: return "abs(" + x + ")";
  case 6: return "-" + x;
  case 7: return "(" + boolAtom() + " ? " + x + " : " + floatExpr(depth - 1) + ")";
  case 8:
    // float % is fmod: exact in both precisions.
    return "(" + x + " % 1.5)";
  case 9: return "tanh(" + x + ")";
  case 10: return "sigmoid(" + x + ")";
  case 11: return "exp(-abs(" + x + "))";
  case 12: return "log(abs(" + x + ") + 1.0)";
  case 13: return "sqrt(abs(" + x + "))";
  case 14: return has(Extra::Temp) ? "(" + x + " / temp)" : "(" + x + " / (abs(s) + 1.0))";
  default: return chance(0.5) ? "sin(" + x + ")" : "10 * tanh(" + x + " / 10)";
  }
}

HostTensor Generator::tensor(std::vector<int64_t> shape, const std::function<double()> &draw) {
  HostTensor t;
  t.shape = std::move(shape);
  int64_t n = t.numElements();
  for (int64_t e = 0; e < n; ++e)
    t.data.push_back(draw());
  return t;
}

GeneratedCase Generator::generate(uint64_t seed) {
  GeneratedCase c;
  c.name = "diff_" + std::to_string(seed);

  // Weights first: they decide whether expressions must stay exact.
  std::string weights;
  bool lseAllowed = false;
  int64_t kind = uniform(0, 19);
  if (kind < 8) {
    weights = "softmax";
    general_ = lseAllowed = true;
  } else if (kind < 11) {
    weights = "sigmoid";
    general_ = true;
  } else if (kind < 16) {
    static const std::vector<int64_t> ks = {1, 2, 3, 5, 8, 17, 64};
    weights = "topk(" + std::to_string(pick(ks)) + ")";
    lseAllowed = true;
  } else {
    weights = "argmax";
  }

  // Shapes.
  self_ = chance(0.7);
  batch_ = uniform(1, 2);
  kvHeads_ = uniform(1, 3);
  qHeads_ = kvHeads_ * uniform(1, 4);
  lq_ = uniform(1, 70);
  lk_ = self_ ? lq_ : uniform(1, 90);
  static const std::vector<int64_t> dims = {1, 3, 8, 13, 16, 17, 32, 48, 64, 65};
  d_ = pick(dims);
  dv_ = chance(0.6) ? d_ : pick(dims);
  int64_t size = uniform(0, 19);
  if (size < 2) {
    // Long sequences: spans of many key tiles (skipped or visited whole).
    qHeads_ = kvHeads_ = std::min<int64_t>(kvHeads_, 2);
    batch_ = 1;
    d_ = std::min<int64_t>(d_, 32);
    lq_ = self_ ? uniform(200, 900) : uniform(1, 24);
    lk_ = self_ ? lq_ : uniform(200, 1500);
  } else if (size < 4) {
    // Decode: one query row per head, no key/value head copy.
    self_ = false;
    lq_ = uniform(1, 3);
    lk_ = uniform(1, 600);
    if (chance(0.5)) // query heads in runs of four per kv head
      qHeads_ = kvHeads_ * (chance(0.7) ? 4 : 8);
  }

  std::string bName = chance(0.8) ? "B" : std::to_string(batch_);
  bool namedHeads = chance(0.3);
  std::string qh = namedHeads ? (qHeads_ == kvHeads_ ? "H" : "Hq") : std::to_string(qHeads_);
  std::string kh = namedHeads ? (qHeads_ == kvHeads_ ? "H" : "Hkv") : std::to_string(kvHeads_);
  bool fixedSeq = chance(0.2);
  qSeq_ = fixedSeq ? std::to_string(lq_) : (self_ ? "L" : "Lq");
  kSeq_ = fixedSeq ? std::to_string(lk_) : (self_ ? "L" : "Lk");
  static const std::vector<std::string> types = {"f32", "f32", "f32", "f32", "f32", "bf16", "f16"};
  std::string qType = pick(types), kType = chance(0.8) ? qType : pick(types),
              vType = chance(0.8) ? qType : pick(types);
  // bf16 (or f32: bf16 parts at precision highest or high) with fixed head dims in whole
  // AMX tiles (D of 32 or 64, Dv of 16 to 64): the AMX path where the host
  // has it (see usesAmx, splitsF32).
  bool sameType = qType == kType && kType == vType;
  bool amxTiles = sameType && (qType == "bf16" ? chance(0.5) : qType == "f32" && chance(0.3));
  if (amxTiles) {
    d_ = chance(0.5) ? 32 : 64;
    dv_ = 16 * uniform(1, 4);
  }
  std::string dName = !amxTiles && chance(0.3) ? "D" : std::to_string(d_);
  std::string dvName = dv_ == d_ ? dName : (!amxTiles && chance(0.3) ? "Dv" : std::to_string(dv_));

  // Extra inputs.
  std::vector<std::pair<Extra, double>> offers = {
      {Extra::Slopes, 0.4}, {Extra::Bias, 0.3}, {Extra::KvLen, 0.3}, {Extra::Doc, 0.3},
      {Extra::Window, 0.3}, {Extra::Offset, 0.2}, {Extra::Temp, 0.25}};
  for (auto [e, p] : offers)
    if (chance(p) && (e != Extra::Doc || self_))
      extras_.push_back(e);
  if (has(Extra::Slopes) && chance(0.4))
    extras_.push_back(Extra::Perm);
  if (has(Extra::Slopes) && chance(0.3))
    extras_.push_back(Extra::KeyMap);
  // Sometimes index data that leaves its tensor: the reference and the kernel
  // must then both fail (or both succeed where no bad read is evaluated).
  c.badIndices = (has(Extra::Perm) || has(Extra::KeyMap)) && chance(0.5);

  std::ostringstream spec;
  spec << "# generated by attn-difftest, seed " << seed << "\n";
  spec << "attention " << c.name << " {\n";
  spec << "  q: " << qType << "[" << bName << ", " << qh << ", " << qSeq_ << ", " << dName << "]\n";
  spec << "  k: " << kType << "[" << bName << ", " << kh << ", " << kSeq_ << ", " << dName << "]\n";
  spec << "  v: " << vType << "[" << bName << ", " << kh << ", " << kSeq_ << ", " << dvName << "]\n";
  // Float tables in bf16 or f16 too: a read indexed by j is a gather, and
  // a 16-bit one once became a libcall the JIT could not resolve.
  auto floatTable = [&] { return chance(0.25) ? "bf16" : chance(0.3) ? "f16" : "f32"; };
  for (Extra e : extras_) {
    switch (e) {
    case Extra::Slopes: spec << "  slopes: " << floatTable() << "[" << qh << "]\n"; break;
    case Extra::Perm: spec << "  perm: i32[" << qh << "]\n"; break;
    case Extra::KeyMap: spec << "  keymap: i32[" << kSeq_ << "]\n"; break;
    case Extra::Bias: spec << "  bias: " << floatTable() << "[" << qSeq_ << ", " << kSeq_ << "]\n"; break;
    case Extra::KvLen: spec << "  kv_len: i32[" << bName << "]\n"; break;
    case Extra::Doc: spec << "  doc: i32[" << bName << ", " << qSeq_ << "]\n"; break;
    case Extra::Window: spec << "  window: i32\n"; break;
    case Extra::Offset: spec << "  offset: i32\n"; break;
    case Extra::Temp: spec << "  temp: f32\n"; break;
    }
  }
  // Exact cases scale by a power of two; others by anything legal.
  if (general_) {
    if (chance(0.3))
      spec << "  scale: " << (has(Extra::Temp) && chance(0.5) ? "1 / temp" : "1 / sqrt(" + dName + ")")
           << "\n";
    else if (chance(0.1)) // kernels may scale products late: -inf times these is not -inf
      spec << "  scale: " << (chance(0.5) ? "0" : "-1 / sqrt(" + dName + ")") << "\n";
  } else {
    static const std::vector<std::string> scales = {"0.25", "1", "0.5", "1 / 4.0", "-0.5", "0"};
    spec << "  scale: " << pick(scales) << "\n";
  }
  if (chance(0.7))
    spec << "  score: " << floatExpr(3) << "\n";
  if (chance(0.85))
    spec << "  mask: " << boolExpr(3) << "\n";
  if (weights != "softmax" || chance(0.5))
    spec << "  weights: " << weights << "\n";
  bool lse = lseAllowed && chance(0.5);
  if (lse)
    spec << "  outputs: o, lse\n";
  spec << "}\n";
  c.text = spec.str();

  // Data: q and k exact multiples of 1/4 when the order of scores matters.
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  auto qkDraw = [&]() { return general_ ? unit(rng_) : quarter(); };
  c.args["q"] = tensor({batch_, qHeads_, lq_, d_}, qkDraw);
  c.args["k"] = tensor({batch_, kvHeads_, lk_, d_}, qkDraw);
  c.args["v"] = tensor({batch_, kvHeads_, lk_, dv_}, [&] { return unit(rng_); });
  bool runs = chance(0.7);
  for (Extra e : extras_) {
    switch (e) {
    case Extra::Slopes: c.args["slopes"] = tensor({qHeads_}, [&] { return eighth(); }); break;
    case Extra::Perm:
    case Extra::KeyMap: {
      // Indices into slopes [Hq]; with badIndices one of them is past the end.
      int64_t n = e == Extra::Perm ? qHeads_ : lk_;
      HostTensor t = tensor({n}, [&] { return static_cast<double>(uniform(0, qHeads_ - 1)); });
      if (c.badIndices && n > 0)
        t.data[static_cast<size_t>(uniform(0, n - 1))] = static_cast<double>(chance(0.5) ? qHeads_ : -1);
      c.args[e == Extra::Perm ? "perm" : "keymap"] = std::move(t);
      break;
    }
    case Extra::Bias: c.args["bias"] = tensor({lq_, lk_}, [&] { return eighth(); }); break;
    case Extra::KvLen:
      c.args["kv_len"] = tensor({batch_}, [&] { return static_cast<double>(uniform(0, lk_)); });
      break;
    case Extra::Doc: {
      // Packed documents (nondecreasing runs) or ids in any order.
      HostTensor t;
      t.shape = {batch_, lq_};
      for (int64_t b = 0; b < batch_; ++b) {
        int64_t id = 0;
        for (int64_t i = 0; i < lq_; ++i) {
          if (runs)
            id += chance(4.0 / std::max<int64_t>(lq_, 4)) ? 1 : 0;
          else
            id = uniform(0, 3);
          t.data.push_back(static_cast<double>(id));
        }
      }
      c.args["doc"] = std::move(t);
      break;
    }
    case Extra::Window: c.args["window"] = HostTensor{{}, {static_cast<double>(uniform(0, lk_ + 2))}}; break;
    case Extra::Offset: c.args["offset"] = HostTensor{{}, {static_cast<double>(uniform(-5, 5))}}; break;
    case Extra::Temp: {
      static const std::vector<double> temps = {0.5, 2.0, 1.5, 4.0};
      c.args["temp"] = HostTensor{{}, {pick(temps)}};
      break;
    }
    }
  }
  c.threads = static_cast<unsigned>(uniform(0, 2)); // 0: every core
  c.keySplits = chance(0.5) ? 0 : uniform(2, 9);     // 0: the cost model's choice
  c.qBlockRows = chance(0.5) ? 0 : uniform(1, 600);  // more than the compiled blockQ is blockQ
  static const KVPacking packings[] = {KVPacking::Auto, KVPacking::Upfront, KVPacking::PerHead};
  c.packing = packings[uniform(0, 2)];
  std::ostringstream sum;
  sum << weights << (lse ? "+lse" : "") << " " << qType << " B=" << batch_ << " H=" << qHeads_ << ":"
      << kvHeads_ << " L=" << lq_ << "/" << lk_ << " D=" << d_ << "/" << dv_ << " threads="
      << c.threads << " splits=" << c.keySplits << " qrows=" << c.qBlockRows << " packing="
      << (c.packing == KVPacking::Auto ? "auto" : c.packing == KVPacking::Upfront ? "upfront" : "per-head");
  c.summary = sum.str();
  return c;
}

} // namespace

GeneratedCase generateCase(uint64_t seed) { return Generator(seed).generate(seed); }

} // namespace attn::diff
