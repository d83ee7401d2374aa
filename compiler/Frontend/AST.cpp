//===- AST.cpp - Names and dumps of the syntax tree ------------------------===//
#include "compiler/Frontend/AST.h"

#include <cstdio>
#include <sstream>

namespace attn {

const char *elemTypeName(ElemType type) {
  switch (type) {
  case ElemType::F32: return "f32";
  case ElemType::BF16: return "bf16";
  case ElemType::F16: return "f16";
  case ElemType::I32: return "i32";
  }
  return "?";
}

const char *valueTypeName(ValueType type) {
  switch (type) {
  case ValueType::Invalid: return "invalid";
  case ValueType::Int: return "int";
  case ValueType::Float: return "float";
  case ValueType::Bool: return "bool";
  }
  return "?";
}

const char *binaryOpSpelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add: return "+";
  case BinaryOp::Sub: return "-";
  case BinaryOp::Mul: return "*";
  case BinaryOp::Div: return "/";
  case BinaryOp::Rem: return "%";
  case BinaryOp::Lt: return "<";
  case BinaryOp::Le: return "<=";
  case BinaryOp::Gt: return ">";
  case BinaryOp::Ge: return ">=";
  case BinaryOp::Eq: return "==";
  case BinaryOp::Ne: return "!=";
  case BinaryOp::And: return "&&";
  case BinaryOp::Or: return "||";
  }
  return "?";
}

static const struct {
  const char *name;
  Builtin fn;
} kBuiltins[] = {
    {"abs", Builtin::Abs},   {"min", Builtin::Min},         {"max", Builtin::Max},
    {"exp", Builtin::Exp},   {"exp2", Builtin::Exp2},       {"log", Builtin::Log},
    {"log2", Builtin::Log2}, {"sqrt", Builtin::Sqrt},       {"tanh", Builtin::Tanh},
    {"sigmoid", Builtin::Sigmoid}, {"sin", Builtin::Sin},   {"cos", Builtin::Cos},
    {"floor", Builtin::Floor},
};

std::optional<Builtin> lookupBuiltin(const std::string &name) {
  for (const auto &b : kBuiltins)
    if (name == b.name)
      return b.fn;
  return std::nullopt;
}

const char *builtinName(Builtin fn) {
  for (const auto &b : kBuiltins)
    if (b.fn == fn)
      return b.name;
  return "?";
}

const char *weightsKindName(WeightsKind kind) {
  switch (kind) {
  case WeightsKind::Softmax: return "softmax";
  case WeightsKind::Sigmoid: return "sigmoid";
  case WeightsKind::TopK: return "topk";
  case WeightsKind::Argmax: return "argmax";
  }
  return "?";
}

const InputDecl *AttentionSpec::findInput(const std::string &name) const {
  for (const InputDecl &in : inputs)
    if (in.name == name)
      return &in;
  return nullptr;
}

const AttentionSpec *SpecModule::find(const std::string &name) const {
  for (const AttentionSpec &k : kernels)
    if (k.name == name)
      return &k;
  return nullptr;
}

static std::string formatFloat(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos)
    s += ".0";
  return s;
}

std::string dumpExpr(const Expr &e) {
  std::string out;
  std::string type = e.type == ValueType::Invalid ? "" : std::string(":") + valueTypeName(e.type);
  switch (e.kind) {
  case ExprKind::BoolLit:
    return e.intValue ? "true" : "false";
  case ExprKind::IntLit:
    return std::to_string(e.intValue) + type;
  case ExprKind::FloatLit:
    return formatFloat(e.floatValue) + type;
  case ExprKind::Name:
    return e.name + type;
  case ExprKind::Index:
    out = "(index " + e.name;
    break;
  case ExprKind::Call:
    out = "(call " + e.name;
    break;
  case ExprKind::Unary:
    out = e.unaryOp == UnaryOp::Neg ? "(neg" : "(not";
    break;
  case ExprKind::Binary:
    out = std::string("(") + binaryOpSpelling(e.binaryOp);
    break;
  case ExprKind::Ternary:
    out = "(select";
    break;
  }
  for (const ExprPtr &op : e.operands)
    out += " " + dumpExpr(*op);
  return out + ")" + type;
}

std::string typeString(const InputDecl &in) {
  std::string s = elemTypeName(in.type);
  if (in.isScalar())
    return s;
  s += "[";
  for (size_t d = 0; d < in.dims.size(); ++d)
    s += (d ? ", " : "") + in.dims[d].str();
  return s + "]";
}

std::string dumpAST(const SpecModule &module) {
  std::ostringstream os;
  for (const AttentionSpec &k : module.kernels) {
    os << "attention " << k.name << "\n";
    for (const InputDecl &in : k.inputs)
      os << "  input " << in.name << ": " << typeString(in) << "\n";
    if (k.scale.expr)
      os << "  scale: " << dumpExpr(*k.scale.expr) << "\n";
    if (k.score.expr)
      os << "  score: " << dumpExpr(*k.score.expr) << "\n";
    if (k.mask.expr)
      os << "  mask: " << dumpExpr(*k.mask.expr) << "\n";
    os << "  weights: " << weightsKindName(k.weights);
    if (k.weights == WeightsKind::TopK)
      os << "(" << k.topk << ")";
    os << "\n  outputs: o" << (k.returnLse ? ", lse" : "") << "\n";
  }
  return os.str();
}

} // namespace attn
