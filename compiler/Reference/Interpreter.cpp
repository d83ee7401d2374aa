//===- Interpreter.cpp - The double-precision reference --------------------===//
#include "compiler/Reference/Interpreter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attn {
namespace {

struct OutOfRange {
  std::string message;
};

struct Value {
  ValueType type = ValueType::Int;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  double asFloat() const { return type == ValueType::Float ? f : static_cast<double>(i); }
};

Value intValue(int64_t v) { Value r; r.type = ValueType::Int; r.i = v; return r; }
Value floatValue(double v) { Value r; r.type = ValueType::Float; r.f = v; return r; }
Value boolValue(bool v) { Value r; r.type = ValueType::Bool; r.b = v; return r; }

// Two's complement wrap-around without undefined behaviour.
int64_t wrapAdd(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
int64_t wrapSub(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)); }
int64_t wrapMul(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b)); }
int64_t safeDiv(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return wrapSub(0, a);
  return a / b;
}
int64_t safeRem(int64_t a, int64_t b) { return (b == 0 || b == -1) ? 0 : a % b; }

double nanMin(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }
double nanMax(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }

/// Evaluates the expressions of one spec for one (b, h, i, j, s) point.
class Evaluator {
public:
  Evaluator(const AttentionSpec &spec, const ArgumentMap &args, const Binding &binding)
      : binding_(binding) {
    for (const InputDecl &in : spec.inputs)
      tensors_.push_back(&args.at(in.name));
  }

  int64_t b = 0, h = 0, i = 0, j = 0;
  double s = 0;

  Value eval(const Expr &e) {
    switch (e.kind) {
    case ExprKind::BoolLit: return boolValue(e.intValue != 0);
    case ExprKind::IntLit: return intValue(e.intValue);
    case ExprKind::FloatLit: return floatValue(e.floatValue);
    case ExprKind::Name: return evalName(e);
    case ExprKind::Index: return evalIndex(e);
    case ExprKind::Call: return evalCall(e);
    case ExprKind::Unary: {
      Value x = eval(*e.operands[0]);
      if (e.unaryOp == UnaryOp::Not) return boolValue(!x.b);
      return x.type == ValueType::Int ? intValue(wrapSub(0, x.i)) : floatValue(-x.f);
    }
    case ExprKind::Binary: return evalBinary(e);
    case ExprKind::Ternary: {
      Value c = eval(*e.operands[0]);
      Value r = eval(*e.operands[c.b ? 1 : 2]);
      return e.type == ValueType::Float ? floatValue(r.asFloat()) : r;
    }
    }
    return {};
  }

private:
  Value evalName(const Expr &e) {
    switch (e.ref) {
    case NameRef::Score: return floatValue(s);
    case NameRef::Batch: return intValue(b);
    case NameRef::Head: return intValue(h);
    case NameRef::QueryPos: return intValue(i);
    case NameRef::KeyPos: return intValue(j);
    case NameRef::Dimension: return intValue(binding_.named.at(e.name));
    case NameRef::Scalar: {
      double v = tensors_[e.inputIndex]->data[0];
      return e.type == ValueType::Int ? intValue(static_cast<int64_t>(v)) : floatValue(v);
    }
    case NameRef::Unresolved: break;
    }
    return {};
  }

  Value evalIndex(const Expr &e) {
    const HostTensor &t = *tensors_[e.inputIndex];
    int64_t flat = 0;
    for (size_t d = 0; d < e.operands.size(); ++d) {
      int64_t idx = eval(*e.operands[d]).i;
      if (idx < 0 || idx >= t.shape[d])
        throw OutOfRange{"index " + std::to_string(idx) + " is out of range for dimension " +
                         std::to_string(d) + " of '" + e.name + "' (size " +
                         std::to_string(t.shape[d]) + ") at b=" + std::to_string(b) +
                         ", h=" + std::to_string(h) + ", i=" + std::to_string(i) +
                         ", j=" + std::to_string(j)};
      flat = flat * t.shape[d] + idx;
    }
    double v = t.data[flat];
    return e.type == ValueType::Int ? intValue(static_cast<int64_t>(v)) : floatValue(v);
  }

