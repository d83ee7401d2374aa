//===- ASTToAttn.cpp - Build the attn dialect from a checked spec ----------===//
#include "compiler/Frontend/ASTToAttn.h"

#include "dialects/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"

#include <cmath>

namespace attn {
namespace {

using namespace mlir;
namespace ad = ::mlir::attn;

bool readsTensor(const Expr &e) {
  if (e.kind == ExprKind::Index)
    return true;
  for (const ExprPtr &op : e.operands)
    if (readsTensor(*op))
      return true;
  return false;
}

/// Emits the expressions of one region. Values: i64 for ints, f32 for
/// floats, i1 for booleans.
class RegionBuilder {
public:
  RegionBuilder(OpBuilder &builder, const std::string &file) : b_(builder), file_(file) {}

  Value score, batch, head, qPos, kPos; // block arguments where available

  Location loc(const Expr &e) {
    return FileLineColLoc::get(b_.getContext(), file_, e.loc.line, e.loc.col);
  }

  Value emit(const Expr &e, Value guard = {}) {
    Location l = loc(e);
    switch (e.kind) {
    case ExprKind::BoolLit:
      return boolConst(l, e.intValue != 0);
    case ExprKind::IntLit:
      return intConst(l, e.intValue);
    case ExprKind::FloatLit:
      return b_.create<arith::ConstantOp>(l, b_.getF32FloatAttr(static_cast<float>(e.floatValue)));
    case ExprKind::Name:
      return emitName(e, l);
    case ExprKind::Index: {
      SmallVector<Value> indices;
      for (const ExprPtr &op : e.operands)
        indices.push_back(emit(*op, guard));
      return b_.create<ad::LoadOp>(l, valueType(e.type), e.name, indices, guard);
    }
    case ExprKind::Call:
      return emitCall(e, l, guard);
    case ExprKind::Unary: {
      Value x = emit(*e.operands[0], guard);
      if (e.unaryOp == UnaryOp::Not)
        return b_.create<arith::XOrIOp>(l, x, boolConst(l, true));
      if (e.type == ValueType::Int)
        return b_.create<arith::SubIOp>(l, intConst(l, 0), x);
      return b_.create<arith::NegFOp>(l, x);
    }
    case ExprKind::Binary:
      return emitBinary(e, l, guard);
    case ExprKind::Ternary: {
      const Expr &ce = *e.operands[0], &te = *e.operands[1], &fe = *e.operands[2];
      Value c = emit(ce, guard);
      Value t = emit(te, readsTensor(te) ? both(l, guard, c) : Value());
      Value f = emit(fe, readsTensor(fe) ? both(l, guard, negate(l, c)) : Value());
      return b_.create<arith::SelectOp>(l, c, convert(l, t, te.type, e.type),
                                        convert(l, f, fe.type, e.type));
    }
    }
    return {};
  }

  /// Converts an int to float where the context needs a float.
  Value convert(Location l, Value v, ValueType from, ValueType to) {
    if (from == ValueType::Int && to == ValueType::Float)
      return b_.create<arith::SIToFPOp>(l, b_.getF32Type(), v);
    return v;
  }

private:
  Type valueType(ValueType t) {
    switch (t) {
    case ValueType::Int: return b_.getI64Type();
    case ValueType::Float: return b_.getF32Type();
    default: return b_.getI1Type();
    }
  }
  Value intConst(Location l, int64_t v) {
    return b_.create<arith::ConstantOp>(l, b_.getI64IntegerAttr(v));
  }
  Value boolConst(Location l, bool v) {
    return b_.create<arith::ConstantOp>(l, b_.getBoolAttr(v));
  }
  Value negate(Location l, Value c) { return b_.create<arith::XOrIOp>(l, c, boolConst(l, true)); }
  Value both(Location l, Value guard, Value c) {
    return guard ? b_.create<arith::AndIOp>(l, guard, c).getResult() : c;
  }

