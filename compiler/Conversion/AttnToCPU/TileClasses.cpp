//===- TileClasses.cpp - Interval evaluation of the mask over a tile -------===//
#include "compiler/Conversion/AttnToCPU/TileClasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <map>

using namespace mlir;
namespace ad = ::mlir::attn;

namespace attn {
namespace {

/// An i64 interval, or a boolean's possible values. `known` false means any
/// value (the interval's bounds are then meaningless).
struct Abstract {
  Value lo, hi, known;     // integers
  Value canTrue, canFalse; // booleans
};

class IntervalEmitter {
public:
  IntervalEmitter(KernelEmitter &k) : k(k), b(k.b), loc(k.loc) {}

  Value t() { return b.create<arith::ConstantOp>(loc, b.getBoolAttr(true)); }
  Value f() { return b.create<arith::ConstantOp>(loc, b.getBoolAttr(false)); }
  Value andI(Value x, Value y) { return b.create<arith::AndIOp>(loc, x, y); }
  Value orI(Value x, Value y) { return b.create<arith::OrIOp>(loc, x, y); }
  Value notI(Value x) { return b.create<arith::XOrIOp>(loc, x, t()); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) { return b.create<arith::CmpIOp>(loc, p, x, y); }
  Value minI(Value x, Value y) { return b.create<arith::MinSIOp>(loc, x, y); }
  Value maxI(Value x, Value y) { return b.create<arith::MaxSIOp>(loc, x, y); }
  Value sel(Value c, Value x, Value y) { return b.create<arith::SelectOp>(loc, c, x, y); }

  Abstract exact(Value v) { return {v, v, t(), {}, {}}; }
  Abstract range(Value lo, Value hi) { return {lo, hi, t(), {}, {}}; }
  Abstract anyInt() { return {k.i64c(0), k.i64c(0), f(), {}, {}}; }
  Abstract boolean(Value canTrue, Value canFalse) { return {{}, {}, {}, canTrue, canFalse}; }
  Abstract anyBool() { return boolean(t(), t()); }

  TileClass run(Region &mask, ArrayRef<Abstract> args) {
    Block &block = mask.front();
    for (auto [arg, a] : llvm::zip(block.getArguments(), args))
      values[arg] = a;
    for (Operation &op : block) {
      if (auto yield = dyn_cast<ad::YieldOp>(op)) {
        Abstract r = get(yield.getValue());
        return {r.canTrue, r.canFalse};
      }
      if (op.getNumResults() == 1)
        values[op.getResult(0)] = evaluate(op);
    }
    return {t(), t()};
  }

private:
  Abstract get(Value v) {
    auto it = values.find(v);
    if (it == values.end())
      it = values.try_emplace(v, v.getType().isInteger(1) ? anyBool() : anyInt()).first;
    return it->second;
  }

