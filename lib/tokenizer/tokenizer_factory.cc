// LoadTokenizerFromGguf: picks the tokenizer implementation from tokenizer.ggml.model.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tokenizer/byte_level_bpe_vocab.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {

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
  if (*model == "llama") {
    absl::StatusOr<std::unique_ptr<SpmTokenizer>> spm = SpmTokenizer::Create(gguf);
    if (!spm.ok()) return spm.status();
    return std::unique_ptr<TokenizerImpl>(*std::move(spm));
  }
  if (*model == "gpt2") {
    absl::StatusOr<std::unique_ptr<ByteLevelBpeVocab>> bpe = ByteLevelBpeVocab::Create(gguf);
    if (!bpe.ok()) return bpe.status();
    return std::unique_ptr<TokenizerImpl>(*std::move(bpe));
  }
  return absl::UnimplementedError(
      absl::StrCat("tokenizer.ggml.model '", absl::CHexEscape(*model),
                   "' is not supported (supported: 'llama' SentencePiece, 'gpt2' byte-level BPE)"));
}

}  // namespace fathom::internal
