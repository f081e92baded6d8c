// Internal tokenizer interface behind fathom::Tokenizer; one implementation per vocabulary kind.
#ifndef FATHOM_LIB_TOKENIZER_TOKENIZER_IMPL_H_
#define FATHOM_LIB_TOKENIZER_TOKENIZER_IMPL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "format/gguf_reader.h"

namespace fathom::internal {

// Token attributes as GGUF's tokenizer.ggml.token_type stores them.
enum class TokenAttr : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

class TokenizerImpl {
 public:
  virtual ~TokenizerImpl() = default;
  virtual absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_bos,
                                                      bool parse_special) const = 0;
  // Bytes of one token as llama.cpp renders it with special=false: control tokens give "",
  // byte tokens <0xNN> give that byte, SentencePiece's U+2581 becomes a space.
  virtual absl::StatusOr<std::string> TokenToPiece(int32_t token) const = 0;
  virtual int32_t vocab_size() const = 0;
  // False for models loaded without tokenizer files: ids work, text does not.
  virtual bool has_text() const { return true; }
  virtual int32_t bos() const = 0;  // -1 if none
  virtual int32_t eos() const = 0;  // -1 if none
  virtual bool IsEndOfGeneration(int32_t token) const = 0;
  // Text of a token list. The default concatenates TokenToPiece; tokenizers loaded from
  // Hugging Face or SentencePiece files decode exactly as those libraries do.
  virtual absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                             bool skip_special) const;
  // The chat template shipped with the tokenizer ("" if none). GGUF files: the
  // tokenizer.chat_template metadata (set by LoadTokenizerFromGguf).
  virtual std::string chat_template() const { return chat_template_; }
  void set_chat_template(std::string t) { chat_template_ = std::move(t); }
  // The stored text of a token (e.g. "<｜begin▁of▁sentence｜>"), "" if out of range.
  virtual std::string TokenText(int32_t /*token*/) const { return ""; }
  // Text of the BOS / EOS token as a chat template sees it (bos_token / eos_token); "" if none.
  virtual std::string BosTokenText() const { return bos() >= 0 ? TokenText(bos()) : ""; }
  virtual std::string EosTokenText() const { return eos() >= 0 ? TokenText(eos()) : ""; }

 private:
  std::string chat_template_;
};

// Builds the tokenizer described by a GGUF file's tokenizer.ggml.* metadata.
// Supported now: tokenizer.ggml.model = "llama" (SentencePiece BPE with scores).
// Other models load for decoding only where possible ("gpt2": byte-level decode); their
// Encode returns Unimplemented until the full tokenizer lands.
absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadTokenizerFromGguf(const GgufFile& gguf);

// Loads a standalone tokenizer file by its kind: a tokenizer.json (the tokenizers library's own
// rules; a tokenizer_config.json next to it is NOT read), a SentencePiece tokenizer.model, or a
// GGUF file. A directory loads tokenizer.json with tokenizer_config.json (a model's rules).
absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadTokenizerFromPath(const std::string& path);
// tokenizer.json (+ tokenizer_config.json when present) of a Hugging Face model folder, with
// transformers' rules for BOS/EOS; without tokenizer.json, its SentencePiece tokenizer.model
// (HfSpmTokenizer); NotFound if the folder has neither.
absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadTokenizerFromHfFolder(const std::string& dir);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_TOKENIZER_IMPL_H_
