// Batched int8 weight x activation products (see qgemm.h). The AVX-512 VNNI version works on
// panels of 16 weight rows: each 256-element super-block of the 16 rows is unpacked once into 64
// vectors of 16 rows x 4 code bytes (a 16x16 dword transpose of the rows' unpacked codes) plus
// per-row scale vectors, then every tile of up to 8 tokens runs vpdpbusd(acc[t], codes,
// broadcast(4 activation bytes of token t)), so a row lives in one 32-bit lane and no horizontal
// sums are needed. Sub-block sums are scaled in integers, and the float steps follow qdot.h
// exactly, lane by lane. Weights in the interleaved layout (interleave.h) already hold those
// vectors' bytes: their panels are built with masks and shifts only, and one token (decode) is
// multiplied straight from memory without a panel. On CPUs with AMX-INT8 (kernels/amx), full
// tiles of 16 tokens go to AMX tile products instead (see the AMX sections), with the same integer
// sums and float steps. Compiled without FP contraction (CMakeLists.txt: -ffp-contract=off).
#include "kernels/qgemm.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/amx.h"
#include "kernels/avx512_intrinsics.h"
#include "kernels/interleave.h"
#include "tensor/blocks.h"

namespace fathom {
namespace {

namespace ti = tensor_internal;
using ti::BlockQ4_0;
using ti::BlockQ4_K;
using ti::BlockQ5_0;
using ti::BlockQ5_K;
using ti::BlockQ6_K;
using ti::BlockQ8_0;
using ti::BlockQ8_K;
using ti::HalfToFloat;
using ti::kQK;
using ti::kQK_K;

#define FATHOM_QGEMM_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,f16c")))
#define FATHOM_QGEMM_AMX \
  __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni,f16c")))

constexpr int kPanelRows = 16;               // rows per panel: one per 32-bit lane of a zmm
constexpr int kTileTokens = 8;               // tokens per register tile
constexpr int kAmxTokens = 16;               // tokens per AMX tile (Q4_K / Q5_K)
constexpr int kBlocksPerUnit = kQK_K / kQK;  // Q8_0 / Q4_0 blocks per 256-element unit

bool CpuHasVnni() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni");
  return has;
}

inline int32_t LoadI32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- panels: one 256-element unit of 16 rows, decoded ------------------------------------------

// q[k] lane r = code bytes k*4 .. k*4+3 of row r (unsigned, as vpdpbusd's first operand wants).
// Q4_K (codes 0..15) and Q5_K (codes 0..31) share the panel.
struct alignas(64) PanelQ4K {
  __m512i q[64];
  __m512i sc[8];  // int32 sub-block scale per row
  __m512i mn[4];  // int16 pairs (min[2i], min[2i + 1]) per row
  __m512 d, dmin;
};
struct alignas(64) PanelQ6K {
  __m512i q[64];
  __m512i sc[16];   // int32 sub-block scale per row
  __m512i bias[8];  // int16 pairs (-32 * sc[2i], -32 * sc[2i + 1]) per row
  __m512 d;
};
// The 32-element block types that share PanelQ8 and TileQ8.
enum class Blocks32 { kQ8_0, kQ4_0, kQ5_0 };

struct alignas(64) PanelQ8 {  // Q8_0 (codes + 128), Q4_0 (codes 0..15), Q5_0 (codes 0..31)
  __m512i q[64];
  __m512 d[kBlocksPerUnit];
};

// In place: r[i] lane j <- r[j] lane i (16x16 dwords).
FATHOM_QGEMM_VNNI inline void Transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + c], 128-bit lane L: column 4L + c of rows 4i .. 4i+3.
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88);
    const __m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xDD);
    const __m512i w0 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88);
    const __m512i w1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_i32x4(v0, w0, 0x88);
    r[8 + c] = _mm512_shuffle_i32x4(v0, w0, 0xDD);
    r[4 + c] = _mm512_shuffle_i32x4(v1, w1, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(v1, w1, 0xDD);
  }
}

// codes[g][r]: elements 64g .. 64g+63 of row r -> q[16g + c].
FATHOM_QGEMM_VNNI inline void StoreTransposed(__m512i codes[4][kPanelRows], __m512i* q) {
  for (int g = 0; g < 4; ++g) {
    Transpose16(codes[g]);
    for (int c = 0; c < 16; ++c) q[16 * g + c] = codes[g][c];
  }
}

FATHOM_QGEMM_VNNI inline __m512i Ints(const int32_t v[kPanelRows]) {
  return _mm512_loadu_si512(static_cast<const void*>(v));
}

template <typename Block>
FATHOM_QGEMM_VNNI void PackQ4K(const uint8_t* const rows[kPanelRows], int64_t unit, PanelQ4K* p) {
  __m512i codes[4][kPanelRows];
  int32_t sc[8][kPanelRows], mn[4][kPanelRows];
  alignas(32) uint16_t d[kPanelRows], dmin[kPanelRows];
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int r = 0; r < kPanelRows; ++r) {
    const Block& b = reinterpret_cast<const Block*>(rows[r])[unit];
    for (int g = 0; g < 4; ++g) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
      const __m512i both =
          _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
      codes[g][r] = _mm512_and_si512(both, m4);
      if constexpr (std::is_same_v<Block, BlockQ5_K>) {
        // Q5_K: bit 2g of qh[l] is bit 4 of element 64g + l, bit 2g + 1 that of 64g + 32 + l.
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh));
        const __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(qh, 2 * g)),
                                             _mm256_srli_epi16(qh, 2 * g + 1), 1);
        codes[g][r] = _mm512_or_si512(
            codes[g][r], _mm512_and_si512(_mm512_slli_epi16(h, 4), _mm512_set1_epi8(0x10)));
      }
    }
    for (int j = 0; j < 8; ++j) {
      uint8_t s, m;
      ti::ScaleMinK4(j, b.scales, &s, &m);
      sc[j][r] = s;
      if (j % 2 == 0) {
        mn[j / 2][r] = m;
      } else {
        mn[j / 2][r] |= static_cast<int32_t>(m) << 16;
      }
    }
    d[r] = b.d;
    dmin[r] = b.dmin;
  }
  StoreTransposed(codes, p->q);
  for (int j = 0; j < 8; ++j) p->sc[j] = Ints(sc[j]);
  for (int i = 0; i < 4; ++i) p->mn[i] = Ints(mn[i]);
  p->d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d)));
  p->dmin = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(dmin)));
}

FATHOM_QGEMM_VNNI void PackQ6K(const uint8_t* const rows[kPanelRows], int64_t unit, PanelQ6K* p) {
  __m512i codes[4][kPanelRows];
  int32_t sc[16][kPanelRows], bias[8][kPanelRows];
  alignas(32) uint16_t d[kPanelRows];
  const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(0x30);
  // 16-bit lane shifts: low 256 bits by the first count, high 256 bits by the second.
  const __m512i shl_42 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
  const __m512i shr_02 = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
  for (int r = 0; r < kPanelRows; ++r) {
    const BlockQ6_K& b = reinterpret_cast<const BlockQ6_K*>(rows[r])[unit];
    for (int h = 0; h < 2; ++h) {
      const __m512i l = _mm512_loadu_si512(static_cast<const void*>(b.ql + 64 * h));
      const __m512i qh = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h)));
      // Elements 128h + 0..63: low nibbles of ql, qh bits 0-1 (first 32) or 2-3 (next 32).
      codes[2 * h][r] = _mm512_or_si512(_mm512_and_si512(l, m4),
                                        _mm512_and_si512(_mm512_sllv_epi16(qh, shl_42), m2));
      // Elements 128h + 64..127: high nibbles, qh bits 4-5 or 6-7.
      codes[2 * h + 1][r] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                            _mm512_and_si512(_mm512_srlv_epi16(qh, shr_02), m2));
    }
    for (int k = 0; k < 16; ++k) sc[k][r] = b.scales[k];
    for (int i = 0; i < 8; ++i) {
      const auto lo = static_cast<uint16_t>(static_cast<int16_t>(-32 * b.scales[2 * i]));
      const auto hi = static_cast<uint16_t>(static_cast<int16_t>(-32 * b.scales[2 * i + 1]));
      bias[i][r] = static_cast<int32_t>(lo | (static_cast<uint32_t>(hi) << 16));
    }
    d[r] = b.d;
  }
  StoreTransposed(codes, p->q);
  for (int k = 0; k < 16; ++k) p->sc[k] = Ints(sc[k]);
  for (int i = 0; i < 8; ++i) p->bias[i] = Ints(bias[i]);
  p->d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d)));
}

