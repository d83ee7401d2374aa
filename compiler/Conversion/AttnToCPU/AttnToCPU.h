//===- AttnToCPU.h - attn.attention to a CPU loop nest ----------*- C++ -*-===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_ATTNTOCPU_H
#define ATTN_CONVERSION_ATTNTOCPU_ATTNTOCPU_H

#include "attn/Signature.h"

#include "mlir/Pass/Pass.h"

#include <memory>

namespace attn {

/// `convert-attn-to-cpu`: replaces each attn.attention op by a function
/// `attn_kernel_<name>` with the kernel C ABI: one pass over the keys with a
/// running max and sum (online softmax), or a running top-K / best key, the
/// score and mask regions inlined into the key loop, vectors along the head
/// dims. No L x L buffer: a worker's scratch holds one block of scores, one
/// accumulator row and the top-K buffer. With `paths` Tiled or Rows, a
/// kernel whose path each call decides holds only that path's code, as
/// kernelSymbol(name, paths).
std::unique_ptr<mlir::Pass> createConvertAttnToCPUPass(const Schedule &schedule = {},
                                                       KernelPaths paths = KernelPaths::Both);

void registerAttnToCPUPass();

} // namespace attn

#endif // ATTN_CONVERSION_ATTNTOCPU_ATTNTOCPU_H