  Abstract evaluate(Operation &op) {
    Type type = op.getResult(0).getType();
    if (auto c = dyn_cast<arith::ConstantOp>(op)) {
      if (auto i = dyn_cast<IntegerAttr>(c.getValue())) {
        if (type.isInteger(1))
          return i.getValue().getBoolValue() ? boolean(t(), f()) : boolean(f(), t());
        if (type.isInteger(64)) // a copy: the region is erased after lowering
          return exact(b.create<arith::ConstantOp>(loc, c.getValue()).getResult());
      }
      return type.isInteger(1) ? anyBool() : anyInt();
    }
    if (auto dim = dyn_cast<ad::DimOp>(op))
      return exact(k.dims.at(dim.getName().str()));
    if (auto load = dyn_cast<ad::LoadOp>(op)) {
      if (load.getIndices().empty() && type.isInteger(64))
        return exact(k.scalars.at(load.getInput().str())); // a scalar input: one value per call
      if (type.isInteger(64))
        return scanData(load); // integer data (document ids): its range over the tile
      return anyInt();
    }
    if (!type.isInteger(64) && !type.isInteger(1))
      return anyInt(); // floats: not tracked (a bool from them is unknown below)
    auto operand = [&](unsigned n) -> Abstract { return get(op.getOperand(n)); };
    if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::MinSIOp, arith::MaxSIOp>(op)) {
      const Abstract &x = operand(0), &y = operand(1);
      Value known = andI(x.known, y.known);
      if (isa<arith::AddIOp>(op))
        return {k.add(x.lo, y.lo), k.add(x.hi, y.hi), known, {}, {}};
      if (isa<arith::SubIOp>(op))
        return {b.create<arith::SubIOp>(loc, x.lo, y.hi), b.create<arith::SubIOp>(loc, x.hi, y.lo), known, {}, {}};
      if (isa<arith::MinSIOp>(op))
        return {minI(x.lo, y.lo), minI(x.hi, y.hi), known, {}, {}};
      if (isa<arith::MaxSIOp>(op))
        return {maxI(x.lo, y.lo), maxI(x.hi, y.hi), known, {}, {}};
      Value p1 = k.mul(x.lo, y.lo), p2 = k.mul(x.lo, y.hi), p3 = k.mul(x.hi, y.lo), p4 = k.mul(x.hi, y.hi);
      return {minI(minI(p1, p2), minI(p3, p4)), maxI(maxI(p1, p2), maxI(p3, p4)), known, {}, {}};
    }
    if (isa<arith::DivSIOp>(op)) {
      // Truncating division by a positive divisor is monotonic in x.
      const Abstract &x = operand(0), &y = operand(1);
      Value positive = andI(y.known, andI(cmp(arith::CmpIPredicate::eq, y.lo, y.hi),
                                          cmp(arith::CmpIPredicate::sgt, y.lo, k.i64c(0))));
      Value d = sel(positive, y.lo, k.i64c(1));
      return {b.create<arith::DivSIOp>(loc, x.lo, d), b.create<arith::DivSIOp>(loc, x.hi, d),
              andI(x.known, positive), {}, {}};
    }
    if (isa<arith::RemSIOp>(op)) {
      // x % c for c > 0: exact when [lo, hi] stays within one period of
      // non-negative x; else [0, c - 1] for x >= 0.
      const Abstract &x = operand(0), &y = operand(1);
      Value positive = andI(y.known, andI(cmp(arith::CmpIPredicate::eq, y.lo, y.hi),
                                          cmp(arith::CmpIPredicate::sgt, y.lo, k.i64c(0))));
      Value c = sel(positive, y.lo, k.i64c(1));
      Value nonNeg = cmp(arith::CmpIPredicate::sge, x.lo, k.i64c(0));
      Value samePeriod = cmp(arith::CmpIPredicate::eq, b.create<arith::DivSIOp>(loc, x.lo, c),
                             b.create<arith::DivSIOp>(loc, x.hi, c));
      Value lo = sel(samePeriod, b.create<arith::RemSIOp>(loc, x.lo, c), k.i64c(0));
      Value hi = sel(samePeriod, b.create<arith::RemSIOp>(loc, x.hi, c),
                     b.create<arith::SubIOp>(loc, c, k.i64c(1)));
      return {lo, hi, andI(andI(x.known, positive), nonNeg), {}, {}};
    }
    if (auto abs = dyn_cast<math::AbsIOp>(op)) {
      const Abstract &x = operand(0);
      Value negLo = b.create<arith::SubIOp>(loc, k.i64c(0), x.lo), negHi = b.create<arith::SubIOp>(loc, k.i64c(0), x.hi);
      Value crosses = andI(cmp(arith::CmpIPredicate::slt, x.lo, k.i64c(0)), cmp(arith::CmpIPredicate::sgt, x.hi, k.i64c(0)));
      Value allNeg = cmp(arith::CmpIPredicate::sle, x.hi, k.i64c(0));
      Value lo = sel(crosses, k.i64c(0), sel(allNeg, negHi, x.lo));
      Value hi = sel(crosses, maxI(negLo, x.hi), sel(allNeg, negLo, x.hi));
      return {lo, hi, x.known, {}, {}};
    }
    if (auto c = dyn_cast<arith::CmpIOp>(op)) {
      if (!c.getLhs().getType().isInteger(64))
        return anyBool();
      const Abstract &x = operand(0), &y = operand(1);
      Value known = andI(x.known, y.known);
      Value canTrue, canFalse;
      using P = arith::CmpIPredicate;
      switch (c.getPredicate()) {
      case P::slt: canTrue = cmp(P::slt, x.lo, y.hi); canFalse = cmp(P::sge, x.hi, y.lo); break;
      case P::sle: canTrue = cmp(P::sle, x.lo, y.hi); canFalse = cmp(P::sgt, x.hi, y.lo); break;
      case P::sgt: canTrue = cmp(P::sgt, x.hi, y.lo); canFalse = cmp(P::sle, x.lo, y.hi); break;
      case P::sge: canTrue = cmp(P::sge, x.hi, y.lo); canFalse = cmp(P::slt, x.lo, y.hi); break;
      case P::eq:
      case P::ne: {
        Value overlap = andI(cmp(P::sle, x.lo, y.hi), cmp(P::sle, y.lo, x.hi));
        Value single = andI(andI(cmp(P::eq, x.lo, x.hi), cmp(P::eq, y.lo, y.hi)), cmp(P::eq, x.lo, y.lo));
        Value eqTrue = overlap, eqFalse = notI(single);
        canTrue = c.getPredicate() == P::eq ? eqTrue : eqFalse;
        canFalse = c.getPredicate() == P::eq ? eqFalse : eqTrue;
        break;
      }
      default:
        return anyBool();
      }
      return boolean(orI(canTrue, notI(known)), orI(canFalse, notI(known)));
    }
    if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op) && type.isInteger(1)) {
      const Abstract &x = operand(0), &y = operand(1);
      if (isa<arith::AndIOp>(op))
        return boolean(andI(x.canTrue, y.canTrue), orI(x.canFalse, y.canFalse));
      if (isa<arith::OrIOp>(op))
        return boolean(orI(x.canTrue, y.canTrue), andI(x.canFalse, y.canFalse));
      return boolean(orI(andI(x.canTrue, y.canFalse), andI(x.canFalse, y.canTrue)),
                     orI(andI(x.canTrue, y.canTrue), andI(x.canFalse, y.canFalse)));
    }
    if (auto s = dyn_cast<arith::SelectOp>(op)) {
      const Abstract &c = operand(0), &x = operand(1), &y = operand(2);
      Value onlyX = notI(c.canFalse), onlyY = notI(c.canTrue);
      if (type.isInteger(1))
        return boolean(sel(onlyX, x.canTrue, sel(onlyY, y.canTrue, orI(x.canTrue, y.canTrue))),
                       sel(onlyX, x.canFalse, sel(onlyY, y.canFalse, orI(x.canFalse, y.canFalse))));
      Value lo = sel(onlyX, x.lo, sel(onlyY, y.lo, minI(x.lo, y.lo)));
      Value hi = sel(onlyX, x.hi, sel(onlyY, y.hi, maxI(x.hi, y.hi)));
      Value known = sel(onlyX, x.known, sel(onlyY, y.known, andI(x.known, y.known)));
      return {lo, hi, known, {}, {}};
    }
    return type.isInteger(1) ? anyBool() : anyInt();
  }

  /// The range of an integer input over the box of indices a tile can read,
  /// found by reading the box when it is known, inside the tensor and at most
  /// kMaxScan elements (document ids over a q block's rows and a span of
  /// keys); else unknown. One loop per index, so no division per element
  /// (a single loop with div/rem per element was 30% of a document-masked
  /// kernel's time, measured with perf).
  Abstract scanData(ad::LoadOp load) {
    constexpr int64_t kMaxScan = 1024;
    const KernelEmitter::Extra &e = k.extras.at(load.getInput().str());
    SmallVector<Abstract> idx;
    Value ok = t(), count = k.i64c(1);
    for (auto [d, index] : llvm::enumerate(load.getIndices())) {
      idx.push_back(get(index));
      const Abstract &a = idx.back();
      ok = andI(ok, andI(a.known, andI(cmp(arith::CmpIPredicate::sge, a.lo, k.i64c(0)),
                                       cmp(arith::CmpIPredicate::slt, a.hi, e.sizes[d]))));
      count = k.mul(count, b.create<arith::AddIOp>(loc, b.create<arith::SubIOp>(loc, a.hi, a.lo), k.i64c(1)));
    }
    ok = andI(ok, cmp(arith::CmpIPredicate::sle, count, k.i64c(kMaxScan)));
    auto scan = b.create<scf::IfOp>(
        loc, ok,
        [&](OpBuilder &, Location) {
          SmallVector<Value> mm = {k.i64c(INT64_MAX), k.i64c(INT64_MIN)};
          b.create<scf::YieldOp>(loc, scanBox(e, idx, 0, k.i64c(0), mm));
        },
        [&](OpBuilder &, Location) { b.create<scf::YieldOp>(loc, ValueRange{k.i64c(0), k.i64c(0)}); });
    return {scan.getResult(0), scan.getResult(1), ok, {}, {}};
  }

  /// (min, max) of `mm` and the elements of box dimensions d.. at `offset`.
  SmallVector<Value> scanBox(const KernelEmitter::Extra &e, ArrayRef<Abstract> idx, size_t d, Value offset,
                             ValueRange mm) {
    if (d == idx.size()) {
      Value raw = b.create<LLVM::LoadOp>(loc, e.elemType, k.gep(e.ptr, offset, e.elemType), 4);
      Value v = b.create<arith::ExtSIOp>(loc, k.i64Type, raw);
      return {minI(mm[0], v), maxI(mm[1], v)};
    }
    auto loop = b.create<scf::ForOp>(
        loc, k.idx(idx[d].lo), k.idx(k.add(idx[d].hi, k.i64c(1))), k.idx(k.i64c(1)), mm,
        [&](OpBuilder &, Location, Value at, ValueRange inner) {
          b.create<scf::YieldOp>(loc, scanBox(e, idx, d + 1, k.add(offset, k.mul(k.i64(at), e.strides[d])), inner));
        });
    return SmallVector<Value>(loop.getResults());
  }

  KernelEmitter &k;
  OpBuilder &b;
  Location loc;
  llvm::DenseMap<Value, Abstract> values;
};

} // namespace