template <Blocks32 kKind>
FATHOM_QGEMM_VNNI void PackQ8(const uint8_t* const rows[kPanelRows], int64_t unit, PanelQ8* p) {
  __m512i codes[4][kPanelRows];
  alignas(32) uint16_t d[kBlocksPerUnit][kPanelRows];
  for (int r = 0; r < kPanelRows; ++r) {
    for (int g = 0; g < 4; ++g) {
      __m256i half[2];
      for (int k = 0; k < 2; ++k) {
        const int64_t blk = unit * kBlocksPerUnit + 2 * g + k;
        if (kKind == Blocks32::kQ4_0) {
          const BlockQ4_0& b = reinterpret_cast<const BlockQ4_0*>(rows[r])[blk];
          const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
          const __m128i m4 = _mm_set1_epi8(0x0F);
          half[k] = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
          d[2 * g + k][r] = b.d;
        } else if (kKind == Blocks32::kQ5_0) {
          const BlockQ5_0& b = reinterpret_cast<const BlockQ5_0*>(rows[r])[blk];
          const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
          const __m128i m4 = _mm_set1_epi8(0x0F);
          uint32_t qh;
          std::memcpy(&qh, b.qh, 4);
          // Bit e of qh to bit 4 of byte e.
          const __m256i nib =
              _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
          half[k] = _mm256_mask_add_epi8(nib, _cvtu32_mask32(qh), nib, _mm256_set1_epi8(0x10));
          d[2 * g + k][r] = b.d;
        } else {
          const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(rows[r])[blk];
          half[k] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)),
                                     _mm256_set1_epi8(static_cast<char>(0x80)));
          d[2 * g + k][r] = b.d;
        }
      }
      codes[g][r] = _mm512_inserti64x4(_mm512_castsi256_si512(half[0]), half[1], 1);
    }
  }
  StoreTransposed(codes, p->q);
  for (int k = 0; k < kBlocksPerUnit; ++k) {
    p->d[k] = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d[k])));
  }
}

// ---- panels from the interleaved layout (interleave.h): no transposes --------------------------

FATHOM_QGEMM_VNNI inline __m512i Load64(const uint8_t* p) {
  return _mm512_loadu_si512(static_cast<const void*>(p));
}
FATHOM_QGEMM_VNNI inline __m512 Halves(const uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Q4_K's six-bit scales and mins of 16 rows (as ScaleMinK4, four per dword): the unit's three
// scale dwords per row unpacked into scales 0-3, 4-7 and mins 0-3, 4-7.
struct Q4KScaleWords {
  __m512i s03, s47, m03, m47;
};
FATHOM_QGEMM_VNNI inline Q4KScaleWords UnpackQ4KScales(const uint8_t* unit) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), low6 = _mm512_set1_epi8(0x3F);
  const __m512i low2 = _mm512_set1_epi8(0x03);
  const __m512i u0 = Load64(unit + 64), u1 = Load64(unit + 128), u2 = Load64(unit + 192);
  Q4KScaleWords w;
  w.s03 = _mm512_and_si512(u0, low6);
  w.m03 = _mm512_and_si512(u1, low6);
  w.s47 = _mm512_or_si512(_mm512_and_si512(u2, m4),
                          _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), low2), 4));
  w.m47 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), m4),
                          _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), low2), 4));
  return w;
}
// Byte b of each dword of `v` as int32.
FATHOM_QGEMM_VNNI inline __m512i DwordByte(__m512i v, int b) {
  return _mm512_and_si512(_mm512_srli_epi32(v, 8 * b), _mm512_set1_epi32(0xFF));
}
// The int16 pair (min 2i, min 2i + 1) per row.
FATHOM_QGEMM_VNNI inline __m512i Q4KMinPair(const Q4KScaleWords& w, int i) {
  const __m512i m = i < 2 ? w.m03 : w.m47;
  return _mm512_or_si512(DwordByte(m, 2 * (i % 2)),
                         _mm512_slli_epi32(DwordByte(m, 2 * (i % 2) + 1), 16));
}

// Q6_K codes of elements 128h + 4k (+32, +64, +96) of 16 rows from one (ql, ql, qh) triple.
FATHOM_QGEMM_VNNI inline void Q6KCodes(const uint8_t* triple, __m512i c[4]) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(0x30);
  const __m512i l = Load64(triple), l2 = Load64(triple + 64), qh = Load64(triple + 128);
  c[0] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 4), m2));
  c[1] = _mm512_or_si512(_mm512_and_si512(l2, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 2), m2));
  c[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), _mm512_and_si512(qh, m2));
  c[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l2, 4), m4),
                         _mm512_and_si512(_mm512_srli_epi16(qh, 2), m2));
}

// Q5_K's fifth bits for the code dword of 16 rows in group g (elements 64g + 4k .. and
// 64g + 32 + 4k ..): `h` holds qh dword k of each row, whose byte i has bit 2g (low nibble's
// element) and 2g + 1 (high nibble's); each moves to bit 4 of its byte.
FATHOM_QGEMM_VNNI inline __m512i Q5KHighBit(__m512i h, int bit) {
  const __m512i moved = bit <= 4 ? _mm512_slli_epi32(h, 4 - bit) : _mm512_srli_epi32(h, bit - 4);
  return _mm512_and_si512(moved, _mm512_set1_epi8(0x10));
}

// Bytes before the codes in an interleaved Q4_K / Q5_K unit, and the unit's size.
template <bool kQ5>
constexpr int kQ4KCodeOffset = kQ5 ? 256 + 512 : 256;
template <bool kQ5>
constexpr uint64_t kQ4KUnitBytes = kQ5 ? 2816 : 2304;

// One unit: d[16], dmin[16], scales dwords [3][16], (Q5_K: qh dwords [8][16]), qs dwords
// [32][16].
template <bool kQ5>
FATHOM_QGEMM_VNNI void PackQ4KInterleaved(const uint8_t* unit, PanelQ4K* p) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int c = 0; c < 32; ++c) {
    const __m512i v = Load64(unit + kQ4KCodeOffset<kQ5> + 64 * c);
    const int g = c / 8, k = c % 8;
    p->q[16 * g + k] = _mm512_and_si512(v, m4);
    p->q[16 * g + 8 + k] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    if constexpr (kQ5) {
      const __m512i h = Load64(unit + 256 + 64 * k);
      p->q[16 * g + k] = _mm512_or_si512(p->q[16 * g + k], Q5KHighBit(h, 2 * g));
      p->q[16 * g + 8 + k] = _mm512_or_si512(p->q[16 * g + 8 + k], Q5KHighBit(h, 2 * g + 1));
    }
  }
  const Q4KScaleWords w = UnpackQ4KScales(unit);
  for (int j = 0; j < 4; ++j) {
    p->sc[j] = DwordByte(w.s03, j);
    p->sc[4 + j] = DwordByte(w.s47, j);
  }
  for (int i = 0; i < 4; ++i) p->mn[i] = Q4KMinPair(w, i);
  p->d = Halves(unit);
  p->dmin = Halves(unit + 32);
}

// One 3360-byte unit: scales dwords [4][16], (ql, ql, qh) dword triples [16][3][16], d[16].
FATHOM_QGEMM_VNNI void PackQ6KInterleaved(const uint8_t* unit, PanelQ6K* p) {
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 8; ++k) {
      __m512i c[4];
      Q6KCodes(unit + 256 + 192 * (8 * h + k), c);
      for (int i = 0; i < 4; ++i) p->q[32 * h + 8 * i + k] = c[i];
    }
  }
  const __m512i low16 = _mm512_set1_epi32(0xFFFF);
  for (int w = 0; w < 4; ++w) {
    const __m512i s = Load64(unit + 64 * w);
    __m512i sc[4];
    for (int b = 0; b < 4; ++b) {
      sc[b] = _mm512_srai_epi32(_mm512_slli_epi32(s, 24 - 8 * b), 24);  // int8 scale 4w + b
      p->sc[4 * w + b] = sc[b];
    }
    for (int i = 0; i < 2; ++i) {  // pairs (-32 * sc[4w + 2i], -32 * sc[4w + 2i + 1])
      const __m512i lo = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sc[2 * i], 5));
      const __m512i hi =
          _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sc[2 * i + 1], 5));
      p->bias[2 * w + i] = _mm512_or_si512(_mm512_and_si512(lo, low16), _mm512_slli_epi32(hi, 16));
    }
  }
  p->d = Halves(unit + 3328);
}

// Codes of Q5_0 elements 4c .. 4c + 3 (low nibbles of qs dword c) or 16 + 4c .. (high nibbles)
// of 16 rows: `h` is each row's qh with its bits transposed (interleave.h: bit e at 8 (e % 4) +
// e / 4, so the four bits of a chunk sit at bit g of each byte, g = e / 4).
FATHOM_QGEMM_VNNI inline __m512i Q5Codes(__m512i qs, __m512i h, int c, bool high) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);
  const __m512i nib =
      high ? _mm512_and_si512(_mm512_srli_epi16(qs, 4), m4) : _mm512_and_si512(qs, m4);
  // Group g = c (low) or 4 + c (high): move bit g of each byte to bit 4.
  const __m512i hb = high ? (c == 0 ? h : _mm512_srli_epi32(h, c)) : _mm512_slli_epi32(h, 4 - c);
  return _mm512_or_si512(nib, _mm512_and_si512(hb, bit4));
}

