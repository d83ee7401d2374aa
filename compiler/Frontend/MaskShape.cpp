//===- MaskShape.cpp - What a mask keeps, proved on intervals -------------===//
#include "compiler/Frontend/MaskShape.h"

#include <algorithm>

namespace attn {
namespace {

/// A value over a region: an integer interval, a boolean's possible values,
/// or unknown (floats, reads of tensors and scalars, anything that may
/// overflow).
struct Range {
  enum Kind { Unknown, Int, Bool } kind = Unknown;
  int64_t lo = 0, hi = 0;
  bool canBeTrue = true, canBeFalse = true;

  static Range unknown() { return {}; }
  static Range ints(__int128 lo, __int128 hi) {
    // Far from int64's ends, so the spec's wrapping arithmetic cannot differ.
    constexpr __int128 kLimit = __int128(1) << 62;
    if (lo < -kLimit || hi > kLimit)
      return unknown();
    Range r;
    r.kind = Int;
    r.lo = static_cast<int64_t>(lo);
    r.hi = static_cast<int64_t>(hi);
    return r;
  }
  static Range exact(int64_t v) { return ints(v, v); }
  static Range boolean(bool canBeTrue, bool canBeFalse) {
    Range r;
    r.kind = Bool;
    r.canBeTrue = canBeTrue;
    r.canBeFalse = canBeFalse;
    return r;
  }
  bool isInt() const { return kind == Int; }
  bool isTrue() const { return kind == Bool && !canBeFalse; }
  bool isFalse() const { return kind == Bool && !canBeTrue; }
};

/// The region: query rows [iLo, iHi], keys [jLo, jHi], every dimension name
/// bound to `length`, batch and head anywhere below it.
struct Region {
  int64_t iLo, iHi, jLo, jHi, length;
};

class Evaluator {
public:
  explicit Evaluator(const Region &region) : r(region) {}

  Range eval(const Expr &e) {
    switch (e.kind) {
    case ExprKind::BoolLit: return Range::boolean(e.intValue != 0, e.intValue == 0);
    case ExprKind::IntLit: return Range::exact(e.intValue);
    case ExprKind::FloatLit: return Range::unknown();
    case ExprKind::Name: return name(e);
    case ExprKind::Index: return Range::unknown();
    case ExprKind::Call: return call(e);
    case ExprKind::Unary: return unary(e);
    case ExprKind::Binary: return binary(e);
    case ExprKind::Ternary: return ternary(e);
    }
    return Range::unknown();
  }

private:
  const Region &r;

  Range name(const Expr &e) {
    switch (e.ref) {
    case NameRef::QueryPos: return Range::ints(r.iLo, r.iHi);
    case NameRef::KeyPos: return Range::ints(r.jLo, r.jHi);
    case NameRef::Batch:
    case NameRef::Head: return Range::ints(0, r.length - 1);
    case NameRef::Dimension: return Range::exact(r.length);
    default: return Range::unknown(); // the score, scalars
    }
  }

  Range call(const Expr &e) {
    std::vector<Range> a;
    for (const ExprPtr &op : e.operands)
      a.push_back(eval(*op));
    for (const Range &x : a)
      if (!x.isInt())
        return Range::unknown();
    switch (e.builtin) {
    case Builtin::Abs:
      if (a.size() != 1)
        return Range::unknown();
      if (a[0].lo >= 0)
        return a[0];
      if (a[0].hi <= 0)
        return Range::ints(-__int128(a[0].hi), -__int128(a[0].lo));
      return Range::ints(0, std::max(-__int128(a[0].lo), __int128(a[0].hi)));
    case Builtin::Min:
    case Builtin::Max:
      if (a.size() != 2)
        return Range::unknown();
      if (e.builtin == Builtin::Min)
        return Range::ints(std::min(a[0].lo, a[1].lo), std::min(a[0].hi, a[1].hi));
      return Range::ints(std::max(a[0].lo, a[1].lo), std::max(a[0].hi, a[1].hi));
    default: return Range::unknown();
    }
  }

  Range unary(const Expr &e) {
    Range x = eval(*e.operands[0]);
    if (e.unaryOp == UnaryOp::Not)
      return x.kind == Range::Bool ? Range::boolean(x.canBeFalse, x.canBeTrue) : Range::unknown();
    return x.isInt() ? Range::ints(-__int128(x.hi), -__int128(x.lo)) : Range::unknown();
  }

