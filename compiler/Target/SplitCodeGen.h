//===- SplitCodeGen.h - One module's machine code on several threads -*- C++ -*-===//
//
// LLVM generates a function's machine code on one thread, and for a kernel
// that is most of a cold compile. A kernel's tiled path comes as several
// functions (OutlineRegions.h), so its module can be split as LLVM's own
// parallel code generation for LTO splits one: each part a module of
// some functions' definitions and the others' declarations, optimized and
// generated in a context of its own on a thread of its own, the objects
// linked when the JIT loads them. The optimization is function passes only
// (optimizeModule), so it is split too: before, it was a serial third of
// the tiled path's LLVM time.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TARGET_SPLITCODEGEN_H
#define ATTN_TARGET_SPLITCODEGEN_H

#include "compiler/Support/Expected.h"

#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <string>
#include <vector>

namespace attn {

/// ELF objects holding `module`'s code, optimized (optimizeModule) on the
/// way: one, or, where `parts` > 1 and the module defines more than one
/// function, one per part, the functions dealt to the parts largest first,
/// each to the part with the fewest instructions yet, and optimized and
/// generated at once on that many threads (this one among them). Functions
/// of internal linkage become hidden globals, so the parts can call each
/// other; `module` is changed (it becomes the first part, optimized).
Expected<std::vector<std::string>> optimizeAndEmitObjects(llvm::Module &module, llvm::TargetMachine &tm,
                                                          unsigned parts);

} // namespace attn

#endif // ATTN_TARGET_SPLITCODEGEN_H
