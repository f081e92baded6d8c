// Integer weight x activation dot products (see qdot.h for the exact arithmetic every version
// follows): scalar references, AVX2 (maddubs) and AVX-512 VNNI (vpdpbusd, 256-bit) versions.
// Q4_K, Q5_K and Q6_K use maddubs + madd in both (the sub-block scale fits the 16-bit multiply,
// where vpdpbusd would need a 32-bit multiply after it); their "VNNI" versions are the same code
// compiled for AVX-512VL, which gives the compiler 32 vector registers.
// Compiled without FP contraction so the scalar float steps are the same in every version.
#include "kernels/qdot.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "tensor/blocks.h"
#include "tensor/quant.h"

FATHOM_NO_FP_CONTRACT

namespace fathom {
namespace {

namespace ti = tensor_internal;
using ti::BlockIQ4_NL;
using ti::BlockIQ4_XS;
using ti::BlockQ2_K;
using ti::BlockQ3_K;
using ti::BlockQ4_0;
using ti::BlockQ4_1;
using ti::BlockQ4_K;
using ti::BlockQ5_0;
using ti::BlockQ5_1;
using ti::BlockQ5_K;
using ti::BlockQ6_K;
using ti::BlockQ8_0;
using ti::BlockQ8_K;
using ti::HalfToFloat;
using ti::kQK;
using ti::kQK_K;

#define FATHOM_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// ---- scalar references -----------------------------------------------------------------------

// Q8_0 / Q4_0 / Q5_0: block sums go to four float accumulators, b % 4.
inline float FinishLanes(const float acc[4]) { return (acc[0] + acc[1]) + (acc[2] + acc[3]); }

float DotQ8_0Ref(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ8_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(xq);
  float acc[4] = {0, 0, 0, 0};
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t isum = 0;
    for (int i = 0; i < kQK; ++i) isum += int32_t{wb[b].qs[i]} * xb[b].qs[i];
    const float d = HalfToFloat(wb[b].d) * HalfToFloat(xb[b].d);
    acc[b % 4] = std::fmaf(static_cast<float>(isum), d, acc[b % 4]);
  }
  return FinishLanes(acc);
}

float DotQ4_0Ref(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ4_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(xq);
  float acc[4] = {0, 0, 0, 0};
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t isum = 0;
    for (int i = 0; i < kQK / 2; ++i) {
      isum += ((wb[b].qs[i] & 0xF) - 8) * int32_t{xb[b].qs[i]};
      isum += ((wb[b].qs[i] >> 4) - 8) * int32_t{xb[b].qs[i + kQK / 2]};
    }
    const float d = HalfToFloat(wb[b].d) * HalfToFloat(xb[b].d);
    acc[b % 4] = std::fmaf(static_cast<float>(isum), d, acc[b % 4]);
  }
  return FinishLanes(acc);
}

// Element e of a Q5_0 block: code (nibble | bit e of qh << 4), value code - 16.
template <typename Block>
inline uint32_t Q5High(const Block& b) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  return qh;
}

float DotQ5_0Ref(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ5_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(xq);
  float acc[4] = {0, 0, 0, 0};
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint32_t qh = Q5High(wb[b]);
    int32_t isum = 0;
    for (int i = 0; i < kQK / 2; ++i) {
      const int32_t lo = static_cast<int32_t>((wb[b].qs[i] & 0xF) | (((qh >> i) & 1) << 4)) - 16;
      const int32_t hi =
          static_cast<int32_t>((wb[b].qs[i] >> 4) | (((qh >> (i + 16)) & 1) << 4)) - 16;
      isum += lo * int32_t{xb[b].qs[i]} + hi * int32_t{xb[b].qs[i + kQK / 2]};
    }
    const float d = HalfToFloat(wb[b].d) * HalfToFloat(xb[b].d);
    acc[b % 4] = std::fmaf(static_cast<float>(isum), d, acc[b % 4]);
  }
  return FinishLanes(acc);
}

// Q4_1 / Q5_1: unsigned codes (value d * code + m). Block b adds its code products and then its
// min term: acc[b % 4] = fmaf(float(isum_b), fp16(w.d) * fp16(x.d), acc[b % 4]), then
// acc[b % 4] = fmaf(float(xsum_b), fp16(w.m) * fp16(x.d), acc[b % 4]), xsum_b the sum of the
// block's activation codes; result as Q8_0's.
inline void AddMinBlock(float acc[4], int64_t b, int32_t isum, int32_t xsum, uint16_t wd,
                        uint16_t wm, uint16_t xd) {
  const float dx = HalfToFloat(xd);
  acc[b % 4] = std::fmaf(static_cast<float>(isum), HalfToFloat(wd) * dx, acc[b % 4]);
  acc[b % 4] = std::fmaf(static_cast<float>(xsum), HalfToFloat(wm) * dx, acc[b % 4]);
}

float DotQ4_1Ref(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ4_1*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(xq);
  float acc[4] = {0, 0, 0, 0};
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t isum = 0, xsum = 0;
    for (int i = 0; i < kQK / 2; ++i) {
      isum += (wb[b].qs[i] & 0xF) * int32_t{xb[b].qs[i]};
      isum += (wb[b].qs[i] >> 4) * int32_t{xb[b].qs[i + kQK / 2]};
    }
    for (int i = 0; i < kQK; ++i) xsum += xb[b].qs[i];
    AddMinBlock(acc, b, isum, xsum, wb[b].d, wb[b].m, xb[b].d);
  }
  return FinishLanes(acc);
}

