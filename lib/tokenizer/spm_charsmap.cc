// SpmCharsMap: sentencepiece's precompiled_charsmap (normalizer.cc, darts.h semantics).
#include "tokenizer/spm_charsmap.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fathom::internal {
namespace {

constexpr char kReplacementChar[] = "\xEF\xBF\xBD";

// Darts-clone double-array unit fields.
bool HasLeaf(uint32_t u) { return ((u >> 8) & 1) != 0; }
uint32_t Value(uint32_t u) { return u & ((1u << 31) - 1); }
uint32_t Label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
uint32_t Offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

// sentencepiece's DecodeUTF8 length check: the length of a well-formed character at the start of
// `s`, or 0 when malformed (sentencepiece then consumes one byte and emits U+FFFD).
size_t ValidUtf8Length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  if (b(0) < 0x80) return 1;
  if ((b(0) & 0xE0) == 0xC0 && cont(1)) {
    const uint32_t c = ((b(0) & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    return c >= 0x80 ? 2 : 0;
  }
  if ((b(0) & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    const uint32_t c = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    return c >= 0x800 && (c < 0xD800 || c > 0xDFFF) ? 3 : 0;
  }
  if ((b(0) & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    const uint32_t c =
        ((b(0) & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    return c >= 0x10000 && c <= 0x10FFFF ? 4 : 0;
  }
  return 0;
}

}  // namespace

absl::StatusOr<SpmCharsMap> SpmCharsMap::Parse(std::string_view blob) {
  if (blob.size() < 4) return absl::InvalidArgumentError("precompiled_charsmap is truncated");
  uint32_t trie_bytes = 0;
  for (int i = 3; i >= 0; --i) trie_bytes = (trie_bytes << 8) | static_cast<uint8_t>(blob[i]);
  if (trie_bytes % 4 != 0 || trie_bytes == 0 || trie_bytes > blob.size() - 4) {
    return absl::InvalidArgumentError(absl::StrCat("precompiled_charsmap: trie size ", trie_bytes,
                                                   " does not fit the ", blob.size(), "-byte map"));
  }
  SpmCharsMap m;
  m.units_.resize(trie_bytes / 4);
  for (size_t i = 0; i < m.units_.size(); ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(blob.data() + 4 + 4 * i);
    m.units_[i] = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                  (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  }
  m.strings_ = std::string(blob.substr(4 + trie_bytes));
  return m;
}

size_t SpmCharsMap::LongestMatch(std::string_view s, std::string_view* replacement) const {
  const size_t n_units = units_.size();
  size_t node = Offset(units_[0]);
  size_t best_len = 0;
  uint32_t best_value = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const uint32_t c = static_cast<unsigned char>(s[i]);
    node ^= c;
    if (node >= n_units) break;
    const uint32_t unit = units_[node];
    if (Label(unit) != c) break;
    node ^= Offset(unit);
    if (node >= n_units) break;
    if (HasLeaf(unit)) {
      best_len = i + 1;
      best_value = Value(units_[node]);
    }
  }
  if (best_len == 0 || best_value >= strings_.size()) return 0;
  const char* start = strings_.data() + best_value;
  const void* nul = std::memchr(start, '\0', strings_.size() - best_value);
  const size_t len =
      nul != nullptr ? static_cast<const char*>(nul) - start : strings_.size() - best_value;
  *replacement = std::string_view(start, len);
  return best_len;
}

std::string SpmCharsMap::Normalize(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    std::string_view rep;
    size_t used = LongestMatch(text, &rep);
    if (used > 0) {
      out.append(rep);
    } else {
      used = ValidUtf8Length(text);
      // sentencepiece keeps a well-formed U+FFFD (3 bytes) as it is.
      if (used == 0) {
        out.append(kReplacementChar);
        used = 1;
      } else {
        out.append(text.substr(0, used));
      }
    }
    text.remove_prefix(used);
  }
  return out;
}

}  // namespace fathom::internal