// One unit of n (eight, or fewer at the end of a row) blocks: d [n][16], (Q5_0: qh [n][16]), then
// qs dwords [n x (8 or 4)][16].
template <Blocks32 kKind>
FATHOM_QGEMM_VNNI void PackQ8Interleaved(const uint8_t* unit, int n, PanelQ8* p) {
  for (int b = 0; b < n; ++b) p->d[b] = Halves(unit + 32 * b);
  const uint8_t* qs = unit + 32 * n;
  if (kKind == Blocks32::kQ5_0) {
    const uint8_t* qh = qs;
    qs += 64 * n;
    for (int b = 0; b < n; ++b) {
      const __m512i h = Load64(qh + 64 * b);
      for (int c = 0; c < 4; ++c) {
        const __m512i v = Load64(qs + 64 * (4 * b + c));
        p->q[8 * b + c] = Q5Codes(v, h, c, false);
        p->q[8 * b + 4 + c] = Q5Codes(v, h, c, true);
      }
    }
  } else if (kKind == Blocks32::kQ4_0) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int b = 0; b < n; ++b) {
      for (int c = 0; c < 4; ++c) {
        const __m512i v = Load64(qs + 64 * (4 * b + c));
        p->q[8 * b + c] = _mm512_and_si512(v, m4);
        p->q[8 * b + 4 + c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
      }
    }
  } else {
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int c = 0; c < 8 * n; ++c) p->q[c] = _mm512_xor_si512(Load64(qs + 64 * c), bias);
  }
}

// ---- register tiles: 16 rows x NT tokens over all units ----------------------------------------

FATHOM_QGEMM_VNNI inline __m512i Bcast(const int8_t* p) { return _mm512_set1_epi32(LoadI32(p)); }

// bs[t][4 * u + i]: token t's sums over sub-blocks 2i and 2i + 1 of unit u, as an int16 pair.
template <int NT>
FATHOM_QGEMM_VNNI void TileQ4K(const PanelQ4K* panel, int64_t units, const uint8_t* const x[],
                               const int32_t* const bs[], float* y, int64_t y_stride,
                               __mmask16 rmask) {
  __m512 sum[NT];
  for (auto& s : sum) s = _mm512_setzero_ps();
  for (int64_t u = 0; u < units; ++u) {
    const PanelQ4K& p = panel[u];
    const BlockQ8_K* xb[NT];
    for (int t = 0; t < NT; ++t) xb[t] = reinterpret_cast<const BlockQ8_K*>(x[t]) + u;
    __m512i isum[NT];
    for (auto& s : isum) s = _mm512_setzero_si512();
    for (int j = 0; j < 8; ++j) {
      __m512i acc[NT];
      for (auto& a : acc) a = _mm512_setzero_si512();
      for (int k = 0; k < 8; ++k) {
        const __m512i w = p.q[8 * j + k];
        for (int t = 0; t < NT; ++t) {
          acc[t] = _mm512_dpbusd_epi32(acc[t], w, Bcast(xb[t]->qs + 32 * j + 4 * k));
        }
      }
      for (int t = 0; t < NT; ++t) {
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(acc[t], p.sc[j]));
      }
    }
    for (int t = 0; t < NT; ++t) {
      __m512i msum = _mm512_setzero_si512();
      for (int i = 0; i < 4; ++i) {
        msum = _mm512_dpwssd_epi32(msum, p.mn[i], _mm512_set1_epi32(bs[t][4 * u + i]));
      }
      const __m512 xd = _mm512_set1_ps(xb[t]->d);
      const __m512 d = _mm512_mul_ps(xd, p.d);
      const __m512 m = _mm512_mul_ps(xd, p.dmin);
      sum[t] = _mm512_sub_ps(_mm512_add_ps(sum[t], _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum[t]))),
                             _mm512_mul_ps(m, _mm512_cvtepi32_ps(msum)));
    }
  }
  for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * y_stride, rmask, sum[t]);
}

template <int NT>
FATHOM_QGEMM_VNNI void TileQ6K(const PanelQ6K* panel, int64_t units, const uint8_t* const x[],
                               float* y, int64_t y_stride, __mmask16 rmask) {
  __m512 sum[NT];
  for (auto& s : sum) s = _mm512_setzero_ps();
  for (int64_t u = 0; u < units; ++u) {
    const PanelQ6K& p = panel[u];
    const BlockQ8_K* xb[NT];
    for (int t = 0; t < NT; ++t) xb[t] = reinterpret_cast<const BlockQ8_K*>(x[t]) + u;
    __m512i isum[NT];
    for (auto& s : isum) s = _mm512_setzero_si512();
    for (int j = 0; j < 16; ++j) {
      __m512i acc[NT];
      for (auto& a : acc) a = _mm512_setzero_si512();
      for (int k = 0; k < 4; ++k) {
        const __m512i w = p.q[4 * j + k];
        for (int t = 0; t < NT; ++t) {
          acc[t] = _mm512_dpbusd_epi32(acc[t], w, Bcast(xb[t]->qs + 16 * j + 4 * k));
        }
      }
      for (int t = 0; t < NT; ++t) {
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(acc[t], p.sc[j]));
      }
    }
    for (int t = 0; t < NT; ++t) {
      for (int i = 0; i < 8; ++i) {
        isum[t] = _mm512_dpwssd_epi32(isum[t], p.bias[i],
                                      _mm512_set1_epi32(LoadI32(xb[t]->bsums + 2 * i)));
      }
      const __m512 d = _mm512_mul_ps(_mm512_set1_ps(xb[t]->d), p.d);
      sum[t] = _mm512_add_ps(sum[t], _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum[t])));
    }
  }
  for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * y_stride, rmask, sum[t]);
}

// Per token and Q8_0 activation block: the float scale and the integer correction for the
// weights' code offset (Q8_0 codes are stored + 128, Q4_0 codes are 0..15 for values - 8).
struct ActBlockInfo {
  float d;
  int32_t corr;
};

template <int NT>
FATHOM_QGEMM_VNNI void TileQ8(const PanelQ8* panel, int64_t blocks, const uint8_t* const x[],
                              const ActBlockInfo* const info[], float* y, int64_t y_stride,
                              __mmask16 rmask) {
  __m512 acc4[4][NT];
  for (auto& a : acc4)
    for (auto& s : a) s = _mm512_setzero_ps();
  for (int64_t u = 0; u * kBlocksPerUnit < blocks; ++u) {
    const PanelQ8& p = panel[u];
    const int n = static_cast<int>(std::min<int64_t>(kBlocksPerUnit, blocks - u * kBlocksPerUnit));
    for (int blk = 0; blk < n; ++blk) {
      const int64_t b = u * kBlocksPerUnit + blk;
      __m512i acc[NT];
      for (auto& a : acc) a = _mm512_setzero_si512();
      for (int k = 0; k < 8; ++k) {
        const __m512i w = p.q[8 * blk + k];
        for (int t = 0; t < NT; ++t) {
          const BlockQ8_0* xb = reinterpret_cast<const BlockQ8_0*>(x[t]) + b;
          acc[t] = _mm512_dpbusd_epi32(acc[t], w, Bcast(xb->qs + 4 * k));
        }
      }
      for (int t = 0; t < NT; ++t) {
        const ActBlockInfo& a = info[t][b];
        const __m512i isum = _mm512_add_epi32(acc[t], _mm512_set1_epi32(a.corr));
        const __m512 d = _mm512_mul_ps(p.d[blk], _mm512_set1_ps(a.d));
        acc4[blk % 4][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), d, acc4[blk % 4][t]);
      }
    }
  }
  for (int t = 0; t < NT; ++t) {
    const __m512 s =
        _mm512_add_ps(_mm512_add_ps(acc4[0][t], acc4[1][t]), _mm512_add_ps(acc4[2][t], acc4[3][t]));
    _mm512_mask_storeu_ps(y + t * y_stride, rmask, s);
  }
}

// ---- AMX tiles (Q4_K / Q5_K, 16 rows x 16 tokens) ----------------------------------------------
// A unit's codes times their sub-block scales (at most 31 x 63 = 1953) are split into a low and a
// high byte, so that each 64-element group is one K = 64 tile product per byte (tdpbsud: signed
// activation bytes x unsigned weight bytes) and the unit's isum is C_lo + 256 C_hi, exactly
// TileQ4K's integer: no step per 32-element sub-block. The B tiles are the panel's code vectors
// rescaled (row n in dword lane n, as AMX's VNNI layout wants); the A tile is 64 activation bytes
// of 16 tokens, read in place. The float steps are TileQ4K's, so results are bit-identical.

struct alignas(64) PanelQ4KAmx {
  uint8_t lo[4][16 * 64];  // [group][code dword c][row]: low bytes of code x scale
  uint8_t hi[4][16 * 64];
};

