// Exception-free accessors for nlohmann::json values read from untrusted tokenizer files.
#ifndef FATHOM_LIB_TOKENIZER_JSON_UTIL_H_
#define FATHOM_LIB_TOKENIZER_JSON_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "format/safetensors_reader.h"
#include "nlohmann/json.hpp"

namespace fathom::internal {

using Json = nlohmann::json;

// Deeper JSON is refused before a DOM is built (code that walks a DOM may recurse).
inline constexpr int kMaxJsonDepth = 128;

// Parses without exceptions; InvalidArgument naming `what` on malformed or too deeply nested JSON.
inline absl::StatusOr<Json> ParseJson(std::string_view text, std::string_view what) {
  if (absl::Status s = CheckJsonText(text, kMaxJsonDepth, /*reject_duplicate_keys=*/false);
      !s.ok()) {
    return absl::InvalidArgumentError(std::string(what) +
                                      " is not valid JSON: " + std::string(s.message()));
  }
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(std::string(what) + " is not valid JSON");
  }
  return j;
}

// The member `key` of an object, or nullptr (also when `j` is not an object).
inline const Json* JsonField(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

inline bool JsonBool(const Json& j, const char* key, bool fallback) {
  const Json* f = JsonField(j, key);
  return f != nullptr && f->is_boolean() ? f->get<bool>() : fallback;
}

inline std::string JsonString(const Json& j, const char* key, std::string fallback = "") {
  const Json* f = JsonField(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : fallback;
}

// An integer member within [lo, hi], or `fallback` when absent or out of range.
inline int64_t JsonInt(const Json& j, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  const Json* f = JsonField(j, key);
  if (f == nullptr || !f->is_number_integer()) return fallback;
  if (f->is_number_unsigned() && f->get<uint64_t>() > static_cast<uint64_t>(hi)) return fallback;
  const int64_t v = f->get<int64_t>();
  return v < lo || v > hi ? fallback : v;
}

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_JSON_UTIL_H_