float DotQ5_1Ref(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ5_1*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(xq);
  float acc[4] = {0, 0, 0, 0};
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint32_t qh = Q5High(wb[b]);
    int32_t isum = 0, xsum = 0;
    for (int i = 0; i < kQK / 2; ++i) {
      const int32_t lo = (wb[b].qs[i] & 0xF) | (((qh >> i) & 1) << 4);
      const int32_t hi = (wb[b].qs[i] >> 4) | (((qh >> (i + 16)) & 1) << 4);
      isum += lo * int32_t{xb[b].qs[i]} + hi * int32_t{xb[b].qs[i + kQK / 2]};
    }
    for (int i = 0; i < kQK; ++i) xsum += xb[b].qs[i];
    AddMinBlock(acc, b, isum, xsum, wb[b].d, wb[b].m, xb[b].d);
  }
  return FinishLanes(acc);
}

// The part of a Q4_K / Q5_K super-block that does not depend on the quants: sum of mn[j] * (sum
// of x over sub-block j), from Q8_K's bsums.
template <typename Block>
inline int32_t Q4KMinSum(const Block& w, const BlockQ8_K& x, uint8_t sc[8]) {
  int32_t msum = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    ti::ScaleMinK4(j, w.scales, &s, &m);
    sc[j] = s;
    msum += int32_t{m} * (x.bsums[2 * j] + x.bsums[2 * j + 1]);
  }
  return msum;
}

template <typename Block>
inline float Q4KFinish(float sum, const Block& w, const BlockQ8_K& x, int32_t isum, int32_t msum) {
  const float d = x.d * _cvtsh_ss(w.d);  // F16C: the same value as HalfToFloat
  const float m = x.d * _cvtsh_ss(w.dmin);
  return (sum + d * static_cast<float>(isum)) - m * static_cast<float>(msum);
}

float DotQ4_KRef(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ4_K*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(xq);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    uint8_t sc[8];
    const int32_t msum = Q4KMinSum(wb[b], xb[b], sc);
    int32_t isum = 0;
    for (int j = 0; j < 4; ++j) {
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        const uint8_t q = wb[b].qs[32 * j + l];
        lo += (q & 0xF) * int32_t{xb[b].qs[64 * j + l]};
        hi += (q >> 4) * int32_t{xb[b].qs[64 * j + 32 + l]};
      }
      isum += sc[2 * j] * lo + sc[2 * j + 1] * hi;
    }
    sum = Q4KFinish(sum, wb[b], xb[b], isum, msum);
  }
  return sum;
}

// Q5_K: Q4_K's nibbles plus bit 2j (low nibbles) or 2j + 1 (high nibbles) of qh[l] as bit 4, for
// elements 64j + l and 64j + 32 + l; the same float steps as Q4_K.
float DotQ5_KRef(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ5_K*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(xq);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    uint8_t sc[8];
    const int32_t msum = Q4KMinSum(wb[b], xb[b], sc);
    int32_t isum = 0;
    for (int j = 0; j < 4; ++j) {
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        const uint8_t q = wb[b].qs[32 * j + l], h = wb[b].qh[l];
        const int32_t q_lo = (q & 0xF) | (((h >> (2 * j)) & 1) << 4);
        const int32_t q_hi = (q >> 4) | (((h >> (2 * j + 1)) & 1) << 4);
        lo += q_lo * int32_t{xb[b].qs[64 * j + l]};
        hi += q_hi * int32_t{xb[b].qs[64 * j + 32 + l]};
      }
      isum += sc[2 * j] * lo + sc[2 * j + 1] * hi;
    }
    sum = Q4KFinish(sum, wb[b], xb[b], isum, msum);
  }
  return sum;
}

// Q2_K and Q3_K: element e = 128h + 32j + l (l < 32) has the 2-bit code (qs[32h + l] >> 2j) & 3
// and belongs to sub-block e / 16 = 8h + 2j + l / 16.
// Q2_K: value d * (sc & 15) * code - dmin * (sc >> 4) for its sub-block's scale byte sc; the same
// integer sums and float steps as Q4_K (msum from Q8_K's 16-element bsums).
float DotQ2_KRef(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ2_K*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(xq);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t isum = 0, msum = 0;
    for (int e0 = 0; e0 < kQK_K; e0 += 16) {
      int32_t part = 0;
      for (int e = e0; e < e0 + 16; ++e) {
        const int h = e / 128, j = (e % 128) / 32, l = e % 32;
        part += ((wb[b].qs[32 * h + l] >> (2 * j)) & 3) * int32_t{xb[b].qs[e]};
      }
      const uint8_t sc = wb[b].scales[e0 / 16];
      isum += (sc & 0xF) * part;
      msum += (sc >> 4) * int32_t{xb[b].bsums[e0 / 16]};
    }
    sum = Q4KFinish(sum, wb[b], xb[b], isum, msum);
  }
  return sum;
}

// Q3_K: 3-bit code u = code + 4 * (bit 4h + j of hmask[l]), value d * (s6 - 32) * (u - 4); per
// super-block isum = sum over sub-blocks of (s6 - 32) * (sum of (u - 4) * x), then Q6_K's step
// sum = sum + (x.d * fp16(w.d)) * isum.
float DotQ3_KRef(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ3_K*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(xq);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t isum = 0;
    for (int e0 = 0; e0 < kQK_K; e0 += 16) {
      int32_t part = 0;
      for (int e = e0; e < e0 + 16; ++e) {
        const int h = e / 128, j = (e % 128) / 32, l = e % 32;
        const int u =
            ((wb[b].qs[32 * h + l] >> (2 * j)) & 3) | (((wb[b].hmask[l] >> (4 * h + j)) & 1) << 2);
        part += (u - 4) * int32_t{xb[b].qs[e]};
      }
      isum += (ti::Q3ScaleK(wb[b].scales, e0 / 16) - 32) * part;
    }
    sum = sum + (xb[b].d * HalfToFloat(wb[b].d)) * static_cast<float>(isum);
  }
  return sum;
}

