// fathom::Model: loads a GGUF file into a LanguageModel and its Tokenizer.
#include "fathom/model.h"

#include "absl/strings/str_format.h"
#include "api/model_impl.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom {

Model::Model(std::unique_ptr<internal::ModelImpl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelInfo& Model::info() const { return impl_->info; }
const Tokenizer& Model::tokenizer() const { return *impl_->tokenizer; }

Result<std::shared_ptr<const Model>> Model::Load(const std::string& path,
                                                 const ModelLoadOptions& options) {
  auto report = [&](float f) { return !options.progress || options.progress(f); };
  const Status cancelled(StatusCode::kCancelled, "model load cancelled by the progress callback");
  if (!report(0.0f)) return cancelled;
  auto impl = std::make_unique<internal::ModelImpl>();
  auto gguf = GgufFile::Open(path);
  if (!gguf.ok()) return internal::FromAbsl(gguf.status());
  impl->gguf = *std::move(gguf);
  if (!report(0.3f)) return cancelled;
  auto model = internal::LoadLanguageModel(*impl->gguf, &impl->info);
  if (!model.ok()) return internal::FromAbsl(model.status());
  impl->model = *std::move(model);
  if (!report(0.8f)) return cancelled;
  auto tok = internal::LoadTokenizerFromGguf(*impl->gguf);
  if (!tok.ok()) return internal::FromAbsl(tok.status());
  if ((*tok)->vocab_size() != impl->info.n_vocab) {
    return Status(StatusCode::kInvalidArgument,
                  absl::StrFormat("tokenizer has %d tokens but the model's embedding has %d rows",
                                  (*tok)->vocab_size(), impl->info.n_vocab));
  }
  impl->tokenizer = std::make_unique<Tokenizer>(
      std::shared_ptr<const internal::TokenizerImpl>(*std::move(tok)));
  if (auto name = impl->gguf->GetString("general.name"); name.ok()) impl->info.name = *name;
  if (!report(1.0f)) return cancelled;
  return std::shared_ptr<const Model>(std::make_shared<Model>(std::move(impl)));
}

}  // namespace fathom
