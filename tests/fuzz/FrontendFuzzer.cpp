//===- FrontendFuzzer.cpp - libFuzzer target: spec text to verified IR -----===//
//
// Any byte string is a spec file to the frontend. The contract under test:
// the lexer, parser and Sema give diagnostics or a checked module, never a
// crash, a hang or undefined behaviour (this binary is built with ASan and
// UBSan); every diagnostic has a location inside the file and renders; a
// module Sema accepts lowers to attn IR that verifies and survives a
// print/parse round trip. A broken promise aborts, which libFuzzer reports
// with the input that did it.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/ASTToAttn.h"
#include "compiler/Frontend/Sema.h"
#include "compiler/Frontend/SpecSignature.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

using namespace attn;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail) {
  std::fprintf(stderr, "attn frontend fuzzer: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void checkDiagnostics(const CheckedSpec &spec) {
  const std::string &text = spec.file->text();
  for (const Diagnostic &d : spec.diags->diagnostics()) {
    if (!d.loc.isValid() || d.loc.offset > text.size() || d.message.empty())
      fail("diagnostic without a valid location or message", d.message);
    std::string rendered = spec.diags->render(d);
    if (rendered.find(spec.file->name() + ":") != 0)
      fail("diagnostic does not start with file:line:col", rendered);
  }
  if (!spec.ok && !spec.diags->hasErrors())
    fail("spec rejected without an error", text);
}

void lowerAndRoundTrip(const CheckedSpec &spec) {
  mlir::MLIRContext context;
  registerAttnDialects(context);
  context.allowUnregisteredDialects(false);
  // Diagnostics of the IR go to the fuzzer log, not to abort paths.
  mlir::OwningOpRef<mlir::ModuleOp> module =
      buildAttnModule(context, spec.module, spec.file->name());
  std::string printed;
  llvm::raw_string_ostream os(printed);
  if (!module || mlir::failed(mlir::verify(*module))) {
    if (module)
      module->print(os);
    fail("a spec Sema accepted lowered to IR that does not verify",
         spec.file->text() + "\n" + printed);
  }
  module->print(os);
  mlir::OwningOpRef<mlir::ModuleOp> reparsed =
      mlir::parseSourceString<mlir::ModuleOp>(printed, &context);
  if (!reparsed || mlir::failed(mlir::verify(*reparsed)))
    fail("printed attn IR does not parse back", printed);
  for (const auto &kernel : spec.module.kernels)
    (void)signatureOf(kernel);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  CheckedSpec spec = parseAndCheck("fuzz.attn", text);
  checkDiagnostics(spec);
  std::ostringstream sink;
  spec.diags->print(sink);
  if (spec.ok)
    lowerAndRoundTrip(spec);
  return 0;
}
