//===- Sema.cpp - Semantic checks of attn specs ----------------------------===//
#include "compiler/Frontend/Sema.h"

#include "compiler/Frontend/Parser.h"

#include <algorithm>
#include <map>
#include <set>

namespace attn {
namespace {

enum class FieldContext { Scale, Score, Mask };

const char *contextName(FieldContext c) {
  return c == FieldContext::Scale ? "scale" : c == FieldContext::Score ? "score" : "mask";
}

/// Where an expression begins: its leftmost operand's place, not its
/// operator's.
SourceLoc exprStart(const Expr &e) {
  const Expr *cur = &e;
  while (!cur->operands.empty() && cur->kind != ExprKind::Call && cur->kind != ExprKind::Index &&
         cur->operands[0]->loc.offset < cur->loc.offset)
    cur = cur->operands[0].get();
  return cur->loc;
}

bool isNumeric(ValueType t) { return t == ValueType::Int || t == ValueType::Float; }

class KernelChecker {
public:
  KernelChecker(AttentionSpec &spec, DiagnosticEngine &diags)
      : spec_(spec), diags_(diags) {}

  void check() {
    if (!orderInputs())
      return;
    checkQKV();
    checkNames();
    checkField(spec_.scale, FieldContext::Scale);
    checkField(spec_.score, FieldContext::Score);
    checkField(spec_.mask, FieldContext::Mask);
    if (spec_.weights == WeightsKind::TopK && spec_.topk < 1)
      diags_.error(spec_.topkLoc, "topk(K) needs K >= 1, got " + std::to_string(spec_.topk));
    if (spec_.returnLse && (spec_.weights == WeightsKind::Sigmoid ||
                            spec_.weights == WeightsKind::Argmax))
      diags_.error(spec_.outputsLoc,
                   std::string("output 'lse' needs softmax or topk weights, but "
                               "the weights are ") +
                       weightsKindName(spec_.weights));
  }

private:
  /// Puts q, k, v first; reports missing ones.
  bool orderInputs() {
    std::vector<InputDecl> ordered;
    bool ok = true;
    for (const char *name : {"q", "k", "v"}) {
      auto it = std::find_if(spec_.inputs.begin(), spec_.inputs.end(),
                             [&](const InputDecl &in) { return in.name == name; });
      if (it == spec_.inputs.end()) {
        diags_.error(spec_.loc, "attention '" + spec_.name + "' has no '" +
                                    name + "' input");
        ok = false;
        continue;
      }
      ordered.push_back(*it);
    }
    if (!ok)
      return false;
    for (const InputDecl &in : spec_.inputs)
      if (in.name != "q" && in.name != "k" && in.name != "v")
        ordered.push_back(in);
    spec_.inputs = std::move(ordered);
    return true;
  }

  void checkQKV() {
    qkvOk_ = true;
    for (int n = 0; n < 3; ++n) {
      const InputDecl &in = spec_.inputs[n];
      if (!isFloatElem(in.type)) {
        diags_.error(in.typeLoc, "'" + in.name + "' must be f32, bf16 or f16, not " +
                                     elemTypeName(in.type));
      }
      if (in.dims.size() != 4) {
        diags_.error(in.typeLoc,
                     "'" + in.name +
                         "' must have 4 dimensions [batch, heads, sequence, head "
                         "dim], found " + std::to_string(in.dims.size()));
        qkvOk_ = false;
      }
    }
    if (!qkvOk_)
      return;
    const InputDecl &q = spec_.q(), &k = spec_.k(), &v = spec_.v();
    auto same = [&](const InputDecl &a, int da, const InputDecl &b, int db,
                    const char *what) {
      if (a.dims[da].sameAs(b.dims[db]))
        return;
      diags_.error(b.dims[db].loc, std::string(what) + " of '" + b.name + "' (" +
                                       b.dims[db].str() + ") differs from " +
                                       what + " of '" + a.name + "' (" +
                                       a.dims[da].str() + ")");
    };
    same(q, 0, k, 0, "the batch dimension");
    same(q, 0, v, 0, "the batch dimension");
    same(k, 1, v, 1, "the head count");
    same(k, 2, v, 2, "the sequence length");
    same(q, 3, k, 3, "the head dim");
    const Dim &hq = q.dims[1], &hk = k.dims[1];
    if (hq.isFixed && hk.isFixed && hk.size > 0 && hq.size % hk.size != 0)
      diags_.error(hq.loc, "query heads (" + std::to_string(hq.size) +
                               ") must be a multiple of kv heads (" +
                               std::to_string(hk.size) + ")");
  }