/// Whether every tensor read of the mask indexes its tensor with positions
/// themselves, along a dimension of their own extent (doc[b, j] with doc:
/// [B, Lk]): such a read is never out of range. Any other read (doc[b, i + 1],
/// tbl[idx[j]]) may be, and the reference reports it wherever C would
/// evaluate it, even where the mask ends up false; skipping a tile could skip
/// that read and turn the call's error into a success. So tiles are only
/// skipped or trusted when every read is of the first kind.
static bool maskReadsInRange(ad::AttentionOp op) {
  Block &block = op.getMask().front();
  // The mask's arguments b, h, i, j range over q's batch, heads, sequence
  // and k's sequence.
  Attribute extent[4] = {op.getInput(0).getDims()[0], op.getInput(0).getDims()[1], op.getInput(0).getDims()[2],
                         op.getInput(1).getDims()[2]};
  for (ad::LoadOp load : block.getOps<ad::LoadOp>()) {
    ad::InputAttr in = op.lookupInput(load.getInput());
    for (auto [d, index] : llvm::enumerate(load.getIndices())) {
      auto arg = dyn_cast<BlockArgument>(index);
      if (!in || !arg || arg.getOwner() != &block || arg.getArgNumber() >= 4 ||
          in.getDims()[d] != extent[arg.getArgNumber()])
        return false;
    }
  }
  return true;
}

