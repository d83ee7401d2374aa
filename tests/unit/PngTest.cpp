//===- PngTest.cpp - The PNG writer's files decode to the pixels given -----===//
#include "compiler/Support/Png.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>

using namespace attn;

namespace {

uint32_t be32(const std::string &s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

TEST(Png, ChunksAndPixelsDecode) {
  std::vector<uint8_t> rgb;
  for (int n = 0; n < 3 * 2; ++n)
    rgb.insert(rgb.end(), {uint8_t(n * 40), uint8_t(255 - n), uint8_t(n)});
  std::string path = ::testing::TempDir() + "attn-png-test.png";
  ASSERT_TRUE(writePng(path, 3, 2, rgb));
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  ASSERT_EQ(file.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // Walk the chunks: every CRC must hold; collect IHDR and IDAT.
  size_t at = 8;
  std::string ihdr, idat, last;
  while (at + 12 <= file.size()) {
    uint32_t length = be32(file, at);
    std::string type = file.substr(at + 4, 4), data = file.substr(at + 8, length);
    std::string body = type + data;
    uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef *>(body.data()), uInt(body.size())));
    EXPECT_EQ(be32(file, at + 8 + length), crc) << type;
    if (type == "IHDR") ihdr = data;
    if (type == "IDAT") idat += data;
    last = type;
    at += 12 + length;
  }
  EXPECT_EQ(at, file.size());
  EXPECT_EQ(last, "IEND");
  ASSERT_EQ(ihdr.size(), 13u);
  EXPECT_EQ(be32(ihdr, 0), 3u);
  EXPECT_EQ(be32(ihdr, 4), 2u);
  EXPECT_EQ(ihdr[8], 8);  // bits per channel
  EXPECT_EQ(ihdr[9], 2);  // RGB
  std::string raw(2 * (1 + 3 * 3), '\0');
  uLongf rawSize = raw.size();
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef *>(raw.data()), &rawSize, reinterpret_cast<const Bytef *>(idat.data()),
                       idat.size()),
            Z_OK);
  ASSERT_EQ(rawSize, raw.size());
  for (int y = 0; y < 2; ++y) {
    EXPECT_EQ(raw[y * 10], 0) << "filter type none";
    for (int b = 0; b < 9; ++b)
      EXPECT_EQ(uint8_t(raw[y * 10 + 1 + b]), rgb[y * 9 + b]);
  }
}

TEST(Png, RejectsWrongSizes) {
  EXPECT_FALSE(writePng(::testing::TempDir() + "x.png", 2, 2, std::vector<uint8_t>(5)));
  EXPECT_FALSE(writePng(::testing::TempDir() + "x.png", 0, 2, {}));
  EXPECT_FALSE(writePng("/nonexistent-dir/x.png", 1, 1, {1, 2, 3}));
}

} // namespace
