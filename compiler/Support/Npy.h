//===- Npy.h - Reading and writing NumPy .npy files -------------*- C++ -*-===//
//
// Only what attnc needs: little-endian float32 ('<f4') and int32 ('<i4')
// arrays in C order, format versions 1.0, 2.0 and 3.0. Everything else
// (other dtypes, Fortran order, malformed or truncated files) is an error
// with a message, never a crash.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_SUPPORT_NPY_H
#define ATTN_SUPPORT_NPY_H

#include "compiler/Support/Expected.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn {

struct NpyArray {
  enum class DType { F32, I32 } dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<float> f32;   // when dtype == F32
  std::vector<int32_t> i32; // when dtype == I32
  int64_t numElements() const;
};

/// Parses the bytes of a .npy file; `what` names it in error messages.
Expected<NpyArray> parseNpy(const std::string &bytes, const std::string &what);
Expected<NpyArray> readNpyFile(const std::string &path);

/// Serializes a float32 array (format 1.0).
std::string serializeNpy(const std::vector<int64_t> &shape,
                         const std::vector<float> &data);
Expected<bool> writeNpyFile(const std::string &path,
                            const std::vector<int64_t> &shape,
                            const std::vector<float> &data);

} // namespace attn

#endif // ATTN_SUPPORT_NPY_H
