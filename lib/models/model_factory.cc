// LoadLanguageModel: picks the model family from general.architecture.
#include "absl/strings/str_format.h"
#include "models/deepseek/deepseek_model.h"
#include "models/language_model.h"
#include "models/llama/llama_model.h"

namespace fathom::internal {

absl::Status LanguageModel::ForwardMtp(ForwardState&, absl::Span<const int32_t>, int64_t, float*,
                                       ThreadPool&, const std::atomic<bool>*) const {
  return absl::FailedPreconditionError("this model has no multi-token prediction module");
}

absl::Status LanguageModel::ForwardMtpChained(ForwardState&, int32_t, int64_t, float*, ThreadPool&,
                                              const std::atomic<bool>*) const {
  return absl::FailedPreconditionError("this model has no multi-token prediction module");
}

absl::StatusOr<std::unique_ptr<LanguageModel>> LoadLanguageModel(const GgufFile& gguf,
                                                                 ModelInfo* info) {
  auto arch = gguf.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  if (*arch == "llama" || *arch == "qwen2") {
    auto m = LlamaModel::Load(gguf, info);
    if (!m.ok()) return m.status();
    return std::unique_ptr<LanguageModel>(std::move(*m));
  }
  if (*arch == "deepseek2") {
    auto m = DeepSeekModel::LoadGguf(gguf, info);
    if (!m.ok()) return m.status();
    return std::unique_ptr<LanguageModel>(std::move(*m));
  }
  return absl::UnimplementedError(absl::StrFormat(
      "architecture '%s' is not supported: supported are llama, qwen2, deepseek2", *arch));
}

}  // namespace fathom::internal