  Value emitName(const Expr &e, Location l) {
    switch (e.ref) {
    case NameRef::Score: return score;
    case NameRef::Batch: return batch;
    case NameRef::Head: return head;
    case NameRef::QueryPos: return qPos;
    case NameRef::KeyPos: return kPos;
    case NameRef::Dimension: return b_.create<ad::DimOp>(l, b_.getI64Type(), b_.getStringAttr(e.name));
    case NameRef::Scalar:
      return b_.create<ad::LoadOp>(l, valueType(e.type), e.name, ValueRange{}, Value());
    case NameRef::Unresolved: break;
    }
    return {};
  }

  Value emitCall(const Expr &e, Location l, Value guard) {
    std::vector<Value> args;
    for (const ExprPtr &op : e.operands)
      args.push_back(convert(l, emit(*op, guard), op->type,
                             e.type == ValueType::Int ? ValueType::Int : ValueType::Float));
    Value x = args[0];
    bool isInt = e.type == ValueType::Int;
    switch (e.builtin) {
    case Builtin::Abs:
      return isInt ? b_.create<math::AbsIOp>(l, x).getResult() : b_.create<math::AbsFOp>(l, x).getResult();
    case Builtin::Min:
      return isInt ? b_.create<arith::MinSIOp>(l, x, args[1]).getResult()
                   : b_.create<arith::MinimumFOp>(l, x, args[1]).getResult();
    case Builtin::Max:
      return isInt ? b_.create<arith::MaxSIOp>(l, x, args[1]).getResult()
                   : b_.create<arith::MaximumFOp>(l, x, args[1]).getResult();
    case Builtin::Exp: return b_.create<math::ExpOp>(l, x);
    case Builtin::Exp2: return b_.create<math::Exp2Op>(l, x);
    case Builtin::Log: return b_.create<math::LogOp>(l, x);
    case Builtin::Log2: return b_.create<math::Log2Op>(l, x);
    case Builtin::Sqrt: return b_.create<math::SqrtOp>(l, x);
    case Builtin::Tanh: return b_.create<math::TanhOp>(l, x);
    case Builtin::Sin: return b_.create<math::SinOp>(l, x);
    case Builtin::Cos: return b_.create<math::CosOp>(l, x);
    case Builtin::Floor: return b_.create<math::FloorOp>(l, x);
    case Builtin::Sigmoid: {
      // 1 / (1 + exp(-x))
      Value one = b_.create<arith::ConstantOp>(l, b_.getF32FloatAttr(1.0f));
      Value ex = b_.create<math::ExpOp>(l, b_.create<arith::NegFOp>(l, x));
      return b_.create<arith::DivFOp>(l, one, b_.create<arith::AddFOp>(l, one, ex));
    }
    }
    return {};
  }

  /// C division that never traps: x / 0 = 0, and x / -1 = -x (wrapping).
  Value emitIntDivRem(Location l, Value x, Value y, bool isRem) {
    Value zero = intConst(l, 0), minusOne = intConst(l, -1);
    Value isZero = b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, y, zero);
    Value isMinusOne = b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, y, minusOne);
    Value special = b_.create<arith::OrIOp>(l, isZero, isMinusOne);
    Value safeY = b_.create<arith::SelectOp>(l, special, intConst(l, 1), y);
    if (isRem) {
      Value r = b_.create<arith::RemSIOp>(l, x, safeY);
      return b_.create<arith::SelectOp>(l, special, zero, r);
    }
    Value q = b_.create<arith::DivSIOp>(l, x, safeY);
    Value negX = b_.create<arith::SubIOp>(l, zero, x);
    Value r = b_.create<arith::SelectOp>(l, isMinusOne, negX, q);
    return b_.create<arith::SelectOp>(l, isZero, zero, r);
  }

