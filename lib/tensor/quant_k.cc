// Dequantization and reference quantization of ggml's K-quants (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)
// and of the Q8_K activation type, following ggml's dequantize_row_* and quantize_row_*_ref bit
// for bit (same search for scales, same float operation order, no FMA contraction).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/quant.h"

FATHOM_NO_FP_CONTRACT

namespace fathom::tensor_internal {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // a group whose largest magnitude is below this is zero

inline int Clamp(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Packs 256 2-bit values: byte l of each 32-byte half h holds elements 128h + l + 32k at bits 2k.
void Pack2Bit(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* src = L + 128 * h;
    for (int l = 0; l < 32; ++l) {
      qs[32 * h + l] = static_cast<uint8_t>(src[l] | (src[l + 32] << 2) | (src[l + 64] << 4) |
                                            (src[l + 96] << 6));
    }
  }
}

// Symmetric search used by Q6_K: the largest-magnitude value `max` sets the first guess
// iscale = -nmax / max; 18 nearby iscales are tried, keeping the one with the best weighted
// (weights x^2) least-squares fit. L gets q + nmax in 0..2*nmax-1; returns the scale.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    const float fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const float fl = static_cast<float>(Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * fl;
      suml2 += w * fl * fl;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        L[i] = static_cast<int8_t>(nmax + Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Symmetric search used by Q3_K: first guess from the largest-magnitude value, then up to 5
// passes of coordinate descent on each q (weights x^2). L gets q + nmax; returns the scale.
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    const float fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const float li = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * li;
      if (slx > 0) {
        float sl2 = suml2 - w * li * li;
        const int new_l = Clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          const float fl = static_cast<float>(new_l);
          slx += w * x[i] * fl;
          sl2 += w * fl * fl;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Asymmetric search used by Q2_K/Q4_K/Q5_K: x ~ scale * L - the_min with L in 0..nmax. Starts from
// the min/max fit, then tries nstep + 1 iscales (rmin + rdelta * is + nmax) / (max - min), solving
// the weighted least-squares scale and min for each and keeping the one with the smallest
// weighted error (absolute if use_mad, squared otherwise).
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                     float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep,
                     bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  const float fnmax = static_cast<float>(nmax);
  float iscale = fnmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax));
    float diff = scale * static_cast<float>(L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + fnmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      const float fl = static_cast<float>(l);
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Shared by Q4_K and Q5_K: fits 8 sub-blocks of 32 with MakeQkx2Quants, packs the 6-bit
// scales/mins into b_scales/d/dmin and requantizes L (0..nmax) against the stored values.
void QuantizeScaleMinK(const float* x, int nmax, float rmin, int nstep, uint8_t* b_scales,
                       uint16_t* b_d, uint16_t* b_dmin, uint8_t* L) {
  float mins[8], scales[8], weights[32];
  uint8_t Laux[32];
  float max_scale = 0, max_min = 0;  // scales are positive as the min is taken out
  for (int j = 0; j < 8; ++j) {
    const float* xb = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xb[l] * xb[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xb[l]);
    scales[j] =
        MakeQkx2Quants(32, nmax, xb, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < 8; ++j) {
    uint8_t ls = static_cast<uint8_t>(NearestInt(inv_scale * scales[j]));
    uint8_t lm = static_cast<uint8_t>(NearestInt(inv_min * mins[j]));
    if (ls > 63) ls = 63;
    if (lm > 63) lm = 63;
    if (j < 4) {
      b_scales[j] = ls;
      b_scales[j + 4] = lm;
    } else {
      b_scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      b_scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      b_scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  *b_d = F32ToF16(max_scale / 63.f);
  *b_dmin = F32ToF16(max_min / 63.f);
  const float dall = HalfToFloat(*b_d);
  const float mall = HalfToFloat(*b_dmin);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    ScaleMinK4(j, b_scales, &sc, &m);
    const float d = dall * static_cast<float>(sc);
    if (d == 0.0f) continue;
    const float dm = mall * static_cast<float>(m);
    for (int ii = 0; ii < 32; ++ii) {
      L[32 * j + ii] = static_cast<uint8_t>(Clamp(NearestInt((x[32 * j + ii] + dm) / d), 0, nmax));
    }
  }
}

}  // namespace

// ---- Dequantization -----------------------------------------------------------------------------

void DequantizeQ2_K(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const BlockQ2_K b = LoadBlock<BlockQ2_K>(x, i);
    const float d = HalfToFloat(b.d);
    const float dmin = HalfToFloat(b.dmin);
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, r = e % 128;
      const int q = (b.qs[32 * h + r % 32] >> (2 * (r / 32))) & 3;
      const uint8_t sc = b.scales[e / 16];
      const float dl = d * static_cast<float>(sc & 0xF);
      const float ml = dmin * static_cast<float>(sc >> 4);
      y[e] = dl * static_cast<float>(q) - ml;
    }
  }
}

void DequantizeQ3_K(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const BlockQ3_K b = LoadBlock<BlockQ3_K>(x, i);
    const float d = HalfToFloat(b.d);
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, r = e % 128, j = r / 32, l = r % 32;
      const int q = (b.qs[32 * h + l] >> (2 * j)) & 3;
      const bool high = ((b.hmask[l] >> (4 * h + j)) & 1) != 0;
      const float dl = d * static_cast<float>(Q3ScaleK(b.scales, e / 16) - 32);
      y[e] = dl * static_cast<float>(q - (high ? 0 : 4));
    }
  }
}

