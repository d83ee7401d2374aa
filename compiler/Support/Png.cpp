//===- Png.cpp - Writing small RGB images as PNG ---------------------------===//
#include "compiler/Support/Png.h"

#include <zlib.h>

#include <fstream>

namespace attn {
namespace {

void putU32(std::string &out, uint32_t x) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((x >> shift) & 0xff);
}

/// length, type, data, CRC-32 of type and data.
void putChunk(std::string &out, const char *type, const std::string &data) {
  putU32(out, static_cast<uint32_t>(data.size()));
  std::string body = std::string(type, 4) + data;
  out += body;
  putU32(out, static_cast<uint32_t>(
                  crc32(0L, reinterpret_cast<const Bytef *>(body.data()), static_cast<uInt>(body.size()))));
}

} // namespace

Expected<bool> writePng(const std::string &path, int64_t width, int64_t height, const std::vector<uint8_t> &rgb) {
  if (width <= 0 || height <= 0 || width > (1 << 20) || height > (1 << 20) ||
      rgb.size() != static_cast<size_t>(width * height * 3))
    return Error{path + ": cannot write a " + std::to_string(width) + " x " + std::to_string(height) + " image"};
  // Each scanline starts with its filter type (0: none).
  std::string raw;
  raw.reserve(static_cast<size_t>(height * (width * 3 + 1)));
  for (int64_t y = 0; y < height; ++y) {
    raw += '\0';
    raw.append(reinterpret_cast<const char *>(rgb.data() + y * width * 3), static_cast<size_t>(width * 3));
  }
  uLongf packedSize = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packedSize, '\0');
  if (compress2(reinterpret_cast<Bytef *>(packed.data()), &packedSize, reinterpret_cast<const Bytef *>(raw.data()),
                static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION) != Z_OK)
    return Error{path + ": zlib could not compress the image"};
  packed.resize(packedSize);

  std::string png("\x89PNG\r\n\x1a\n", 8), header;
  putU32(header, static_cast<uint32_t>(width));
  putU32(header, static_cast<uint32_t>(height));
  header += std::string("\x08\x02\x00\x00\x00", 5); // 8 bits, RGB, deflate, adaptive filters, no interlace
  putChunk(png, "IHDR", header);
  putChunk(png, "IDAT", packed);
  putChunk(png, "IEND", "");
  std::ofstream out(path, std::ios::binary);
  if (!out.write(png.data(), static_cast<std::streamsize>(png.size())))
    return Error{path + ": cannot write the file"};
  return true;
}

} // namespace attn