  static bool isReserved(const std::string &name) {
    static const std::set<std::string> kReserved = {
        "s", "b", "h", "i", "j", "true", "false", "scale", "score", "mask", "weights", "outputs",
        "o", "lse", "attention", "f32", "bf16", "f16", "i32"};
    return kReserved.count(name) || lookupBuiltin(name).has_value();
  }

  void checkNames() {
    for (const InputDecl &in : spec_.inputs) {
      if (isReserved(in.name))
        diags_.error(in.loc, "'" + in.name + "' is a reserved name and cannot name an input");
      for (const Dim &d : in.dims) {
        if (d.isFixed) {
          if (d.size < 1)
            diags_.error(d.loc, "dimension " + d.str() + " of '" + in.name +
                                    "' must be at least 1");
          continue;
        }
        if (isReserved(d.name)) {
          diags_.error(d.loc, "'" + d.name + "' is a reserved name and cannot name a dimension");
          continue;
        }
        if (const InputDecl *other = spec_.findInput(d.name)) {
          diags_.error(d.loc, "dimension name '" + d.name +
                                  "' is also the name of an input");
          diags_.note(other->loc, "input '" + d.name + "' declared here");
          continue;
        }
        dims_.insert(d.name);
      }
    }
  }

  void checkField(ExprField &field, FieldContext ctx) {
    if (!field.expr)
      return;
    ValueType t = checkExpr(*field.expr, ctx);
    if (t == ValueType::Invalid)
      return;
    if (ctx == FieldContext::Mask && t != ValueType::Bool)
      diags_.error(exprStart(*field.expr),
                   std::string("mask must be a boolean expression, found ") +
                       valueTypeName(t));
    if (ctx != FieldContext::Mask && !isNumeric(t))
      diags_.error(exprStart(*field.expr), std::string(contextName(ctx)) +
                                        " must be a number, found " +
                                        valueTypeName(t));
  }

  ValueType fail(const Expr &e, const std::string &message) {
    diags_.error(e.kind == ExprKind::Binary || e.kind == ExprKind::Ternary ? e.loc : exprStart(e), message);
    return ValueType::Invalid;
  }

  ValueType failAt(SourceLoc loc, const std::string &message) {
    diags_.error(loc, message);
    return ValueType::Invalid;
  }

  ValueType checkName(Expr &e, FieldContext ctx) {
    static const std::map<std::string, NameRef> kVars = {
        {"s", NameRef::Score},    {"b", NameRef::Batch}, {"h", NameRef::Head},
        {"i", NameRef::QueryPos}, {"j", NameRef::KeyPos}};
    auto var = kVars.find(e.name);
    if (var != kVars.end()) {
      e.ref = var->second;
      if (ctx == FieldContext::Scale)
        return fail(e, "scale may not use '" + e.name +
                           "'; it may use numbers, dimension names and scalar inputs");
      if (e.ref == NameRef::Score && ctx == FieldContext::Mask)
        return fail(e, "the mask may not read the score 's'");
      return e.ref == NameRef::Score ? ValueType::Float : ValueType::Int;
    }
    if (dims_.count(e.name)) {
      e.ref = NameRef::Dimension;
      return ValueType::Int;
    }
    for (size_t n = 0; n < spec_.inputs.size(); ++n) {
      const InputDecl &in = spec_.inputs[n];
      if (in.name != e.name)
        continue;
      if (n < 3)
        return fail(e, "'" + e.name + "' cannot be read in an expression");
      if (!in.isScalar())
        return fail(e, "'" + e.name + "' is a tensor; read it with an index, as " +
                           e.name + "[...]");
      e.ref = NameRef::Scalar;
      e.inputIndex = static_cast<int>(n);
      return isFloatElem(in.type) ? ValueType::Float : ValueType::Int;
    }
    if (lookupBuiltin(e.name))
      return fail(e, "'" + e.name + "' is a function; call it as " + e.name + "(...)");
    return fail(e, "unknown name '" + e.name + "'");
  }

