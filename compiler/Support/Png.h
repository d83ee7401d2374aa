//===- Png.h - Writing small RGB images as PNG ------------------*- C++ -*-===//
//
// Enough PNG for a picture of a tile map: 8-bit RGB, no interlace, one IDAT
// chunk compressed by zlib (which also gives the chunks' CRC-32).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_SUPPORT_PNG_H
#define ATTN_SUPPORT_PNG_H

#include "compiler/Support/Expected.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn {

/// `rgb` holds width x height pixels, 3 bytes each, row by row.
Expected<bool> writePng(const std::string &path, int64_t width, int64_t height, const std::vector<uint8_t> &rgb);

} // namespace attn

#endif // ATTN_SUPPORT_PNG_H
