// Dequantization and reference quantization of ggml's non-linear 4-bit types IQ4_NL (blocks of 32,
// one fp16 scale) and IQ4_XS (super-blocks of 256 with 6-bit sub-block scales), following ggml's
// dequantize_row_iq4_* and quantize_row_iq4_*_ref (no importance weights).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/quant.h"

FATHOM_NO_FP_CONTRACT

namespace fathom::tensor_internal {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

// Index of the table level closest to v (the lower one on ties), by bisection as ggml does.
int BestIndex(float v) {
  const int8_t* t = kIQ4NLValues;
  if (v <= t[0]) return 0;
  if (v >= t[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (v < t[mid]) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return v - t[hi - 1] < t[hi] - v ? hi - 1 : hi;
}

// Fits one block of 32 values with weights x^2: scale from the largest-magnitude value, then (if
// ntry > 0) 2*ntry + 1 alternative scales (itry + values[0]) / max, keeping the best weighted
// least-squares fit. Writes the level indices of the first fit to L; returns the scale (0 for a
// zero block, L then all 0).
float FitBlock(const float* xb, int ntry, uint8_t* L) {
  const int8_t* values = kIQ4NLValues;
  float weight[32];
  for (int j = 0; j < 32; ++j) weight[j] = xb[j] * xb[j];
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j) {
    const float ax = std::fabs(xb[j]);
    if (ax > amax) {
      amax = ax;
      max = xb[j];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int j = 0; j < 32; ++j) L[j] = 0;
    return 0;
  }
  float d = ntry > 0 ? -max / values[0] : max / values[0];
  float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int j = 0; j < 32; ++j) {
    const int l = BestIndex(id * xb[j]);
    L[j] = static_cast<uint8_t>(l);
    const float q = values[l];
    const float w = weight[j];
    sumqx += w * q * xb[j];
    sumq2 += w * q * q;
  }
  d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int itry = -ntry; itry <= ntry; ++itry) {
    id = static_cast<float>(itry + values[0]) / max;
    sumqx = sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
      const float q = values[BestIndex(id * xb[j])];
      const float w = weight[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// Packs 32 level indices per block: qs[16b + j] = L[32b + j] | L[32b + 16 + j] << 4.
void PackNibbles(const uint8_t* L, int n, uint8_t* qs) {
  for (int b = 0; b < n / 32; ++b) {
    for (int j = 0; j < 16; ++j) {
      qs[16 * b + j] = static_cast<uint8_t>(L[32 * b + j] | (L[32 * b + 16 + j] << 4));
    }
  }
}

}  // namespace

void DequantizeIQ4_NL(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const BlockIQ4_NL b = LoadBlock<BlockIQ4_NL>(x, i);
    const float d = HalfToFloat(b.d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>(kIQ4NLValues[b.qs[j] & 0xF]);
      y[j + kQK / 2] = d * static_cast<float>(kIQ4NLValues[b.qs[j] >> 4]);
    }
  }
}

void DequantizeIQ4_XS(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const BlockIQ4_XS b = LoadBlock<BlockIQ4_XS>(x, i);
    const float d = HalfToFloat(b.d);
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const int ls =
          ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b.scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      const uint8_t* qs = b.qs + 16 * ib;
      float* yb = y + 32 * ib;
      for (int j = 0; j < 16; ++j) {
        yb[j] = dl * static_cast<float>(kIQ4NLValues[qs[j] & 0xF]);
        yb[j + 16] = dl * static_cast<float>(kIQ4NLValues[qs[j] >> 4]);
      }
    }
  }
}

// ggml's reference IQ4_NL quantizer does no scale search (ntry = -1): one fit per block.
// (For an all-zero block ggml packs stale indices; here they are 0. Both dequantize to zeros.)
void QuantizeIQ4_NL(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    uint8_t L[kQK];
    BlockIQ4_NL b;
    b.d = F32ToF16(FitBlock(x, -1, L));
    PackNibbles(L, kQK, b.qs);
    StoreBlock(y, i, b);
  }
}

// IQ4_XS (ntry = 7): fit each sub-block, quantize the scales to 6 bits against d = -max_scale/32
// (the unrounded d, as ggml), then requantize every value against its sub-block's scale.
void QuantizeIQ4_XS(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    uint8_t L[kQK_K];
    float scales[kQK_K / 32];
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      scales[ib] = FitBlock(x + 32 * ib, 7, L + 32 * ib);
      const float abs_d = std::fabs(scales[ib]);
      if (abs_d > amax_scale) {
        amax_scale = abs_d;
        max_scale = scales[ib];
      }
    }
    BlockIQ4_XS b;
    std::memset(&b, 0, sizeof(b));
    const float d = -max_scale / 32;
    b.d = F32ToF16(d);
    const float id = d != 0.0f ? 1 / d : 0.f;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      int l = NearestInt(id * scales[ib]);
      l = l < -32 ? -32 : (l > 31 ? 31 : l);
      const float dl = d * static_cast<float>(l);
      const float idl = dl != 0.0f ? 1 / dl : 0.f;
      for (int j = 0; j < 32; ++j)
        L[32 * ib + j] = static_cast<uint8_t>(BestIndex(idl * x[32 * ib + j]));
      l += 32;
      b.scales_l[ib / 2] |= static_cast<uint8_t>((l & 0xF) << (4 * (ib % 2)));
      b.scales_h |= static_cast<uint16_t>((l >> 4) << (2 * ib));
    }
    PackNibbles(L, kQK_K, b.qs);
    StoreBlock(y, i, b);
  }
}

}  // namespace fathom::tensor_internal