  Value emitBinary(const Expr &e, Location l, Value guard) {
    const Expr &le = *e.operands[0], &re = *e.operands[1];
    if (e.binaryOp == BinaryOp::And || e.binaryOp == BinaryOp::Or) {
      Value x = emit(le, guard);
      Value rhsGuard;
      if (readsTensor(re))
        rhsGuard = both(l, guard, e.binaryOp == BinaryOp::And ? x : negate(l, x));
      Value y = emit(re, rhsGuard);
      if (e.binaryOp == BinaryOp::And)
        return b_.create<arith::AndIOp>(l, x, y);
      return b_.create<arith::OrIOp>(l, x, y);
    }
    Value x = emit(le, guard), y = emit(re, guard);
    bool ints = le.type == ValueType::Int && re.type == ValueType::Int;
    bool bools = le.type == ValueType::Bool;
    if (!ints && !bools) {
      x = convert(l, x, le.type, ValueType::Float);
      y = convert(l, y, re.type, ValueType::Float);
    }
    using IP = arith::CmpIPredicate;
    using FP = arith::CmpFPredicate;
    auto compare = [&](IP ip, FP fp) -> Value {
      if (ints || bools)
        return b_.create<arith::CmpIOp>(l, ip, x, y);
      return b_.create<arith::CmpFOp>(l, fp, x, y);
    };
    switch (e.binaryOp) {
    case BinaryOp::Add:
      return ints ? b_.create<arith::AddIOp>(l, x, y).getResult() : b_.create<arith::AddFOp>(l, x, y).getResult();
    case BinaryOp::Sub:
      return ints ? b_.create<arith::SubIOp>(l, x, y).getResult() : b_.create<arith::SubFOp>(l, x, y).getResult();
    case BinaryOp::Mul:
      return ints ? b_.create<arith::MulIOp>(l, x, y).getResult() : b_.create<arith::MulFOp>(l, x, y).getResult();
    case BinaryOp::Div:
      // arcp: LLVM turns a division by a constant into a multiply by its
      // reciprocal (at most an ulp apart; a vdivps per vector was the
      // divider's 10+ cycles: see ApproximateMath.cpp for tanh's).
      return ints ? emitIntDivRem(l, x, y, false)
                  : b_.create<arith::DivFOp>(l, x, y,
                                             arith::FastMathFlagsAttr::get(b_.getContext(), arith::FastMathFlags::arcp))
                        .getResult();
    case BinaryOp::Rem:
      return ints ? emitIntDivRem(l, x, y, true) : b_.create<arith::RemFOp>(l, x, y).getResult();
    case BinaryOp::Lt: return compare(IP::slt, FP::OLT);
    case BinaryOp::Le: return compare(IP::sle, FP::OLE);
    case BinaryOp::Gt: return compare(IP::sgt, FP::OGT);
    case BinaryOp::Ge: return compare(IP::sge, FP::OGE);
    case BinaryOp::Eq: return compare(IP::eq, FP::OEQ);
    case BinaryOp::Ne: return compare(IP::ne, FP::UNE);
    default: return {};
    }
  }

  OpBuilder &b_;
  const std::string &file_;
};

Type elementType(OpBuilder &b, ElemType t) {
  switch (t) {
  case ElemType::F32: return b.getF32Type();
  case ElemType::BF16: return b.getBF16Type();
  case ElemType::F16: return b.getF16Type();
  case ElemType::I32: return b.getI32Type();
  }
  return {};
}

ad::InputAttr inputAttr(OpBuilder &b, const InputDecl &in) {
  SmallVector<Attribute> dims;
  for (const Dim &d : in.dims)
    dims.push_back(d.isFixed ? Attribute(b.getI64IntegerAttr(d.size))
                             : Attribute(b.getStringAttr(d.name)));
  return ad::InputAttr::get(b.getContext(), b.getStringAttr(in.name),
                              elementType(b, in.type), b.getArrayAttr(dims));
}

