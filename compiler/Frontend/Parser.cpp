//===- Parser.cpp - Recursive-descent parser for attn specs ----------------===//
//
//   file      := ('attention' IDENT '{' field* '}')*
//   field     := IDENT ':' value ';'?
//   value     := type                        (q, k, v and any other input)
//              | expr                        (scale, score, mask)
//              | IDENT ('(' INT ')')?        (weights)
//              | IDENT (',' IDENT)*          (outputs)
//   type      := ('f32'|'bf16'|'f16'|'i32') ('[' dim (',' dim)* ']')?
//   expr      := or ('?' expr ':' expr)?
//   or/and/equality/relational/additive/multiplicative: C precedence
//   unary     := ('-'|'!') unary | postfix
//   postfix   := IDENT '[' expr,* ']' | IDENT '(' expr,* ')' | primary
//   primary   := INT | FLOAT | IDENT | '(' expr ')'
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/Parser.h"

#include <algorithm>

namespace attn {
namespace {

struct ParseError {}; // unwinds to parseSpec after the error is reported

class Parser {
public:
  Parser(const SourceFile &file, DiagnosticEngine &diags)
      : lexer_(file, diags), diags_(diags) {}

  SpecModule parseFile() {
    SpecModule module;
    try {
      advance();
      while (tok_.kind != TokenKind::Eof)
        module.kernels.push_back(parseAttention());
    } catch (ParseError &) {
    }
    return module;
  }

private:
  void advance() {
    tok_ = lexer_.next();
    if (tok_.kind == TokenKind::Error)
      throw ParseError(); // the lexer already said what is wrong
  }

  [[noreturn]] void fail(SourceLoc loc, std::string message) {
    diags_.error(loc, std::move(message));
    throw ParseError();
  }

  [[noreturn]] void failExpected(const std::string &what) {
    std::string found = tok_.kind == TokenKind::Eof
                            ? std::string("end of file")
                            : "'" + tok_.text + "'";
    fail(tok_.loc, "expected " + what + ", found " + found);
  }

  Token expect(TokenKind kind, const std::string &what) {
    if (tok_.kind != kind)
      failExpected(what);
    Token t = tok_;
    advance();
    return t;
  }

  bool isIdent(const char *text) const {
    return tok_.kind == TokenKind::Ident && tok_.text == text;
  }

  AttentionSpec parseAttention();
  void parseField(AttentionSpec &spec, std::vector<std::pair<std::string, SourceLoc>> &seen);
  InputDecl parseType(const Token &nameTok);
  void parseWeights(AttentionSpec &spec);
  void parseOutputs(AttentionSpec &spec);

  ExprPtr parseExpr();
  ExprPtr parseBinary(int level);
  ExprPtr parseUnary();
  ExprPtr parsePostfix();
  ExprPtr finish(ExprPtr e);

