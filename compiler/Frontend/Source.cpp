//===- Source.cpp - Source files and diagnostics ---------------------------===//
#include "compiler/Frontend/Source.h"

#include <algorithm>
#include <ostream>

namespace attn {

SourceFile::SourceFile(std::string name, std::string text)
    : name_(std::move(name)), text_(std::move(text)) {
  lineStarts_.push_back(0);
  for (uint32_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n')
      lineStarts_.push_back(i + 1);
}

std::string SourceFile::lineText(uint32_t line) const {
  if (line == 0 || line > lineStarts_.size())
    return {};
  uint32_t begin = lineStarts_[line - 1];
  uint32_t end = line < lineStarts_.size() ? lineStarts_[line] - 1
                                           : static_cast<uint32_t>(text_.size());
  if (end > begin && text_[end - 1] == '\r')
    --end;
  return text_.substr(begin, end - begin);
}

SourceLoc SourceFile::locAt(uint32_t offset, uint32_t length) const {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text_.size()));
  auto it = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), offset);
  uint32_t line = static_cast<uint32_t>(it - lineStarts_.begin());
  SourceLoc loc;
  loc.line = line;
  loc.col = offset - lineStarts_[line - 1] + 1;
  loc.offset = offset;
  loc.length = std::max<uint32_t>(length, 1);
  return loc;
}

void DiagnosticEngine::error(SourceLoc loc, std::string message) {
  diags_.push_back({Severity::Error, loc, std::move(message)});
  ++numErrors_;
}

void DiagnosticEngine::note(SourceLoc loc, std::string message) {
  diags_.push_back({Severity::Note, loc, std::move(message)});
}

std::string DiagnosticEngine::render(const Diagnostic &diag) const {
  std::string out = file_.name();
  if (diag.loc.isValid())
    out += ":" + std::to_string(diag.loc.line) + ":" +
           std::to_string(diag.loc.col);
  out += diag.severity == Severity::Error ? ": error: " : ": note: ";
  out += diag.message;
  out += '\n';
  if (!diag.loc.isValid())
    return out;
  // Show the line with control characters made visible, then a caret under
  // the range; tabs are kept in the caret line so columns line up.
  std::string line = file_.lineText(diag.loc.line);
  std::string shown, caret;
  for (char c : line)
    shown += (static_cast<unsigned char>(c) < 0x20 && c != '\t') ? '?' : c;
  for (uint32_t i = 1; i < diag.loc.col && i <= line.size(); ++i)
    caret += line[i - 1] == '\t' ? '\t' : ' ';
  caret += '^';
  uint32_t room = line.size() >= diag.loc.col ? line.size() - diag.loc.col : 0;
  caret += std::string(std::min(diag.loc.length - 1, room), '~');
  out += shown + '\n' + caret + '\n';
  return out;
}

void DiagnosticEngine::sortByLocation() {
  std::vector<std::vector<Diagnostic>> groups;
  for (Diagnostic &d : diags_) {
    if (d.severity == Severity::Error || groups.empty())
      groups.emplace_back();
    groups.back().push_back(std::move(d));
  }
  std::stable_sort(groups.begin(), groups.end(), [](const auto &a, const auto &b) {
    return a.front().loc.offset < b.front().loc.offset;
  });
  diags_.clear();
  for (auto &g : groups)
    for (Diagnostic &d : g)
      diags_.push_back(std::move(d));
}

void DiagnosticEngine::print(std::ostream &os) const {
  for (const Diagnostic &d : diags_)
    os << render(d);
}

} // namespace attn
