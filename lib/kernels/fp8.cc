// FP8 (e4m3fn) weight kernels (see fp8.h): a scalar reference, AVX2 + F16C and AVX-512 versions.
// Products are accumulated in units of 1/256 (the fp16 form of a code is its value / 256) and the
// factor 256 goes into each block's scale: scaling by a power of two is exact in float32.
#include "kernels/fp8.h"

#include <algorithm>

#include "kernels/avx512_intrinsics.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

#define FATHOM_FP8_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))

// The fp16 bits of 8 e4m3 codes (sign-extended to int16), value / 256: shifting by 7 puts the
// magnitude bits 0-6 in fp16's bits 7-13 (exponent bias 7 vs 15 is the factor 2^8, and e4m3
// subnormals land on fp16 subnormals) and the sign in bits 14 and 15, of which 14 is cleared.
// NaN codes (magnitude 0x7F) become fp16's quiet NaN 0x7E00 with their sign, which converts to
// the reference's 0x7FC00000.
inline __m128i HalfBits(__m128i s16) {
  const __m128i h =
      _mm_and_si128(_mm_slli_epi16(s16, 7), _mm_set1_epi16(static_cast<int16_t>(0xBF80)));
  const __m128i mag = _mm_set1_epi16(0x3F80);
  const __m128i nan = _mm_cmpeq_epi16(_mm_and_si128(h, mag), mag);
  const __m128i qnan = _mm_or_si128(_mm_and_si128(h, _mm_set1_epi16(static_cast<int16_t>(0x8000))),
                                    _mm_set1_epi16(0x7E00));
  return _mm_blendv_epi8(h, qnan, nan);
}

// 8 codes as float32, value / 256.
inline __m256 Load8Scaled(const uint8_t* p) {
  return _mm256_cvtph_ps(
      HalfBits(_mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
}

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float BlockScale(const float* scales, int64_t c0) {
  return scales == nullptr ? 1.0f : scales[c0 / kFp8ScaleBlock];
}

// Columns [i, len) of a block, one at a time, in units of 1/256.
inline float TailSum(const uint8_t* w, const float* x, int64_t i, int64_t len) {
  float s = 0;
  for (; i < len; ++i) s += (F8E4M3ToF32(w[i]) * 0x1p-8f) * x[i];
  return s;
}

// 32 codes as two vectors of 16 float32, value / 256.
FATHOM_FP8_AVX512 inline void Load32Scaled(const uint8_t* p, __m512* lo, __m512* hi) {
  const __m512i s16 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  __m512i h =
      _mm512_and_si512(_mm512_slli_epi16(s16, 7), _mm512_set1_epi16(static_cast<int16_t>(0xBF80)));
  const __m512i mag = _mm512_set1_epi16(0x3F80);
  const __mmask32 nan = _mm512_cmpeq_epi16_mask(_mm512_and_si512(h, mag), mag);
  if (__builtin_expect(nan != 0, 0)) {
    const __m512i qnan =
        _mm512_or_si512(_mm512_and_si512(h, _mm512_set1_epi16(static_cast<int16_t>(0x8000))),
                        _mm512_set1_epi16(0x7E00));
    h = _mm512_mask_mov_epi16(h, nan, qnan);
  }
  *lo = _mm512_cvtph_ps(_mm512_castsi512_si256(h));
  *hi = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1));
}

FATHOM_FP8_AVX512 float DotF8E4M3ScaledAvx512(const uint8_t* w, const float* x, const float* scales,
                                              int64_t n) {
  __m512 total = _mm512_setzero_ps();
  float tail = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kFp8ScaleBlock) {
    const int64_t len = std::min(kFp8ScaleBlock, n - c0);
    const float scale = BlockScale(scales, c0) * 256.0f;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= len; i += 32) {
      __m512 lo, hi;
      Load32Scaled(w + c0 + i, &lo, &hi);
      a0 = _mm512_fmadd_ps(lo, _mm512_loadu_ps(x + c0 + i), a0);
      a1 = _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + c0 + i + 16), a1);
    }
    total = _mm512_fmadd_ps(_mm512_add_ps(a0, a1), _mm512_set1_ps(scale), total);
    if (i < len) tail += TailSum(w + c0, x + c0, i, len) * scale;
  }
  return _mm512_reduce_add_ps(total) + tail;
}

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return has;
}

}  // namespace

void DequantizeF8E4M3Simd(const uint8_t* x, float* y, int64_t n) {
  const __m256 k256 = _mm256_set1_ps(256.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(Load8Scaled(x + i), k256));
  for (; i < n; ++i) y[i] = F8E4M3ToF32(x[i]);
}

float DotF8E4M3ScaledRef(const uint8_t* w, const float* x, const float* scales, int64_t n) {
  float total = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kFp8ScaleBlock) {
    const int64_t len = std::min(kFp8ScaleBlock, n - c0);
    float s = 0;
    for (int64_t i = 0; i < len; ++i) s += F8E4M3ToF32(w[c0 + i]) * x[c0 + i];
    total += s * BlockScale(scales, c0);
  }
  return total;
}

float DotF8E4M3ScaledAvx2(const uint8_t* w, const float* x, const float* scales, int64_t n) {
  __m256 total = _mm256_setzero_ps();
  float tail = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kFp8ScaleBlock) {
    const int64_t len = std::min(kFp8ScaleBlock, n - c0);
    const float scale = BlockScale(scales, c0) * 256.0f;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= len; i += 16) {
      a0 = _mm256_fmadd_ps(Load8Scaled(w + c0 + i), _mm256_loadu_ps(x + c0 + i), a0);
      a1 = _mm256_fmadd_ps(Load8Scaled(w + c0 + i + 8), _mm256_loadu_ps(x + c0 + i + 8), a1);
    }
    total = _mm256_fmadd_ps(_mm256_add_ps(a0, a1), _mm256_set1_ps(scale), total);
    if (i < len) tail += TailSum(w + c0, x + c0, i, len) * scale;
  }
  return HorizontalSum(total) + tail;
}

float DotF8E4M3Scaled(const uint8_t* w, const float* x, const float* scales, int64_t n) {
  return CpuHasAvx512() ? DotF8E4M3ScaledAvx512(w, x, scales, n)
                        : DotF8E4M3ScaledAvx2(w, x, scales, n);
}

}  // namespace fathom