  Value evalCall(const Expr &e) {
    Value a = eval(*e.operands[0]);
    switch (e.builtin) {
    case Builtin::Abs:
      return a.type == ValueType::Int ? intValue(a.i < 0 ? wrapSub(0, a.i) : a.i)
                                      : floatValue(std::fabs(a.f));
    case Builtin::Min:
    case Builtin::Max: {
      Value c = eval(*e.operands[1]);
      bool isMin = e.builtin == Builtin::Min;
      if (e.type == ValueType::Int)
        return intValue(isMin ? std::min(a.i, c.i) : std::max(a.i, c.i));
      return floatValue(isMin ? nanMin(a.asFloat(), c.asFloat()) : nanMax(a.asFloat(), c.asFloat()));
    }
    default:
      break;
    }
    double x = a.asFloat();
    switch (e.builtin) {
    case Builtin::Exp: return floatValue(std::exp(x));
    case Builtin::Exp2: return floatValue(std::exp2(x));
    case Builtin::Log: return floatValue(std::log(x));
    case Builtin::Log2: return floatValue(std::log2(x));
    case Builtin::Sqrt: return floatValue(std::sqrt(x));
    case Builtin::Tanh: return floatValue(std::tanh(x));
    case Builtin::Sigmoid: return floatValue(1.0 / (1.0 + std::exp(-x)));
    case Builtin::Sin: return floatValue(std::sin(x));
    case Builtin::Cos: return floatValue(std::cos(x));
    case Builtin::Floor: return floatValue(std::floor(x));
    default: return {};
    }
  }

  Value evalBinary(const Expr &e) {
    const Expr &lhs = *e.operands[0], &rhs = *e.operands[1];
    if (e.binaryOp == BinaryOp::And || e.binaryOp == BinaryOp::Or) {
      bool l = eval(lhs).b;
      if (e.binaryOp == BinaryOp::And ? !l : l)
        return boolValue(l);
      return boolValue(eval(rhs).b);
    }
    Value l = eval(lhs), r = eval(rhs);
    bool ints = l.type == ValueType::Int && r.type == ValueType::Int;
    bool bools = l.type == ValueType::Bool;
    double x = l.asFloat(), y = r.asFloat();
    switch (e.binaryOp) {
    case BinaryOp::Add: return ints ? intValue(wrapAdd(l.i, r.i)) : floatValue(x + y);
    case BinaryOp::Sub: return ints ? intValue(wrapSub(l.i, r.i)) : floatValue(x - y);
    case BinaryOp::Mul: return ints ? intValue(wrapMul(l.i, r.i)) : floatValue(x * y);
    case BinaryOp::Div: return ints ? intValue(safeDiv(l.i, r.i)) : floatValue(x / y);
    case BinaryOp::Rem: return ints ? intValue(safeRem(l.i, r.i)) : floatValue(std::fmod(x, y));
    case BinaryOp::Lt: return boolValue(ints ? l.i < r.i : x < y);
    case BinaryOp::Le: return boolValue(ints ? l.i <= r.i : x <= y);
    case BinaryOp::Gt: return boolValue(ints ? l.i > r.i : x > y);
    case BinaryOp::Ge: return boolValue(ints ? l.i >= r.i : x >= y);
    case BinaryOp::Eq: return boolValue(bools ? l.b == r.b : ints ? l.i == r.i : x == y);
    case BinaryOp::Ne: return boolValue(bools ? l.b != r.b : ints ? l.i != r.i : x != y);
    default: return {};
    }
  }

  const Binding &binding_;
  std::vector<const HostTensor *> tensors_;
};

struct Scored {
  int64_t j;
  double score;
};

