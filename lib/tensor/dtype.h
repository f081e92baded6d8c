// Element types of tensors as GGUF/ggml numbers them, with their block geometry.
#ifndef FATHOM_LIB_TENSOR_DTYPE_H_
#define FATHOM_LIB_TENSOR_DTYPE_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"

namespace fathom {

// Values are ggml's type ids (the numbers stored in GGUF tensor infos).
enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
  // Not a ggml type: DeepSeek's float8_e4m3fn (safetensors F8_E4M3); id outside ggml's range.
  kF8_E4M3 = 1000,
};

struct DTypeTraits {
  DType type;
  std::string_view name;  // ggml's spelling, e.g. "Q4_K"
  int64_t block_size;     // elements per block (1 for plain types)
  int64_t type_size;      // bytes per block
  bool can_compute;       // fathom can dequantize it and take dot products with it
};

// Traits of a ggml type id, or nullopt when the id is not a known type.
std::optional<DTypeTraits> GetDTypeTraits(uint32_t type_id);
const DTypeTraits& Traits(DType type);  // `type` must be a known enumerator

// Bytes of a row of `n` elements; error if `n` is not a multiple of the block size or overflows.
absl::StatusOr<uint64_t> RowBytes(DType type, int64_t n);

// Parses a ggml type name such as "Q4_K" (case-insensitive).
std::optional<DType> DTypeFromName(std::string_view name);

}  // namespace fathom

#endif  // FATHOM_LIB_TENSOR_DTYPE_H_