// IQ4_NL: Q4_0's nibble layout, element value kIQ4NLValues[nibble]; Q8_0's float steps.
float DotIQ4_NLRef(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockIQ4_NL*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(xq);
  float acc[4] = {0, 0, 0, 0};
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t isum = 0;
    for (int i = 0; i < kQK / 2; ++i) {
      isum += int32_t{ti::kIQ4NLValues[wb[b].qs[i] & 0xF]} * xb[b].qs[i];
      isum += int32_t{ti::kIQ4NLValues[wb[b].qs[i] >> 4]} * xb[b].qs[i + kQK / 2];
    }
    const float d = HalfToFloat(wb[b].d) * HalfToFloat(xb[b].d);
    acc[b % 4] = std::fmaf(static_cast<float>(isum), d, acc[b % 4]);
  }
  return FinishLanes(acc);
}

// IQ4_XS: sub-block ib (32 elements: low nibbles of qs[16ib ..], then high nibbles) has the 6-bit
// scale ls = scales_l nibble | 2 bits of scales_h << 4, value (ls - 32) * kIQ4NLValues[nibble].
// Per super-block, isum = sum over ib of (ls - 32) * (sum of value * x), then
// sum = sum + (x.d * fp16(w.d)) * isum, super-blocks in order (Q6_K's float steps).
inline int IQ4XSScale(const BlockIQ4_XS& b, int ib) {
  return (((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b.scales_h >> (2 * ib)) & 3) << 4)) -
         32;
}

float DotIQ4_XSRef(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockIQ4_XS*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(xq);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t isum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* q = wb[b].qs + 16 * ib;
      const int8_t* x = xb[b].qs + 32 * ib;
      int32_t part = 0;
      for (int j = 0; j < 16; ++j) {
        part += int32_t{ti::kIQ4NLValues[q[j] & 0xF]} * x[j];
        part += int32_t{ti::kIQ4NLValues[q[j] >> 4]} * x[j + 16];
      }
      isum += IQ4XSScale(wb[b], ib) * part;
    }
    sum = sum + (xb[b].d * HalfToFloat(wb[b].d)) * static_cast<float>(isum);
  }
  return sum;
}

// Q6_K: element e of a super-block has 6-bit code u (value u - 32) and scale sc[e / 16].
inline int32_t Q6KBiasSum(const BlockQ6_K& w, const BlockQ8_K& x) {
  int32_t s = 0;
  for (int j = 0; j < 16; ++j) s += int32_t{w.scales[j]} * x.bsums[j];
  return 32 * s;
}

float DotQ6_KRef(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const BlockQ6_K*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(xq);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ6_K& x6 = wb[b];
    int32_t isum = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = x6.ql + 64 * half;
      const uint8_t* qh = x6.qh + 32 * half;
      const int8_t* sc = x6.scales + 8 * half;
      const int8_t* y = xb[b].qs + 128 * half;
      int32_t part[8] = {};
      for (int l = 0; l < 32; ++l) {
        const int u1 = (ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4);
        const int u2 = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
        const int u3 = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
        const int u4 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        part[0 + l / 16] += u1 * y[l];
        part[2 + l / 16] += u2 * y[l + 32];
        part[4 + l / 16] += u3 * y[l + 64];
        part[6 + l / 16] += u4 * y[l + 96];
      }
      for (int k = 0; k < 8; ++k) isum += int32_t{sc[k]} * part[k];
    }
    isum -= Q6KBiasSum(x6, xb[b]);
    sum = sum + (xb[b].d * HalfToFloat(x6.d)) * static_cast<float>(isum);
  }
  return sum;
}

// ---- shared SIMD helpers --------------------------------------------------------------------

