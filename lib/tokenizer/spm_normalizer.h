// SentencePiece's text normalizer (normalizer.cc of sentencepiece 0.1.97): the precompiled
// charsmap (a Darts double-array trie over UTF-8 prefixes whose values point into a blob of
// NUL-terminated replacement strings), user-defined symbols kept verbatim, add_dummy_prefix,
// remove_extra_whitespaces and escape_whitespaces. The blob comes from untrusted files, so every
// trie and string access is bounds-checked: a broken blob is an error at load time or, for
// entries that point outside the blob, simply no match.
#ifndef FATHOM_LIB_TOKENIZER_SPM_NORMALIZER_H_
#define FATHOM_LIB_TOKENIZER_SPM_NORMALIZER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/byte_trie.h"

namespace fathom::internal {

// sentencepiece's string_util::IsValidDecodeUTF8 on the start of non-empty `s`: sets `len` to
// the character's byte length (1 for an ill-formed byte) and says whether it is well formed.
bool SpmValidUtf8Prefix(std::string_view s, size_t* len);

// The <uint32 trie size><double-array units><NUL-terminated replacements> blob of
// NormalizerSpec.precompiled_charsmap.
class PrecompiledCharsMap {
 public:
  static absl::StatusOr<PrecompiledCharsMap> Parse(std::string_view blob);

  // The longest rule matching a prefix of `input`: {matched byte length, replacement}. Length 0
  // if no rule matches. Like sentencepiece, only the first 32 matches of the common-prefix search
  // are considered.
  std::pair<size_t, std::string_view> LongestMatch(std::string_view input) const;

 private:
  uint32_t Unit(size_t pos) const;  // 0 (never a valid label) outside the array

  std::vector<uint32_t> units_;  // copied: the blob need not be aligned or kept alive
  std::string normalized_;
};

struct SpmNormalizerOptions {
  std::string precompiled_charsmap;  // empty: no character rules (the "identity" normalizer)
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
  bool treat_whitespace_as_suffix = false;
  std::vector<std::string> user_defined_symbols;  // matched first, never normalized
};

class SpmNormalizer {
 public:
  static absl::StatusOr<SpmNormalizer> Create(SpmNormalizerOptions options);

  // sentencepiece's Normalizer::Normalize: never fails; ill-formed UTF-8 bytes become U+FFFD one
  // byte at a time.
  std::string Normalize(std::string_view input) const;

 private:
  // {replacement, consumed bytes} for the start of `input` (non-empty).
  std::pair<std::string_view, size_t> NormalizePrefix(std::string_view input) const;

  SpmNormalizerOptions options_;
  bool has_charsmap_ = false;
  PrecompiledCharsMap charsmap_;
  bool has_user_symbols_ = false;
  ByteTrie user_symbols_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_SPM_NORMALIZER_H_
