//===- Lexer.h - Tokens of the attn spec language ---------------*- C++ -*-===//
#ifndef ATTN_FRONTEND_LEXER_H
#define ATTN_FRONTEND_LEXER_H

#include "compiler/Frontend/Source.h"

#include <cstdint>
#include <string>

namespace attn {

enum class TokenKind {
  Eof,
  Error, // a malformed token, already diagnosed
  Ident,
  Int,
  Float,
  LBrace, RBrace, LBracket, RBracket, LParen, RParen,
  Colon, Comma, Semicolon, Question,
  Plus, Minus, Star, Slash, Percent,
  Less, LessEq, Greater, GreaterEq, EqEq, NotEq,
  AndAnd, OrOr, Not,
};

/// Spelling of a token kind for messages ("'{'", "identifier", ...).
const char *tokenKindName(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::Eof;
  SourceLoc loc;
  std::string text;
  int64_t intValue = 0;
  double floatValue = 0;
};

/// Turns the bytes of a spec file into tokens. Comments run from `#` or `//`
/// to the end of the line. Any byte sequence is accepted: bad characters and
/// out-of-range literals are reported and produce an Error token.
class Lexer {
public:
  Lexer(const SourceFile &file, DiagnosticEngine &diags)
      : file_(file), text_(file.text()), diags_(diags) {}
  Token next();

private:
  void skipSpaceAndComments();
  Token lexNumber(uint32_t start);
  Token make(TokenKind kind, uint32_t start);

  const SourceFile &file_;
  const std::string &text_;
  DiagnosticEngine &diags_;
  uint32_t pos_ = 0;
};

} // namespace attn

#endif // ATTN_FRONTEND_LEXER_H
