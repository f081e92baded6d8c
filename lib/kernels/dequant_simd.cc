// AVX2 dequantizers for F16, BF16, F8_E4M3 (kernels/fp8), Q8_0, Q4_0, Q4_K and Q6_K (see
// dequant_simd.h). Every value is computed with exactly the scalar reference's operations (d * q,
// or d1 * q - m1), so results are bit-identical; CMake compiles this file with -ffp-contract=off
// for that reason.
#include "kernels/dequant_simd.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/fp8.h"

namespace fathom {
namespace {

constexpr int64_t kQK = 32;
constexpr int64_t kQK_K = 256;

inline float Half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// 8 signed bytes -> 8 floats.
inline __m256 I8x8ToF32(const uint8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// 8 bytes (values 0..255 already reduced to the wanted range as int32) helper.
inline __m256 U8x8ToF32(__m128i bytes8) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes8)); }

void DequantF16(const uint8_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 2 * i))));
  }
  for (; i < n; ++i) y[i] = Half(x + 2 * i);
}

void DequantBF16(const uint8_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i w =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 2 * i)));
    _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, x + 2 * i, 2);
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    std::memcpy(y + i, &bits, 4);
  }
}

void DequantQ8_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 34, y += kQK) {
    const __m256 d = _mm256_set1_ps(Half(x));
    for (int j = 0; j < 4; ++j)
      _mm256_storeu_ps(y + 8 * j, _mm256_mul_ps(I8x8ToF32(x + 2 + 8 * j), d));
  }
}

void DequantQ4_0(const uint8_t* x, float* y, int64_t nb) {
  const __m128i low = _mm_set1_epi8(0x0F);
  const __m256i eight = _mm256_set1_epi32(8);
  for (int64_t b = 0; b < nb; ++b, x += 18, y += kQK) {
    const __m256 d = _mm256_set1_ps(Half(x));
    const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 2));
    const __m128i lo = _mm_and_si128(qs, low);                     // elements 0..15
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(qs, 4), low);  // elements 16..31
    const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int j = 0; j < 4; ++j) {
      const __m256i q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[j]), eight);
      _mm256_storeu_ps(y + 8 * j, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
    }
  }
}

// Q4_K/Q5_K 6-bit scale and min of sub-block j (ggml's get_scale_min_k4).
inline void ScaleMin(int j, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void DequantQ4_K(const uint8_t* x, float* y, int64_t nb) {
  const __m128i low = _mm_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b, x += 144, y += kQK_K) {
    const float d = Half(x), dmin = Half(x + 2);
    const uint8_t* scales = x + 4;
    const uint8_t* qs = x + 16;
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      ScaleMin(sb, scales, &sc, &m);
      const __m256 d1 = _mm256_set1_ps(d * static_cast<float>(sc));
      const __m256 m1 = _mm256_set1_ps(dmin * static_cast<float>(m));
      const uint8_t* q = qs + 32 * (sb / 2);
      const int shift = 4 * (sb % 2);
      for (int half = 0; half < 2; ++half) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * half));
        v = _mm_and_si128(shift ? _mm_srli_epi16(v, 4) : v, low);
        float* out = y + 32 * sb + 16 * half;
        _mm256_storeu_ps(out, _mm256_sub_ps(_mm256_mul_ps(d1, U8x8ToF32(v)), m1));
        _mm256_storeu_ps(out + 8,
                         _mm256_sub_ps(_mm256_mul_ps(d1, U8x8ToF32(_mm_srli_si128(v, 8))), m1));
      }
    }
  }
}

void DequantQ6_K(const uint8_t* x, float* y, int64_t nb) {
  // Layout: ql[128], qh[64], scales[16] (int8), d (fp16).
  const __m128i low = _mm_set1_epi8(0x0F);
  const __m128i three = _mm_set1_epi8(3);
  const __m256i bias = _mm256_set1_epi32(32);
  for (int64_t b = 0; b < nb; ++b, x += 210, y += kQK_K) {
    const uint8_t* ql = x;
    const uint8_t* qh = x + 128;
    const int8_t* scales = reinterpret_cast<const int8_t*>(x + 192);
    const float d = Half(x + 208);
    for (int h = 0; h < 2; ++h) {
      for (int j = 0; j < 4; ++j) {             // 32-element group within this 128-half
        for (int part = 0; part < 2; ++part) {  // 16 elements each
          const int l0 = 16 * part;
          __m128i lo =
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + 64 * h + 32 * (j % 2) + l0));
          lo = j >= 2 ? _mm_and_si128(_mm_srli_epi16(lo, 4), low) : _mm_and_si128(lo, low);
          __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + 32 * h + l0));
          hi = _mm_and_si128(_mm_srli_epi16(hi, 2 * j), three);
          const __m128i q = _mm_or_si128(lo, _mm_slli_epi16(hi, 4));  // 0..63, no byte carry
          const int e0 = 128 * h + 32 * j + l0;
          // d * scale first, then times q, as the reference does; 16 elements share one scale.
          const __m256 ds = _mm256_set1_ps(d * static_cast<float>(scales[e0 / 16]));
          const __m256i q0 = _mm256_sub_epi32(_mm256_cvtepu8_epi32(q), bias);
          const __m256i q1 = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(q, 8)), bias);
          _mm256_storeu_ps(y + e0, _mm256_mul_ps(ds, _mm256_cvtepi32_ps(q0)));
          _mm256_storeu_ps(y + e0 + 8, _mm256_mul_ps(ds, _mm256_cvtepi32_ps(q1)));
        }
      }
    }
  }
}

}  // namespace

bool DequantizeSimd(DType type, const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint8_t*>(src);
  switch (type) {
    case DType::kF16:
      DequantF16(x, dst, n);
      return true;
    case DType::kBF16:
      DequantBF16(x, dst, n);
      return true;
    case DType::kF8_E4M3:
      DequantizeF8E4M3Simd(x, dst, n);
      return true;
    case DType::kQ8_0:
      if (n % kQK != 0) return false;
      DequantQ8_0(x, dst, n / kQK);
      return true;
    case DType::kQ4_0:
      if (n % kQK != 0) return false;
      DequantQ4_0(x, dst, n / kQK);
      return true;
    case DType::kQ4_K:
      if (n % kQK_K != 0) return false;
      DequantQ4_K(x, dst, n / kQK_K);
      return true;
    case DType::kQ6_K:
      if (n % kQK_K != 0) return false;
      DequantQ6_K(x, dst, n / kQK_K);
      return true;
    default:
      return false;
  }
}

}  // namespace fathom
