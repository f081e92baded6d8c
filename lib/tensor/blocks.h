// Internal to lib/tensor/: the byte layouts of ggml's quantization blocks (as stored in GGUF
// files), the IQ4 value table, small numeric helpers shared by the quantizers, and the per-type row
// (de)quantizers that quant.cc dispatches to. Not part of the interface others code against.
//
// Bit-exactness note: ggml's reference (de)quantizers are plain C compiled without FMA
// contraction, so every .cc file implementing them starts with FATHOM_NO_FP_CONTRACT (defined
// below) after its includes; otherwise GCC/Clang would fuse `d * q - m` into one FMA with -mfma and
// results would differ from ggml's in the last bit.
#ifndef FATHOM_LIB_TENSOR_BLOCKS_H_
#define FATHOM_LIB_TENSOR_BLOCKS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

// Turns off floating-point contraction (a*b+c -> fma) for the rest of the translation unit.
#if defined(__clang__)
#define FATHOM_NO_FP_CONTRACT _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define FATHOM_NO_FP_CONTRACT _Pragma("GCC optimize(\"fp-contract=off\")")
#else
#define FATHOM_NO_FP_CONTRACT
#endif

namespace fathom::tensor_internal {

// IEEE half -> float, exact (subnormals, infinities; NaN payloads kept and made quiet, as x86's
// F16C does). Inline so that row loops can use it; F16ToF32() in quant.h is this function.
inline float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  const uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    const float mag = static_cast<float>(mant) * 0x1p-24f;  // zero or subnormal, exact
    std::memcpy(&bits, &mag, sizeof(bits));
  } else if (exp == 31) {
    bits = 0x7F800000u | (mant << 13) | (mant != 0 ? 0x00400000u : 0);
  } else {
    bits = ((exp + 112) << 23) | (mant << 13);
  }
  bits |= sign;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

inline constexpr int kQK = 32;     // elements per block of the legacy types and IQ4_NL
inline constexpr int kQK_K = 256;  // elements per super-block of the K-quants and IQ4_XS

// ---- Legacy 32-element blocks -----------------------------------------------------------------

// x = d * (q - 8), q in 0..15. qs[j] holds element j (low nibble) and j + 16 (high nibble).
struct BlockQ4_0 {
  uint16_t d;  // fp16 scale
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// x = d * q + m, q in 0..15; nibble layout as Q4_0.
struct BlockQ4_1 {
  uint16_t d;  // fp16 scale
  uint16_t m;  // fp16 minimum
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// x = d * (q - 16), q in 0..31: low 4 bits as Q4_0, bit 4 of element e is bit e of qh (LE u32).
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// x = d * q + m, q in 0..31; bits as Q5_0.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// x = d * q, q in -127..127.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Activation type: x = d * q; s = d * sum(q) (fp16).
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_1) == 36);

// ---- K-quants: 256-element super-blocks ---------------------------------------------------------

// 16 sub-blocks of 16: x = d * (scales[b] & 15) * q - dmin * (scales[b] >> 4), q in 0..3.
// Element e (half h = e / 128, r = e % 128) is bits 2*(r / 32) of qs[32*h + r % 32].
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// 16 sub-blocks of 16: x = d * (s6[b] - 32) * (q - 4 * !hbit), q in 0..3 laid out as Q2_K;
// hbit of element e (h, r as above) is bit (4*h + r / 32) of hmask[r % 32]. The 6-bit scale b has
// its low 4 bits in scales[b % 8] (b < 8: low nibble, else high nibble) and its top 2 bits at
// bit 2*(b / 4) of scales[8 + b % 4].
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// 8 sub-blocks of 32: x = d * sc[b] * q - dmin * mn[b], q in 0..15, 6-bit sc/mn packed in
// `scales` (see ScaleMinK4). Sub-block b's nibbles are the (b % 2 ? high : low) halves of
// qs[32*(b/2) .. 32*(b/2) + 31].
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// As Q4_K with a fifth bit: bit b of qh[e % 32] adds 16 to element e of sub-block b.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 16 sub-blocks of 16: x = d * scales[b] * (q - 32), q in 0..63. Element e (h = e / 128,
// r = e % 128, j = r / 32, l = r % 32): low 4 bits are the (j >= 2 ? high : low) nibble of
// ql[64*h + 32*(j % 2) + l], high 2 bits are bits 2*j of qh[32*h + l].
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// Activation type: x = d * q (float scale); bsums[b] = sum of q over elements 16b..16b+15.
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8_K) == 292);

// ---- Non-linear 4-bit ---------------------------------------------------------------------------

