//===- Parser.h - Recursive-descent parser for attn specs -------*- C++ -*-===//
#ifndef ATTN_FRONTEND_PARSER_H
#define ATTN_FRONTEND_PARSER_H

#include "compiler/Frontend/AST.h"
#include "compiler/Frontend/Lexer.h"

namespace attn {

/// Expressions deeper than this are rejected, so that no later recursive walk
/// (Sema, the interpreter, the MLIR builder) can exhaust the stack.
constexpr unsigned kMaxExprDepth = 200;

/// Parses a whole file. Stops at the first syntax error (reported through the
/// diagnostic engine); returns what it parsed so far.
SpecModule parseSpec(const SourceFile &file, DiagnosticEngine &diags);

} // namespace attn

#endif // ATTN_FRONTEND_PARSER_H
