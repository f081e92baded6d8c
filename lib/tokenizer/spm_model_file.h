// SentencePiece tokenizer.model files (protobuf ModelProto): BPE models encode with the same
// score-ordered merges as llama.cpp's SPM tokenizer, with sentencepiece's rules (the normalizer's
// precompiled map, special-token text is plain text, BOS on request, decoding drops the
// dummy-prefix space).
#ifndef FATHOM_LIB_TOKENIZER_SPM_MODEL_FILE_H_
#define FATHOM_LIB_TOKENIZER_SPM_MODEL_FILE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/spm_charsmap.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {

class SpmModelFileTokenizer final : public TokenizerImpl {
 public:
  // `bytes`: the content of a tokenizer.model file.
  static absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> Create(std::string_view bytes);

  // sentencepiece's encode: `add_bos` prepends BOS; `parse_special` is ignored because
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
    return token >= 0 && token < spm_->vocab().size() ? spm_->vocab().texts[token] : "";
  }
  absl::StatusOr<std::string> TokenToPiece(int32_t token) const override {
    return spm_->TokenToPiece(token);
  }
  int32_t vocab_size() const override { return spm_->vocab_size(); }
  int32_t bos() const override { return spm_->bos(); }
  int32_t eos() const override { return spm_->eos(); }
  bool IsEndOfGeneration(int32_t token) const override { return spm_->IsEndOfGeneration(token); }

 private:
  std::unique_ptr<SpmTokenizer> spm_;
  bool add_dummy_prefix_ = true;
  bool remove_extra_whitespaces_ = false;
  // The normalizer's precompiled map (e.g. nmt_nfkc); none for the identity normalizer.
  std::optional<SpmCharsMap> charsmap_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_SPM_MODEL_FILE_H_
