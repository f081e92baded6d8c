// SentencePiece tokenizer.model files (protobuf ModelProto), encoded and decoded as sentencepiece
// 0.1.97 does. BPE models run the same score-ordered merges as llama.cpp's SPM tokenizer (with
// sentencepiece's rules: special-token text is plain text, BOS on request); unigram models run
// sentencepiece's normalizer (precompiled charsmap, whitespace options) and its Viterbi.
// Decoding follows SentencePieceProcessor::Decode (leading-space rules, unk surface, bytes).
#ifndef FATHOM_LIB_TOKENIZER_SPM_MODEL_FILE_H_
#define FATHOM_LIB_TOKENIZER_SPM_MODEL_FILE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/spm_normalizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unigram_model.h"

namespace fathom::internal {

class SpmModelFileTokenizer final : public TokenizerImpl {
 public:
  // `bytes`: the content of a tokenizer.model file.
  static absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> Create(std::string_view bytes);

  // sentencepiece's encode: `add_bos` prepends BOS when the model has one (sentencepiece's Python
  // wrapper would insert bos_id() even when it is -1); `parse_special` is ignored because
  // sentencepiece never matches control-token text (user-defined pieces always match).
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_bos,
                                              bool parse_special) const override;
  // sentencepiece's decode.
  absl::StatusOr<std::string> DecodeIds(const std::vector<int32_t>& ids) const;
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                     bool /*skip_special*/) const override {
    return DecodeIds(ids);
  }
  std::string TokenText(int32_t token) const override {
    return token >= 0 && token < vocab_size() ? texts_[token] : "";
  }
  absl::StatusOr<std::string> TokenToPiece(int32_t token) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(texts_.size()); }
  int32_t bos() const override { return bos_; }
  int32_t eos() const override { return eos_; }
  bool IsEndOfGeneration(int32_t token) const override;

  bool is_unigram() const { return unigram_ != nullptr; }

 private:
  absl::Status EncodeUnigram(std::string_view text, std::vector<int32_t>& out) const;

  std::unique_ptr<SpmTokenizer> spm_;          // BPE models
  std::unique_ptr<UnigramModel> unigram_;      // unigram models
  std::unique_ptr<SpmNormalizer> normalizer_;  // unigram models; BPE models with a charsmap
  std::vector<std::string> texts_;
  std::vector<int32_t> types_;           // SentencePiece piece types
  std::array<int32_t, 256> byte_ids_{};  // <0xHH> pieces (-1 if none)
  bool byte_fallback_ = false;
  int32_t bos_ = -1;
  int32_t eos_ = -1;
  std::string unk_surface_;
  bool add_dummy_prefix_ = true;
  bool remove_extra_whitespaces_ = false;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_SPM_MODEL_FILE_H_
