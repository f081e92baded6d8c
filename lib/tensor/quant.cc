// Dequantize / Quantize / DotRef entry points: argument checks and dispatch to the per-type row
// kernels in quant_legacy.cc, quant_k.cc, quant_iq.cc and the scalar conversions in fp_convert.cc.
#include "tensor/quant.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tensor/blocks.h"
#include "tensor/dtype.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

FATHOM_NO_FP_CONTRACT

namespace fathom {
namespace {

namespace ti = tensor_internal;

using DequantFn = void (*)(const void*, float*, int64_t);
using QuantFn = void (*)(const float*, void*, int64_t);

// Row kernels of the block types (n counts blocks).
DequantFn BlockDequantizer(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return ti::DequantizeQ4_0;
    case DType::kQ4_1:
      return ti::DequantizeQ4_1;
    case DType::kQ5_0:
      return ti::DequantizeQ5_0;
    case DType::kQ5_1:
      return ti::DequantizeQ5_1;
    case DType::kQ8_0:
      return ti::DequantizeQ8_0;
    case DType::kQ8_1:
      return ti::DequantizeQ8_1;
    case DType::kQ2_K:
      return ti::DequantizeQ2_K;
    case DType::kQ3_K:
      return ti::DequantizeQ3_K;
    case DType::kQ4_K:
      return ti::DequantizeQ4_K;
    case DType::kQ5_K:
      return ti::DequantizeQ5_K;
    case DType::kQ6_K:
      return ti::DequantizeQ6_K;
    case DType::kQ8_K:
      return ti::DequantizeQ8_K;
    case DType::kIQ4_NL:
      return ti::DequantizeIQ4_NL;
    case DType::kIQ4_XS:
      return ti::DequantizeIQ4_XS;
    default:
      return nullptr;
  }
}

QuantFn BlockQuantizer(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return ti::QuantizeQ4_0;
    case DType::kQ4_1:
      return ti::QuantizeQ4_1;
    case DType::kQ5_0:
      return ti::QuantizeQ5_0;
    case DType::kQ5_1:
      return ti::QuantizeQ5_1;
    case DType::kQ8_0:
      return ti::QuantizeQ8_0;
    case DType::kQ8_1:
      return ti::QuantizeQ8_1;
    case DType::kQ2_K:
      return ti::QuantizeQ2_K;
    case DType::kQ3_K:
      return ti::QuantizeQ3_K;
    case DType::kQ4_K:
      return ti::QuantizeQ4_K;
    case DType::kQ5_K:
      return ti::QuantizeQ5_K;
    case DType::kQ6_K:
      return ti::QuantizeQ6_K;
    case DType::kQ8_K:
      return ti::QuantizeQ8_K;
    case DType::kIQ4_NL:
      return ti::QuantizeIQ4_NL;
    case DType::kIQ4_XS:
      return ti::QuantizeIQ4_XS;
    default:
      return nullptr;
  }
}

bool IsPlainFloat(DType type) {
  return type == DType::kF32 || type == DType::kF16 || type == DType::kBF16 ||
         type == DType::kF8_E4M3;
}

// Converts n elements of a plain float type (F32, F16, BF16, F8_E4M3) at p to float32.
void ConvertPlain(DType type, const uint8_t* p, float* dst, int64_t n) {
  switch (type) {
    case DType::kF32:
      if (n > 0) std::memmove(dst, p, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16: {
      int64_t i = 0;
#if defined(__F16C__)
      // The hardware conversion is exact and gives the same bits as HalfToFloat (tested).
      for (; i + 8 <= n; i += 8) {
        const __m128i h8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h8));
      }
#endif
      for (; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        dst[i] = ti::HalfToFloat(h);
      }
      return;
    }
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(dst + i, &bits, 4);
      }
      return;
    default: {  // F8_E4M3: through a table of all 256 codes
      static const std::array<float, 256> kTable = [] {
        std::array<float, 256> t;
        for (int v = 0; v < 256; ++v) t[v] = F8E4M3ToF32(static_cast<uint8_t>(v));
        return t;
      }();
      for (int64_t i = 0; i < n; ++i) dst[i] = kTable[p[i]];
      return;
    }
  }
}

