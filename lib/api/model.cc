// fathom::Model: loads a GGUF file into a LanguageModel and its Tokenizer.
#include "fathom/model.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "api/model_impl.h"
#include "models/deepseek/deepseek_model.h"
#include "tokenizer/missing_tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom {

Model::Model(std::unique_ptr<internal::ModelImpl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelInfo& Model::info() const { return impl_->info; }
const Tokenizer& Model::tokenizer() const { return *impl_->tokenizer; }

namespace internal {

Result<std::shared_ptr<const Model>> LoadModelFromGguf(std::unique_ptr<GgufFile> gguf,
                                                       const ModelLoadOptions& options) {
  auto report = [&](float f) { return !options.progress || options.progress(f); };
  const Status cancelled(StatusCode::kCancelled, "model load cancelled by the progress callback");
  auto impl = std::make_unique<ModelImpl>();
  impl->gguf = std::move(gguf);
  if (!report(0.3f)) return cancelled;
  auto model = LoadLanguageModel(*impl->gguf, &impl->info);
  if (!model.ok()) return FromAbsl(model.status());
  impl->model = *std::move(model);
  if (!report(0.8f)) return cancelled;
  auto tok = LoadTokenizerFromGguf(*impl->gguf);
  if (!tok.ok()) return FromAbsl(tok.status());
  if ((*tok)->vocab_size() != impl->info.n_vocab) {
    return Status(StatusCode::kInvalidArgument,
                  absl::StrFormat("tokenizer has %d tokens but the model's embedding has %d rows",
                                  (*tok)->vocab_size(), impl->info.n_vocab));
  }
  impl->tokenizer =
      std::make_unique<Tokenizer>(std::shared_ptr<const TokenizerImpl>(*std::move(tok)));
  if (auto name = impl->gguf->GetString("general.name"); name.ok()) impl->info.name = *name;
  if (!report(1.0f)) return cancelled;
  return std::shared_ptr<const Model>(std::make_shared<Model>(std::move(impl)));
}

Result<std::shared_ptr<const Model>> LoadModelFromHfFolder(const std::string& folder,
                                                           const ModelLoadOptions& options) {
  auto report = [&](float f) { return !options.progress || options.progress(f); };
  const Status cancelled(StatusCode::kCancelled, "model load cancelled by the progress callback");
  auto impl = std::make_unique<ModelImpl>();
  auto ckpt = HfCheckpoint::Open(folder);
  if (!ckpt.ok()) return FromAbsl(ckpt.status());
  impl->hf = *std::move(ckpt);
  if (!report(0.3f)) return cancelled;
  auto model = DeepSeekModel::LoadHf(*impl->hf, &impl->info);
  if (!model.ok()) return FromAbsl(model.status());
  const DeepSeekConfig& config = (*model)->config();
  impl->model = *std::move(model);
  if (!report(0.8f)) return cancelled;
  // tokenizer.json or a SentencePiece tokenizer.model (+ tokenizer_config.json for transformers'
  // BOS/EOS rules and the chat template). The embedding may have more rows than the tokenizer has
  // tokens (padding).
  auto tok = LoadTokenizerFromHfFolder(folder);
  if (tok.ok()) {
    if ((*tok)->vocab_size() > impl->info.n_vocab) {
      return Status(StatusCode::kInvalidArgument,
                    absl::StrFormat("tokenizer has %d tokens but the model's embedding has %d rows",
                                    (*tok)->vocab_size(), impl->info.n_vocab));
    }
    impl->tokenizer =
        std::make_unique<Tokenizer>(std::shared_ptr<const TokenizerImpl>(*std::move(tok)));
  } else if (tok.status().code() != absl::StatusCode::kNotFound) {
    return FromAbsl(tok.status());
  } else {
    const std::string reason = absl::StrFormat(
        "'%s' has no tokenizer files (tokenizer.json or tokenizer.model); use "
        "token ids",
        folder);
    impl->tokenizer = std::make_unique<Tokenizer>(std::make_shared<MissingTokenizer>(
        reason, impl->info.n_vocab, static_cast<int32_t>(config.bos_token_id),
        static_cast<int32_t>(config.eos_token_id)));
  }
  if (!report(1.0f)) return cancelled;
  return std::shared_ptr<const Model>(std::make_shared<Model>(std::move(impl)));
}

}  // namespace internal

namespace {

// Reads a "Key:   1234 kB" line of /proc/meminfo (bytes), or -1.
int64_t MemInfoBytes(const char* key) {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return -1;
  char line[256];
  int64_t result = -1;
  const size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      long long kib = 0;
      if (std::sscanf(line + key_len + 1, "%lld", &kib) == 1) result = kib * 1024;
      break;
    }
  }
  std::fclose(f);
  return result;
}

// Whether transparent huge pages can back madvise(MADV_HUGEPAGE) memory.
bool TransparentHugePagesAvailable() {
  std::FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (f == nullptr) return false;
  char text[128] = {};
  const size_t n = std::fread(text, 1, sizeof(text) - 1, f);
  std::fclose(f);
  text[n] = '\0';
  return std::strstr(text, "[always]") != nullptr || std::strstr(text, "[madvise]") != nullptr;
}

MapMode ChooseMapMode(const std::string& path, ModelLoadOptions::Placement placement) {
  using Placement = ModelLoadOptions::Placement;
  if (placement == Placement::kAuto) {
    if (const char* env = std::getenv("FATHOM_WEIGHTS"); env != nullptr) {
      if (std::strcmp(env, "map") == 0) placement = Placement::kMap;
      if (std::strcmp(env, "hugepages") == 0) placement = Placement::kHugePages;
    }
  }
  if (placement == Placement::kMap) return MapMode::kMap;
  if (placement == Placement::kHugePages) return MapMode::kHugePageCopy;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !TransparentHugePagesAvailable()) return MapMode::kMap;
  const int64_t available = MemInfoBytes("MemAvailable");
  return available > 0 && static_cast<int64_t>(st.st_size) <= available / 2 ? MapMode::kHugePageCopy
                                                                            : MapMode::kMap;
}

}  // namespace

Result<std::shared_ptr<const Model>> Model::Load(const std::string& path,
                                                 const ModelLoadOptions& options) {
  if (options.progress && !options.progress(0.0f)) {
    return Status(StatusCode::kCancelled, "model load cancelled by the progress callback");
  }
  if (IsDirectory(path)) return internal::LoadModelFromHfFolder(path, options);
  auto gguf = GgufFile::Open(path, ChooseMapMode(path, options.placement));
  if (!gguf.ok()) return internal::FromAbsl(gguf.status());
  return internal::LoadModelFromGguf(*std::move(gguf), options);
}

}  // namespace fathom