// Codes times their sub-block scales, + kOffset, as the low and high bytes of PanelQ4KAmx, for the
// panel's 64 code vectors q and per-row scales sc (kSubBlock elements per scale: 32 for Q4_K /
// Q5_K, 16 for Q6_K, whose signed products need the offset to be unsigned).
template <int kSubBlock, int kOffset>
FATHOM_QGEMM_VNNI void ScaleCodesForAmx(const __m512i* q, const __m512i* sc, PanelQ4KAmx* out) {
  const __m512i low_byte = _mm512_set1_epi16(0x00FF), offset = _mm512_set1_epi16(kOffset);
  const __m512i low16 = _mm512_set1_epi32(0xFFFF);
  for (int g = 0; g < 4; ++g) {
    for (int c = 0; c < 16; ++c) {
      // Code dword c of group g: elements 64g + 4c .., sub-block (64g + 4c) / kSubBlock.
      const __m512i v = q[16 * g + c];
      const __m512i s = sc[(64 * g + 4 * c) / kSubBlock];
      const __m512i s16 = _mm512_or_si512(_mm512_and_si512(s, low16), _mm512_slli_epi32(s, 16));
      const __m512i even =
          _mm512_add_epi16(_mm512_mullo_epi16(_mm512_and_si512(v, low_byte), s16), offset);
      const __m512i odd =
          _mm512_add_epi16(_mm512_mullo_epi16(_mm512_srli_epi16(v, 8), s16), offset);
      const __m512i lo =
          _mm512_or_si512(_mm512_and_si512(even, low_byte), _mm512_slli_epi16(odd, 8));
      const __m512i hi =
          _mm512_or_si512(_mm512_srli_epi16(even, 8), _mm512_andnot_si512(low_byte, odd));
      _mm512_store_si512(out->lo[g] + 64 * c, lo);
      _mm512_store_si512(out->hi[g] + 64 * c, hi);
    }
  }
}

// Eight tiles of 16 rows x 64 bytes (C: 16 tokens x 16 rows of int32; A: 16 tokens x 64
// activation bytes; B: 16 code dwords x 16 rows).
// (A static object: the compiler cannot drop its stores, as it did for a local one.)
struct alignas(64) AmxTileConfig {
  uint8_t palette, start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
constexpr AmxTileConfig kAmxTileConfig = {1,
                                          0,
                                          {},
                                          {64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0},
                                          {16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0}};
FATHOM_QGEMM_AMX void ConfigureAmxTiles() { _tile_loadconfig(&kAmxTileConfig); }

FATHOM_QGEMM_AMX void ReleaseAmxTiles() { _tile_release(); }

// Activations of 16 tokens for AMX: per unit, per group g, the 16 tokens' bytes 64g .. 64g + 63
// as 16 rows of 64 (A tiles load 1 KiB contiguous; from the activation rows, 16 strided rows
// that straddle cache lines, a tile load took 6x as long).
constexpr int64_t kAmxUnitBytes = 4 * kAmxTokens * 64;

FATHOM_QGEMM_VNNI void PackAmxActivations(const uint8_t* xq, uint64_t xq_stride, int64_t units,
                                          uint8_t* out) {
  for (int64_t u = 0; u < units; ++u) {
    for (int g = 0; g < 4; ++g) {
      for (int t = 0; t < kAmxTokens; ++t) {
        const int8_t* src = reinterpret_cast<const BlockQ8_K*>(xq + t * xq_stride)[u].qs + 64 * g;
        _mm512_store_si512(out + u * kAmxUnitBytes + g * 1024 + 64 * t,
                           _mm512_loadu_si512(static_cast<const void*>(src)));
      }
    }
  }
}

// The tile products of unit u (a function of its own: lambdas do not take the target).
template <int kTiles>
FATHOM_QGEMM_AMX inline void IssueQ4KAmx(const PanelQ4KAmx* amx, const uint8_t* a_tiles,
                                         int64_t units, int64_t u) {
  const uint8_t* xa = a_tiles + u * kAmxUnitBytes;
  const uint8_t* xb = xa + units * kAmxUnitBytes;
  _tile_zero(0);
  _tile_zero(1);
  if (kTiles == 2) {
    _tile_zero(2);
    _tile_zero(3);
  }
  for (int g = 0; g < 4; ++g) {
    _tile_loadd(4, xa + 1024 * g, 64);
    _tile_loadd(6, amx[u].lo[g], 64);
    _tile_loadd(7, amx[u].hi[g], 64);
    _tile_dpbsud(0, 4, 6);
    _tile_dpbsud(1, 4, 7);
    if (kTiles == 2) {
      _tile_loadd(5, xb + 1024 * g, 64);
      _tile_dpbsud(2, 5, 6);
      _tile_dpbsud(3, 5, 7);
    }
  }
}

// 16 x kTiles tokens of a Q4_K / Q5_K / Q6_K panel: a_tiles holds their PackAmxActivations (tile
// k at + k * units * kAmxUnitBytes). Tiles: C_lo, C_hi of token tile k in 2k, 2k + 1; A of tile k
// in 4 + k; B_lo, B_hi in 6, 7 (each B tile load serves kTiles products). finish(p, u, t, codes,
// sum) adds token t's unit-u term to its 16 row sums, codes being C_lo + 256 C_hi.
template <int kTiles, typename Panel, typename Finish>
FATHOM_QGEMM_AMX void TileKAmx(const Panel* panel, const PanelQ4KAmx* amx, int64_t units,
                               const uint8_t* a_tiles, const Finish& finish, float* y,
                               int64_t y_stride, __mmask16 rmask) {
  constexpr int kTokens = kAmxTokens * kTiles;
  alignas(64) int32_t c[2][2 * kTiles][kAmxTokens][16];  // two units' results: u % 2
  alignas(64) float sum[kTokens][16] = {};  // in memory: 32 vectors would not fit the registers
  // Software pipelining: unit u + 1's tile products are issued before unit u's results are
  // scaled, so the tile unit works while the vector units finish.
  IssueQ4KAmx<kTiles>(amx, a_tiles, units, 0);
  for (int64_t u = 0; u < units; ++u) {
    auto& cu = c[u % 2];
    _tile_stored(0, cu[0], 64);
    _tile_stored(1, cu[1], 64);
    if (kTiles == 2) {
      _tile_stored(2, cu[2], 64);
      _tile_stored(3, cu[3], 64);
    }
    if (u + 1 < units) IssueQ4KAmx<kTiles>(amx, a_tiles, units, u + 1);
    for (int t = 0; t < kTokens; ++t) {
      const int k = t / kAmxTokens, tt = t % kAmxTokens;
      const __m512i codes =
          _mm512_add_epi32(_mm512_load_si512(cu[2 * k][tt]),
                           _mm512_slli_epi32(_mm512_load_si512(cu[2 * k + 1][tt]), 8));
      _mm512_store_ps(sum[t], finish(panel[u], u, t, codes, _mm512_load_ps(sum[t])));
    }
  }
  for (int t = 0; t < kTokens; ++t) {
    _mm512_mask_storeu_ps(y + t * y_stride, rmask, _mm512_load_ps(sum[t]));
  }
}

// TileQ4K's steps for one token and unit: x0 holds the tokens' activation rows (token t at
// x0 + t * xq_stride), bs[t * bs_stride + 4u + i] the paired block sums.
struct Q4KAmxFinish {
  const uint8_t* x0;
  uint64_t xq_stride;
  const int32_t* bs;
  int64_t bs_stride;
  FATHOM_QGEMM_VNNI __m512 operator()(const PanelQ4K& p, int64_t u, int t, __m512i isum,
                                      __m512 sum) const {
    const BlockQ8_K& xt = reinterpret_cast<const BlockQ8_K*>(x0 + t * xq_stride)[u];
    __m512i msum = _mm512_setzero_si512();
    const int32_t* tb = bs + t * bs_stride + 4 * u;
    for (int i = 0; i < 4; ++i) msum = _mm512_dpwssd_epi32(msum, p.mn[i], _mm512_set1_epi32(tb[i]));
    const __m512 xd = _mm512_set1_ps(xt.d);
    const __m512 d = _mm512_mul_ps(xd, p.d);
    const __m512 m = _mm512_mul_ps(xd, p.dmin);
    return _mm512_sub_ps(_mm512_add_ps(sum, _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum))),
                         _mm512_mul_ps(m, _mm512_cvtepi32_ps(msum)));
  }
};

// Q6_K on the same tiles: a code u (0..63) times its signed 16-element sub-block scale lies in
// [-8064, 8001]; stored + 8192 (14 bits, unsigned) as a low and a high byte, so the unit's code
// products are C_lo + 256 C_hi - 8192 * (the token's sum over the unit), exactly; TileQ6K's
// -32 offset terms and float step follow. xsum[t * units + u] is token t's sum over unit u.
struct Q6KAmxFinish {
  const uint8_t* x0;
  uint64_t xq_stride;
  const int32_t* xsum;
  int64_t units;
  FATHOM_QGEMM_VNNI __m512 operator()(const PanelQ6K& p, int64_t u, int t, __m512i codes,
                                      __m512 sum) const {
    const BlockQ8_K& xt = reinterpret_cast<const BlockQ8_K*>(x0 + t * xq_stride)[u];
    __m512i isum = _mm512_add_epi32(codes, _mm512_set1_epi32(-8192 * xsum[t * units + u]));
    for (int i = 0; i < 8; ++i) {
      isum = _mm512_dpwssd_epi32(isum, p.bias[i], _mm512_set1_epi32(LoadI32(xt.bsums + 2 * i)));
    }
    const __m512 d = _mm512_mul_ps(_mm512_set1_ps(xt.d), p.d);
    return _mm512_add_ps(sum, _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum)));
  }
};