// Sums of four vectors of 8 int32 each: {sum(a), sum(b), sum(c), sum(d)}.
inline __m128i Sum4(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

inline int32_t HSum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Super-blocks whose float step is Q6_K's, sum = sum + (x.d * fp16(w.d)) * isum (Q3_K, Q6_K,
// IQ4_XS): `Sums` gives 8 int32 lanes that add up to a super-block's isum; four super-blocks are
// reduced together, then the float steps run per super-block in order.
template <typename Block, __m256i (*Sums)(const Block&, const BlockQ8_K&)>
__attribute__((always_inline)) inline float DotScaledSuperBlocks(const void* w, const void* xq,
                                                                 int64_t n) {
  const auto* wb = static_cast<const Block*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(xq);
  const int64_t nb = n / kQK_K;
  float sum = 0;
  for (int64_t b = 0; b < nb; b += 4) {
    const int64_t count = nb - b < 4 ? nb - b : 4;
    __m256i v[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256()};
    for (int64_t k = 0; k < count; ++k) v[k] = Sums(wb[b + k], xb[b + k]);
    alignas(16) int32_t isum[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(isum), Sum4(v[0], v[1], v[2], v[3]));
    for (int64_t k = 0; k < count; ++k) {
      sum = sum + (xb[b + k].d * _cvtsh_ss(wb[b + k].d)) * static_cast<float>(isum[k]);
    }
  }
  return sum;
}

// Super-blocks with a min term (Q2_K, Q4_K, Q5_K): `Sums` gives lanes adding up to isum and to
// msum; two super-blocks are reduced together (one horizontal sum for both isums and msums), then
// Q4KFinish runs per super-block in order, as in the references.
template <typename Block, void (*Sums)(const Block&, const BlockQ8_K&, __m256i*, __m256i*)>
__attribute__((always_inline)) inline float DotMinSuperBlocks(const void* w, const void* xq,
                                                              int64_t n) {
  const auto* wb = static_cast<const Block*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(xq);
  const int64_t nb = n / kQK_K;
  float sum = 0;
  for (int64_t b = 0; b < nb; b += 2) {
    const bool pair = b + 1 < nb;
    __m256i i0, m0, i1 = _mm256_setzero_si256(), m1 = _mm256_setzero_si256();
    Sums(wb[b], xb[b], &i0, &m0);
    if (pair) Sums(wb[b + 1], xb[b + 1], &i1, &m1);
    alignas(16) int32_t s[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(s), Sum4(i0, i1, m0, m1));
    sum = Q4KFinish(sum, wb[b], xb[b], s[0], s[2]);
    if (pair) sum = Q4KFinish(sum, wb[b + 1], xb[b + 1], s[1], s[3]);
  }
  return sum;
}

// Signed int8 x signed int8, 32 pairs -> 8 int32 partial sums (each of 4 products).
inline __m256i MulS8Avx2(__m256i w, __m256i x) {
  const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}
FATHOM_VNNI inline __m256i MulS8Vnni(__m256i w, __m256i x) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w),
                             _mm256_sign_epi8(x, w));
}

inline __m256i LoadQ4_0(const BlockQ4_0& b) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
  return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0F)), _mm256_set1_epi8(8));
}

inline __m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Q5_0 / Q5_1 codes 0..31: the nibbles as Q4_0's, bit e of qh as bit 4 of byte e.
template <typename Block>
inline __m256i Q5BitCodes(const Block& b) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m256i nib =
      _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
  // Byte e <- byte e / 8 of qh, then 0xFF where its bit e % 8 is set.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int32_t>(Q5High(b))),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_cmpeq_epi8(
      _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)), _mm256_set1_epi8(-1));
  return _mm256_or_si256(nib, _mm256_and_si256(bit, _mm256_set1_epi8(0x10)));
}
// Q5_0: the codes minus 16.
inline __m256i LoadQ5_0(const BlockQ5_0& b) {
  return _mm256_sub_epi8(Q5BitCodes(b), _mm256_set1_epi8(16));
}

// Q8_0 / Q4_0 / Q5_0 with 4 blocks per step; `Mul` gives the 8 partial sums of one block. Always
// inlined into its callers, so that `Mul` is inlined in the caller's target (the VNNI versions'
// vpdpbusd cannot be inlined into a function compiled without AVX-512).
template <typename WBlock, __m256i (*LoadW)(const WBlock&), __m256i (*Mul)(__m256i, __m256i)>
__attribute__((always_inline)) inline float DotBlocks32(const void* w, const void* xq, int64_t n) {
  const auto* wb = static_cast<const WBlock*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(xq);
  const int64_t nb = n / kQK;
  __m128 acc = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    const __m128i isum = Sum4(
        Mul(LoadW(wb[b]), Load32(xb[b].qs)), Mul(LoadW(wb[b + 1]), Load32(xb[b + 1].qs)),
        Mul(LoadW(wb[b + 2]), Load32(xb[b + 2].qs)), Mul(LoadW(wb[b + 3]), Load32(xb[b + 3].qs)));
    // fp16 -> f32 with F16C gives exactly HalfToFloat's values; the products are the reference's.
    const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16(
        static_cast<int16_t>(wb[b].d), static_cast<int16_t>(wb[b + 1].d),
        static_cast<int16_t>(wb[b + 2].d), static_cast<int16_t>(wb[b + 3].d), 0, 0, 0, 0));
    const __m128 dx = _mm_cvtph_ps(_mm_setr_epi16(
        static_cast<int16_t>(xb[b].d), static_cast<int16_t>(xb[b + 1].d),
        static_cast<int16_t>(xb[b + 2].d), static_cast<int16_t>(xb[b + 3].d), 0, 0, 0, 0));
    const __m128 d = _mm_mul_ps(dw, dx);
    acc = _mm_fmadd_ps(_mm_cvtepi32_ps(isum), d, acc);
  }
  float lanes[4];
  _mm_storeu_ps(lanes, acc);
  for (; b < nb; ++b) {
    const int32_t isum = HSum(Mul(LoadW(wb[b]), Load32(xb[b].qs)));
    const float d = HalfToFloat(wb[b].d) * HalfToFloat(xb[b].d);
    lanes[b % 4] = std::fmaf(static_cast<float>(isum), d, lanes[b % 4]);
  }
  return FinishLanes(lanes);
}

inline __m256i LoadQ8_0(const BlockQ8_0& b) { return Load32(b.qs); }