/// Applies the weights to the scores of one row; writes o's row and the lse.
void finishRow(const AttentionSpec &spec, std::vector<Scored> &keys,
               const HostTensor &v, int64_t vBase, int64_t vDim, double *o, double *lse) {
  const double inf = std::numeric_limits<double>::infinity();
  auto vAt = [&](int64_t j, int64_t d) { return v.data[vBase + j * vDim + d]; };
  std::fill(o, o + vDim, 0.0);
  *lse = -inf;
  bool anyNaN = std::any_of(keys.begin(), keys.end(), [](const Scored &k) { return std::isnan(k.score); });
  // Keys scored -inf take no part, exactly like masked keys.
  keys.erase(std::remove_if(keys.begin(), keys.end(), [&](const Scored &k) { return k.score == -inf; }),
             keys.end());
  if (anyNaN && spec.weights != WeightsKind::Sigmoid) {
    std::fill(o, o + vDim, NAN);
    *lse = NAN;
    return;
  }
  if (keys.empty())
    return;
  switch (spec.weights) {
  case WeightsKind::Sigmoid:
    for (const Scored &k : keys) {
      double w = 1.0 / (1.0 + std::exp(-k.score));
      for (int64_t d = 0; d < vDim; ++d)
        o[d] += w * vAt(k.j, d);
    }
    return;
  case WeightsKind::Argmax: {
    const Scored *best = &keys[0];
    for (const Scored &k : keys)
      if (k.score > best->score)
        best = &k;
    for (int64_t d = 0; d < vDim; ++d)
      o[d] = vAt(best->j, d);
    return;
  }
  case WeightsKind::TopK:
    std::stable_sort(keys.begin(), keys.end(),
                     [](const Scored &a, const Scored &b) { return a.score > b.score; });
    if (static_cast<int64_t>(keys.size()) > spec.topk)
      keys.resize(spec.topk);
    [[fallthrough]];
  case WeightsKind::Softmax: {
    double m = -inf;
    for (const Scored &k : keys)
      m = std::max(m, k.score);
    double sum = 0;
    for (const Scored &k : keys) {
      double w = std::exp(k.score - m);
      sum += w;
      for (int64_t d = 0; d < vDim; ++d)
        o[d] += w * vAt(k.j, d);
    }
    for (int64_t d = 0; d < vDim; ++d)
      o[d] /= sum;
    *lse = m + std::log(sum);
    return;
  }
  }
}

} // namespace

Expected<ReferenceOutput> runReference(const AttentionSpec &spec, const ArgumentMap &args) {
  Expected<Binding> bound = bindArguments(spec, args);
  if (!bound)
    return bound.takeError();
  const Binding &bd = *bound;
  const HostTensor &q = args.at("q"), &k = args.at("k"), &v = args.at("v");
  Evaluator ev(spec, args, bd);

  ReferenceOutput out;
  out.oShape = {bd.batch, bd.qHeads, bd.qLen, bd.vDim};
  out.lseShape = {bd.batch, bd.qHeads, bd.qLen};
  out.o.assign(bd.batch * bd.qHeads * bd.qLen * bd.vDim, 0.0);
  std::vector<double> lse(bd.batch * bd.qHeads * bd.qLen, 0.0);

  try {
    double scale = spec.scale.expr ? ev.eval(*spec.scale.expr).asFloat()
                                   : 1.0 / std::sqrt(static_cast<double>(bd.headDim));
    int64_t group = bd.qHeads / bd.kvHeads;
    std::vector<Scored> keys;
    for (int64_t b = 0; b < bd.batch; ++b)
      for (int64_t h = 0; h < bd.qHeads; ++h)
        for (int64_t i = 0; i < bd.qLen; ++i) {
          int64_t hk = h / group;
          const double *qRow = &q.data[((b * bd.qHeads + h) * bd.qLen + i) * bd.headDim];
          keys.clear();
          for (int64_t j = 0; j < bd.kvLen; ++j) {
            ev.b = b, ev.h = h, ev.i = i, ev.j = j;
            if (spec.mask.expr && !ev.eval(*spec.mask.expr).b)
              continue;
            const double *kRow = &k.data[((b * bd.kvHeads + hk) * bd.kvLen + j) * bd.headDim];
            double dot = 0;
            for (int64_t d = 0; d < bd.headDim; ++d)
              dot += qRow[d] * kRow[d];
            ev.s = scale * dot;
            double score = spec.score.expr ? ev.eval(*spec.score.expr).asFloat() : ev.s;
            keys.push_back({j, score});
          }
          int64_t row = (b * bd.qHeads + h) * bd.qLen + i;
          finishRow(spec, keys, v, (b * bd.kvHeads + hk) * bd.kvLen * bd.vDim, bd.vDim,
                    &out.o[row * bd.vDim], &lse[row]);
        }
  } catch (OutOfRange &e) {
    return Error{e.message};
  }
  if (spec.returnLse)
    out.lse = std::move(lse);
  return out;
}