// ---- AMX tiles for the 32-element block types (Q8_0, Q4_0, Q5_0) ------------------------------
// Each block is one tile product with K = 32 (tdpbsud: the panel's unsigned codes, 8 dwords of
// 16 rows, straight from PanelQ8 as the B tile; 16 tokens' 32 activation bytes, packed, as A),
// then TileQ8's steps per token: isum + the code-offset correction, times fp16(w.d) * x.d, into
// the accumulator of block % 4. Two token tiles share each B tile; block b + 1's products are
// issued before block b's results are scaled.

// Tiles 0-3: C (two blocks x two token tiles, 16 tokens x 16 rows of int32); 4, 5: A (16 tokens x
// 32 bytes); 6: B (8 code dwords x 16 rows).
constexpr AmxTileConfig kAmxTileConfigQ8 = {1,
                                            0,
                                            {},
                                            {64, 64, 64, 64, 32, 32, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                            {16, 16, 16, 16, 16, 16, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
FATHOM_QGEMM_AMX void ConfigureAmxTilesQ8() { _tile_loadconfig(&kAmxTileConfigQ8); }

constexpr int64_t kAmxBlockBytes = kAmxTokens * kQK;  // one block of 16 tokens, packed

// Activations of 16 tokens for AMX: per block, the 16 tokens' 32 code bytes as 16 rows of 32.
FATHOM_QGEMM_VNNI void PackAmxActivationsQ8(const uint8_t* xq, uint64_t xq_stride, int64_t blocks,
                                            uint8_t* out) {
  for (int64_t b = 0; b < blocks; ++b) {
    for (int t = 0; t < kAmxTokens; ++t) {
      const int8_t* src = reinterpret_cast<const BlockQ8_0*>(xq + t * xq_stride)[b].qs;
      _mm256_store_si256(reinterpret_cast<__m256i*>(out + b * kAmxBlockBytes + kQK * t),
                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)));
    }
  }
}

// The tile products of block b into C tiles C0, C0 + 1 (GCC's tile intrinsics paste the tile
// number into the instruction text, so it must be a literal: one function per pair).
#define FATHOM_ISSUE_Q8_AMX(NAME, C0, C1)                                                         \
  template <int kTiles>                                                                           \
  FATHOM_QGEMM_AMX inline void NAME(const PanelQ8* panel, const uint8_t* a_tiles, int64_t blocks, \
                                    int64_t b) {                                                  \
    const PanelQ8& p = panel[b / kBlocksPerUnit];                                                 \
    _tile_loadd(6, &p.q[8 * (b % kBlocksPerUnit)], 64);                                           \
    _tile_zero(C0);                                                                               \
    _tile_loadd(4, a_tiles + b * kAmxBlockBytes, kQK);                                            \
    _tile_dpbsud(C0, 4, 6);                                                                       \
    if (kTiles == 2) {                                                                            \
      _tile_zero(C1);                                                                             \
      _tile_loadd(5, a_tiles + (blocks + b) * kAmxBlockBytes, kQK);                               \
      _tile_dpbsud(C1, 5, 6);                                                                     \
    }                                                                                             \
  }
FATHOM_ISSUE_Q8_AMX(IssueQ8AmxTiles01, 0, 1)
FATHOM_ISSUE_Q8_AMX(IssueQ8AmxTiles23, 2, 3)
#undef FATHOM_ISSUE_Q8_AMX

// 16 x kTiles tokens: a_tiles holds their PackAmxActivationsQ8 (tile k at + k * blocks *
// kAmxBlockBytes), info[t * blocks + b] their block scales and corrections.
template <int kTiles>
FATHOM_QGEMM_AMX void TileQ8Amx(const PanelQ8* panel, const uint8_t* a_tiles, int64_t blocks,
                                const ActBlockInfo* info, float* y, int64_t y_stride,
                                __mmask16 rmask) {
  constexpr int kTokens = kAmxTokens * kTiles;
  alignas(64) int32_t c[kTiles][kAmxTokens][16];
  alignas(64) float acc[4][kTokens][16] = {};
  IssueQ8AmxTiles01<kTiles>(panel, a_tiles, blocks, 0);
  for (int64_t b = 0; b < blocks; ++b) {
    if (b % 2 == 0) {
      _tile_stored(0, c[0], 64);
      if (kTiles == 2) _tile_stored(1, c[1], 64);
      if (b + 1 < blocks) IssueQ8AmxTiles23<kTiles>(panel, a_tiles, blocks, b + 1);
    } else {
      _tile_stored(2, c[0], 64);
      if (kTiles == 2) _tile_stored(3, c[1], 64);
      if (b + 1 < blocks) IssueQ8AmxTiles01<kTiles>(panel, a_tiles, blocks, b + 1);
    }
    const __m512 dw = panel[b / kBlocksPerUnit].d[b % kBlocksPerUnit];
    float(*lane)[16] = acc[b % 4];
    for (int t = 0; t < kTokens; ++t) {
      const ActBlockInfo& a = info[t * blocks + b];
      const __m512i isum = _mm512_add_epi32(_mm512_load_si512(c[t / kAmxTokens][t % kAmxTokens]),
                                            _mm512_set1_epi32(a.corr));
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(a.d));
      _mm512_store_ps(lane[t],
                      _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), d, _mm512_load_ps(lane[t])));
    }
  }
  for (int t = 0; t < kTokens; ++t) {
    const __m512 s =
        _mm512_add_ps(_mm512_add_ps(_mm512_load_ps(acc[0][t]), _mm512_load_ps(acc[1][t])),
                      _mm512_add_ps(_mm512_load_ps(acc[2][t]), _mm512_load_ps(acc[3][t])));
    _mm512_mask_storeu_ps(y + t * y_stride, rmask, s);
  }
}

// ---- one token on the interleaved layout: codes straight from memory into vpdpbusd -----------
// Decode reads every weight once per token, so nothing is staged in a panel: each unit's codes
// are loaded, masked and multiplied in registers, with independent accumulators per sub-block so
// that the vpdpbusd latency overlaps. The integer sums and float steps are TileQ4K / TileQ6K /
// TileQ8's for one token (exact integers, the same float operations in the same order).

// Asks for the `bytes` that follow `unit` by kPrefetchDistance (the weights stream forward,
// across units and groups; the hardware prefetchers stop at 4 KiB boundaries).
constexpr uint64_t kPrefetchDistance = 4096;
inline void PrefetchAhead(const uint8_t* unit, uint64_t bytes) {
  for (uint64_t off = 0; off < bytes; off += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(unit + kPrefetchDistance + off), _MM_HINT_T0);
  }
}

// Q4_K / Q5_K: `bs` holds the token's paired sub-block sums per unit (QGemmQ4K's layout).
template <bool kQ5>
FATHOM_QGEMM_VNNI void DecodeQ4KInterleaved(const uint8_t* group, int64_t units, const uint8_t* x,
                                            const int32_t* bs, float* y, __mmask16 rmask) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t u = 0; u < units; ++u) {
    const uint8_t* unit = group + u * kQ4KUnitBytes<kQ5>;
    PrefetchAhead(unit, kQ4KUnitBytes<kQ5>);
    const BlockQ8_K* xb = reinterpret_cast<const BlockQ8_K*>(x) + u;
    const Q4KScaleWords w = UnpackQ4KScales(unit);
    __m512i isum = _mm512_setzero_si512();
    for (int g = 0; g < 4; ++g) {
      __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
      for (int k = 0; k < 8; ++k) {
        const __m512i v = Load64(unit + kQ4KCodeOffset<kQ5> + 64 * (8 * g + k));
        __m512i c_lo = _mm512_and_si512(v, m4);
        __m512i c_hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        if constexpr (kQ5) {
          const __m512i h = Load64(unit + 256 + 64 * k);
          c_lo = _mm512_or_si512(c_lo, Q5KHighBit(h, 2 * g));
          c_hi = _mm512_or_si512(c_hi, Q5KHighBit(h, 2 * g + 1));
        }
        lo = _mm512_dpbusd_epi32(lo, c_lo, Bcast(xb->qs + 64 * g + 4 * k));
        hi = _mm512_dpbusd_epi32(hi, c_hi, Bcast(xb->qs + 64 * g + 32 + 4 * k));
      }
      // Sub-blocks 2g and 2g + 1: scale bytes (2g) % 4 and (2g) % 4 + 1 of s03 / s47.
      const __m512i sc = g < 2 ? w.s03 : w.s47;
      const __m512i sc_lo = DwordByte(sc, 2 * (g % 2));
      const __m512i sc_hi = DwordByte(sc, 2 * (g % 2) + 1);
      isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(lo, sc_lo));
      isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(hi, sc_hi));
    }
    __m512i msum = _mm512_setzero_si512();
    for (int i = 0; i < 4; ++i) {
      msum = _mm512_dpwssd_epi32(msum, Q4KMinPair(w, i), _mm512_set1_epi32(bs[4 * u + i]));
    }
    const __m512 xd = _mm512_set1_ps(xb->d);
    const __m512 d = _mm512_mul_ps(xd, Halves(unit));
    const __m512 m = _mm512_mul_ps(xd, Halves(unit + 32));
    sum = _mm512_sub_ps(_mm512_add_ps(sum, _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum))),
                        _mm512_mul_ps(m, _mm512_cvtepi32_ps(msum)));
  }
  _mm512_mask_storeu_ps(y, rmask, sum);
}