  ValueType checkIndex(Expr &e, FieldContext ctx) {
    bool operandsOk = true;
    for (size_t n = 0; n < e.operands.size(); ++n) {
      ValueType t = checkExpr(*e.operands[n], ctx);
      if (t == ValueType::Invalid) {
        operandsOk = false;
      } else if (t != ValueType::Int) {
        failAt(exprStart(*e.operands[n]), "index " + std::to_string(n) + " of '" + e.name +
                                 "' must be an integer, found " + valueTypeName(t));
        operandsOk = false;
      }
    }
    for (size_t n = 0; n < spec_.inputs.size(); ++n) {
      const InputDecl &in = spec_.inputs[n];
      if (in.name != e.name)
        continue;
      if (n < 3)
        return fail(e, "'" + e.name + "' cannot be read in an expression");
      if (in.isScalar())
        return fail(e, "'" + e.name + "' is a scalar and cannot be indexed");
      if (in.dims.size() != e.operands.size())
        return fail(e, "'" + e.name + "' has " + std::to_string(in.dims.size()) +
                           " dimension" + (in.dims.size() == 1 ? "" : "s") + ", but " +
                           std::to_string(e.operands.size()) + " ind" +
                           (e.operands.size() == 1 ? "ex is" : "ices are") + " given");
      e.inputIndex = static_cast<int>(n);
      if (!operandsOk)
        return ValueType::Invalid;
      return isFloatElem(in.type) ? ValueType::Float : ValueType::Int;
    }
    if (dims_.count(e.name))
      return fail(e, "'" + e.name + "' is a dimension and cannot be indexed");
    return fail(e, "unknown tensor '" + e.name + "'");
  }

  ValueType checkCall(Expr &e, FieldContext ctx) {
    std::optional<Builtin> fn = lookupBuiltin(e.name);
    if (!fn)
      return fail(e, "unknown function '" + e.name + "'");
    e.builtin = *fn;
    size_t arity = (*fn == Builtin::Min || *fn == Builtin::Max) ? 2 : 1;
    if (e.operands.size() != arity)
      return fail(e, "'" + e.name + "' takes " + std::to_string(arity) + " argument" +
                         (arity == 1 ? "" : "s") + ", found " +
                         std::to_string(e.operands.size()));
    bool allInt = true;
    for (ExprPtr &op : e.operands) {
      ValueType t = checkExpr(*op, ctx);
      if (t == ValueType::Invalid)
        return t;
      if (!isNumeric(t))
        return failAt(exprStart(*op), "'" + e.name + "' needs a number, found " + valueTypeName(t));
      allInt &= t == ValueType::Int;
    }
    if (*fn == Builtin::Abs || *fn == Builtin::Min || *fn == Builtin::Max)
      return allInt ? ValueType::Int : ValueType::Float;
    return ValueType::Float;
  }

  ValueType checkBinary(Expr &e, FieldContext ctx) {
    ValueType l = checkExpr(*e.operands[0], ctx);
    ValueType r = checkExpr(*e.operands[1], ctx);
    if (l == ValueType::Invalid || r == ValueType::Invalid)
      return ValueType::Invalid;
    std::string op = binaryOpSpelling(e.binaryOp);
    auto mismatch = [&](const char *need) {
      return fail(e, "operator '" + op + "' needs " + need + ", found " +
                         valueTypeName(l) + " and " + valueTypeName(r));
    };
    switch (e.binaryOp) {
    case BinaryOp::Add: case BinaryOp::Sub: case BinaryOp::Mul:
    case BinaryOp::Div: case BinaryOp::Rem:
      if (!isNumeric(l) || !isNumeric(r))
        return mismatch("numbers");
      return l == ValueType::Int && r == ValueType::Int ? ValueType::Int
                                                        : ValueType::Float;
    case BinaryOp::Lt: case BinaryOp::Le: case BinaryOp::Gt: case BinaryOp::Ge:
      if (!isNumeric(l) || !isNumeric(r))
        return mismatch("numbers");
      return ValueType::Bool;
    case BinaryOp::Eq: case BinaryOp::Ne:
      if (!(isNumeric(l) && isNumeric(r)) && !(l == ValueType::Bool && r == ValueType::Bool))
        return mismatch("two numbers or two booleans");
      return ValueType::Bool;
    case BinaryOp::And: case BinaryOp::Or:
      if (l != ValueType::Bool || r != ValueType::Bool)
        return mismatch("booleans");
      return ValueType::Bool;
    }
    return ValueType::Invalid;
  }

