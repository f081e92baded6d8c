// Test helper: whether two GGUF metadata values have the same type and value (floats bit for bit,
// arrays element by element).
#ifndef FATHOM_TESTS_SUPPORT_GGUF_VALUE_EQUAL_H_
#define FATHOM_TESTS_SUPPORT_GGUF_VALUE_EQUAL_H_

#include <cstring>
#include <string>
#include <variant>

#include "format/gguf.h"

namespace fathom::testing {

inline bool SameGgufValue(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.value.index() != b.value.index()) return false;
  if (const auto* x = std::get_if<GgufArray>(&a.value)) {
    const auto& y = std::get<GgufArray>(b.value);
    if (x->element_type != y.element_type || x->values.size() != y.values.size()) return false;
    for (size_t i = 0; i < x->values.size(); ++i) {
      if (!SameGgufValue(x->values[i], y.values[i])) return false;
    }
    return true;
  }
  if (const auto* x = std::get_if<double>(&a.value)) {
    const double y = std::get<double>(b.value);
    return std::memcmp(x, &y, sizeof(double)) == 0;
  }
  if (const auto* x = std::get_if<std::string>(&a.value)) {
    return *x == std::get<std::string>(b.value);
  }
  if (const auto* x = std::get_if<uint64_t>(&a.value)) return *x == std::get<uint64_t>(b.value);
  if (const auto* x = std::get_if<int64_t>(&a.value)) return *x == std::get<int64_t>(b.value);
  return std::get<bool>(a.value) == std::get<bool>(b.value);
}

}  // namespace fathom::testing

#endif  // FATHOM_TESTS_SUPPORT_GGUF_VALUE_EQUAL_H_