FATHOM_QGEMM_VNNI void DecodeQ6KInterleaved(const uint8_t* group, int64_t units, const uint8_t* x,
                                            float* y, __mmask16 rmask) {
  __m512 sum = _mm512_setzero_ps();
  for (int64_t u = 0; u < units; ++u) {
    const uint8_t* unit = group + u * 3360;
    PrefetchAhead(unit, 3360);
    const BlockQ8_K* xb = reinterpret_cast<const BlockQ8_K*>(x) + u;
    // Sub-blocks 8h + 2i + half (i = 0..3) take code dwords k = 4 * half .. 4 * half + 3 of
    // half h. acc[i] starts at -32 * (the token's sum over the sub-block): the codes' offset, so
    // that acc[i] * sc is the sub-block's whole term (TileQ6K adds it after, in its bias).
    __m512i isum = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      for (int half = 0; half < 2; ++half) {
        __m512i acc[4];
        for (int i = 0; i < 4; ++i)
          acc[i] = _mm512_set1_epi32(-32 * xb->bsums[8 * h + 2 * i + half]);
        for (int k = 4 * half; k < 4 * half + 4; ++k) {
          __m512i c[4];
          Q6KCodes(unit + 256 + 192 * (8 * h + k), c);
          // Elements 128h + 4k (+32, +64, +96).
          const int8_t* xq = xb->qs + 128 * h + 4 * k;
          for (int i = 0; i < 4; ++i)
            acc[i] = _mm512_dpbusd_epi32(acc[i], c[i], Bcast(xq + 32 * i));
        }
        for (int i = 0; i < 4; ++i) {
          const int j = 8 * h + 2 * i + half;  // scale byte j % 4 of dword j / 4
          const __m512i sc = Load64(unit + 64 * (j / 4));
          const __m512i s = _mm512_srai_epi32(_mm512_slli_epi32(sc, 24 - 8 * (j % 4)), 24);
          isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(acc[i], s));
        }
      }
    }
    const __m512 d = _mm512_mul_ps(_mm512_set1_ps(xb->d), Halves(unit + 3328));
    sum = _mm512_add_ps(sum, _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum)));
  }
  _mm512_mask_storeu_ps(y, rmask, sum);
}

template <Blocks32 kKind>
FATHOM_QGEMM_VNNI void DecodeQ8Interleaved(const uint8_t* group, int64_t blocks, const uint8_t* x,
                                           const ActBlockInfo* info, float* y, __mmask16 rmask) {
  constexpr uint64_t kUnitBytes = kKind == Blocks32::kQ4_0   ? 2304
                                  : kKind == Blocks32::kQ5_0 ? 2816
                                                             : 4352;
  const __m512i m4 = _mm512_set1_epi8(0x0F), bias = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512 acc4[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                    _mm512_setzero_ps()};
  for (int64_t u = 0; u * kBlocksPerUnit < blocks; ++u) {
    const uint8_t* unit = group + u * kUnitBytes;
    PrefetchAhead(unit, kUnitBytes);
    const int n = static_cast<int>(std::min<int64_t>(kBlocksPerUnit, blocks - u * kBlocksPerUnit));
    const uint8_t* qh = unit + 32 * n;
    const uint8_t* qs = kKind == Blocks32::kQ5_0 ? qh + 64 * n : qh;
    for (int blk = 0; blk < n; ++blk) {
      const int64_t b = u * kBlocksPerUnit + blk;
      const int8_t* xq = (reinterpret_cast<const BlockQ8_0*>(x) + b)->qs;
      __m512i a0 = _mm512_set1_epi32(info[b].corr), a1 = _mm512_setzero_si512();
      if (kKind == Blocks32::kQ5_0) {
        const __m512i h = Load64(qh + 64 * blk);
        for (int c = 0; c < 4; ++c) {
          const __m512i v = Load64(qs + 64 * (4 * blk + c));
          a0 = _mm512_dpbusd_epi32(a0, Q5Codes(v, h, c, false), Bcast(xq + 4 * c));
          a1 = _mm512_dpbusd_epi32(a1, Q5Codes(v, h, c, true), Bcast(xq + 16 + 4 * c));
        }
      } else if (kKind == Blocks32::kQ4_0) {
        for (int c = 0; c < 4; ++c) {
          const __m512i v = Load64(qs + 64 * (4 * blk + c));
          a0 = _mm512_dpbusd_epi32(a0, _mm512_and_si512(v, m4), Bcast(xq + 4 * c));
          a1 = _mm512_dpbusd_epi32(a1, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4),
                                   Bcast(xq + 16 + 4 * c));
        }
      } else {
        for (int c = 0; c < 8; c += 2) {
          a0 = _mm512_dpbusd_epi32(a0, _mm512_xor_si512(Load64(qs + 64 * (8 * blk + c)), bias),
                                   Bcast(xq + 4 * c));
          a1 = _mm512_dpbusd_epi32(a1, _mm512_xor_si512(Load64(qs + 64 * (8 * blk + c + 1)), bias),
                                   Bcast(xq + 4 * c + 4));
        }
      }
      const __m512i isum = _mm512_add_epi32(a0, a1);
      const __m512 d = _mm512_mul_ps(Halves(unit + 32 * blk), _mm512_set1_ps(info[b].d));
      acc4[blk % 4] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), d, acc4[blk % 4]);
    }
  }
  const __m512 s = _mm512_add_ps(_mm512_add_ps(acc4[0], acc4[1]), _mm512_add_ps(acc4[2], acc4[3]));
  _mm512_mask_storeu_ps(y, rmask, s);
}

// ---- drivers -----------------------------------------------------------------------------------

// Thread-local scratch, grown once and reused (no allocation per call once warm).
template <typename T>
T* Scratch(std::vector<uint8_t>& buf, size_t count) {
  const size_t bytes = count * sizeof(T) + 64;
  if (buf.size() < bytes) buf.resize(bytes);
  const auto addr = reinterpret_cast<uintptr_t>(buf.data());
  return reinterpret_cast<T*>((addr + 63) & ~static_cast<uintptr_t>(63));
}

struct Args {
  const uint8_t* w;
  uint64_t row_bytes;
  int64_t rows, cols;
  const uint8_t* xq;
  uint64_t xq_stride;
  int64_t n_tokens;
  float* y;
  int64_t y_stride;
  bool interleaved;     // w in the layout of interleave.h (rows a multiple of 16)
  uint64_t unit_bytes;  // interleaved: bytes of a full 16-row unit
};

// Calls decode(group, y) for each 16-row group of a one-token product on the interleaved layout.
template <typename DecodeFn>
FATHOM_QGEMM_VNNI void RunGroups(const Args& a, DecodeFn decode) {
  for (int64_t r0 = 0; r0 < a.rows; r0 += kPanelRows) {
    decode(a.w + static_cast<uint64_t>(r0) * a.row_bytes, a.y + r0);
  }
}

// Calls tile(nt, x[], token0, y_panel, rmask) for the tiles of up to 8 tokens after packing
// each 16-row panel: pack(rows[], unit, panel) for the row layout, pack_interleaved(unit bytes,
// panel) for the interleaved one.
template <typename Panel, typename PackFn, typename PackInterleavedFn, typename TileFn>
FATHOM_QGEMM_VNNI void RunPanels(const Args& a, PackFn pack, PackInterleavedFn pack_interleaved,
                                 TileFn tile) {
  RunPanels<Panel>(
      a, pack, pack_interleaved, [](const Panel*, int64_t) {}, kTileTokens, tile);
}

// The same with prepare(panel, units) after each panel is packed, and tiles of up to
// `tile_tokens` tokens.
template <typename Panel, typename PackFn, typename PackInterleavedFn, typename PrepareFn,
          typename TileFn>