  Range logic(const Expr &e) {
    Range x = eval(*e.operands[0]);
    // && and || evaluate their right side only when needed.
    if (e.binaryOp == BinaryOp::And && x.isFalse())
      return x;
    if (e.binaryOp == BinaryOp::Or && x.isTrue())
      return x;
    Range y = eval(*e.operands[1]);
    if (e.binaryOp == BinaryOp::And) {
      if (y.isFalse())
        return y;
      if (x.kind != Range::Bool || y.kind != Range::Bool)
        return Range::boolean(true, true);
      return Range::boolean(x.canBeTrue && y.canBeTrue, x.canBeFalse || y.canBeFalse);
    }
    if (y.isTrue())
      return y;
    if (x.kind != Range::Bool || y.kind != Range::Bool)
      return Range::boolean(true, true);
    return Range::boolean(x.canBeTrue || y.canBeTrue, x.canBeFalse && y.canBeFalse);
  }

  static Range compare(BinaryOp op, const Range &x, const Range &y) {
    if (!x.isInt() || !y.isInt())
      return Range::boolean(true, true);
    // x < y over the region: always when x.hi < y.lo, never when x.lo >= y.hi.
    auto less = [](const Range &a, const Range &b) { return Range::boolean(a.lo < b.hi, a.hi >= b.lo); };
    auto lessEq = [](const Range &a, const Range &b) { return Range::boolean(a.lo <= b.hi, a.hi > b.lo); };
    bool disjoint = x.hi < y.lo || y.hi < x.lo, sameExact = x.lo == x.hi && y.lo == y.hi && x.lo == y.lo;
    switch (op) {
    case BinaryOp::Lt: return less(x, y);
    case BinaryOp::Le: return lessEq(x, y);
    case BinaryOp::Gt: return less(y, x);
    case BinaryOp::Ge: return lessEq(y, x);
    case BinaryOp::Eq: return Range::boolean(!disjoint, !sameExact);
    case BinaryOp::Ne: return Range::boolean(!sameExact, !disjoint);
    default: return Range::unknown();
    }
  }

  Range binary(const Expr &e) {
    if (e.binaryOp == BinaryOp::And || e.binaryOp == BinaryOp::Or)
      return logic(e);
    Range x = eval(*e.operands[0]), y = eval(*e.operands[1]);
    switch (e.binaryOp) {
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::Gt:
    case BinaryOp::Ge:
    case BinaryOp::Eq:
    case BinaryOp::Ne: return compare(e.binaryOp, x, y);
    default: break;
    }
    if (!x.isInt() || !y.isInt())
      return Range::unknown();
    __int128 xl = x.lo, xh = x.hi, yl = y.lo, yh = y.hi;
    switch (e.binaryOp) {
    case BinaryOp::Add: return Range::ints(xl + yl, xh + yh);
    case BinaryOp::Sub: return Range::ints(xl - yh, xh - yl);
    case BinaryOp::Mul: {
      __int128 p[] = {xl * yl, xl * yh, xh * yl, xh * yh};
      return Range::ints(*std::min_element(p, p + 4), *std::max_element(p, p + 4));
    }
    case BinaryOp::Div:
      // Truncating division by a positive constant is monotone.
      if (yl == yh && yl > 0)
        return Range::ints(xl / yl, xh / yl);
      return Range::unknown();
    case BinaryOp::Rem:
      if (yl == yh && yl > 0 && xl >= 0)
        return xl / yl == xh / yl ? Range::ints(xl % yl, xh % yl) : Range::ints(0, yl - 1);
      return Range::unknown();
    default: return Range::unknown();
    }
  }

  Range ternary(const Expr &e) {
    Range c = eval(*e.operands[0]);
    if (c.isTrue())
      return eval(*e.operands[1]);
    if (c.isFalse())
      return eval(*e.operands[2]);
    Range x = eval(*e.operands[1]), y = eval(*e.operands[2]);
    if (x.isInt() && y.isInt())
      return Range::ints(std::min(x.lo, y.lo), std::max(x.hi, y.hi));
    if (x.kind == Range::Bool && y.kind == Range::Bool)
      return Range::boolean(x.canBeTrue || y.canBeTrue, x.canBeFalse || y.canBeFalse);
    return Range::unknown();
  }
};

} // namespace

bool keepsEarlierKeys(const Expr *mask) {
  if (!mask)
    return true;
  // A q block of 512 rows in the middle of a sequence of 2^30, and 64 keys
  // at its start and at a quarter of it: far behind every one of its rows.
  constexpr int64_t kLength = int64_t(1) << 30, kRows = 512, kKeys = 64;
  constexpr int64_t iLo = kLength / 2;
  for (int64_t jLo : {int64_t(0), kLength / 4}) {
    Region region{iLo, iLo + kRows - 1, jLo, jLo + kKeys - 1, kLength};
    if (!Evaluator(region).eval(*mask).isTrue())
      return false;
  }
  return true;
}

} // namespace attn