Expected<std::vector<uint8_t>> maskTiles(const AttentionSpec &spec, const ArgumentMap &args, int64_t b,
                                         int64_t h, int64_t tileRows, int64_t tileKeys) {
  Expected<Binding> bound = bindArguments(spec, args);
  if (!bound)
    return bound.takeError();
  const Binding &bd = *bound;
  if (b < 0 || b >= bd.batch || h < 0 || h >= bd.qHeads)
    return Error{"no batch " + std::to_string(b) + ", head " + std::to_string(h) + " in these sizes"};
  Evaluator ev(spec, args, bd);
  int64_t rowsOfTiles = (bd.qLen + tileRows - 1) / tileRows, colsOfTiles = (bd.kvLen + tileKeys - 1) / tileKeys;
  std::vector<uint8_t> tiles(rowsOfTiles * colsOfTiles, 0);
  try {
    for (int64_t ti = 0; ti < rowsOfTiles; ++ti)
      for (int64_t tj = 0; tj < colsOfTiles; ++tj) {
        bool anyKept = false, anyMasked = false;
        for (int64_t i = ti * tileRows; i < std::min(bd.qLen, (ti + 1) * tileRows); ++i)
          for (int64_t j = tj * tileKeys; j < std::min(bd.kvLen, (tj + 1) * tileKeys); ++j) {
            ev.b = b, ev.h = h, ev.i = i, ev.j = j;
            bool kept = !spec.mask.expr || ev.eval(*spec.mask.expr).b;
            anyKept |= kept;
            anyMasked |= !kept;
          }
        tiles[ti * colsOfTiles + tj] = anyKept ? (anyMasked ? 1 : 2) : 0;
      }
  } catch (OutOfRange &e) {
    return Error{e.message};
  }
  return tiles;
}

Expected<double> maskDensity(const AttentionSpec &spec, const ArgumentMap &args, int64_t maxRows,
                             bool allHeads) {
  Expected<Binding> bound = bindArguments(spec, args);
  if (!bound)
    return bound.takeError();
  const Binding &bd = *bound;
  if (!spec.mask.expr)
    return 1.0;
  Evaluator ev(spec, args, bd);
  int64_t step = std::max<int64_t>(1, bd.qLen / std::max<int64_t>(1, maxRows));
  double kept = 0, total = 0;
  try {
    for (int64_t b = 0; b < bd.batch; ++b)
      for (int64_t h = 0; h < (allHeads ? bd.qHeads : std::min<int64_t>(1, bd.qHeads)); ++h)
        for (int64_t i = 0; i < bd.qLen; i += step)
          for (int64_t j = 0; j < bd.kvLen; ++j) {
            ev.b = b, ev.h = h, ev.i = i, ev.j = j;
            kept += ev.eval(*spec.mask.expr).b;
            total += 1;
          }
  } catch (OutOfRange &e) {
    return Error{e.message};
  }
  return total > 0 ? kept / total : 0.0;
}

} // namespace attn
