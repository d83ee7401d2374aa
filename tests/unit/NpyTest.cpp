//===- NpyTest.cpp - The .npy reader rejects what it cannot read -----------===//
#include "compiler/Support/Npy.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace attn;

namespace {

std::string header(const std::string &dict, int version = 1) {
  std::string padded = dict;
  size_t prefix = version == 1 ? 10 : 12;
  padded += std::string((64 - (prefix + padded.size() + 1) % 64) % 64, ' ') + "\n";
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(version);
  out += '\0';
  size_t n = padded.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (version != 1) {
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>(n >> 24);
  }
  return out + padded;
}

std::string floats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values)
    out.append(reinterpret_cast<const char *>(&v), 4);
  return out;
}

TEST(Npy, RoundTripFloat32) {
  std::vector<float> data = {1, -2, 3.5f, 0, 7, 8};
  Expected<NpyArray> a = parseNpy(serializeNpy({2, 3}, data), "x");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->dtype, NpyArray::DType::F32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->f32, data);
}

TEST(Npy, OneDimensionalAndScalarShapes) {
  Expected<NpyArray> a = parseNpy(serializeNpy({4}, {1, 2, 3, 4}), "x");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->shape, std::vector<int64_t>{4});
  Expected<NpyArray> s = parseNpy(header("{'descr': '<f4', 'fortran_order': False, 'shape': (), }") + floats({5}), "s");
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->f32.at(0), 5.0f);
}

TEST(Npy, Int32AndVersion2) {
  int32_t v[3] = {7, -1, 42};
  std::string bytes = header("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", 2) +
                      std::string(reinterpret_cast<const char *>(v), 12);
  Expected<NpyArray> a = parseNpy(bytes, "i");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->dtype, NpyArray::DType::I32);
  EXPECT_EQ(a->i32, (std::vector<int32_t>{7, -1, 42}));
}

void expectError(const std::string &bytes, const std::string &message) {
  Expected<NpyArray> a = parseNpy(bytes, "f.npy");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find(message), std::string::npos) << a.error();
}

TEST(Npy, RejectsMalformedFiles) {
  expectError("", "not a .npy file (bad magic)");
  expectError("NUMPY\x01\x00\x00\x00\x00\x00", "bad magic");
  expectError(std::string("\x93NUMPY\x09\x00\x00\x00", 10), "unsupported .npy format version 9");
  expectError(std::string("\x93NUMPY\x01\x00\xff\x00{}", 12), "truncated header");
  expectError(header("{'descr': '<f4', 'fortran_order': False}") , "lacks");
  expectError(header("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}"), "expected ',' or '}'");
  expectError(header("['descr']"), "header is not a dict");
  expectError(header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}"), "must be True or False");
  expectError(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2)}"), "malformed 'shape'");
  expectError(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999,)}"), "malformed 'shape'");
  expectError(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"), "unexpected header key 'x'");
}

TEST(Npy, RejectsWrongDtypesAndOrder) {
  expectError(header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }") + std::string(8, '\0'),
              "unsupported dtype '<f8'; expected float32 ('<f4') or int32 ('<i4')");
  expectError(header("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }") + floats({1}),
              "unsupported dtype '>f4'");
  expectError(header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }") + floats({1, 2, 3, 4}),
              "Fortran-order arrays are not supported");
}

TEST(Npy, RejectsTruncatedAndOversizedData) {
  std::string h = header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }");
  expectError(h + floats({1, 2, 3}), "the file is truncated");
  expectError(h + floats({1, 2, 3, 4, 5}), "4 unexpected bytes after the data");
  // A shape whose element count overflows 64 bits is truncated data, not a crash.
  expectError(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }") +
                  floats({1}),
              "the file is truncated");
}

TEST(Npy, MissingFile) {
  Expected<NpyArray> a = readNpyFile("/nonexistent/dir/x.npy");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("cannot open file"), std::string::npos);
}

} // namespace

// Found by the .npy fuzzer: a zero-element array passed a null pointer to
// memcpy (undefined behaviour, reported by UBSan).
TEST(Npy, EmptyArray) {
  Expected<NpyArray> a = parseNpy(serializeNpy({0, 4}, {}), "x");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(a->numElements(), 0);
  EXPECT_TRUE(a->f32.empty());
}