void DequantizeQ4_K(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const BlockQ4_K b = LoadBlock<BlockQ4_K>(x, i);
    const float d = HalfToFloat(b.d);
    const float dmin = HalfToFloat(b.dmin);
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      ScaleMinK4(sb, b.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = dmin * static_cast<float>(m);
      const uint8_t* q = b.qs + 32 * (sb / 2);
      const int shift = 4 * (sb % 2);
      for (int l = 0; l < 32; ++l) {
        y[32 * sb + l] = d1 * static_cast<float>((q[l] >> shift) & 0xF) - m1;
      }
    }
  }
}

void DequantizeQ5_K(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const BlockQ5_K b = LoadBlock<BlockQ5_K>(x, i);
    const float d = HalfToFloat(b.d);
    const float dmin = HalfToFloat(b.dmin);
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      ScaleMinK4(sb, b.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = dmin * static_cast<float>(m);
      const uint8_t* q = b.qs + 32 * (sb / 2);
      const int shift = 4 * (sb % 2);
      for (int l = 0; l < 32; ++l) {
        const int v = ((q[l] >> shift) & 0xF) + (((b.qh[l] >> sb) & 1) << 4);
        y[32 * sb + l] = d1 * static_cast<float>(v) - m1;
      }
    }
  }
}

void DequantizeQ6_K(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const BlockQ6_K b = LoadBlock<BlockQ6_K>(x, i);
    const float d = HalfToFloat(b.d);
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, r = e % 128, j = r / 32, l = r % 32;
      const uint8_t lo_byte = b.ql[64 * h + 32 * (j % 2) + l];
      const int lo = j >= 2 ? (lo_byte >> 4) : (lo_byte & 0xF);
      const int hi = (b.qh[32 * h + l] >> (2 * j)) & 3;
      const int q = (lo | (hi << 4)) - 32;
      // ggml multiplies d by the scale first, then by q.
      y[e] = d * static_cast<float>(b.scales[e / 16]) * static_cast<float>(q);
    }
  }
}

void DequantizeQ8_K(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const BlockQ8_K b = LoadBlock<BlockQ8_K>(x, i);
    for (int j = 0; j < kQK_K; ++j) y[j] = b.d * static_cast<float>(b.qs[j]);
  }
}

// ---- Reference quantization ---------------------------------------------------------------------

void QuantizeQ2_K(const float* x, void* y, int64_t nb) {
  constexpr float kQ4Scale = 15.f;
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    BlockQ2_K b;
    std::memset(&b, 0, sizeof(b));
    uint8_t L[kQK_K], Laux[16];
    float weights[16], mins[16], scales[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f,
                                 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = kQ4Scale / max_scale;
      for (int j = 0; j < 16; ++j)
        b.scales[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
      b.d = F32ToF16(max_scale / kQ4Scale);
    } else {
      b.d = F32ToF16(0.f);
    }
    if (max_min > 0) {
      const float iscale = kQ4Scale / max_min;
      for (int j = 0; j < 16; ++j) {
        b.scales[j] |= static_cast<uint8_t>(NearestInt(iscale * mins[j]) << 4);
      }
      b.dmin = F32ToF16(max_min / kQ4Scale);
    } else {
      b.dmin = F32ToF16(0.f);
    }
    const float dall = HalfToFloat(b.d);
    const float mall = HalfToFloat(b.dmin);
    for (int j = 0; j < 16; ++j) {
      const float d = dall * static_cast<float>(b.scales[j] & 0xF);
      if (d == 0.0f) continue;
      const float dm = mall * static_cast<float>(b.scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] = static_cast<uint8_t>(Clamp(NearestInt((x[16 * j + ii] + dm) / d), 0, 3));
      }
    }
    Pack2Bit(L, b.qs);
    StoreBlock(y, i, b);
  }
}

