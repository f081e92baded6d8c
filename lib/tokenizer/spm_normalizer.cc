// SentencePiece normalizer: charsmap parsing (Darts-clone double-array units) and
// Normalizer::Normalize of sentencepiece 0.1.97.
#include "tokenizer/spm_normalizer.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fathom::internal {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";
constexpr size_t kMaxTrieResults = 32;  // Normalizer::kMaxTrieResultsSize

// Darts-clone DoubleArrayUnit accessors.
bool HasLeaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t UnitValue(uint32_t unit) { return unit & ((1U << 31) - 1); }
uint32_t UnitLabel(uint32_t unit) { return unit & ((1U << 31) | 0xFF); }
uint32_t UnitOffset(uint32_t unit) { return (unit >> 10) << ((unit & (1U << 9)) >> 6); }

bool IsTrail(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }
bool IsValidCodepoint(uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

}  // namespace

bool SpmValidUtf8Prefix(std::string_view s, size_t* len) {
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i])); };
  *len = 1;
  if (b(0) < 0x80) return true;
  uint32_t cp = 0;
  if (s.size() >= 2 && (b(0) & 0xE0) == 0xC0) {
    cp = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    if (IsTrail(s[1]) && cp >= 0x80 && IsValidCodepoint(cp)) return *len = 2, true;
  } else if (s.size() >= 3 && (b(0) & 0xF0) == 0xE0) {
    cp = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    if (IsTrail(s[1]) && IsTrail(s[2]) && cp >= 0x800 && IsValidCodepoint(cp)) {
      return *len = 3, true;
    }
  } else if (s.size() >= 4 && (b(0) & 0xF8) == 0xF0) {
    cp = ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    if (IsTrail(s[1]) && IsTrail(s[2]) && IsTrail(s[3]) && cp >= 0x10000 && IsValidCodepoint(cp)) {
      return *len = 4, true;
    }
  }
  return false;
}

absl::StatusOr<PrecompiledCharsMap> PrecompiledCharsMap::Parse(std::string_view blob) {
  uint32_t trie_size = 0;
  if (blob.size() <= sizeof(trie_size)) {
    return absl::InvalidArgumentError("precompiled charsmap: blob is too short");
  }
  const auto* p = reinterpret_cast<const uint8_t*>(blob.data());
  trie_size = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
              (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  blob.remove_prefix(sizeof(trie_size));
  if (trie_size > blob.size()) {
    return absl::InvalidArgumentError(absl::StrCat("precompiled charsmap: trie of ", trie_size,
                                                   " bytes exceeds the blob (", blob.size(), ")"));
  }
  if (trie_size < 4) {
    return absl::InvalidArgumentError("precompiled charsmap: the trie has no units");
  }
  PrecompiledCharsMap map;
  map.units_.resize(trie_size / 4);  // sentencepiece ignores a partial last unit too
  for (size_t i = 0; i < map.units_.size(); ++i) {
    const uint8_t* u = p + 4 + 4 * i;
    map.units_[i] = static_cast<uint32_t>(u[0]) | (static_cast<uint32_t>(u[1]) << 8) |
                    (static_cast<uint32_t>(u[2]) << 16) | (static_cast<uint32_t>(u[3]) << 24);
  }
  map.normalized_.assign(blob.substr(trie_size));
  return map;
}

uint32_t PrecompiledCharsMap::Unit(size_t pos) const {
  return pos < units_.size() ? units_[pos] : 0;
}

std::pair<size_t, std::string_view> PrecompiledCharsMap::LongestMatch(
    std::string_view input) const {
  // Darts-clone commonPrefixSearch from the root, keeping the longest of the first 32 results.
  size_t node = 0;
  node ^= UnitOffset(Unit(node));
  size_t longest = 0;
  uint32_t value = 0;
  size_t results = 0;
  for (size_t i = 0; i < input.size() && node < units_.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(input[i]);
    node ^= c;
    if (node >= units_.size()) break;
    const uint32_t unit = units_[node];
    if (UnitLabel(unit) != c) break;
    node ^= UnitOffset(unit);
    if (HasLeaf(unit)) {
      if (results < kMaxTrieResults) {
        longest = i + 1;  // later results are always longer
        value = UnitValue(Unit(node));
      }
      ++results;
    }
  }
  if (longest == 0) return {0, {}};
  if (value >= normalized_.size()) return {0, {}};  // points outside the blob: no rule
  const size_t end = normalized_.find('\0', value);
  return {longest,
          std::string_view(normalized_)
              .substr(value, (end == std::string::npos ? normalized_.size() : end) - value)};
}

absl::StatusOr<SpmNormalizer> SpmNormalizer::Create(SpmNormalizerOptions options) {
  SpmNormalizer n;
  if (!options.precompiled_charsmap.empty()) {
    absl::StatusOr<PrecompiledCharsMap> map =
        PrecompiledCharsMap::Parse(options.precompiled_charsmap);
    if (!map.ok()) return map.status();
    n.charsmap_ = *std::move(map);
    n.has_charsmap_ = true;
  }
  for (const std::string& s : options.user_defined_symbols) {
    if (!s.empty()) n.user_symbols_.Insert(s, 0);
  }
  n.user_symbols_.Freeze();
  n.has_user_symbols_ = !options.user_defined_symbols.empty();
  options.precompiled_charsmap.clear();
  n.options_ = std::move(options);
  return n;
}

std::pair<std::string_view, size_t> SpmNormalizer::NormalizePrefix(std::string_view input) const {
  if (has_user_symbols_) {
    const size_t n = user_symbols_.LongestPrefix(input).first;
    if (n > 0) return {input.substr(0, n), n};
  }
  if (has_charsmap_) {
    const auto [length, replacement] = charsmap_.LongestMatch(input);
    if (length > 0) return {replacement, length};
  }
  size_t length = 0;
  if (!SpmValidUtf8Prefix(input, &length)) return {kReplacementChar, 1};
  return {input.substr(0, length), length};
}

std::string SpmNormalizer::Normalize(std::string_view input) const {
  std::string out;
  if (options_.remove_extra_whitespaces) {  // leading spaces
    while (!input.empty()) {
      const auto [piece, consumed] = NormalizePrefix(input);
      if (piece != " ") break;
      input.remove_prefix(consumed);
    }
  }
  if (input.empty()) return out;
  out.reserve(input.size() * 3 / 2 + 3);
  const auto add_ws = [&] {
    if (options_.escape_whitespaces) {
      out.append(kSpaceSymbol);
    } else {
      out.push_back(' ');
    }
  };
  if (!options_.treat_whitespace_as_suffix && options_.add_dummy_prefix) add_ws();
  bool is_prev_space = options_.remove_extra_whitespaces;
  while (!input.empty()) {
    auto [piece, consumed] = NormalizePrefix(input);
    while (is_prev_space && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    if (!piece.empty()) {
      for (const char c : piece) {
        if (options_.escape_whitespaces && c == ' ') {
          out.append(kSpaceSymbol);
        } else {
          out.push_back(c);
        }
      }
      is_prev_space = piece.back() == ' ';
    }
    input.remove_prefix(consumed);
    if (!options_.remove_extra_whitespaces) is_prev_space = false;
  }
  if (options_.remove_extra_whitespaces) {  // trailing spaces
    const std::string_view space = options_.escape_whitespaces ? kSpaceSymbol : " ";
    while (std::string_view(out).ends_with(space)) out.erase(out.size() - space.size());
  }
  if (options_.treat_whitespace_as_suffix && options_.add_dummy_prefix) add_ws();
  return out;
}

}  // namespace fathom::internal