// Validates (type, n, pointers) and returns the number of blocks.
absl::StatusOr<int64_t> CheckRow(const char* op, DType type, const void* a, const void* b,
                                 int64_t n) {
  const std::optional<DTypeTraits> t = GetDTypeTraits(static_cast<uint32_t>(type));
  if (!t.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: unknown tensor type id %d", op, static_cast<uint32_t>(type)));
  }
  if (n < 0 || n % t->block_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %d elements of %s are not a whole number of %d-element blocks", op, n,
                        t->name, t->block_size));
  }
  if (n > 0 && (a == nullptr || b == nullptr)) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: null buffer", op));
  }
  return n / t->block_size;
}

}  // namespace

absl::Status Dequantize(DType type, const void* src, float* dst, int64_t n) {
  absl::StatusOr<int64_t> nb = CheckRow("Dequantize", type, src, dst, n);
  if (!nb.ok()) return nb.status();
  if (IsPlainFloat(type)) {
    ConvertPlain(type, static_cast<const uint8_t*>(src), dst, n);
    return absl::OkStatus();
  }
  const DequantFn fn = BlockDequantizer(type);
  if (fn == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("Dequantize: type %s is not supported", Traits(type).name));
  }
  fn(src, dst, *nb);
  return absl::OkStatus();
}

absl::Status Quantize(DType type, const float* src, void* dst, int64_t n) {
  absl::StatusOr<int64_t> nb = CheckRow("Quantize", type, src, dst, n);
  if (!nb.ok()) return nb.status();
  uint8_t* out = static_cast<uint8_t*>(dst);
  switch (type) {
    case DType::kF32:
      if (n > 0) std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
      return absl::OkStatus();
    case DType::kF16:
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = type == DType::kF16 ? F32ToF16(src[i]) : F32ToBF16(src[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return absl::OkStatus();
    case DType::kF8_E4M3:
      for (int64_t i = 0; i < n; ++i) out[i] = F32ToF8E4M3(src[i]);
      return absl::OkStatus();
    default:
      break;
  }
  const QuantFn fn = BlockQuantizer(type);
  if (fn == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("Quantize: type %s is not supported", Traits(type).name));
  }
  // The block quantizers' scale searches assume finite input (as ggml's do).
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(src[i])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("Quantize: non-finite value %f at index %d", src[i], i));
    }
  }
  fn(src, dst, *nb);
  return absl::OkStatus();
}

float DotRef(DType type, const void* row, const float* x, int64_t n) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  absl::StatusOr<int64_t> nb = CheckRow("DotRef", type, row, x, n);
  if (!nb.ok()) return kNaN;
  float buf[ti::kQK_K];
  if (IsPlainFloat(type)) {
    // One running float sum over the whole row (the "blocks" are single elements).
    const uint8_t* p = static_cast<const uint8_t*>(row);
    const int64_t elem_bytes = Traits(type).type_size;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i += ti::kQK_K) {
      const int64_t m = n - i < ti::kQK_K ? n - i : ti::kQK_K;
      ConvertPlain(type, p + i * elem_bytes, buf, m);
      for (int64_t j = 0; j < m; ++j) sum += buf[j] * x[i + j];
    }
    return sum;
  }
  const DequantFn fn = BlockDequantizer(type);
  if (fn == nullptr) return kNaN;
  const DTypeTraits& t = Traits(type);
  const int64_t bs = t.block_size;
  const uint8_t* p = static_cast<const uint8_t*>(row);
  float total = 0.0f;
  for (int64_t b = 0; b < *nb; ++b) {
    fn(p + b * t.type_size, buf, 1);
    float block_sum = 0.0f;
    for (int64_t j = 0; j < bs; ++j) block_sum += buf[j] * x[b * bs + j];
    total += block_sum;
  }
  return total;
}

}  // namespace fathom
