//===- Half.h - bf16 and f16 storage conversions ----------------*- C++ -*-===//
#ifndef ATTN_RUNTIME_HALF_H
#define ATTN_RUNTIME_HALF_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace attn {

/// Round to nearest even; NaN stays NaN.
inline uint16_t floatToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (std::isnan(f))
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

inline float bf16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t floatToF16(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

inline float f16ToFloat(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<float>(h);
}

} // namespace attn

#endif // ATTN_RUNTIME_HALF_H