  Lexer lexer_;
  DiagnosticEngine &diags_;
  Token tok_;
  unsigned nesting_ = 0;
};

AttentionSpec Parser::parseAttention() {
  if (!isIdent("attention"))
    failExpected("'attention'");
  advance();
  Token name = expect(TokenKind::Ident, "a kernel name after 'attention'");
  AttentionSpec spec;
  spec.name = name.text;
  spec.loc = name.loc;
  expect(TokenKind::LBrace, "'{'");
  std::vector<std::pair<std::string, SourceLoc>> seen;
  while (tok_.kind != TokenKind::RBrace) {
    if (tok_.kind == TokenKind::Eof)
      fail(tok_.loc, "expected '}' to close attention '" + spec.name + "'");
    parseField(spec, seen);
  }
  advance();
  return spec;
}

void Parser::parseField(AttentionSpec &spec,
                        std::vector<std::pair<std::string, SourceLoc>> &seen) {
  Token name = expect(TokenKind::Ident, "a field name");
  for (const auto &[prev, prevLoc] : seen)
    if (prev == name.text) {
      diags_.error(name.loc, "duplicate field '" + name.text + "'");
      diags_.note(prevLoc, "first defined here");
      throw ParseError();
    }
  seen.emplace_back(name.text, name.loc);
  expect(TokenKind::Colon, "':' after '" + name.text + "'");

  const std::string &f = name.text;
  if (f == "scale" || f == "score" || f == "mask") {
    ExprField &field = f == "scale" ? spec.scale : f == "score" ? spec.score : spec.mask;
    field.fieldLoc = name.loc;
    field.expr = parseExpr();
  } else if (f == "weights") {
    parseWeights(spec);
  } else if (f == "outputs") {
    parseOutputs(spec);
  } else {
    spec.inputs.push_back(parseType(name));
  }
  if (tok_.kind == TokenKind::Semicolon)
    advance();
}

InputDecl Parser::parseType(const Token &nameTok) {
  InputDecl in;
  in.name = nameTok.text;
  in.loc = nameTok.loc;
  in.typeLoc = tok_.loc;
  static const struct { const char *name; ElemType type; } kTypes[] = {
      {"f32", ElemType::F32}, {"bf16", ElemType::BF16},
      {"f16", ElemType::F16}, {"i32", ElemType::I32}};
  bool found = false;
  if (tok_.kind == TokenKind::Ident)
    for (const auto &t : kTypes)
      if (tok_.text == t.name) {
        in.type = t.type;
        found = true;
      }
  if (!found) {
    bool isInput = nameTok.text == "q" || nameTok.text == "k" || nameTok.text == "v";
    failExpected(isInput ? "an element type (f32, bf16, f16 or i32)"
                         : "an element type (f32, bf16, f16 or i32): '" +
                               nameTok.text +
                               "' is not a field (scale, score, mask, weights, "
                               "outputs), so it declares an input");
  }
  advance();
  if (tok_.kind != TokenKind::LBracket)
    return in; // a scalar input
  advance();
  while (true) {
    Dim dim;
    dim.loc = tok_.loc;
    if (tok_.kind == TokenKind::Int) {
      dim.isFixed = true;
      dim.size = tok_.intValue;
    } else if (tok_.kind == TokenKind::Ident) {
      dim.isFixed = false;
      dim.name = tok_.text;
    } else {
      failExpected("a dimension (a number or a name)");
    }
    advance();
    in.dims.push_back(dim);
    if (tok_.kind == TokenKind::RBracket)
      break;
    expect(TokenKind::Comma, "',' or ']' in the dimensions of '" + in.name + "'");
  }
  advance();
  return in;
}

void Parser::parseWeights(AttentionSpec &spec) {
  spec.weightsLoc = tok_.loc;
  if (tok_.kind != TokenKind::Ident)
    failExpected("softmax, sigmoid, topk(K) or argmax");
  const std::string w = tok_.text;
  if (w == "softmax") spec.weights = WeightsKind::Softmax;
  else if (w == "sigmoid") spec.weights = WeightsKind::Sigmoid;
  else if (w == "argmax") spec.weights = WeightsKind::Argmax;
  else if (w == "topk") spec.weights = WeightsKind::TopK;
  else
    fail(tok_.loc, "unknown weights '" + w +
                       "'; expected softmax, sigmoid, topk(K) or argmax");
  advance();
  if (spec.weights != WeightsKind::TopK)
    return;
  expect(TokenKind::LParen, "'(' after topk");
  bool negative = false;
  SourceLoc kLoc = tok_.loc;
  if (tok_.kind == TokenKind::Minus) {
    negative = true;
    advance();
  }
  Token k = expect(TokenKind::Int, "an integer K in topk(K)");
  spec.topk = negative ? -k.intValue : k.intValue;
  spec.topkLoc = kLoc;
  expect(TokenKind::RParen, "')' after topk(K");
}

void Parser::parseOutputs(AttentionSpec &spec) {
  spec.outputsLoc = tok_.loc;
  Token first = expect(TokenKind::Ident, "'o'");
  if (first.text != "o")
    fail(first.loc, "the first output must be 'o', found '" + first.text + "'");
  if (tok_.kind != TokenKind::Comma)
    return;
  advance();
  Token second = expect(TokenKind::Ident, "'lse'");
  if (second.text != "lse")
    fail(second.loc, "unknown output '" + second.text + "'; expected 'lse'");
  spec.returnLse = true;
}

ExprPtr Parser::finish(ExprPtr e) {
  unsigned depth = 0;
  for (const ExprPtr &op : e->operands)
    depth = std::max(depth, op->depth);
  e->depth = depth + 1;
  if (e->depth > kMaxExprDepth)
    fail(e->loc, "expression is nested too deeply (more than " +
                     std::to_string(kMaxExprDepth) + " levels)");
  return e;
}

ExprPtr Parser::parseExpr() {
  if (++nesting_ > kMaxExprDepth)
    fail(tok_.loc, "expression is nested too deeply (more than " +
                       std::to_string(kMaxExprDepth) + " levels)");
  ExprPtr cond = parseBinary(0);
  if (tok_.kind == TokenKind::Question) {
    auto e = std::make_unique<Expr>(ExprKind::Ternary, tok_.loc);
    advance();
    ExprPtr a = parseExpr();
    expect(TokenKind::Colon, "':' in 'c ? x : y'");
    ExprPtr b = parseExpr();
    e->operands.push_back(std::move(cond));
    e->operands.push_back(std::move(a));
    e->operands.push_back(std::move(b));
    cond = finish(std::move(e));
  }
  --nesting_;
  return cond;
}

// Precedence levels, loosest first.
static bool binaryOpAt(int level, TokenKind kind, BinaryOp &op) {
  switch (level) {
  case 0: if (kind == TokenKind::OrOr) { op = BinaryOp::Or; return true; } break;
  case 1: if (kind == TokenKind::AndAnd) { op = BinaryOp::And; return true; } break;
  case 2:
    if (kind == TokenKind::EqEq) { op = BinaryOp::Eq; return true; }
    if (kind == TokenKind::NotEq) { op = BinaryOp::Ne; return true; }
    break;
  case 3:
    if (kind == TokenKind::Less) { op = BinaryOp::Lt; return true; }
    if (kind == TokenKind::LessEq) { op = BinaryOp::Le; return true; }
    if (kind == TokenKind::Greater) { op = BinaryOp::Gt; return true; }
    if (kind == TokenKind::GreaterEq) { op = BinaryOp::Ge; return true; }
    break;
  case 4:
    if (kind == TokenKind::Plus) { op = BinaryOp::Add; return true; }
    if (kind == TokenKind::Minus) { op = BinaryOp::Sub; return true; }
    break;
  case 5:
    if (kind == TokenKind::Star) { op = BinaryOp::Mul; return true; }
    if (kind == TokenKind::Slash) { op = BinaryOp::Div; return true; }
    if (kind == TokenKind::Percent) { op = BinaryOp::Rem; return true; }
    break;
  }
  return false;
}

ExprPtr Parser::parseBinary(int level) {
  if (level == 6)
    return parseUnary();
  ExprPtr lhs = parseBinary(level + 1);
  BinaryOp op;
  while (binaryOpAt(level, tok_.kind, op)) {
    auto e = std::make_unique<Expr>(ExprKind::Binary, tok_.loc);
    e->binaryOp = op;
    advance();
    e->operands.push_back(std::move(lhs));
    e->operands.push_back(parseBinary(level + 1));
    lhs = finish(std::move(e));
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  if (tok_.kind == TokenKind::Minus || tok_.kind == TokenKind::Not) {
    if (++nesting_ > kMaxExprDepth)
      fail(tok_.loc, "expression is nested too deeply (more than " +
                         std::to_string(kMaxExprDepth) + " levels)");
    auto e = std::make_unique<Expr>(ExprKind::Unary, tok_.loc);
    e->unaryOp = tok_.kind == TokenKind::Minus ? UnaryOp::Neg : UnaryOp::Not;
    advance();
    e->operands.push_back(parseUnary());
    --nesting_;
    return finish(std::move(e));
  }
  return parsePostfix();
}

ExprPtr Parser::parsePostfix() {
  Token t = tok_;
  switch (t.kind) {
  case TokenKind::Int: {
    advance();
    auto e = std::make_unique<Expr>(ExprKind::IntLit, t.loc);
    e->intValue = t.intValue;
    return e;
  }
  case TokenKind::Float: {
    advance();
    auto e = std::make_unique<Expr>(ExprKind::FloatLit, t.loc);
    e->floatValue = t.floatValue;
    return e;
  }
  case TokenKind::LParen: {
    advance();
    ExprPtr inner = parseExpr();
    expect(TokenKind::RParen, "')'");
    return inner;
  }
  case TokenKind::Ident:
    break;
  default:
    failExpected("an expression");
  }
  advance();
  if (t.text == "true" || t.text == "false") {
    auto e = std::make_unique<Expr>(ExprKind::BoolLit, t.loc);
    e->intValue = t.text == "true";
    return e;
  }
  TokenKind open = tok_.kind;
  if (open != TokenKind::LBracket && open != TokenKind::LParen) {
    auto e = std::make_unique<Expr>(ExprKind::Name, t.loc);
    e->name = t.text;
    return e;
  }
  bool isIndex = open == TokenKind::LBracket;
  auto e = std::make_unique<Expr>(isIndex ? ExprKind::Index : ExprKind::Call, t.loc);
  e->name = t.text;
  TokenKind close = isIndex ? TokenKind::RBracket : TokenKind::RParen;
  advance();
  if (tok_.kind != close || isIndex) {
    while (true) {
      e->operands.push_back(parseExpr());
      if (tok_.kind == close)
        break;
      expect(TokenKind::Comma, isIndex ? "',' or ']'" : "',' or ')'");
    }
  }
  advance();
  return finish(std::move(e));
}

} // namespace

SpecModule parseSpec(const SourceFile &file, DiagnosticEngine &diags) {
  return Parser(file, diags).parseFile();
}

} // namespace attn
