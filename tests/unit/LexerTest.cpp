//===- LexerTest.cpp - Tokens, comments, literals and bad bytes ------------===//
#include "compiler/Frontend/Lexer.h"

#include <gtest/gtest.h>

using namespace attn;

namespace {

struct Lexed {
  std::vector<Token> tokens;
  std::vector<std::string> errors;
};

Lexed lex(const std::string &text) {
  SourceFile file("t.attn", text);
  DiagnosticEngine diags(file);
  Lexer lexer(file, diags);
  Lexed out;
  for (int n = 0; n < 1000; ++n) {
    Token t = lexer.next();
    out.tokens.push_back(t);
    if (t.kind == TokenKind::Eof)
      break;
  }
  for (const Diagnostic &d : diags.diagnostics())
    out.errors.push_back(diags.render(d));
  return out;
}

TEST(Lexer, OperatorsAndPunctuation) {
  Lexed l = lex("{ } [ ] ( ) : , ; ? + - * / % < <= > >= == != && || !");
  std::vector<TokenKind> want = {
      TokenKind::LBrace, TokenKind::RBrace, TokenKind::LBracket, TokenKind::RBracket,
      TokenKind::LParen, TokenKind::RParen, TokenKind::Colon, TokenKind::Comma,
      TokenKind::Semicolon, TokenKind::Question, TokenKind::Plus, TokenKind::Minus,
      TokenKind::Star, TokenKind::Slash, TokenKind::Percent, TokenKind::Less,
      TokenKind::LessEq, TokenKind::Greater, TokenKind::GreaterEq, TokenKind::EqEq,
      TokenKind::NotEq, TokenKind::AndAnd, TokenKind::OrOr, TokenKind::Not, TokenKind::Eof};
  ASSERT_EQ(l.tokens.size(), want.size());
  for (size_t n = 0; n < want.size(); ++n)
    EXPECT_EQ(l.tokens[n].kind, want[n]) << "token " << n;
  EXPECT_TRUE(l.errors.empty());
}

TEST(Lexer, CommentsAndPositions) {
  Lexed l = lex("# a comment\n  mask // another\n\tx");
  ASSERT_EQ(l.tokens.size(), 3u);
  EXPECT_EQ(l.tokens[0].text, "mask");
  EXPECT_EQ(l.tokens[0].loc.line, 2u);
  EXPECT_EQ(l.tokens[0].loc.col, 3u);
  EXPECT_EQ(l.tokens[1].text, "x");
  EXPECT_EQ(l.tokens[1].loc.line, 3u);
  EXPECT_EQ(l.tokens[1].loc.col, 2u);
}

TEST(Lexer, Numbers) {
  Lexed l = lex("42 1.5 .25 1e3 2.5e-2 7");
  ASSERT_EQ(l.tokens.size(), 7u);
  EXPECT_EQ(l.tokens[0].kind, TokenKind::Int);
  EXPECT_EQ(l.tokens[0].intValue, 42);
  EXPECT_EQ(l.tokens[1].kind, TokenKind::Float);
  EXPECT_DOUBLE_EQ(l.tokens[1].floatValue, 1.5);
  EXPECT_DOUBLE_EQ(l.tokens[2].floatValue, 0.25);
  EXPECT_DOUBLE_EQ(l.tokens[3].floatValue, 1000.0);
  EXPECT_DOUBLE_EQ(l.tokens[4].floatValue, 0.025);
  EXPECT_EQ(l.tokens[5].intValue, 7);
}

TEST(Lexer, LargestIntegerFits) {
  Lexed l = lex("9223372036854775807");
  EXPECT_EQ(l.tokens[0].kind, TokenKind::Int);
  EXPECT_EQ(l.tokens[0].intValue, INT64_MAX);
}

TEST(Lexer, IntegerTooLarge) {
  Lexed l = lex("99999999999999999999999");
  EXPECT_EQ(l.tokens[0].kind, TokenKind::Error);
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_NE(l.errors[0].find("t.attn:1:1: error: integer '99999999999999999999999' does not fit in 64 bits"),
            std::string::npos);
}

TEST(Lexer, FloatTooLarge) {
  Lexed l = lex("1e999");
  EXPECT_EQ(l.tokens[0].kind, TokenKind::Error);
  EXPECT_NE(l.errors.at(0).find("number '1e999' is too large"), std::string::npos);
}

TEST(Lexer, MalformedNumber) {
  Lexed l = lex("12ab");
  EXPECT_NE(l.errors.at(0).find("malformed number '12ab'"), std::string::npos);
}

TEST(Lexer, BadCharactersAndBytes) {
  EXPECT_NE(lex("a = b").errors.at(0).find("1:3: error: unexpected '='; use '==' to compare"),
            std::string::npos);
  EXPECT_NE(lex("a & b").errors.at(0).find("use '&&'"), std::string::npos);
  EXPECT_NE(lex("$").errors.at(0).find("unexpected character '$'"), std::string::npos);
  EXPECT_NE(lex(std::string("x\0y", 3)).errors.at(0).find("unexpected byte 0x00"), std::string::npos);
  EXPECT_NE(lex("\xff").errors.at(0).find("unexpected byte 0xff"), std::string::npos);
}

TEST(Lexer, CaretUnderlinesTheToken) {
  Lexed l = lex("mask: j <= 99999999999999999999999");
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_EQ(l.errors[0],
            "t.attn:1:12: error: integer '99999999999999999999999' does not fit in 64 bits\n"
            "mask: j <= 99999999999999999999999\n"
            "           ^~~~~~~~~~~~~~~~~~~~~~~\n");
}

} // namespace
