// HfSpmTokenizer: tokenizer.model + tokenizer_config.json of a Hugging Face model folder.
#include "tokenizer/hf_spm_tokenizer.h"

#include <utility>

#include "absl/status/status.h"
#include "tokenizer/json_util.h"

namespace fathom::internal {

absl::StatusOr<std::unique_ptr<HfSpmTokenizer>> HfSpmTokenizer::Create(
    std::string_view model_bytes, std::string_view config_json) {
  absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> spm =
      SpmModelFileTokenizer::Create(model_bytes);
  if (!spm.ok()) return spm.status();
  auto t = std::unique_ptr<HfSpmTokenizer>(new HfSpmTokenizer());
  t->spm_ = *std::move(spm);
  if (!config_json.empty()) {
    absl::StatusOr<Json> c = ParseJson(config_json, "tokenizer_config.json");
    if (!c.ok()) return c.status();
    if (!c->is_object()) {
      return absl::InvalidArgumentError("tokenizer_config.json is not a JSON object");
    }
    t->add_bos_token_ = JsonBool(*c, "add_bos_token", true);
    t->add_eos_token_ = JsonBool(*c, "add_eos_token", false);
    if (const Json* ct = JsonField(*c, "chat_template"); ct != nullptr) {
      if (!ct->is_string()) {
        return absl::InvalidArgumentError("tokenizer_config.json: chat_template is not a string");
      }
      t->set_chat_template(ct->get<std::string>());
    }
  }
  return t;
}

absl::StatusOr<std::vector<int32_t>> HfSpmTokenizer::Encode(std::string_view text, bool add_bos,
                                                            bool parse_special) const {
  absl::StatusOr<std::vector<int32_t>> ids =
      spm_->Encode(text, add_bos && add_bos_token_, parse_special);
  if (!ids.ok()) return ids.status();
  if (add_bos && add_eos_token_ && spm_->eos() >= 0) ids->push_back(spm_->eos());
  return ids;
}

}  // namespace fathom::internal
