//===- Sema.h - Semantic checks of attn specs -------------------*- C++ -*-===//
#ifndef ATTN_FRONTEND_SEMA_H
#define ATTN_FRONTEND_SEMA_H

#include "compiler/Frontend/AST.h"

#include <memory>
#include <optional>

namespace attn {

/// Checks every kernel of `module` completely (names, types, dimensions,
/// weights, outputs), reports every problem it finds, and annotates the tree.
/// Returns true when the module is valid.
bool checkSpec(SpecModule &module, DiagnosticEngine &diags);

/// A parsed and checked spec file together with its source text, so that
/// diagnostics can still be rendered later.
struct CheckedSpec {
  std::unique_ptr<SourceFile> file;
  std::unique_ptr<DiagnosticEngine> diags;
  SpecModule module;
  bool ok = false;
};

/// Parse and check in one step (what `attnc check` does).
CheckedSpec parseAndCheck(std::string fileName, std::string text);

} // namespace attn

#endif // ATTN_FRONTEND_SEMA_H
