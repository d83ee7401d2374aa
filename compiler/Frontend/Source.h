//===- Source.h - Source files, locations and diagnostics -------*- C++ -*-===//
//
// A spec file held in memory, positions inside it, and a diagnostic engine
// that prints `file:line:col: error: message`, the source line and a caret.
// Pure C++: the frontend has no MLIR or LLVM dependency.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_FRONTEND_SOURCE_H
#define ATTN_FRONTEND_SOURCE_H

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace attn {

/// A position in a source file: 1-based line and column, byte offset and the
/// length of the range the diagnostic underlines.
struct SourceLoc {
  uint32_t line = 0;
  uint32_t col = 0;
  uint32_t offset = 0;
  uint32_t length = 1;
  bool isValid() const { return line != 0; }
};

class SourceFile {
public:
  SourceFile(std::string name, std::string text);
  const std::string &name() const { return name_; }
  const std::string &text() const { return text_; }
  /// The text of 1-based line `line`, without its newline.
  std::string lineText(uint32_t line) const;
  SourceLoc locAt(uint32_t offset, uint32_t length = 1) const;

private:
  std::string name_;
  std::string text_;
  std::vector<uint32_t> lineStarts_;
};

enum class Severity { Error, Note };

struct Diagnostic {
  Severity severity;
  SourceLoc loc;
  std::string message;
};

/// Collects diagnostics; printing is separate so tests can inspect them.
class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceFile &file) : file_(file) {}
  void error(SourceLoc loc, std::string message);
  void note(SourceLoc loc, std::string message);
  bool hasErrors() const { return numErrors_ != 0; }
  unsigned numErrors() const { return numErrors_; }
  const std::vector<Diagnostic> &diagnostics() const { return diags_; }
  /// Renders one diagnostic with its source line and caret.
  std::string render(const Diagnostic &diag) const;
  void print(std::ostream &os) const;
  /// Orders errors (each with the notes after it) by their place in the file.
  void sortByLocation();
  const SourceFile &file() const { return file_; }

private:
  const SourceFile &file_;
  std::vector<Diagnostic> diags_;
  unsigned numErrors_ = 0;
};

} // namespace attn

#endif // ATTN_FRONTEND_SOURCE_H
