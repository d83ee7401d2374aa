//===- AST.h - Syntax tree of an attn spec ----------------------*- C++ -*-===//
//
// The parser builds these nodes; Sema checks them and fills in the resolved
// names and types (the fields marked "set by Sema").
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_FRONTEND_AST_H
#define ATTN_FRONTEND_AST_H

#include "compiler/Frontend/Source.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attn {

enum class ElemType { F32, BF16, F16, I32 };
const char *elemTypeName(ElemType type);
inline bool isFloatElem(ElemType t) { return t != ElemType::I32; }

/// One dimension of a declared tensor: a number fixed at compile time or a
/// name bound from the arguments at call time.
struct Dim {
  bool isFixed = true;
  int64_t size = 0;
  std::string name;
  SourceLoc loc;
  std::string str() const { return isFixed ? std::to_string(size) : name; }
  bool sameAs(const Dim &o) const {
    return isFixed == o.isFixed && (isFixed ? size == o.size : name == o.name);
  }
};

/// `q: bf16[B, 16, L, 256]`, `slopes: f32[8]` or the scalar `window: i32`.
struct InputDecl {
  std::string name;
  ElemType type = ElemType::F32;
  std::vector<Dim> dims; // empty for a scalar
  bool isScalar() const { return dims.empty(); }
  SourceLoc loc;     // the name
  SourceLoc typeLoc; // the element type
};

enum class ValueType { Invalid, Int, Float, Bool };
const char *valueTypeName(ValueType type);

enum class ExprKind { BoolLit, IntLit, FloatLit, Name, Index, Call, Unary, Binary, Ternary };

enum class UnaryOp { Neg, Not };
enum class BinaryOp {
  Add, Sub, Mul, Div, Rem,
  Lt, Le, Gt, Ge, Eq, Ne,
  And, Or,
};
const char *binaryOpSpelling(BinaryOp op);

enum class Builtin {
  Abs, Min, Max, Exp, Exp2, Log, Log2, Sqrt, Tanh, Sigmoid, Sin, Cos, Floor,
};
std::optional<Builtin> lookupBuiltin(const std::string &name);
const char *builtinName(Builtin fn);

/// What a name in an expression refers to (set by Sema).
enum class NameRef {
  Unresolved,
  Score,     // s
  Batch,     // b
  Head,      // h (query head)
  QueryPos,  // i
  KeyPos,    // j
  Dimension, // a dimension name such as L
  Scalar,    // a scalar input such as window
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind;
  SourceLoc loc;
  int64_t intValue = 0;       // IntLit, BoolLit (0 or 1)
  double floatValue = 0;      // FloatLit
  std::string name;           // Name, Index (tensor), Call (function)
  UnaryOp unaryOp = UnaryOp::Neg;
  BinaryOp binaryOp = BinaryOp::Add;
  std::vector<ExprPtr> operands; // children in source order
  unsigned depth = 1;            // height of this subtree, bounded by the parser

  // Set by Sema.
  ValueType type = ValueType::Invalid;
  NameRef ref = NameRef::Unresolved;
  int inputIndex = -1; // Name(Scalar) and Index: position in AttentionSpec::inputs
  Builtin builtin = Builtin::Abs;

  Expr(ExprKind kind, SourceLoc loc) : kind(kind), loc(loc) {}
};

enum class WeightsKind { Softmax, Sigmoid, TopK, Argmax };
const char *weightsKindName(WeightsKind kind);

/// A field value that is an expression, remembered with its field's place.
struct ExprField {
  ExprPtr expr;
  SourceLoc fieldLoc;
};

/// One `attention NAME { ... }` block.
struct AttentionSpec {
  std::string name;
  SourceLoc loc;
  /// After Sema: q, k, v first, then extra inputs in declaration order.
  std::vector<InputDecl> inputs;
  ExprField scale, score, mask; // expr is null where the field is absent
  WeightsKind weights = WeightsKind::Softmax;
  int64_t topk = 0;
  SourceLoc topkLoc;
  SourceLoc weightsLoc;
  bool returnLse = false;
  SourceLoc outputsLoc;

  const InputDecl &q() const { return inputs[0]; }
  const InputDecl &k() const { return inputs[1]; }
  const InputDecl &v() const { return inputs[2]; }
  const InputDecl *findInput(const std::string &name) const;
};

struct SpecModule {
  std::vector<AttentionSpec> kernels;
  const AttentionSpec *find(const std::string &name) const;
};

/// `bf16[B, 16, L, 256]`, or `i32` for a scalar.
std::string typeString(const InputDecl &in);

/// A readable, stable dump of a checked spec (`attnc emit --stage ast`).
std::string dumpAST(const SpecModule &module);
std::string dumpExpr(const Expr &expr);

} // namespace attn

#endif // ATTN_FRONTEND_AST_H
