//===- MaskShape.h - What a mask keeps, proved on intervals -----*- C++ -*-===//
//
// Schedule choices that depend on the shape of the mask, decided on the
// checked spec before it is compiled: the mask evaluated in interval
// arithmetic (integers as [lo, hi], booleans as can-be-true / can-be-false)
// over regions of query rows and keys far from the sequence's start. Reads
// of tensors and scalars, and float values, are unknown, so an answer is
// "proved" or "not proved", never wrong about what it proves.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_FRONTEND_MASKSHAPE_H
#define ATTN_FRONTEND_MASKSHAPE_H

#include "compiler/Frontend/AST.h"

namespace attn {

/// Whether the mask (checked by Sema; null: no mask) provably keeps every
/// key from the start of the sequence up to far behind a query row, for a
/// whole q block of rows deep into a long sequence, with the sequence
/// lengths taken as equal: causal masks (with or without a bottom-right
/// offset or a kept prefix) do; windows, chunks, documents and masks whose
/// sizes come from scalars or tensors are not proved to.
bool keepsEarlierKeys(const Expr *mask);

} // namespace attn

#endif // ATTN_FRONTEND_MASKSHAPE_H