FATHOM_QGEMM_VNNI void RunPanels(const Args& a, PackFn pack, PackInterleavedFn pack_interleaved,
                                 PrepareFn prepare, int tile_tokens, TileFn tile) {
  thread_local std::vector<uint8_t> panel_buf;
  const int64_t units = (a.cols + kQK_K - 1) / kQK_K;  // the last may be partial (interleaved Q8)
  Panel* panel = Scratch<Panel>(panel_buf, static_cast<size_t>(units));
  for (int64_t r0 = 0; r0 < a.rows; r0 += kPanelRows) {
    const int n_rows = static_cast<int>(std::min<int64_t>(kPanelRows, a.rows - r0));
    if (a.interleaved) {
      const uint8_t* group = a.w + static_cast<uint64_t>(r0) * a.row_bytes;
      for (int64_t u = 0; u < units; ++u) pack_interleaved(group + u * a.unit_bytes, u, &panel[u]);
    } else {
      const uint8_t* rows[kPanelRows];
      for (int r = 0; r < kPanelRows; ++r) {
        rows[r] = a.w + static_cast<uint64_t>(r0 + std::min(r, n_rows - 1)) * a.row_bytes;
      }
      for (int64_t u = 0; u < units; ++u) pack(rows, u, &panel[u]);
    }
    prepare(panel, units);
    const __mmask16 rmask = static_cast<__mmask16>((1u << n_rows) - 1);
    for (int64_t t0 = 0; t0 < a.n_tokens; t0 += tile_tokens) {
      const int nt = static_cast<int>(std::min<int64_t>(tile_tokens, a.n_tokens - t0));
      const uint8_t* x[2 * kAmxTokens];
      for (int t = 0; t < nt; ++t) x[t] = a.xq + static_cast<uint64_t>(t0 + t) * a.xq_stride;
      tile(panel, units, nt, x, t0, a.y + t0 * a.y_stride + r0, rmask);
    }
  }
}

// Dispatches a runtime token count 1..8 to the template instance.
#define FATHOM_QGEMM_DISPATCH(NT_VAR, CALL) \
  switch (NT_VAR) {                         \
    case 1:                                 \
      CALL(1);                              \
      break;                                \
    case 2:                                 \
      CALL(2);                              \
      break;                                \
    case 3:                                 \
      CALL(3);                              \
      break;                                \
    case 4:                                 \
      CALL(4);                              \
      break;                                \
    case 5:                                 \
      CALL(5);                              \
      break;                                \
    case 6:                                 \
      CALL(6);                              \
      break;                                \
    case 7:                                 \
      CALL(7);                              \
      break;                                \
    default:                                \
      CALL(8);                              \
      break;                                \
  }

// The K-quant AMX path of one call: the activations of every full 16-token tile packed once, each
// row panel's codes scaled by scale(panel unit, out), then tiles of 32 or 16 tokens on AMX with
// finish_for(x0, t0) (TileKAmx's finish for the tokens from t0) and the rest on the AVX-512
// tiles, vnni_tiles(panel, nt, x, t0, y, mask): the same bits either way.
template <typename Panel, typename PackFn, typename PackInterleavedFn, typename ScaleFn,
          typename FinishFor, typename VnniFn>
FATHOM_QGEMM_VNNI void RunKQuantAmx(const Args& a, PackFn pack, PackInterleavedFn pack_interleaved,
                                    ScaleFn scale, FinishFor finish_for, VnniFn vnni_tiles) {
  const int64_t units = a.cols / kQK_K;
  thread_local std::vector<uint8_t> amx_buf, act_buf;
  PanelQ4KAmx* amx = Scratch<PanelQ4KAmx>(amx_buf, static_cast<size_t>(units));
  const int64_t act_tiles = a.n_tokens / kAmxTokens;
  uint8_t* act = Scratch<uint8_t>(act_buf, static_cast<size_t>(act_tiles * units * kAmxUnitBytes));
  for (int64_t k = 0; k < act_tiles; ++k) {
    PackAmxActivations(a.xq + k * kAmxTokens * a.xq_stride, a.xq_stride, units,
                       act + k * units * kAmxUnitBytes);
  }
  ConfigureAmxTiles();
  RunPanels<Panel>(
      a, pack, pack_interleaved,
      [&](const Panel* p, int64_t n) {
        for (int64_t u = 0; u < n; ++u) scale(p[u], &amx[u]);
      },
      2 * kAmxTokens,
      [&](const Panel* p, int64_t, int nt, const uint8_t* const* x, int64_t t0, float* y,
          __mmask16 m) {
        const uint8_t* at = act + (t0 / kAmxTokens) * units * kAmxUnitBytes;
        const auto finish = finish_for(x[0], t0);
        if (nt == 2 * kAmxTokens) {
          TileKAmx<2>(p, amx, units, at, finish, y, a.y_stride, m);
          return;
        }
        int k = 0;
        if (nt >= kAmxTokens) {
          TileKAmx<1>(p, amx, units, at, finish, y, a.y_stride, m);
          k = kAmxTokens;
        }
        vnni_tiles(p, nt - k, x + k, t0 + k, y + k * a.y_stride, m);
      });
  ReleaseAmxTiles();
}

template <typename Block>
FATHOM_QGEMM_VNNI void QGemmQ4K(const Args& a) {
  constexpr bool kQ5 = std::is_same_v<Block, BlockQ5_K>;
  // Each token's Q8_K bsums summed per 32-element sub-block and paired, once per call.
  thread_local std::vector<uint8_t> bs_buf;
  const int64_t units = a.cols / kQK_K;
  int32_t* bs = Scratch<int32_t>(bs_buf, static_cast<size_t>(4 * units * a.n_tokens));
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    const auto* xb = reinterpret_cast<const BlockQ8_K*>(a.xq + t * a.xq_stride);
    for (int64_t u = 0; u < units; ++u) {
      for (int i = 0; i < 4; ++i) {
        const int16_t* q = xb[u].bsums + 4 * i;  // sub-blocks 2i, 2i + 1: bsums 4i .. 4i + 3
        const auto lo = static_cast<uint16_t>(q[0] + q[1]), hi = static_cast<uint16_t>(q[2] + q[3]);
        bs[(t * units + u) * 4 + i] = static_cast<int32_t>(lo | (static_cast<uint32_t>(hi) << 16));
      }
    }
  }
  if (a.interleaved && a.n_tokens == 1) {
    RunGroups(a, [&](const uint8_t* group, float* y) {
      DecodeQ4KInterleaved<kQ5>(group, units, a.xq, bs, y, 0xFFFF);
    });
    return;
  }
  const auto vnni_tiles = [&](const PanelQ4K* p, int nt, const uint8_t* const* x, int64_t t0,
                              float* y, __mmask16 m) {
    for (int k = 0; k < nt; k += kTileTokens) {
      const int n = std::min(kTileTokens, nt - k);
      const int32_t* tb[kTileTokens];
      for (int t = 0; t < n; ++t) tb[t] = bs + (t0 + k + t) * units * 4;
#define FATHOM_CALL(N) TileQ4K<N>(p, units, x + k, tb, y + k * a.y_stride, a.y_stride, m)
      FATHOM_QGEMM_DISPATCH(n, FATHOM_CALL)
#undef FATHOM_CALL
    }
  };
  const auto pack_interleaved = [](const uint8_t* unit, int64_t, PanelQ4K* p) {
    PackQ4KInterleaved<kQ5>(unit, p);
  };
  if (a.n_tokens >= kAmxTokens && AmxInt8Available()) {
    RunKQuantAmx<PanelQ4K>(
        a, PackQ4K<Block>, pack_interleaved,
        [](const PanelQ4K& p, PanelQ4KAmx* out) { ScaleCodesForAmx<32, 0>(p.q, p.sc, out); },
        [&](const uint8_t* x0, int64_t t0) {
          return Q4KAmxFinish{x0, a.xq_stride, bs + t0 * units * 4, units * 4};
        },
        vnni_tiles);
    return;
  }
  RunPanels<PanelQ4K>(a, PackQ4K<Block>, pack_interleaved,
                      [&](const PanelQ4K* p, int64_t, int nt, const uint8_t* const* x, int64_t t0,
                          float* y, __mmask16 m) { vnni_tiles(p, nt, x, t0, y, m); });
}

