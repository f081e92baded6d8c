// Byte-level BPE tokenizer from GGUF (tokenizer.ggml.model = "gpt2"): llama.cpp's special-token
// partitioning, then the pre-tokenizer of tokenizer.ggml.pre and rank-ordered BPE merges;
// decoding through GPT-2's byte-to-unicode mapping.
#ifndef FATHOM_LIB_TOKENIZER_BYTE_LEVEL_BPE_VOCAB_H_
#define FATHOM_LIB_TOKENIZER_BYTE_LEVEL_BPE_VOCAB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "format/gguf_reader.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/hf_pipeline.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/vocab.h"

namespace fathom::internal {

// Maps a byte-level token text back to bytes as llama.cpp's llama_decode_text does: each code
// point of GPT-2's byte-to-unicode alphabet becomes its byte; anything else becomes
// "[UNK_BYTE_0x<hex of its UTF-8>" + text + "]". Invalid UTF-8 counts as U+FFFD per byte.
std::string DecodeByteLevelText(std::string_view text);

class ByteLevelBpeVocab final : public TokenizerImpl {
 public:
  static absl::StatusOr<std::unique_ptr<ByteLevelBpeVocab>> Create(const GgufFile& gguf);
  explicit ByteLevelBpeVocab(VocabData vocab);

  // Unimplemented where the vocabulary has no merges or an unknown tokenizer.ggml.pre (such
  // files still decode). Invalid UTF-8 is an InvalidArgument.
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
  absl::Status BuildEncoder(const std::vector<std::string>& merge_lines);

  VocabData vocab_;
  absl::Status encoder_status_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::vector<std::string> pieces_;  // TokenToPiece(special = false) for every id
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_BYTE_LEVEL_BPE_VOCAB_H_
