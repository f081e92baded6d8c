// A tokenizer loaded from Hugging Face files: tokenizer.json (BPE model, added tokens,
// normalizer, pre-tokenizer, post-processor, decoder), optionally with tokenizer_config.json
// (chat template, bos/eos, add_bos_token/add_eos_token as transformers applies them).
#ifndef FATHOM_LIB_TOKENIZER_HF_TOKENIZER_H_
#define FATHOM_LIB_TOKENIZER_HF_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/hf_pipeline.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {

class HfTokenizer final : public TokenizerImpl {
 public:
  // `config_json` may be empty (no tokenizer_config.json).
  static absl::StatusOr<std::unique_ptr<HfTokenizer>> Create(std::string_view tokenizer_json,
                                                             std::string_view config_json);

  // What the tokenizers library's encode(text, add_special_tokens) gives: `add_special` applies
  // the post-processor of tokenizer.json. `parse_special` = !encode_special_tokens.
  absl::StatusOr<std::vector<int32_t>> EncodeWithFileRules(std::string_view text, bool add_special,
                                                           bool parse_special) const;
  // TokenizerImpl::Encode applies the model-level rules: tokenizer_config.json's
  // add_bos_token/add_eos_token when present (transformers), else the file's post-processor.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_bos,
                                              bool parse_special) const override;
  // The tokenizers library's decode(ids, skip_special_tokens).
  absl::StatusOr<std::string> DecodeIds(const std::vector<int32_t>& ids, bool skip_special) const;
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                     bool skip_special) const override {
    return DecodeIds(ids, skip_special);
  }
  std::string chat_template() const override { return chat_template_; }
  std::string TokenText(int32_t token) const override { return IdToToken(token); }
  std::string BosTokenText() const override {
    return bos_text_.empty() ? TokenizerImpl::BosTokenText() : bos_text_;
  }
  std::string EosTokenText() const override {
    return eos_text_.empty() ? TokenizerImpl::EosTokenText() : eos_text_;
  }

  absl::StatusOr<std::string> TokenToPiece(int32_t token) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(id_to_token_.size()); }
  int32_t bos() const override { return bos_; }
  int32_t eos() const override { return eos_; }
  bool IsEndOfGeneration(int32_t token) const override { return eog_.contains(token); }

  // Token text of an id ("" if none) and id of a token text (-1 if none).
  std::string IdToToken(int32_t id) const;
  int32_t TokenToId(std::string_view token) const;
  bool IsSpecial(int32_t id) const { return special_.contains(id); }
  const std::string& bos_text() const { return bos_text_; }
  const std::string& eos_text() const { return eos_text_; }

 private:
  HfTokenizer() = default;
  absl::Status LoadTokenizerJson(const Json& j);
  absl::Status LoadConfig(const Json& c);
  // Tokens of `text` without any added BOS/EOS.
  absl::Status EncodeText(std::string_view text, bool parse_special,
                          std::vector<int32_t>& out) const;
  absl::Status EncodePlain(std::string_view text, bool first_chunk,
                           std::vector<int32_t>& out) const;

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Decoder> decoder_;
  AddedTokenMatcher raw_added_;         // added tokens with normalized = false
  AddedTokenMatcher normalized_added_;  // added tokens with normalized = true
  std::vector<std::string> id_to_token_;
  absl::flat_hash_map<std::string, int32_t> added_of_;
  absl::flat_hash_set<int32_t> special_;
  absl::flat_hash_set<int32_t> eog_;
  std::vector<int32_t> file_prefix_, file_suffix_;    // tokenizer.json post-processor
  std::vector<int32_t> model_prefix_, model_suffix_;  // transformers' rules
  std::vector<std::string> pieces_;                   // TokenToPiece of every id
  int32_t bos_ = -1, eos_ = -1;
  std::string bos_text_, eos_text_, chat_template_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_HF_TOKENIZER_H_
