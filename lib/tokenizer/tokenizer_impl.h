// Internal tokenizer interface behind fathom::Tokenizer; one implementation per vocabulary kind.
#ifndef FATHOM_LIB_TOKENIZER_TOKENIZER_IMPL_H_
#define FATHOM_LIB_TOKENIZER_TOKENIZER_IMPL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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
};

// Builds the tokenizer described by a GGUF file's tokenizer.ggml.* metadata.
// Supported now: tokenizer.ggml.model = "llama" (SentencePiece BPE with scores).
// Other models load for decoding only where possible ("gpt2": byte-level decode); their
// Encode returns Unimplemented until the full tokenizer lands.
absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadTokenizerFromGguf(const GgufFile& gguf);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_TOKENIZER_IMPL_H_