float DotQ8_0Avx2(const void* w, const void* x, int64_t n) {
  return DotBlocks32<BlockQ8_0, LoadQ8_0, MulS8Avx2>(w, x, n);
}
float DotQ4_0Avx2(const void* w, const void* x, int64_t n) {
  return DotBlocks32<BlockQ4_0, LoadQ4_0, MulS8Avx2>(w, x, n);
}
FATHOM_VNNI float DotQ8_0Vnni(const void* w, const void* x, int64_t n) {
  return DotBlocks32<BlockQ8_0, LoadQ8_0, MulS8Vnni>(w, x, n);
}
FATHOM_VNNI float DotQ4_0Vnni(const void* w, const void* x, int64_t n) {
  return DotBlocks32<BlockQ4_0, LoadQ4_0, MulS8Vnni>(w, x, n);
}
float DotQ5_0Avx2(const void* w, const void* x, int64_t n) {
  return DotBlocks32<BlockQ5_0, LoadQ5_0, MulS8Avx2>(w, x, n);
}
FATHOM_VNNI float DotQ5_0Vnni(const void* w, const void* x, int64_t n) {
  return DotBlocks32<BlockQ5_0, LoadQ5_0, MulS8Vnni>(w, x, n);
}

// Q2_K / Q3_K: the 16 sub-block scales (int16) of half h in both 128-bit lanes, and the pshufb
// mask that gives a product k of half h its scale (low lane: sub-block 8h + 2k, high: 2k + 1).
inline __m256i HalfScales(__m256i sc16, int h) {
  return h == 0 ? _mm256_permute4x64_epi64(sc16, 0x44) : _mm256_permute4x64_epi64(sc16, 0xEE);
}
inline __m256i PairScale(__m256i sc, int k) {
  return _mm256_shuffle_epi8(
      sc, _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * k + 1))),
                           _mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * k)))));
}

// One Q2_K super-block: 8 int32 lanes summing to isum and 8 summing to msum.
inline void Q2KBlockSums(const BlockQ2_K& w, const BlockQ8_K& x, __m256i* isum, __m256i* msum) {
  const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
  const __m128i low4 = _mm_set1_epi8(0x0F);
  const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, low4));
  const __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), low4));
  *msum = _mm256_madd_epi16(mn16, Load32(x.bsums));
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  for (int h = 0; h < 2; ++h) {
    const __m256i q = Load32(w.qs + 32 * h);
    const __m256i sc = HalfScales(sc16, h);
    for (int j = 0; j < 4; j += 2) {
      const __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
      const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j + 2), m3);
      const __m256i p0 = _mm256_maddubs_epi16(c0, Load32(x.qs + 128 * h + 32 * j));
      const __m256i p1 = _mm256_maddubs_epi16(c1, Load32(x.qs + 128 * h + 32 * j + 32));
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, PairScale(sc, j)));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, PairScale(sc, j + 1)));
    }
  }
  *isum = _mm256_add_epi32(acc0, acc1);
}

float DotQ2_KAvx2(const void* w, const void* x, int64_t n) {
  return DotMinSuperBlocks<BlockQ2_K, Q2KBlockSums>(w, x, n);
}
FATHOM_VNNI float DotQ2_KVnni(const void* w, const void* x, int64_t n) {
  return DotMinSuperBlocks<BlockQ2_K, Q2KBlockSums>(w, x, n);
}

// One Q3_K super-block: 8 int32 lanes summing to isum (the codes' offset 4 taken from the bsums).
inline __m256i Q3KBlockSums(const BlockQ3_K& w, const BlockQ8_K& x) {
  alignas(32) int16_t s[16];
  for (int k = 0; k < 16; ++k) s[k] = static_cast<int16_t>(ti::Q3ScaleK(w.scales, k) - 32);
  const __m256i sc16 = _mm256_load_si256(reinterpret_cast<const __m256i*>(s));
  const __m256i bias = _mm256_madd_epi16(sc16, Load32(x.bsums));
  __m256i acc0 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(bias, 2));
  __m256i acc1 = _mm256_setzero_si256();
  const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
  const __m256i hm = Load32(w.hmask);
  for (int h = 0; h < 2; ++h) {
    const __m256i q = Load32(w.qs + 32 * h);
    const __m256i sc = HalfScales(sc16, h);
    for (int j = 0; j < 4; ++j) {
      const __m256i hb = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one);
      const __m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3),
                                        _mm256_slli_epi16(hb, 2));
      const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, Load32(x.qs + 128 * h + 32 * j)),
                                          PairScale(sc, j));
      if (j % 2 == 0) {
        acc0 = _mm256_add_epi32(acc0, p);
      } else {
        acc1 = _mm256_add_epi32(acc1, p);
      }
    }
  }
  return _mm256_add_epi32(acc0, acc1);
}

float DotQ3_KAvx2(const void* w, const void* x, int64_t n) {
  return DotScaledSuperBlocks<BlockQ3_K, Q3KBlockSums>(w, x, n);
}
FATHOM_VNNI float DotQ3_KVnni(const void* w, const void* x, int64_t n) {
  return DotScaledSuperBlocks<BlockQ3_K, Q3KBlockSums>(w, x, n);
}

// Q4_1 / Q5_1: DotBlocks32's steps with the min term after each block's code term; the
// activation sums of four blocks come from one more horizontal reduction.
inline __m256i LoadQ4_1(const BlockQ4_1& b) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
}
inline __m256i LoadQ5_1(const BlockQ5_1& b) { return Q5BitCodes(b); }

inline __m256i ActivationSums(const BlockQ8_0& x) {
  const __m256i ones8 = _mm256_set1_epi8(1);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, Load32(x.qs)), _mm256_set1_epi16(1));
}