TileClass classifyTile(KernelEmitter &k, Value b, Value hLo, Value hHi, Value iLo, Value iHi, Value jLo,
                       Value jHi) {
  if (!maskReadsInRange(k.op)) {
    Value yes = k.b.create<arith::ConstantOp>(k.loc, k.b.getBoolAttr(true));
    return {yes, yes};
  }
  IntervalEmitter e(k);
  return e.run(k.op.getMask(), {e.exact(b), e.range(hLo, hHi), e.range(iLo, iHi), e.range(jLo, jHi)});
}

SmallVector<Value> emitIfLive(KernelEmitter &k, const TileClass &cls, ValueRange iters,
                              const std::function<SmallVector<Value>(bool)> &body) {
  OpBuilder &b = k.b;
  auto live = b.create<scf::IfOp>(
      k.loc, cls.canBeTrue,
      [&](OpBuilder &, Location) {
        auto inner = b.create<scf::IfOp>(
            k.loc, cls.canBeFalse, [&](OpBuilder &, Location) { b.create<scf::YieldOp>(k.loc, body(true)); },
            [&](OpBuilder &, Location) { b.create<scf::YieldOp>(k.loc, body(false)); });
        b.create<scf::YieldOp>(k.loc, inner.getResults());
      },
      [&](OpBuilder &, Location) { b.create<scf::YieldOp>(k.loc, iters); });
  return SmallVector<Value>(live.getResults());
}

} // namespace attn