  ValueType checkExpr(Expr &e, FieldContext ctx) {
    e.type = computeType(e, ctx);
    return e.type;
  }

  ValueType computeType(Expr &e, FieldContext ctx) {
    switch (e.kind) {
    case ExprKind::BoolLit:
      return ValueType::Bool;
    case ExprKind::IntLit:
      return ValueType::Int;
    case ExprKind::FloatLit:
      return ValueType::Float;
    case ExprKind::Name:
      return checkName(e, ctx);
    case ExprKind::Index:
      return checkIndex(e, ctx);
    case ExprKind::Call:
      return checkCall(e, ctx);
    case ExprKind::Unary: {
      ValueType t = checkExpr(*e.operands[0], ctx);
      if (t == ValueType::Invalid)
        return t;
      if (e.unaryOp == UnaryOp::Neg && !isNumeric(t))
        return fail(e, std::string("operator '-' needs a number, found ") + valueTypeName(t));
      if (e.unaryOp == UnaryOp::Not && t != ValueType::Bool)
        return fail(e, std::string("operator '!' needs a boolean, found ") + valueTypeName(t));
      return t;
    }
    case ExprKind::Binary:
      return checkBinary(e, ctx);
    case ExprKind::Ternary: {
      ValueType c = checkExpr(*e.operands[0], ctx);
      ValueType a = checkExpr(*e.operands[1], ctx);
      ValueType b = checkExpr(*e.operands[2], ctx);
      if (c == ValueType::Invalid || a == ValueType::Invalid || b == ValueType::Invalid)
        return ValueType::Invalid;
      if (c != ValueType::Bool)
        return failAt(exprStart(*e.operands[0]), std::string("the condition of '?:' must be a boolean, found ") +
                                        valueTypeName(c));
      if (a == ValueType::Bool && b == ValueType::Bool)
        return ValueType::Bool;
      if (isNumeric(a) && isNumeric(b))
        return a == ValueType::Int && b == ValueType::Int ? ValueType::Int : ValueType::Float;
      return fail(e, std::string("the branches of '?:' have different types: ") +
                         valueTypeName(a) + " and " + valueTypeName(b));
    }
    }
    return ValueType::Invalid;
  }

  AttentionSpec &spec_;
  DiagnosticEngine &diags_;
  std::set<std::string> dims_;
  bool qkvOk_ = false;
};

} // namespace

bool checkSpec(SpecModule &module, DiagnosticEngine &diags) {
  unsigned before = diags.numErrors();
  std::map<std::string, SourceLoc> names;
  for (AttentionSpec &spec : module.kernels) {
    auto [it, inserted] = names.emplace(spec.name, spec.loc);
    if (!inserted) {
      diags.error(spec.loc, "duplicate attention '" + spec.name + "'");
      diags.note(it->second, "first defined here");
    }
    KernelChecker(spec, diags).check();
  }
  return diags.numErrors() == before;
}

CheckedSpec parseAndCheck(std::string fileName, std::string text) {
  CheckedSpec result;
  result.file = std::make_unique<SourceFile>(std::move(fileName), std::move(text));
  result.diags = std::make_unique<DiagnosticEngine>(*result.file);
  result.module = parseSpec(*result.file, *result.diags);
  if (result.diags->hasErrors())
    return result;
  if (result.module.kernels.empty()) {
    result.diags->error(result.file->locAt(0), "no 'attention' block in this file");
    return result;
  }
  result.ok = checkSpec(result.module, *result.diags);
  result.diags->sortByLocation();
  return result;
}

} // namespace attn
