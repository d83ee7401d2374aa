//===- Signature.cpp - Binding shapes, and the params layout ---------------===//
#include "attn/Signature.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <set>

namespace attn {

const char *dtypeName(attn_dtype type) {
  switch (type) {
  case ATTN_F32: return "f32";
  case ATTN_BF16: return "bf16";
  case ATTN_F16: return "f16";
  case ATTN_I32: return "i32";
  }
  return "?";
}

int64_t dtypeBytes(attn_dtype type) {
  return type == ATTN_BF16 || type == ATTN_F16 ? 2 : 4;
}

std::vector<std::string> KernelSignature::dimNames() const {
  std::vector<std::string> names;
  for (const InputSig &in : inputs)
    for (const DimSig &d : in.dims)
      if (d.fixed < 0 && std::find(names.begin(), names.end(), d.name) == names.end())
        names.push_back(d.name);
  return names;
}

std::vector<int> KernelSignature::extraTensors() const {
  std::vector<int> out;
  for (int n = 3; n < static_cast<int>(inputs.size()); ++n)
    if (!inputs[n].isScalar())
      out.push_back(n);
  return out;
}

std::vector<int> KernelSignature::scalars() const {
  std::vector<int> out;
  for (int n = 3; n < static_cast<int>(inputs.size()); ++n)
    if (inputs[n].isScalar())
      out.push_back(n);
  return out;
}

static std::string shapeString(const InputSig &in) {
  std::string s = "[";
  for (size_t d = 0; d < in.dims.size(); ++d)
    s += (d ? ", " : "") + in.dims[d].str();
  return s + "]";
}

std::optional<BoundDims> bindShapes(const KernelSignature &sig,
                                    const std::vector<std::vector<int64_t>> &shapes,
                                    std::string &error) {
  BoundDims bound;
  std::map<std::string, std::string> boundBy;
  for (size_t n = 0; n < sig.inputs.size(); ++n) {
    const InputSig &in = sig.inputs[n];
    const std::vector<int64_t> &shape = shapes.at(n);
    if (in.isScalar())
      continue;
    if (shape.size() != in.dims.size()) {
      error = "tensor '" + in.name + "' has rank " + std::to_string(shape.size()) +
              ", expected rank " + std::to_string(in.dims.size()) + " " + shapeString(in);
      return std::nullopt;
    }
    for (size_t d = 0; d < in.dims.size(); ++d) {
      const DimSig &dim = in.dims[d];
      int64_t got = shape[d];
      std::string where = "tensor '" + in.name + "' dimension " + std::to_string(d) + " (" +
                          dim.str() + ")";
      if (got < 0) {
        error = where + " has negative size " + std::to_string(got);
        return std::nullopt;
      }
      if (dim.fixed >= 0) {
        if (got != dim.fixed) {
          error = where + " must be " + std::to_string(dim.fixed) + ", got " + std::to_string(got);
          return std::nullopt;
        }
        continue;
      }
      auto [it, inserted] = bound.named.emplace(dim.name, got);
      if (inserted) {
        boundBy[dim.name] = "'" + in.name + "' dimension " + std::to_string(d);
      } else if (it->second != got) {
        error = where + " is " + std::to_string(got) + ", but " + dim.name + " = " +
                std::to_string(it->second) + " from " + boundBy[dim.name];
        return std::nullopt;
      }
    }
  }
  const auto &q = shapes[0], &k = shapes[1], &v = shapes[2];
  bound.batch = q[0];
  bound.qHeads = q[1];
  bound.kvHeads = k[1];
  bound.qLen = q[2];
  bound.kvLen = k[2];
  bound.headDim = q[3];
  bound.vDim = v[3];
  if (bound.kvHeads == 0 || bound.qHeads % bound.kvHeads != 0) {
    error = "tensor 'q' dimension 1 (heads) is " + std::to_string(bound.qHeads) +
            ", which is not a multiple of the " + std::to_string(bound.kvHeads) +
            " kv heads of tensor 'k' dimension 1";
    return std::nullopt;
  }
  return bound;
}

ParamLayout::ParamLayout(const KernelSignature &sig) {
  int next = NumFixed;
  for (int rank : {4, 4, 4, 4, 3}) {
    strideBase_.push_back(next);
    next += rank;
  }
  int pointer = Partials + 1;
  for (int n : sig.extraTensors()) {
    strideBase_.push_back(next);
    next += static_cast<int>(sig.inputs[n].dims.size());
    pointerSlot_[n] = pointer++;
  }
  for (const std::string &name : sig.dimNames())
    dimSlot_[name] = next++;
  for (int n : sig.scalars())
    scalarSlot_[n] = next++;
  size_ = next;
  numPointers_ = pointer;
}

ScratchLayout ScratchLayout::compute(const Schedule &s, int64_t vDim, int64_t topk, int64_t headDim,
                                     int64_t qRows) {
  auto align = [](int64_t x) { return (x + 63) / 64 * 64; };
  ScratchLayout l;
  l.scores = 0;
  l.weights = align(4 * kRowHeads * s.blockK);
  l.tile = align(l.weights + 4 * ((kRowHeads + 1) * s.blockK + 3 * kRowHeads));
  // Per row of the q block: S and P in f32, then a factor per row, then P in
  // bf16 (for vdpbf16ps and AMX). Every tile of the q block keeps its rows
  // of them from its Q Kt pass to its P V pass (TiledSoftmax.cpp).
  // S, the corrections and P16 twice: on AMX tiles a pair of K/V blocks
  // keeps one slot each until their P V (TiledSoftmax.cpp, pairsOf).
  int64_t rows = qBlockRows(qRows > 0 && qRows < s.blockQ ? qRows : s.blockQ);
  int64_t tileKeys = kMaxTileKeyVectors * s.vectorWidth;
  l.rows = rows;
  l.tileP = l.tile + 2 * 4 * rows * tileKeys;
  l.tileCorrections = l.tileP + 4 * rows * tileKeys;
  l.tileP16 = l.tileCorrections + 2 * 4 * rows;
  // Split f32 keeps p's further parts after its first (both slots of each).
  l.acc = align(l.tileP16 + std::max(1, splitParts(s)) * 2 * 2 * rows * tileKeys);
  // Insertion reads one element before a row's slots (TopK.cpp): a spare
  // 64 bytes before each array keeps that read inside the array's region.
  l.topScores = align(l.acc + 4 * rows * vDim) + 64;
  l.topIndex = align(l.topScores + 4 * rows * topKSlots(topk)) + 64;
  l.qTile = align(l.topIndex + 8 * rows * topKSlots(topk));
  l.tileState = align(l.qTile + qTileBytes(s) * rows * headDim);
  // The most tiles of the smaller size, each with its state.
  l.bytes = align(l.tileState + 64 * (rows / kTileRows) * kTileStateSlots(kTileRows));
  return l;
}

std::string serializeSignature(const KernelSignature &sig) {
  std::ostringstream os;
  os << "name " << sig.name << "\n"
     << "weights " << static_cast<int>(sig.weights) << " " << sig.topk << " " << sig.returnLse << "\n"
     << "schedule " << sig.schedule.blockQ << " " << sig.schedule.blockK << " "
     << sig.schedule.vectorWidth << "\n";
  if (sig.schedule.bf16Dot)
    os << "dot bf16\n";
  if (sig.schedule.amx)
    os << "dot amx\n";
  if (sig.schedule.precision != Precision::Highest)
    os << "precision " << precisionName(sig.schedule.precision) << "\n";
  for (const InputSig &in : sig.inputs) {
    os << "input " << in.name << " " << static_cast<int>(in.dtype) << " " << in.dims.size();
    for (const DimSig &d : in.dims)
      os << " " << (d.fixed >= 0 ? "#" + std::to_string(d.fixed) : d.name);
    os << "\n";
  }
  return os.str();
}

std::optional<KernelSignature> parseSignature(const std::string &text) {
  std::istringstream is(text);
  KernelSignature sig;
  std::string word;
  int weights = 0, lse = 0;
  if (!(is >> word) || word != "name" || !(is >> sig.name))
    return std::nullopt;
  if (!(is >> word) || word != "weights" || !(is >> weights >> sig.topk >> lse) || weights < 0 ||
      weights > 3)
    return std::nullopt;
  sig.weights = static_cast<Weights>(weights);
  sig.returnLse = lse != 0;
  if (!(is >> word) || word != "schedule" ||
      !(is >> sig.schedule.blockQ >> sig.schedule.blockK >> sig.schedule.vectorWidth))
    return std::nullopt;
  while (is >> word) {
    if (word == "dot") {
      if (!(is >> word) || (word != "bf16" && word != "amx"))
        return std::nullopt;
      (word == "bf16" ? sig.schedule.bf16Dot : sig.schedule.amx) = true;
      continue;
    }
    if (word == "precision") {
      std::optional<Precision> p;
      if (!(is >> word) || !(p = parsePrecision(word)))
        return std::nullopt;
      sig.schedule.precision = *p;
      continue;
    }
    if (word != "input")
      return std::nullopt;
    InputSig in;
    int dtype = 0;
    size_t rank = 0;
    if (!(is >> in.name >> dtype >> rank) || dtype < 0 || dtype > 3 || rank > 8)
      return std::nullopt;
    in.dtype = static_cast<attn_dtype>(dtype);
    for (size_t d = 0; d < rank; ++d) {
      std::string dim;
      if (!(is >> dim) || dim.empty())
        return std::nullopt;
      if (dim[0] == '#')
        in.dims.push_back(DimSig{std::atoll(dim.c_str() + 1), ""});
      else
        in.dims.push_back(DimSig{-1, dim});
    }
    sig.inputs.push_back(std::move(in));
  }
  if (sig.inputs.size() < 3)
    return std::nullopt;
  return sig;
}

} // namespace attn