template <typename WBlock, __m256i (*LoadW)(const WBlock&), __m256i (*Mul)(__m256i, __m256i)>
__attribute__((always_inline)) inline float DotBlocks32Min(const void* w, const void* xq,
                                                           int64_t n) {
  const auto* wb = static_cast<const WBlock*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(xq);
  const int64_t nb = n / kQK;
  __m128 acc = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    const __m128i isum = Sum4(
        Mul(LoadW(wb[b]), Load32(xb[b].qs)), Mul(LoadW(wb[b + 1]), Load32(xb[b + 1].qs)),
        Mul(LoadW(wb[b + 2]), Load32(xb[b + 2].qs)), Mul(LoadW(wb[b + 3]), Load32(xb[b + 3].qs)));
    const __m128i xsum = Sum4(ActivationSums(xb[b]), ActivationSums(xb[b + 1]),
                              ActivationSums(xb[b + 2]), ActivationSums(xb[b + 3]));
    const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16(
        static_cast<int16_t>(wb[b].d), static_cast<int16_t>(wb[b + 1].d),
        static_cast<int16_t>(wb[b + 2].d), static_cast<int16_t>(wb[b + 3].d), 0, 0, 0, 0));
    const __m128 mw = _mm_cvtph_ps(_mm_setr_epi16(
        static_cast<int16_t>(wb[b].m), static_cast<int16_t>(wb[b + 1].m),
        static_cast<int16_t>(wb[b + 2].m), static_cast<int16_t>(wb[b + 3].m), 0, 0, 0, 0));
    const __m128 dx = _mm_cvtph_ps(_mm_setr_epi16(
        static_cast<int16_t>(xb[b].d), static_cast<int16_t>(xb[b + 1].d),
        static_cast<int16_t>(xb[b + 2].d), static_cast<int16_t>(xb[b + 3].d), 0, 0, 0, 0));
    acc = _mm_fmadd_ps(_mm_cvtepi32_ps(isum), _mm_mul_ps(dw, dx), acc);
    acc = _mm_fmadd_ps(_mm_cvtepi32_ps(xsum), _mm_mul_ps(mw, dx), acc);
  }
  float lanes[4];
  _mm_storeu_ps(lanes, acc);
  for (; b < nb; ++b) {
    AddMinBlock(lanes, b, HSum(Mul(LoadW(wb[b]), Load32(xb[b].qs))), HSum(ActivationSums(xb[b])),
                wb[b].d, wb[b].m, xb[b].d);
  }
  return FinishLanes(lanes);
}

float DotQ4_1Avx2(const void* w, const void* x, int64_t n) {
  return DotBlocks32Min<BlockQ4_1, LoadQ4_1, MulS8Avx2>(w, x, n);
}
FATHOM_VNNI float DotQ4_1Vnni(const void* w, const void* x, int64_t n) {
  return DotBlocks32Min<BlockQ4_1, LoadQ4_1, MulS8Vnni>(w, x, n);
}
float DotQ5_1Avx2(const void* w, const void* x, int64_t n) {
  return DotBlocks32Min<BlockQ5_1, LoadQ5_1, MulS8Avx2>(w, x, n);
}
FATHOM_VNNI float DotQ5_1Vnni(const void* w, const void* x, int64_t n) {
  return DotBlocks32Min<BlockQ5_1, LoadQ5_1, MulS8Vnni>(w, x, n);
}

// IQ4_NL / IQ4_XS: 16 nibbles (low, then high) looked up in the value table: 32 signed bytes.
inline __m256i IQ4Values(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i nib =
      _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
  const __m256i table = _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(ti::kIQ4NLValues)));
  return _mm256_shuffle_epi8(table, nib);
}
inline __m256i LoadIQ4_NL(const BlockIQ4_NL& b) { return IQ4Values(b.qs); }

float DotIQ4_NLAvx2(const void* w, const void* x, int64_t n) {
  return DotBlocks32<BlockIQ4_NL, LoadIQ4_NL, MulS8Avx2>(w, x, n);
}
FATHOM_VNNI float DotIQ4_NLVnni(const void* w, const void* x, int64_t n) {
  return DotBlocks32<BlockIQ4_NL, LoadIQ4_NL, MulS8Vnni>(w, x, n);
}

// IQ4_XS: per sub-block, signed values x signed activations (maddubs on |v| and x * sign(v)),
// pairs of int16 times the sub-block scale (madd); four super-blocks reduced together.
inline __m256i IQ4XSBlockSums(const BlockIQ4_XS& w, const BlockQ8_K& x) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  for (int ib = 0; ib < 8; ib += 2) {
    const __m256i v0 = IQ4Values(w.qs + 16 * ib), v1 = IQ4Values(w.qs + 16 * ib + 16);
    const __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(v0, v0),
                                            _mm256_sign_epi8(Load32(x.qs + 32 * ib), v0));
    const __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(v1, v1),
                                            _mm256_sign_epi8(Load32(x.qs + 32 * ib + 32), v1));
    acc0 = _mm256_add_epi32(
        acc0, _mm256_madd_epi16(p0, _mm256_set1_epi16(static_cast<int16_t>(IQ4XSScale(w, ib)))));
    acc1 = _mm256_add_epi32(
        acc1,
        _mm256_madd_epi16(p1, _mm256_set1_epi16(static_cast<int16_t>(IQ4XSScale(w, ib + 1)))));
  }
  return _mm256_add_epi32(acc0, acc1);
}

float DotIQ4_XSAvx2(const void* w, const void* x, int64_t n) {
  return DotScaledSuperBlocks<BlockIQ4_XS, IQ4XSBlockSums>(w, x, n);
}
FATHOM_VNNI float DotIQ4_XSVnni(const void* w, const void* x, int64_t n) {
  return DotScaledSuperBlocks<BlockIQ4_XS, IQ4XSBlockSums>(w, x, n);
}

