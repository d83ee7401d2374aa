//===- UninstrumentedLLVM.h - LLVM headers as the libraries were built ------===//
//
// Force-included (-include) into every C++ file built with AddressSanitizer.
// Our code is instrumented, Debian's libLLVM.so / libMLIR.so are not. Built
// with ASan, LLVM's headers poison the unused tail of each BumpPtrAllocator
// slab and pad allocations with red zones; when an inline allocation in our
// code (an attribute's storage, say) starts a slab that the uninstrumented
// library then allocates from, its writes land in memory ASan believes
// poisoned: a false "use-after-poison" (found by the frontend fuzzer). Build
// the headers the way the libraries were built, without those hooks.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CMAKE_SANITIZE_UNINSTRUMENTEDLLVM_H
#define ATTN_CMAKE_SANITIZE_UNINSTRUMENTEDLLVM_H

#include "llvm/Support/Compiler.h"

#undef LLVM_ADDRESS_SANITIZER_BUILD
#define LLVM_ADDRESS_SANITIZER_BUILD 0
#define __asan_poison_memory_region(p, size) ((void)(p), (void)(size))
#define __asan_unpoison_memory_region(p, size) ((void)(p), (void)(size))

#endif
