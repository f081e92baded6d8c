// SentencePiece-style tokenizer for GGUF vocabularies with tokenizer.ggml.model = "llama",
// reproducing llama.cpp's llm_tokenizer_spm (score-ordered bigram merges with byte fallback).
#ifndef FATHOM_LIB_TOKENIZER_SPM_TOKENIZER_H_
#define FATHOM_LIB_TOKENIZER_SPM_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "format/gguf_reader.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/vocab.h"

namespace fathom::internal {

// Splits raw text on special-token texts as llama.cpp's tokenizer_st_partition does: tokens in
// `vocab.special_tokens` order (longest first), each splitting every remaining text fragment at
// all its occurrences. USER_DEFINED tokens are always split out; CONTROL and UNKNOWN tokens only
// when `parse_special`. A fragment is either a token id or a byte range of `text`.
struct TextFragment {
  int32_t token = -1;  // >= 0: a special token; -1: raw text [offset, offset + length)
  size_t offset = 0;
  size_t length = 0;
};
std::vector<TextFragment> PartitionSpecialTokens(const VocabData& vocab, std::string_view text,
                                                 bool parse_special);

class SpmTokenizer final : public TokenizerImpl {
 public:
  static absl::StatusOr<std::unique_ptr<SpmTokenizer>> Create(const GgufFile& gguf);
  explicit SpmTokenizer(VocabData vocab);

  // `add_bos` is llama.cpp's add_special: BOS (and EOS) are added only where the vocabulary asks
  // for them (tokenizer.ggml.add_bos_token / add_eos_token). Text is taken as bytes: invalid
  // UTF-8 is split into byte-sized pieces exactly as llama.cpp does, and ends up as byte tokens
  // (or UNK); no error. Fails only when a byte has neither a <0xHH> token nor UNK.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_bos,
                                              bool parse_special) const override;
  absl::StatusOr<std::string> TokenToPiece(int32_t token) const override;
  int32_t vocab_size() const override { return vocab_.size(); }
  int32_t bos() const override { return vocab_.bos; }
  int32_t eos() const override { return vocab_.eos; }
  std::string TokenText(int32_t token) const override {
    return token >= 0 && token < vocab_.size() ? vocab_.texts[token] : std::string();
  }
  bool IsEndOfGeneration(int32_t token) const override;

  const VocabData& vocab() const { return vocab_; }

 private:
  // llm_tokenizer_spm_session::tokenize on already whitespace-escaped text.
  absl::Status TokenizeEscaped(std::string_view text, std::vector<int32_t>& out) const;
  // The same result, faster: when no token has U+2581 after another character (checked at load),
  // no merge can cross the start of a U+2581 run, so the text is merged run by run, with a cache.
  absl::Status TokenizeEscapedBySegments(std::string_view text, std::vector<int32_t>& out) const;

  VocabData vocab_;
  std::vector<std::string> pieces_;    // TokenToPiece(special = false) for every id
  std::array<int32_t, 256> byte_ids_;  // byte -> <0xHH> token (or the 1-byte token), -1 if none
  bool segment_safe_ = false;          // see TokenizeEscapedBySegments
  mutable std::mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::vector<int32_t>> cache_;  // under cache_mu_
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_SPM_TOKENIZER_H_
