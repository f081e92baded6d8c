// LoadLanguageModel: picks the model family from general.architecture.
#include "absl/strings/str_format.h"
#include "models/language_model.h"
#include "models/llama/llama_model.h"

namespace fathom::internal {

absl::StatusOr<std::unique_ptr<LanguageModel>> LoadLanguageModel(const GgufFile& gguf,
                                                                 ModelInfo* info) {
  auto arch = gguf.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  if (*arch == "llama" || *arch == "qwen2") {
    auto m = LlamaModel::Load(gguf, info);
    if (!m.ok()) return m.status();
    return std::unique_ptr<LanguageModel>(std::move(*m));
  }
  return absl::UnimplementedError(
      absl::StrFormat("architecture '%s' is not supported (yet): supported are llama, qwen2", *arch));
}

}  // namespace fathom::internal
