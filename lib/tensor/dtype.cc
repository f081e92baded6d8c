// The table of ggml type ids with their block geometry (ggml's blck_size / type_size), row sizes
// and name lookup.
#include "tensor/dtype.h"

#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace fathom {
namespace {

// Every type in the DType enum. Sizes are those of ggml's block structs (ggml-common.h).
constexpr std::array<DTypeTraits, 33> kTraits = {{
    {DType::kF32, "F32", 1, 4, true},
    {DType::kF16, "F16", 1, 2, true},
    {DType::kQ4_0, "Q4_0", 32, 18, true},
    {DType::kQ4_1, "Q4_1", 32, 20, true},
    {DType::kQ5_0, "Q5_0", 32, 22, true},
    {DType::kQ5_1, "Q5_1", 32, 24, true},
    {DType::kQ8_0, "Q8_0", 32, 34, true},
    {DType::kQ8_1, "Q8_1", 32, 36, false},  // activation type: dequantizable, not a weight type
    {DType::kQ2_K, "Q2_K", 256, 84, true},
    {DType::kQ3_K, "Q3_K", 256, 110, true},
    {DType::kQ4_K, "Q4_K", 256, 144, true},
    {DType::kQ5_K, "Q5_K", 256, 176, true},
    {DType::kQ6_K, "Q6_K", 256, 210, true},
    {DType::kQ8_K, "Q8_K", 256, 292, true},
    {DType::kIQ2_XXS, "IQ2_XXS", 256, 66, false},
    {DType::kIQ2_XS, "IQ2_XS", 256, 74, false},
    {DType::kIQ3_XXS, "IQ3_XXS", 256, 98, false},
    {DType::kIQ1_S, "IQ1_S", 256, 50, false},
    {DType::kIQ4_NL, "IQ4_NL", 32, 18, true},
    {DType::kIQ3_S, "IQ3_S", 256, 110, false},
    {DType::kIQ2_S, "IQ2_S", 256, 82, false},
    {DType::kIQ4_XS, "IQ4_XS", 256, 136, true},
    {DType::kI8, "I8", 1, 1, false},
    {DType::kI16, "I16", 1, 2, false},
    {DType::kI32, "I32", 1, 4, false},
    {DType::kI64, "I64", 1, 8, false},
    {DType::kF64, "F64", 1, 8, false},
    {DType::kIQ1_M, "IQ1_M", 256, 56, false},
    {DType::kBF16, "BF16", 1, 2, true},
    {DType::kTQ1_0, "TQ1_0", 256, 54, false},
    {DType::kTQ2_0, "TQ2_0", 256, 66, false},
    {DType::kMXFP4, "MXFP4", 32, 17, false},
    {DType::kF8_E4M3, "F8_E4M3", 1, 1, true},
}};

// ASCII case-insensitive equality (absl::EqualsIgnoreCase takes absl::string_view, which is not
// std::string_view in every Abseil build).
bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Returned by Traits() for a value outside the enum (a programming error): computes nothing.
constexpr DTypeTraits kUnknownTraits = {static_cast<DType>(0xFFFFFFFFu), "UNKNOWN", 1, 0, false};

}  // namespace

std::optional<DTypeTraits> GetDTypeTraits(uint32_t type_id) {
  for (const DTypeTraits& t : kTraits) {
    if (static_cast<uint32_t>(t.type) == type_id) return t;
  }
  return std::nullopt;
}

const DTypeTraits& Traits(DType type) {
  for (const DTypeTraits& t : kTraits) {
    if (t.type == type) return t;
  }
  return kUnknownTraits;
}

absl::StatusOr<uint64_t> RowBytes(DType type, int64_t n) {
  const std::optional<DTypeTraits> t = GetDTypeTraits(static_cast<uint32_t>(type));
  if (!t.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unknown tensor type id %d", static_cast<uint32_t>(type)));
  }
  if (n < 0) {
    return absl::InvalidArgumentError(absl::StrFormat("negative element count %d", n));
  }
  if (n % t->block_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d elements of %s are not a whole number of %d-element blocks", n, t->name,
                        t->block_size));
  }
  const uint64_t blocks = static_cast<uint64_t>(n / t->block_size);
  const uint64_t size = static_cast<uint64_t>(t->type_size);
  // Keep the result representable as int64_t (and so as size_t and off_t) for callers.
  if (blocks > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / size) {
    return absl::OutOfRangeError(
        absl::StrFormat("a row of %d elements of %s overflows 63 bits", n, t->name));
  }
  return blocks * size;
}

std::optional<DType> DTypeFromName(std::string_view name) {
  for (const DTypeTraits& t : kTraits) {
    if (EqualsNoCase(t.name, name)) return t.type;
  }
  return std::nullopt;
}

}  // namespace fathom
