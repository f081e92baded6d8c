// SentencePiece's precompiled normalization map (NormalizerSpec.precompiled_charsmap, e.g. the
// default nmt_nfkc): a Darts double-array trie over UTF-8 input whose leaves point at
// replacement strings. Normalize() applies it as sentencepiece's Normalizer does: at each position
// the longest matching prefix is replaced, otherwise one UTF-8 character is copied (a malformed
// byte becomes U+FFFD). Whitespace rules (dummy prefix, extra whitespace) are not part of it.
#ifndef FATHOM_LIB_TOKENIZER_SPM_CHARSMAP_H_
#define FATHOM_LIB_TOKENIZER_SPM_CHARSMAP_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fathom::internal {

class SpmCharsMap {
 public:
  // `blob`: uint32 little-endian trie size in bytes, the trie units, then the replacement
  // strings (NUL-terminated). InvalidArgument when the sizes do not fit.
  static absl::StatusOr<SpmCharsMap> Parse(std::string_view blob);

  std::string Normalize(std::string_view text) const;

 private:
  // Length of the longest trie match at the start of `s` (0 if none) and its replacement.
  size_t LongestMatch(std::string_view s, std::string_view* replacement) const;

  std::vector<uint32_t> units_;
  std::string strings_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_SPM_CHARSMAP_H_