// x = d * kIQ4NLValues[q]; nibble layout as Q4_0.
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockIQ4_NL) == 18);

// 8 sub-blocks of 32: x = d * (ls[b] - 32) * kIQ4NLValues[q]; 6-bit ls: low 4 bits are nibble
// (b % 2) of scales_l[b / 2], high 2 bits are bits 2b of scales_h. Sub-block b's nibbles are
// qs[16b + j] (low: element j, high: element j + 16).
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

// The 16 levels of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl).
inline constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// ---- Helpers ------------------------------------------------------------------------------------

// Reads block `i` of an array of T at `base` that may not be aligned.
template <typename T>
inline T LoadBlock(const void* base, int64_t i) {
  T b;
  std::memcpy(&b, static_cast<const uint8_t*>(base) + i * static_cast<int64_t>(sizeof(T)),
              sizeof(T));
  return b;
}
template <typename T>
inline void StoreBlock(void* base, int64_t i, const T& b) {
  std::memcpy(static_cast<uint8_t*>(base) + i * static_cast<int64_t>(sizeof(T)), &b, sizeof(T));
}

// Rounds to the nearest integer, ties to even, by ggml's magic-number trick (valid for
// |v| <= 4194303; outside that range it returns the same garbage ggml does, without UB).
inline int NearestInt(float v) {
  const float shifted = v + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

// float -> int32 truncating like x86's cvttss2si (NaN and out-of-range give INT32_MIN) so that
// C casts such as (int8_t)f in ggml's C code are reproduced without undefined behaviour.
inline int32_t TruncToInt(float v) {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return INT32_MIN;
  return static_cast<int32_t>(v);
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K `scales` array: j < 4 keep them in
// the low 6 bits of bytes j and j + 4; j >= 4 keep the low 4 bits in byte j + 4 (scale: low
// nibble, min: high nibble) and the top 2 bits in the top bits of bytes j - 4 (scale) and j (min).
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  if (j < 4) {
    *sc = q[j] & 63;
    *mn = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *mn = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// The 6-bit scale of sub-block j of a Q3_K block, still biased by 32.
inline int Q3ScaleK(const uint8_t* scales, int j) {
  const int low = j < 8 ? (scales[j] & 0xF) : (scales[j - 8] >> 4);
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

// ---- Per-type row kernels (nb = number of blocks) -----------------------------------------------
// Dequantizers write nb * block_size floats; quantizers read nb * block_size floats and
// follow ggml's quantize_row_*_ref.

void DequantizeQ4_0(const void* x, float* y, int64_t nb);
void DequantizeQ4_1(const void* x, float* y, int64_t nb);
void DequantizeQ5_0(const void* x, float* y, int64_t nb);
void DequantizeQ5_1(const void* x, float* y, int64_t nb);
void DequantizeQ8_0(const void* x, float* y, int64_t nb);
void DequantizeQ8_1(const void* x, float* y, int64_t nb);
void QuantizeQ4_0(const float* x, void* y, int64_t nb);
void QuantizeQ4_1(const float* x, void* y, int64_t nb);
void QuantizeQ5_0(const float* x, void* y, int64_t nb);
void QuantizeQ5_1(const float* x, void* y, int64_t nb);
void QuantizeQ8_0(const float* x, void* y, int64_t nb);
void QuantizeQ8_1(const float* x, void* y, int64_t nb);

void DequantizeQ2_K(const void* x, float* y, int64_t nb);
void DequantizeQ3_K(const void* x, float* y, int64_t nb);
void DequantizeQ4_K(const void* x, float* y, int64_t nb);
void DequantizeQ5_K(const void* x, float* y, int64_t nb);
void DequantizeQ6_K(const void* x, float* y, int64_t nb);
void DequantizeQ8_K(const void* x, float* y, int64_t nb);
void QuantizeQ2_K(const float* x, void* y, int64_t nb);
void QuantizeQ3_K(const float* x, void* y, int64_t nb);
void QuantizeQ4_K(const float* x, void* y, int64_t nb);
void QuantizeQ5_K(const float* x, void* y, int64_t nb);
void QuantizeQ6_K(const float* x, void* y, int64_t nb);
void QuantizeQ8_K(const float* x, void* y, int64_t nb);

void DequantizeIQ4_NL(const void* x, float* y, int64_t nb);
void DequantizeIQ4_XS(const void* x, float* y, int64_t nb);
void QuantizeIQ4_NL(const float* x, void* y, int64_t nb);
void QuantizeIQ4_XS(const float* x, void* y, int64_t nb);

}  // namespace fathom::tensor_internal

#endif  // FATHOM_LIB_TENSOR_BLOCKS_H_