FATHOM_QGEMM_VNNI void QGemmQ6K(const Args& a) {
  if (a.interleaved && a.n_tokens == 1) {
    RunGroups(a, [&](const uint8_t* group, float* y) {
      DecodeQ6KInterleaved(group, a.cols / kQK_K, a.xq, y, 0xFFFF);
    });
    return;
  }
  const int64_t units = a.cols / kQK_K;
  const auto pack_interleaved = [](const uint8_t* unit, int64_t, PanelQ6K* p) {
    PackQ6KInterleaved(unit, p);
  };
  const auto vnni_tiles = [&](const PanelQ6K* p, int nt, const uint8_t* const* x, int64_t, float* y,
                              __mmask16 m) {
    for (int k = 0; k < nt; k += kTileTokens) {
      const int n = std::min(kTileTokens, nt - k);
#define FATHOM_CALL(N) TileQ6K<N>(p, units, x + k, y + k * a.y_stride, a.y_stride, m)
      FATHOM_QGEMM_DISPATCH(n, FATHOM_CALL)
#undef FATHOM_CALL
    }
  };
  if (a.n_tokens >= kAmxTokens && AmxInt8Available()) {
    // Each token's sum over each unit (the 8192 offset of the AMX codes comes back out with it).
    thread_local std::vector<uint8_t> xsum_buf;
    int32_t* xsum = Scratch<int32_t>(xsum_buf, static_cast<size_t>(a.n_tokens * units));
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const auto* xb = reinterpret_cast<const BlockQ8_K*>(a.xq + t * a.xq_stride);
      for (int64_t u = 0; u < units; ++u) {
        int32_t s = 0;
        for (int j = 0; j < 16; ++j) s += xb[u].bsums[j];
        xsum[t * units + u] = s;
      }
    }
    RunKQuantAmx<PanelQ6K>(
        a, PackQ6K, pack_interleaved,
        [](const PanelQ6K& p, PanelQ4KAmx* out) { ScaleCodesForAmx<16, 8192>(p.q, p.sc, out); },
        [&](const uint8_t* x0, int64_t t0) {
          return Q6KAmxFinish{x0, a.xq_stride, xsum + t0 * units, units};
        },
        vnni_tiles);
    return;
  }
  RunPanels<PanelQ6K>(a, PackQ6K, pack_interleaved,
                      [&](const PanelQ6K* p, int64_t, int nt, const uint8_t* const* x, int64_t t0,
                          float* y, __mmask16 m) { vnni_tiles(p, nt, x, t0, y, m); });
}

template <Blocks32 kKind>
FATHOM_QGEMM_VNNI void QGemmQ8(const Args& a) {
  // Activation block scales and code-offset corrections, once per call for all tokens.
  thread_local std::vector<uint8_t> info_buf;
  const int64_t blocks = a.cols / kQK;
  ActBlockInfo* info = Scratch<ActBlockInfo>(info_buf, static_cast<size_t>(blocks * a.n_tokens));
  const int32_t offset = kKind == Blocks32::kQ4_0 ? -8 : kKind == Blocks32::kQ5_0 ? -16 : -128;
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    const auto* xb = reinterpret_cast<const BlockQ8_0*>(a.xq + t * a.xq_stride);
    for (int64_t b = 0; b < blocks; ++b) {
      // Sum of the 32 codes: sad of (code + 128) against zero, less 32 * 128.
      const __m256i q = _mm256_xor_si256(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[b].qs)), _mm256_set1_epi8(-128));
      const __m256i sad = _mm256_sad_epu8(q, _mm256_setzero_si256());
      const __m128i s2 =
          _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
      const int32_t s =
          static_cast<int32_t>(_mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1)) - kQK * 128;
      info[t * blocks + b] = {HalfToFloat(xb[b].d), offset * s};
    }
  }
  if (a.interleaved && a.n_tokens == 1) {
    RunGroups(a, [&](const uint8_t* group, float* y) {
      DecodeQ8Interleaved<kKind>(group, blocks, a.xq, info, y, 0xFFFF);
    });
    return;
  }
  const auto pack_interleaved = [&](const uint8_t* unit, int64_t u, PanelQ8* p) {
    PackQ8Interleaved<kKind>(
        unit, static_cast<int>(std::min<int64_t>(kBlocksPerUnit, blocks - u * kBlocksPerUnit)), p);
  };
  const auto vnni_tiles = [&](const PanelQ8* p, int nt, const uint8_t* const* x, int64_t t0,
                              float* y, __mmask16 m) {
    for (int k = 0; k < nt; k += kTileTokens) {
      const int n = std::min(kTileTokens, nt - k);
      const ActBlockInfo* ti[kTileTokens];
      for (int t = 0; t < n; ++t) ti[t] = info + (t0 + k + t) * blocks;
#define FATHOM_CALL(N) TileQ8<N>(p, blocks, x + k, ti, y + k * a.y_stride, a.y_stride, m)
      FATHOM_QGEMM_DISPATCH(n, FATHOM_CALL)
#undef FATHOM_CALL
    }
  };
  if (a.n_tokens >= kAmxTokens && AmxInt8Available()) {
    // Full tiles of 16 tokens on AMX, the rest on the AVX-512 tiles (the same bits).
    thread_local std::vector<uint8_t> act_buf;
    const int64_t act_tiles = a.n_tokens / kAmxTokens;
    uint8_t* act =
        Scratch<uint8_t>(act_buf, static_cast<size_t>(act_tiles * blocks * kAmxBlockBytes));
    for (int64_t k = 0; k < act_tiles; ++k) {
      PackAmxActivationsQ8(a.xq + k * kAmxTokens * a.xq_stride, a.xq_stride, blocks,
                           act + k * blocks * kAmxBlockBytes);
    }
    ConfigureAmxTilesQ8();
    RunPanels<PanelQ8>(
        a, PackQ8<kKind>, pack_interleaved, [](const PanelQ8*, int64_t) {}, 2 * kAmxTokens,
        [&](const PanelQ8* p, int64_t, int nt, const uint8_t* const* x, int64_t t0, float* y,
            __mmask16 m) {
          const uint8_t* at = act + (t0 / kAmxTokens) * blocks * kAmxBlockBytes;
          if (nt == 2 * kAmxTokens) {
            TileQ8Amx<2>(p, at, blocks, info + t0 * blocks, y, a.y_stride, m);
            return;
          }
          int k = 0;
          if (nt >= kAmxTokens) {
            TileQ8Amx<1>(p, at, blocks, info + t0 * blocks, y, a.y_stride, m);
            k = kAmxTokens;
          }
          vnni_tiles(p, nt - k, x + k, t0 + k, y + k * a.y_stride, m);
        });
    ReleaseAmxTiles();
    return;
  }
  RunPanels<PanelQ8>(a, PackQ8<kKind>, pack_interleaved,
                     [&](const PanelQ8* p, int64_t, int nt, const uint8_t* const* x, int64_t t0,
                         float* y, __mmask16 m) { vnni_tiles(p, nt, x, t0, y, m); });
}

bool RunVnni(DType weight_type, const Args& a);

}  // namespace

bool QGemmSupported(DType weight_type, int64_t cols) {
  switch (weight_type) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return cols > 0 && cols % kQK_K == 0;
    default:
      return false;
  }
}

QDotIsa BestQGemmIsa() { return CpuHasVnni() ? QDotIsa::kAvx512Vnni : QDotIsa::kAvx2; }

bool QGemm(QDotIsa isa, DType weight_type, const uint8_t* w, uint64_t row_bytes, int64_t rows,
           int64_t cols, const uint8_t* xq, uint64_t xq_stride, int64_t n_tokens, float* y,
           int64_t y_stride) {
  if (!QGemmSupported(weight_type, cols)) return false;
  if (isa == QDotIsa::kAvx512Vnni && !CpuHasVnni()) return false;
  if (rows <= 0 || n_tokens <= 0) return true;
  if (isa != QDotIsa::kAvx512Vnni) {
    const QDotFn dot = GetQDot(weight_type, isa);
    if (dot == nullptr) return false;
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = w + static_cast<uint64_t>(r) * row_bytes;
      for (int64_t t = 0; t < n_tokens; ++t)
        y[t * y_stride + r] = dot(row, xq + t * xq_stride, cols);
    }
    return true;
  }
  return RunVnni(weight_type, Args{w, row_bytes, rows, cols, xq, xq_stride, n_tokens, y, y_stride,
                                   /*interleaved=*/false, 0});
}

bool QGemmInterleaved(DType weight_type, const uint8_t* w, int64_t rows, int64_t cols,
                      const uint8_t* xq, uint64_t xq_stride, int64_t n_tokens, float* y,
                      int64_t y_stride) {
  if (!InterleaveSupported(weight_type, rows, cols) || !CpuHasVnni()) return false;
  if (n_tokens <= 0) return true;
  const uint64_t row_bytes = static_cast<uint64_t>(cols / Traits(weight_type).block_size) *
                             static_cast<uint64_t>(Traits(weight_type).type_size);
  return RunVnni(weight_type, Args{w, row_bytes, rows, cols, xq, xq_stride, n_tokens, y, y_stride,
                                   /*interleaved=*/true, InterleavedUnitBytes(weight_type)});
}

namespace {

bool RunVnni(DType weight_type, const Args& a) {
  switch (weight_type) {
    case DType::kQ4_K:
      QGemmQ4K<BlockQ4_K>(a);
      break;
    case DType::kQ5_K:
      QGemmQ4K<BlockQ5_K>(a);
      break;
    case DType::kQ6_K:
      QGemmQ6K(a);
      break;
    case DType::kQ8_0:
      QGemmQ8<Blocks32::kQ8_0>(a);
      break;
    case DType::kQ4_0:
      QGemmQ8<Blocks32::kQ4_0>(a);
      break;
    case DType::kQ5_0:
      QGemmQ8<Blocks32::kQ5_0>(a);
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace
}  // namespace fathom
