//===- Lexer.cpp - Tokens of the attn spec language ------------------------===//
#include "compiler/Frontend/Lexer.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace attn {

const char *tokenKindName(TokenKind kind) {
  switch (kind) {
  case TokenKind::Eof: return "end of file";
  case TokenKind::Error: return "invalid token";
  case TokenKind::Ident: return "identifier";
  case TokenKind::Int: return "integer";
  case TokenKind::Float: return "number";
  case TokenKind::LBrace: return "'{'";
  case TokenKind::RBrace: return "'}'";
  case TokenKind::LBracket: return "'['";
  case TokenKind::RBracket: return "']'";
  case TokenKind::LParen: return "'('";
  case TokenKind::RParen: return "')'";
  case TokenKind::Colon: return "':'";
  case TokenKind::Comma: return "','";
  case TokenKind::Semicolon: return "';'";
  case TokenKind::Question: return "'?'";
  case TokenKind::Plus: return "'+'";
  case TokenKind::Minus: return "'-'";
  case TokenKind::Star: return "'*'";
  case TokenKind::Slash: return "'/'";
  case TokenKind::Percent: return "'%'";
  case TokenKind::Less: return "'<'";
  case TokenKind::LessEq: return "'<='";
  case TokenKind::Greater: return "'>'";
  case TokenKind::GreaterEq: return "'>='";
  case TokenKind::EqEq: return "'=='";
  case TokenKind::NotEq: return "'!='";
  case TokenKind::AndAnd: return "'&&'";
  case TokenKind::OrOr: return "'||'";
  case TokenKind::Not: return "'!'";
  }
  return "token";
}

static bool isIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
static bool isIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
static bool isDigit(char c) { return c >= '0' && c <= '9'; }

void Lexer::skipSpaceAndComments() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
        c == '\v') {
      ++pos_;
    } else if (c == '#' ||
               (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/')) {
      while (pos_ < text_.size() && text_[pos_] != '\n')
        ++pos_;
    } else {
      return;
    }
  }
}

Token Lexer::make(TokenKind kind, uint32_t start) {
  Token tok;
  tok.kind = kind;
  tok.loc = file_.locAt(start, pos_ - start);
  tok.text = text_.substr(start, pos_ - start);
  return tok;
}

Token Lexer::lexNumber(uint32_t start) {
  bool isFloat = false;
  while (pos_ < text_.size() && isDigit(text_[pos_]))
    ++pos_;
  if (pos_ < text_.size() && text_[pos_] == '.') {
    isFloat = true;
    ++pos_;
    while (pos_ < text_.size() && isDigit(text_[pos_]))
      ++pos_;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    uint32_t save = pos_++;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-'))
      ++pos_;
    if (pos_ < text_.size() && isDigit(text_[pos_])) {
      isFloat = true;
      while (pos_ < text_.size() && isDigit(text_[pos_]))
        ++pos_;
    } else {
      pos_ = save; // `2e` is the number 2 followed by the name `e`
    }
  }
  // A number glued to a name (`12ab`) is one malformed token.
  if (pos_ < text_.size() && isIdentChar(text_[pos_])) {
    while (pos_ < text_.size() && isIdentChar(text_[pos_]))
      ++pos_;
    Token bad = make(TokenKind::Error, start);
    diags_.error(bad.loc, "malformed number '" + bad.text + "'");
    return bad;
  }
  Token tok = make(isFloat ? TokenKind::Float : TokenKind::Int, start);
  errno = 0;
  if (isFloat) {
    tok.floatValue = std::strtod(tok.text.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(tok.floatValue)) {
      diags_.error(tok.loc, "number '" + tok.text + "' is too large");
      tok.kind = TokenKind::Error;
    }
  } else {
    unsigned long long v = std::strtoull(tok.text.c_str(), nullptr, 10);
    if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) {
      diags_.error(tok.loc, "integer '" + tok.text +
                                "' does not fit in 64 bits");
      tok.kind = TokenKind::Error;
    } else {
      tok.intValue = static_cast<int64_t>(v);
    }
  }
  return tok;
}

Token Lexer::next() {
  skipSpaceAndComments();
  uint32_t start = pos_;
  if (pos_ >= text_.size())
    return make(TokenKind::Eof, start);
  char c = text_[pos_];
  if (isIdentStart(c)) {
    while (pos_ < text_.size() && isIdentChar(text_[pos_]))
      ++pos_;
    return make(TokenKind::Ident, start);
  }
  if (isDigit(c) ||
      (c == '.' && pos_ + 1 < text_.size() && isDigit(text_[pos_ + 1])))
    return lexNumber(start);

  ++pos_;
  auto twoChar = [&](char second, TokenKind two, TokenKind one) {
    if (pos_ < text_.size() && text_[pos_] == second) {
      ++pos_;
      return make(two, start);
    }
    return make(one, start);
  };
  switch (c) {
  case '{': return make(TokenKind::LBrace, start);
  case '}': return make(TokenKind::RBrace, start);
  case '[': return make(TokenKind::LBracket, start);
  case ']': return make(TokenKind::RBracket, start);
  case '(': return make(TokenKind::LParen, start);
  case ')': return make(TokenKind::RParen, start);
  case ':': return make(TokenKind::Colon, start);
  case ',': return make(TokenKind::Comma, start);
  case ';': return make(TokenKind::Semicolon, start);
  case '?': return make(TokenKind::Question, start);
  case '+': return make(TokenKind::Plus, start);
  case '-': return make(TokenKind::Minus, start);
  case '*': return make(TokenKind::Star, start);
  case '/': return make(TokenKind::Slash, start);
  case '%': return make(TokenKind::Percent, start);
  case '<': return twoChar('=', TokenKind::LessEq, TokenKind::Less);
  case '>': return twoChar('=', TokenKind::GreaterEq, TokenKind::Greater);
  case '!': return twoChar('=', TokenKind::NotEq, TokenKind::Not);
  case '=':
    if (pos_ < text_.size() && text_[pos_] == '=') {
      ++pos_;
      return make(TokenKind::EqEq, start);
    }
    break;
  case '&':
    if (pos_ < text_.size() && text_[pos_] == '&') {
      ++pos_;
      return make(TokenKind::AndAnd, start);
    }
    break;
  case '|':
    if (pos_ < text_.size() && text_[pos_] == '|') {
      ++pos_;
      return make(TokenKind::OrOr, start);
    }
    break;
  default:
    break;
  }
  Token bad = make(TokenKind::Error, start);
  unsigned char uc = static_cast<unsigned char>(c);
  if (c == '=')
    diags_.error(bad.loc, "unexpected '='; use '==' to compare");
  else if (c == '&' || c == '|')
    diags_.error(bad.loc, std::string("unexpected '") + c + "'; use '" + c +
                              c + "' for logical operations");
  else if (uc >= 0x21 && uc < 0x7f)
    diags_.error(bad.loc, std::string("unexpected character '") + c + "'");
  else {
    static const char hex[] = "0123456789abcdef";
    diags_.error(bad.loc, std::string("unexpected byte 0x") + hex[uc >> 4] +
                              hex[uc & 15]);
  }
  return bad;
}

} // namespace attn