void buildKernel(OpBuilder &b, const AttentionSpec &spec, const std::string &file) {
  Location l = FileLineColLoc::get(b.getContext(), file, spec.loc.line, spec.loc.col);
  SmallVector<Attribute> inputs;
  for (const InputDecl &in : spec.inputs)
    inputs.push_back(inputAttr(b, in));
  static const ad::WeightsKind kKinds[] = {ad::WeightsKind::softmax, ad::WeightsKind::sigmoid,
                                             ad::WeightsKind::topk, ad::WeightsKind::argmax};
  auto op = b.create<ad::AttentionOp>(
      l, b.getStringAttr(spec.name), b.getArrayAttr(inputs),
      ad::WeightsKindAttr::get(b.getContext(), kKinds[static_cast<int>(spec.weights)]),
      spec.weights == WeightsKind::TopK ? b.getI64IntegerAttr(spec.topk) : IntegerAttr(),
      spec.returnLse ? b.getUnitAttr() : UnitAttr());

  OpBuilder::InsertionGuard guard(b);
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  RegionBuilder rb(b, file);

  // scale: a kernel constant.
  b.createBlock(&op.getScale());
  Value scaleValue;
  if (spec.scale.expr) {
    const Expr &e = *spec.scale.expr;
    scaleValue = rb.convert(rb.loc(e), rb.emit(e), e.type, ValueType::Float);
  } else if (spec.q().dims[3].isFixed) {
    double value = 1.0 / std::sqrt(static_cast<double>(spec.q().dims[3].size));
    scaleValue = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(static_cast<float>(value)));
  } else {
    Value d = b.create<ad::DimOp>(l, i64, b.getStringAttr(spec.q().dims[3].name));
    Value df = b.create<arith::SIToFPOp>(l, f32, d);
    scaleValue = b.create<math::RsqrtOp>(l, df);
  }
  b.create<ad::YieldOp>(l, scaleValue);

  // score: (s, b, h, i, j) -> f32.
  Block *score = b.createBlock(&op.getScore(), {}, {f32, i64, i64, i64, i64}, SmallVector<Location>(5, l));
  rb.score = score->getArgument(0);
  rb.batch = score->getArgument(1);
  rb.head = score->getArgument(2);
  rb.qPos = score->getArgument(3);
  rb.kPos = score->getArgument(4);
  Value scoreValue = rb.score;
  if (spec.score.expr) {
    const Expr &e = *spec.score.expr;
    scoreValue = rb.convert(rb.loc(e), rb.emit(e), e.type, ValueType::Float);
  }
  b.create<ad::YieldOp>(l, scoreValue);

  // mask: (b, h, i, j) -> i1.
  Block *mask = b.createBlock(&op.getMask(), {}, {i64, i64, i64, i64}, SmallVector<Location>(4, l));
  rb.score = {};
  rb.batch = mask->getArgument(0);
  rb.head = mask->getArgument(1);
  rb.qPos = mask->getArgument(2);
  rb.kPos = mask->getArgument(3);
  Value maskValue = spec.mask.expr ? rb.emit(*spec.mask.expr)
                                   : b.create<arith::ConstantOp>(l, b.getBoolAttr(true)).getResult();
  b.create<ad::YieldOp>(l, maskValue);
}

mlir::OwningOpRef<mlir::ModuleOp> buildModule(mlir::MLIRContext &context,
                                              llvm::ArrayRef<const AttentionSpec *> specs,
                                              const std::string &fileName) {
  registerAttnDialects(context);
  mlir::OpBuilder b(&context);
  auto m = mlir::ModuleOp::create(mlir::FileLineColLoc::get(&context, fileName, 1, 1));
  b.setInsertionPointToEnd(m.getBody());
  for (const AttentionSpec *spec : specs)
    buildKernel(b, *spec, fileName);
  return m;
}

} // namespace

void registerAttnDialects(mlir::MLIRContext &context) {
  context.loadDialect<mlir::attn::AttnDialect, mlir::arith::ArithDialect,
                      mlir::math::MathDialect, mlir::func::FuncDialect>();
}

mlir::OwningOpRef<mlir::ModuleOp> buildAttnModule(mlir::MLIRContext &context,
                                                  const SpecModule &module,
                                                  const std::string &fileName) {
  std::vector<const AttentionSpec *> specs;
  for (const AttentionSpec &spec : module.kernels)
    specs.push_back(&spec);
  return buildModule(context, specs, fileName);
}

mlir::OwningOpRef<mlir::ModuleOp> buildAttnModule(mlir::MLIRContext &context,
                                                  const AttentionSpec &spec,
                                                  const std::string &fileName) {
  return buildModule(context, {&spec}, fileName);
}

} // namespace attn
