//===- NpyFuzzer.cpp - libFuzzer target: the .npy reader --------------------===//
//
// A .npy file is untrusted input to attnc. Any byte string must give an array
// or an error message; an accepted array must be self-consistent (its shape's
// product is its element count, held in the vector of its dtype) and must
// serialize and parse back to the same values.
//
//===----------------------------------------------------------------------===//
#include "compiler/Support/Npy.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace attn;

namespace {
[[noreturn]] void fail(const char *what) {
  std::fprintf(stderr, "attn npy fuzzer: %s\n", what);
  std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  Expected<NpyArray> array = parseNpy(bytes, "fuzz.npy");
  if (!array) {
    if (array.error().empty())
      fail("rejected without a message");
    return 0;
  }
  int64_t n = 1;
  for (int64_t d : array->shape) {
    if (d < 0)
      fail("negative extent accepted");
    n *= d;
  }
  if (n != array->numElements())
    fail("element count differs from the shape");
  bool isF32 = array->dtype == NpyArray::DType::F32;
  size_t held = isF32 ? array->f32.size() : array->i32.size();
  if (static_cast<int64_t>(held) != n)
    fail("data size differs from the shape");
  if (isF32 && n > 0) {
    Expected<NpyArray> again = parseNpy(serializeNpy(array->shape, array->f32), "again");
    if (!again || again->shape != array->shape ||
        std::memcmp(again->f32.data(), array->f32.data(), n * sizeof(float)) != 0)
      fail("serialize/parse round trip changed the array");
  }
  return 0;
}