void QuantizeQ3_K(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    BlockQ3_K b;
    std::memset(&b, 0, sizeof(b));
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    if (max_scale != 0.0f) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        // ggml keeps nearest_int's result in an int8_t before clamping.
        const int8_t l8 = static_cast<int8_t>(NearestInt(iscale * scales[j]));
        const int l = Clamp(l8, -32, 31) + 32;
        if (j < 8) {
          b.scales[j] = static_cast<uint8_t>(l & 0xF);
        } else {
          b.scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        }
        b.scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
      }
      b.d = F32ToF16(1 / iscale);
    } else {
      b.d = F32ToF16(0.f);
    }
    const float dall = HalfToFloat(b.d);
    for (int j = 0; j < 16; ++j) {
      const float d = dall * static_cast<float>(static_cast<int8_t>(Q3ScaleK(b.scales, j) - 32));
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] = static_cast<int8_t>(Clamp(NearestInt(x[16 * j + ii] / d), -4, 3) + 4);
      }
    }
    // High bits: element e goes to bit e / 32 of hmask[e % 32].
    for (int e = 0; e < kQK_K; ++e) {
      if (L[e] > 3) {
        b.hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
        L[e] = static_cast<int8_t>(L[e] - 4);
      }
    }
    uint8_t Lu[kQK_K];
    for (int e = 0; e < kQK_K; ++e) Lu[e] = static_cast<uint8_t>(L[e]);
    Pack2Bit(Lu, b.qs);
    StoreBlock(y, i, b);
  }
}

void QuantizeQ4_K(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    BlockQ4_K b;
    std::memset(&b, 0, sizeof(b));
    uint8_t L[kQK_K];
    QuantizeScaleMinK(x, 15, -1.f, 20, b.scales, &b.d, &b.dmin, L);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        b.qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + l + 32] << 4));
      }
    }
    StoreBlock(y, i, b);
  }
}

void QuantizeQ5_K(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    BlockQ5_K b;
    std::memset(&b, 0, sizeof(b));
    uint8_t L[kQK_K];
    QuantizeScaleMinK(x, 31, -0.5f, 15, b.scales, &b.d, &b.dmin, L);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        int l1 = L[64 * c + l];
        int l2 = L[64 * c + l + 32];
        if (l1 > 15) {
          l1 -= 16;
          b.qh[l] |= static_cast<uint8_t>(1 << (2 * c));
        }
        if (l2 > 15) {
          l2 -= 16;
          b.qh[l] |= static_cast<uint8_t>(2 << (2 * c));
        }
        b.qs[32 * c + l] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
    }
    StoreBlock(y, i, b);
  }
}

void QuantizeQ6_K(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    BlockQ6_K b;
    std::memset(&b, 0, sizeof(b));
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      scales[ib] = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib);
      const float abs_scale = std::fabs(scales[ib]);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scales[ib];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {  // all zero: an all-zero block
      StoreBlock(y, i, b);
      continue;
    }
    const float iscale = -128.f / max_scale;
    b.d = F32ToF16(1 / iscale);
    for (int ib = 0; ib < 16; ++ib) {
      const int l = NearestInt(iscale * scales[ib]);
      b.scales[ib] = static_cast<int8_t>(l < 127 ? l : 127);
    }
    const float dall = HalfToFloat(b.d);
    for (int j = 0; j < 16; ++j) {
      const float d = dall * static_cast<float>(b.scales[j]);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] = static_cast<int8_t>(Clamp(NearestInt(x[16 * j + ii] / d), -32, 31) + 32);
      }
    }
    for (int h = 0; h < 2; ++h) {
      const int8_t* Lh = L + 128 * h;
      uint8_t* ql = b.ql + 64 * h;
      uint8_t* qh = b.qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) |
                                     ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
    StoreBlock(y, i, b);
  }
}

void QuantizeQ8_K(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    BlockQ8_K b;
    std::memset(&b, 0, sizeof(b));
    float max = 0, amax = 0;
    for (int j = 0; j < kQK_K; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax != 0.0f) {  // else an all-zero block (ggml leaves bsums unwritten there)
      const float iscale = -127.f / max;
      for (int j = 0; j < kQK_K; ++j) {
        const int v = NearestInt(iscale * x[j]);
        b.qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
      }
      for (int j = 0; j < kQK_K / 16; ++j) {
        int sum = 0;
        for (int ii = 0; ii < 16; ++ii) sum += b.qs[16 * j + ii];
        b.bsums[j] = static_cast<int16_t>(sum);
      }
      b.d = 1 / iscale;
    }
    StoreBlock(y, i, b);
  }
}

}  // namespace fathom::tensor_internal
