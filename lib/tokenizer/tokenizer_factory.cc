// Tokenizer loading: GGUF metadata (tokenizer.ggml.model), standalone tokenizer files and
// Hugging Face model folders; the default TokenizerImpl::Decode.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tokenizer/byte_level_bpe_vocab.h"
#include "tokenizer/hf_spm_tokenizer.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/spm_model_file.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {
namespace {

constexpr uintmax_t kMaxTokenizerFileBytes = uintmax_t{1} << 30;

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", ec.message()));
  if (size > kMaxTokenizerFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is too large for a tokenizer file"));
  }
  std::ifstream in(path, std::ios::binary);
  std::string data(static_cast<size_t>(size), '\0');
  if (!in || !in.read(data.data(), static_cast<std::streamsize>(size))) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  return data;
}

}  // namespace

absl::StatusOr<std::string> TokenizerImpl::Decode(const std::vector<int32_t>& ids,
                                                  bool /*skip_special*/) const {
  std::string out;
  for (int32_t id : ids) {
    absl::StatusOr<std::string> piece = TokenToPiece(id);
    if (!piece.ok()) return piece.status();
    out += *piece;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadTokenizerFromGguf(const GgufFile& gguf) {
  if (gguf.Find("tokenizer.ggml.model") == nullptr) {
    return absl::InvalidArgumentError(
        "the GGUF file has no tokenizer (tokenizer.ggml.model is missing)");
  }
  absl::StatusOr<std::string> model = gguf.GetString("tokenizer.ggml.model");
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat("tokenizer metadata: ", model.status().message()));
  }
  // tokenizer.chat_template is optional; a value of another type is ignored.
  std::string chat_template;
  if (gguf.Find("tokenizer.chat_template") != nullptr) {
    absl::StatusOr<std::string> t = gguf.GetString("tokenizer.chat_template");
    if (t.ok()) chat_template = *std::move(t);
  }
  if (*model == "llama") {
    absl::StatusOr<std::unique_ptr<SpmTokenizer>> spm = SpmTokenizer::Create(gguf);
    if (!spm.ok()) return spm.status();
    (*spm)->set_chat_template(std::move(chat_template));
    return std::unique_ptr<TokenizerImpl>(*std::move(spm));
  }
  if (*model == "gpt2") {
    absl::StatusOr<std::unique_ptr<ByteLevelBpeVocab>> bpe = ByteLevelBpeVocab::Create(gguf);
    if (!bpe.ok()) return bpe.status();
    (*bpe)->set_chat_template(std::move(chat_template));
    return std::unique_ptr<TokenizerImpl>(*std::move(bpe));
  }
  return absl::UnimplementedError(
      absl::StrCat("tokenizer.ggml.model '", absl::CHexEscape(*model),
                   "' is not supported (supported: 'llama' SentencePiece, 'gpt2' byte-level BPE)"));
}

absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadTokenizerFromHfFolder(const std::string& dir) {
  const std::string json_path = (std::filesystem::path(dir) / "tokenizer.json").string();
  const std::string config_path = (std::filesystem::path(dir) / "tokenizer_config.json").string();
  const std::string spm_path = (std::filesystem::path(dir) / "tokenizer.model").string();
  std::error_code ec;
  const bool has_json = std::filesystem::exists(json_path, ec);
  if (!has_json && !std::filesystem::exists(spm_path, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, " has no tokenizer.json or tokenizer.model"));
  }
  std::string config;
  if (std::filesystem::exists(config_path, ec)) {
    absl::StatusOr<std::string> c = ReadSmallFile(config_path);
    if (!c.ok()) return c.status();
    config = *std::move(c);
  }
  if (!has_json) {
    // A SentencePiece-only folder: tokenizer.model with tokenizer_config.json's rules.
    absl::StatusOr<std::string> model = ReadSmallFile(spm_path);
    if (!model.ok()) return model.status();
    absl::StatusOr<std::unique_ptr<HfSpmTokenizer>> t = HfSpmTokenizer::Create(*model, config);
    if (!t.ok()) return t.status();
    return std::unique_ptr<TokenizerImpl>(*std::move(t));
  }
  absl::StatusOr<std::string> json = ReadSmallFile(json_path);
  if (!json.ok()) return json.status();
  absl::StatusOr<std::unique_ptr<HfTokenizer>> t = HfTokenizer::Create(*json, config);
  if (!t.ok()) return t.status();
  return std::unique_ptr<TokenizerImpl>(*std::move(t));
}

absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadTokenizerFromPath(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return LoadTokenizerFromHfFolder(path);
  if (absl::EndsWith(path, ".gguf")) {
    absl::StatusOr<std::unique_ptr<GgufFile>> gguf = GgufFile::Open(path);
    if (!gguf.ok()) return gguf.status();
    return LoadTokenizerFromGguf(**gguf);
  }
  absl::StatusOr<std::string> data = ReadSmallFile(path);
  if (!data.ok()) return data.status();
  if (absl::EndsWith(path, ".json") || (!data->empty() && (*data)[0] == '{')) {
    absl::StatusOr<std::unique_ptr<HfTokenizer>> t = HfTokenizer::Create(*data, "");
    if (!t.ok()) return t.status();
    return std::unique_ptr<TokenizerImpl>(*std::move(t));
  }
  if (absl::StartsWith(*data, "GGUF")) {
    absl::StatusOr<std::unique_ptr<GgufFile>> gguf = GgufFile::Open(path);
    if (!gguf.ok()) return gguf.status();
    return LoadTokenizerFromGguf(**gguf);
  }
  absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> t = SpmModelFileTokenizer::Create(*data);
  if (!t.ok()) return t.status();
  return std::unique_ptr<TokenizerImpl>(*std::move(t));
}

}  // namespace fathom::internal
