// A Hugging Face model folder whose tokenizer is a SentencePiece tokenizer.model (no
// tokenizer.json): the .model file's encoding with tokenizer_config.json's rules on top
// (add_bos_token, default true as for LlamaTokenizer; add_eos_token, default false;
// chat_template).
#ifndef FATHOM_LIB_TOKENIZER_HF_SPM_TOKENIZER_H_
#define FATHOM_LIB_TOKENIZER_HF_SPM_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/spm_model_file.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {

class HfSpmTokenizer final : public TokenizerImpl {
 public:
  // `model_bytes`: the tokenizer.model file; `config_json`: tokenizer_config.json ("" if none).
  static absl::StatusOr<std::unique_ptr<HfSpmTokenizer>> Create(std::string_view model_bytes,
                                                                std::string_view config_json);

  // `add_bos` means "add the special tokens" (transformers' add_special_tokens): BOS when
  // add_bos_token, EOS when add_eos_token.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_bos,
                                              bool parse_special) const override;
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                     bool skip_special) const override {
    return spm_->Decode(ids, skip_special);
  }
  std::string TokenText(int32_t token) const override { return spm_->TokenText(token); }
  absl::StatusOr<std::string> TokenToPiece(int32_t token) const override {
    return spm_->TokenToPiece(token);
  }
  int32_t vocab_size() const override { return spm_->vocab_size(); }
  int32_t bos() const override { return spm_->bos(); }
  int32_t eos() const override { return spm_->eos(); }
  bool IsEndOfGeneration(int32_t token) const override { return spm_->IsEndOfGeneration(token); }

 private:
  std::unique_ptr<SpmModelFileTokenizer> spm_;
  bool add_bos_token_ = true;
  bool add_eos_token_ = false;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_HF_SPM_TOKENIZER_H_
