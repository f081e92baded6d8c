// Dequantization and reference quantization of ggml's 32-element block types Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0 and Q8_1, following ggml's dequantize_row_* and quantize_row_*_ref bit for bit.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/quant.h"

FATHOM_NO_FP_CONTRACT

namespace fathom::tensor_internal {
namespace {

// The block's element j (0..31) from its nibble array: low nibbles hold 0..15, high 16..31.
inline int Nibble(const uint8_t* qs, int j) { return j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4); }

inline uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

inline void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// The value of largest magnitude (the first one on ties) of a block, and that magnitude.
inline void SignedAbsMax(const float* x, int n, float* max, float* amax) {
  *amax = 0.0f;
  *max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (*amax < std::fabs(x[j])) {
      *amax = std::fabs(x[j]);
      *max = x[j];
    }
  }
}

inline void MinMax(const float* x, int n, float* min, float* max) {
  *min = FLT_MAX;
  *max = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    if (x[j] < *min) *min = x[j];
    if (x[j] > *max) *max = x[j];
  }
}

}  // namespace

void DequantizeQ4_0(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ4_0 b = LoadBlock<BlockQ4_0>(x, i);
    const float d = HalfToFloat(b.d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(Nibble(b.qs, j) - 8) * d;
  }
}

void DequantizeQ4_1(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ4_1 b = LoadBlock<BlockQ4_1>(x, i);
    const float d = HalfToFloat(b.d);
    const float m = HalfToFloat(b.m);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(Nibble(b.qs, j)) * d + m;
  }
}

void DequantizeQ5_0(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ5_0 b = LoadBlock<BlockQ5_0>(x, i);
    const float d = HalfToFloat(b.d);
    const uint32_t qh = LoadU32(b.qh);
    for (int j = 0; j < kQK; ++j) {
      const int q = Nibble(b.qs, j) | static_cast<int>(((qh >> j) & 1) << 4);
      y[j] = static_cast<float>(q - 16) * d;
    }
  }
}

void DequantizeQ5_1(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ5_1 b = LoadBlock<BlockQ5_1>(x, i);
    const float d = HalfToFloat(b.d);
    const float m = HalfToFloat(b.m);
    const uint32_t qh = LoadU32(b.qh);
    for (int j = 0; j < kQK; ++j) {
      const int q = Nibble(b.qs, j) | static_cast<int>(((qh >> j) & 1) << 4);
      y[j] = static_cast<float>(q) * d + m;
    }
  }
}

void DequantizeQ8_0(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ8_0 b = LoadBlock<BlockQ8_0>(x, i);
    const float d = HalfToFloat(b.d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
}

void DequantizeQ8_1(const void* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ8_1 b = LoadBlock<BlockQ8_1>(x, i);
    const float d = HalfToFloat(b.d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
}

// Symmetric 4-bit: d = max / -8 so that the extreme value maps to q = 0.
void QuantizeQ4_0(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float max, amax;
    SignedAbsMax(x, kQK, &max, &amax);
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 b;
    b.d = F32ToF16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      // (int8_t)(v + 8.5f) truncates toward zero, then at most 15.
      const int q0 = static_cast<int8_t>(TruncToInt(x[j] * id + 8.5f));
      const int q1 = static_cast<int8_t>(TruncToInt(x[j + kQK / 2] * id + 8.5f));
      const uint8_t u0 = static_cast<uint8_t>(q0 < 15 ? q0 : 15);
      const uint8_t u1 = static_cast<uint8_t>(q1 < 15 ? q1 : 15);
      b.qs[j] = static_cast<uint8_t>(u0 | (u1 << 4));
    }
    StoreBlock(y, i, b);
  }
}

// Asymmetric 4-bit: d = (max - min) / 15, m = min.
void QuantizeQ4_1(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float min, max;
    MinMax(x, kQK, &min, &max);
    const float d = (max - min) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_1 b;
    b.d = F32ToF16(d);
    b.m = F32ToF16(min);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = static_cast<int8_t>(TruncToInt((x[j] - min) * id + 0.5f));
      const int q1 = static_cast<int8_t>(TruncToInt((x[j + kQK / 2] - min) * id + 0.5f));
      const uint8_t u0 = static_cast<uint8_t>(q0 < 15 ? q0 : 15);
      const uint8_t u1 = static_cast<uint8_t>(q1 < 15 ? q1 : 15);
      b.qs[j] = static_cast<uint8_t>(u0 | (u1 << 4));
    }
    StoreBlock(y, i, b);
  }
}

// Symmetric 5-bit: d = max / -16.
void QuantizeQ5_0(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float max, amax;
    SignedAbsMax(x, kQK, &max, &amax);
    const float d = max / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_0 b;
    b.d = F32ToF16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = static_cast<int8_t>(TruncToInt(x[j] * id + 16.5f));
      const int q1 = static_cast<int8_t>(TruncToInt(x[j + kQK / 2] * id + 16.5f));
      // ggml stores MIN(31, q) in a uint8_t: keep its low 8 bits.
      const uint8_t u0 = static_cast<uint8_t>(q0 < 31 ? q0 : 31);
      const uint8_t u1 = static_cast<uint8_t>(q1 < 31 ? q1 : 31);
      b.qs[j] = static_cast<uint8_t>((u0 & 0xF) | ((u1 & 0xF) << 4));
      qh |= static_cast<uint32_t>((u0 >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((u1 >> 4) & 1) << (j + kQK / 2);
    }
    StoreU32(b.qh, qh);
    StoreBlock(y, i, b);
  }
}

// Asymmetric 5-bit: d = (max - min) / 31, m = min.
void QuantizeQ5_1(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float min, max;
    MinMax(x, kQK, &min, &max);
    const float d = (max - min) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_1 b;
    b.d = F32ToF16(d);
    b.m = F32ToF16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t u0 = static_cast<uint8_t>(TruncToInt((x[j] - min) * id + 0.5f));
      const uint8_t u1 = static_cast<uint8_t>(TruncToInt((x[j + kQK / 2] - min) * id + 0.5f));
      b.qs[j] = static_cast<uint8_t>((u0 & 0xF) | ((u1 & 0xF) << 4));
      qh |= static_cast<uint32_t>((u0 >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((u1 >> 4) & 1) << (j + kQK / 2);
    }
    StoreU32(b.qh, qh);
    StoreBlock(y, i, b);
  }
}

// Symmetric 8-bit: d = amax / 127, q = round(x / d) (half away from zero).
void QuantizeQ8_0(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    b.d = F32ToF16(d);
    for (int j = 0; j < kQK; ++j) b.qs[j] = static_cast<int8_t>(TruncToInt(std::round(x[j] * id)));
    StoreBlock(y, i, b);
  }
}

// As Q8_0, plus s = d * sum(q).
void QuantizeQ8_1(const float* x, void* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_1 b;
    b.d = F32ToF16(d);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      b.qs[j] = static_cast<int8_t>(TruncToInt(std::round(x[j] * id)));
      sum += b.qs[j];
    }
    b.s = F32ToF16(static_cast<float>(sum) * d);
    StoreBlock(y, i, b);
  }
}

}  // namespace fathom::tensor_internal
