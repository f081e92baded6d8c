// Scalar conversions between float32 and the small float formats: IEEE half (F16), bfloat16
// (BF16) and float8 e4m3fn (F8_E4M3), all by bit manipulation so results do not depend on the CPU.
#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

uint32_t BitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

float FloatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// Shifts the significand `sig` right by `shift` (>= 1) bits, rounding to nearest, ties to even.
uint32_t ShiftRoundEven(uint32_t sig, int shift) {
  if (shift >= 32) return 0;  // sig < 2^24 here: far below half an output unit
  const uint32_t q = sig >> shift;
  const uint32_t rem = sig & ((uint32_t{1} << shift) - 1);
  const uint32_t half = uint32_t{1} << (shift - 1);
  return (rem > half || (rem == half && (q & 1) != 0)) ? q + 1 : q;
}

}  // namespace

float F16ToF32(uint16_t h) { return tensor_internal::HalfToFloat(h); }

uint16_t F32ToF16(float f) {
  const uint32_t u = BitsOf(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint32_t abs = u & 0x7FFFFFFF;
  if (abs > 0x7F800000) {  // NaN: quiet, top payload bits kept
    return static_cast<uint16_t>(sign | 0x7E00 | ((abs >> 13) & 0x3FF));
  }
  const int exp = static_cast<int>(abs >> 23) - 127;  // unbiased; -127 for f32 zero/subnormal
  const uint32_t mant = abs & 0x7FFFFF;
  if (exp >= 16) return static_cast<uint16_t>(sign | 0x7C00);  // too large, or inf
  if (exp >= -14) {
    // Normal half (rounding may carry into the exponent, up to inf: both are right).
    const uint32_t q = (static_cast<uint32_t>(exp + 15) << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1FFF;
    const uint32_t r = (rem > 0x1000 || (rem == 0x1000 && (q & 1) != 0)) ? q + 1 : q;
    return static_cast<uint16_t>(sign | r);
  }
  if (abs < 0x00800000) return sign;  // f32 zero or subnormal: below half the smallest half
  // Subnormal half, in units of 2^-24: the 24-bit significand times 2^(exp - 23 + 24), i.e.
  // shifted right by -(exp + 1) >= 14 bits.
  const uint32_t sig = mant | 0x800000;
  return static_cast<uint16_t>(sign | ShiftRoundEven(sig, -(exp + 1)));
}

float BF16ToF32(uint16_t h) { return FloatOf(static_cast<uint32_t>(h) << 16); }

uint16_t F32ToBF16(float f) {
  const uint32_t u = BitsOf(f);
  if ((u & 0x7FFFFFFF) > 0x7F800000) {
    return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN: truncate, force quiet (as ggml)
  }
  return static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

float F8E4M3ToF32(uint8_t v) {
  const uint32_t sign = static_cast<uint32_t>(v & 0x80) << 24;
  const uint32_t exp = (v >> 3) & 0xF;
  const uint32_t mant = v & 0x7;
  if (exp == 15 && mant == 7) return FloatOf(sign | 0x7FC00000u);  // the only NaN encodings
  if (exp == 0) {
    const float mag = static_cast<float>(mant) * 0x1p-9f;  // subnormal: mant * 2^-9
    return FloatOf(sign | BitsOf(mag));
  }
  return FloatOf(sign | ((exp + 120) << 23) | (mant << 20));
}

uint8_t F32ToF8E4M3(float f) {
  const uint32_t u = BitsOf(f);
  const uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80);
  const uint32_t abs = u & 0x7FFFFFFF;
  // NaN, inf, and magnitudes >= 480 (which round past 448) all become NaN, as in PyTorch.
  if (abs >= 0x43F00000) return static_cast<uint8_t>(sign | 0x7F);
  const int exp = static_cast<int>(abs >> 23) - 127;
  const uint32_t mant = abs & 0x7FFFFF;
  if (exp >= -6) {
    const uint32_t q = (static_cast<uint32_t>(exp + 7) << 3) | (mant >> 20);
    const uint32_t rem = mant & 0xFFFFF;
    const uint32_t r = (rem > 0x80000 || (rem == 0x80000 && (q & 1) != 0)) ? q + 1 : q;
    return static_cast<uint8_t>(sign | r);  // r == 0x7F (from [464, 480)) is NaN
  }
  if (abs < 0x00800000) return sign;
  // Subnormal e4m3: units of 2^-9; the 24-bit significand shifted right by (14 - exp) bits.
  return static_cast<uint8_t>(sign | ShiftRoundEven(mant | 0x800000, 14 - exp));
}

}  // namespace fathom