// Q4_K's twelve scale bytes unpacked into the 8 sub-block scales (bytes 0-7) and the 8 mins
// (bytes 8-15), all 6-bit (the same values as ScaleMinK4, with 32-bit word operations).
inline __m128i Q4KScalesMins(const uint8_t* packed) {
  uint32_t u[4];
  std::memcpy(u, packed, 12);
  constexpr uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  u[3] = ((u[2] >> 4) & kLow4) | (((u[1] >> 6) & kLow2) << 4);  // mins 4-7
  const uint32_t mins_lo = u[1] & kLow6;                        // mins 0-3
  u[1] = (u[2] & kLow4) | (((u[0] >> 6) & kLow2) << 4);         // scales 4-7
  u[2] = mins_lo;
  u[0] &= kLow6;  // scales 0-3
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
}

// pshufb masks that broadcast 16-bit element k of each 128-bit lane to the whole lane.
inline __m256i BroadcastWord(int k) {
  return _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * k));
}

// One Q4_K / Q5_K super-block against Q8_K activations: 8 int32 lanes whose sum is isum (the
// scaled quant products), and 4 lanes whose sum is msum (mins times the bsums pairs).
template <typename Block>
inline void Q4KBlockSums(const Block& w, const BlockQ8_K& x, __m256i* isum, __m256i* msum) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i sm16 = _mm256_cvtepu8_epi16(Q4KScalesMins(w.scales));
  const __m128i bs_lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.bsums));
  const __m128i bs_hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.bsums + 8));
  *msum = _mm256_zextsi128_si256(
      _mm_madd_epi16(_mm256_extracti128_si256(sm16, 1), _mm_hadd_epi16(bs_lo, bs_hi)));
  const __m256i sc = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sm16));
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  [[maybe_unused]] __m256i qh;
  if constexpr (std::is_same_v<Block, BlockQ5_K>) qh = Load32(w.qh);
  for (int j = 0; j < 4; ++j) {
    const __m256i q = Load32(w.qs + 32 * j);
    __m256i lo = _mm256_and_si256(q, m4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    if constexpr (std::is_same_v<Block, BlockQ5_K>) {
      // Bits 2j and 2j + 1 of each qh byte (shifted down by 2j so far) to bit 4.
      const __m256i bit4 = _mm256_set1_epi8(0x10);
      lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
      hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(qh, 3), bit4));
      qh = _mm256_srli_epi16(qh, 2);
    }
    const __m256i p_lo = _mm256_maddubs_epi16(lo, Load32(x.qs + 64 * j));
    const __m256i p_hi = _mm256_maddubs_epi16(hi, Load32(x.qs + 64 * j + 32));
    acc0 = _mm256_add_epi32(acc0,
                            _mm256_madd_epi16(p_lo, _mm256_shuffle_epi8(sc, BroadcastWord(2 * j))));
    acc1 = _mm256_add_epi32(
        acc1, _mm256_madd_epi16(p_hi, _mm256_shuffle_epi8(sc, BroadcastWord(2 * j + 1))));
  }
  *isum = _mm256_add_epi32(acc0, acc1);
}

float DotQ4_KAvx2(const void* w, const void* x, int64_t n) {
  return DotMinSuperBlocks<BlockQ4_K, Q4KBlockSums<BlockQ4_K>>(w, x, n);
}
FATHOM_VNNI float DotQ4_KVnni(const void* w, const void* x, int64_t n) {  // see the top
  return DotMinSuperBlocks<BlockQ4_K, Q4KBlockSums<BlockQ4_K>>(w, x, n);
}
float DotQ5_KAvx2(const void* w, const void* x, int64_t n) {
  return DotMinSuperBlocks<BlockQ5_K, Q4KBlockSums<BlockQ5_K>>(w, x, n);
}
FATHOM_VNNI float DotQ5_KVnni(const void* w, const void* x, int64_t n) {
  return DotMinSuperBlocks<BlockQ5_K, Q4KBlockSums<BlockQ5_K>>(w, x, n);
}

// One Q6_K super-block against Q8_K activations: 8 int32 lanes whose sum is isum (the scaled
// products of the unsigned 6-bit codes, minus 32 x the scaled bsums for the codes' offset).
inline __m256i Q6KBlockSums(const BlockQ6_K& w, const BlockQ8_K& x) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
  // The 16 sub-block scales as int16; the offset term uses all of them with the bsums.
  const __m256i sc16 =
      _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
  const __m256i bias =
      _mm256_madd_epi16(sc16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.bsums)));
  __m256i acc0 = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), bias), 5);
  __m256i acc1 = _mm256_setzero_si256();
  for (int half = 0; half < 2; ++half) {
    const __m256i ql0 = Load32(w.ql + 64 * half);
    const __m256i ql1 = Load32(w.ql + 64 * half + 32);
    const __m256i qh = Load32(w.qh + 32 * half);
    const int8_t* y = x.qs + 128 * half;
    // Scales 8 * half .. 8 * half + 7 in both 128-bit lanes; product k takes scale 2k in the low
    // lane (elements 0-15 of its 32) and 2k + 1 in the high lane.
    const __m256i sc =
        half == 0 ? _mm256_permute4x64_epi64(sc16, 0x44) : _mm256_permute4x64_epi64(sc16, 0xEE);
    auto scales = [&](int k) {
      return _mm256_shuffle_epi8(
          sc, _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * k + 1))),
                               _mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * k)))));
    };
    const __m256i u1 =
        _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
    const __m256i u2 =
        _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
    const __m256i u3 =
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m2));
    const __m256i u4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                       _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
    acc0 =
        _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_maddubs_epi16(u1, Load32(y)), scales(0)));
    acc1 = _mm256_add_epi32(acc1,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u2, Load32(y + 32)), scales(1)));
    acc0 = _mm256_add_epi32(acc0,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u3, Load32(y + 64)), scales(2)));
    acc1 = _mm256_add_epi32(acc1,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u4, Load32(y + 96)), scales(3)));
  }
  return _mm256_add_epi32(acc0, acc1);
}

float DotQ6_KAvx2(const void* w, const void* x, int64_t n) {
  return DotScaledSuperBlocks<BlockQ6_K, Q6KBlockSums>(w, x, n);
}
FATHOM_VNNI float DotQ6_KVnni(const void* w, const void* x, int64_t n) {
  return DotScaledSuperBlocks<BlockQ6_K, Q6KBlockSums>(w, x, n);
}

bool CpuHasVnni() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni");
  return has;
}

}  // namespace

DType QDotActivationType(DType weight_type) {
  switch (weight_type) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ4_1:
    case DType::kQ5_1:
    case DType::kIQ4_NL:
      return DType::kQ8_0;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kIQ4_XS:
      return DType::kQ8_K;
    default:
      return DType::kF32;
  }
}

void QuantizeActivations(DType act_type, const float* x, int64_t n, void* out) {
  // Activations are finite (the model checks its inputs); Quantize's checks cannot fail here.
  (void)Quantize(act_type, x, out, n);
}

QDotFn GetQDot(DType weight_type, QDotIsa isa) {
  if (isa == QDotIsa::kAvx512Vnni && !CpuHasVnni()) return nullptr;
  switch (weight_type) {
    case DType::kQ8_0:
      return isa == QDotIsa::kScalar ? DotQ8_0Ref
             : isa == QDotIsa::kAvx2 ? DotQ8_0Avx2
                                     : DotQ8_0Vnni;
    case DType::kQ4_0:
      return isa == QDotIsa::kScalar ? DotQ4_0Ref
             : isa == QDotIsa::kAvx2 ? DotQ4_0Avx2
                                     : DotQ4_0Vnni;
    case DType::kQ5_0:
      return isa == QDotIsa::kScalar ? DotQ5_0Ref
             : isa == QDotIsa::kAvx2 ? DotQ5_0Avx2
                                     : DotQ5_0Vnni;
    case DType::kQ4_K:
      return isa == QDotIsa::kScalar ? DotQ4_KRef
             : isa == QDotIsa::kAvx2 ? DotQ4_KAvx2
                                     : DotQ4_KVnni;
    case DType::kQ5_K:
      return isa == QDotIsa::kScalar ? DotQ5_KRef
             : isa == QDotIsa::kAvx2 ? DotQ5_KAvx2
                                     : DotQ5_KVnni;
    case DType::kQ6_K:
      return isa == QDotIsa::kScalar ? DotQ6_KRef
             : isa == QDotIsa::kAvx2 ? DotQ6_KAvx2
                                     : DotQ6_KVnni;
    case DType::kQ4_1:
      return isa == QDotIsa::kScalar ? DotQ4_1Ref
             : isa == QDotIsa::kAvx2 ? DotQ4_1Avx2
                                     : DotQ4_1Vnni;
    case DType::kQ5_1:
      return isa == QDotIsa::kScalar ? DotQ5_1Ref
             : isa == QDotIsa::kAvx2 ? DotQ5_1Avx2
                                     : DotQ5_1Vnni;
    case DType::kQ2_K:
      return isa == QDotIsa::kScalar ? DotQ2_KRef
             : isa == QDotIsa::kAvx2 ? DotQ2_KAvx2
                                     : DotQ2_KVnni;
    case DType::kQ3_K:
      return isa == QDotIsa::kScalar ? DotQ3_KRef
             : isa == QDotIsa::kAvx2 ? DotQ3_KAvx2
                                     : DotQ3_KVnni;
    case DType::kIQ4_NL:
      return isa == QDotIsa::kScalar ? DotIQ4_NLRef
             : isa == QDotIsa::kAvx2 ? DotIQ4_NLAvx2
                                     : DotIQ4_NLVnni;
    case DType::kIQ4_XS:
      return isa == QDotIsa::kScalar ? DotIQ4_XSRef
             : isa == QDotIsa::kAvx2 ? DotIQ4_XSAvx2
                                     : DotIQ4_XSVnni;
    default:
      return nullptr;
  }
}

QDotIsa BestQDotIsa() { return CpuHasVnni() ? QDotIsa::kAvx512Vnni : QDotIsa::kAvx2; }

QDotFn GetBestQDot(DType weight_type) { return GetQDot(weight_type, BestQDotIsa()); }

const char* QDotIsaName(QDotIsa isa) {
  switch (isa) {
    case QDotIsa::kScalar:
      return "scalar";
    case QDotIsa::kAvx2:
      return "avx2";
    case QDotIsa::kAvx512Vnni:
      return "avx512vnni";
  }
  return "?";
}

float QDotRef(DType weight_type, const void* w, const void* xq, int64_t n) {
  const QDotFn f = GetQDot(weight_type, QDotIsa::kScalar);
  return f == nullptr ? NAN : f(w, xq, n);
}

}  // namespace fathom
