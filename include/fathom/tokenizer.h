// fathom::Tokenizer: text <-> token ids for a loaded model.
#ifndef FATHOM_TOKENIZER_H_
#define FATHOM_TOKENIZER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fathom/status.h"

namespace fathom {

namespace internal {
class TokenizerImpl;
}

// One chat message for ApplyChatTemplate.
struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool", ...
  std::string content;
};

struct ChatTemplateOptions {
  // Append the assistant turn opener (transformers' add_generation_prompt).
  bool add_generation_prompt = false;
  // Extra template variables: name -> JSON text, e.g. {"enable_thinking", "false"},
  // {"tools", "[...]"}. They override bos_token/eos_token; "messages" and
  // "add_generation_prompt" may not be set here.
  std::map<std::string, std::string> variables_json;
  // When not empty: a JSON array of message objects used instead of `messages` (for fields
  // beyond role/content such as tool_calls or reasoning_content).
  std::string messages_json;
  // bos_token / eos_token as the template sees them; empty: the tokenizer's (ApplyChatTemplate)
  // or undefined (RenderChatTemplate).
  std::string bos_token;
  std::string eos_token;
};

class Tokenizer {
 public:
  struct EncodeOptions {
    bool add_bos = true;         // prepend BOS when the vocabulary asks for it
    bool parse_special = false;  // recognise special/control token text such as "</s>"
  };

  explicit Tokenizer(std::shared_ptr<const internal::TokenizerImpl> impl);
  ~Tokenizer();

  // Loads a tokenizer without a model: a tokenizer.json (the tokenizers library's own rules,
  // e.g. no BOS for DeepSeek-V3), a SentencePiece tokenizer.model, a GGUF file, or a Hugging
  // Face folder (tokenizer.json + tokenizer_config.json: the model's rules, as transformers).
  static Result<std::unique_ptr<Tokenizer>> Load(const std::string& path);

  Result<std::vector<int32_t>> Encode(std::string_view text, const EncodeOptions& options) const;
  Result<std::vector<int32_t>> Encode(std::string_view text) const { return Encode(text, {}); }
  // The bytes a token stands for (may be a partial UTF-8 sequence). Control tokens give "".
  Result<std::string> TokenToPiece(int32_t token) const;
  // Concatenated pieces.
  Result<std::string> Decode(const std::vector<int32_t>& tokens) const;
  // Text as the tokenizer's own library decodes it (Hugging Face tokenizers' decoder,
  // sentencepiece's decode; GGUF vocabularies: concatenated pieces). `skip_special` drops
  // special tokens.
  Result<std::string> Decode(const std::vector<int32_t>& tokens, bool skip_special) const;
  // The chat template shipped with the tokenizer ("" when none): tokenizer_config.json's
  // chat_template or GGUF's tokenizer.chat_template.
  std::string chat_template() const;
  // Renders the tokenizer's chat template as transformers' apply_chat_template does (Jinja2
  // subset; tools/documents are None unless given as variables). kFailedPrecondition when the
  // tokenizer has no template; kInvalidArgument for template errors (with line and column),
  // bad JSON variables or raise_exception(); kResourceExhausted when a limit is hit.
  Result<std::string> ApplyChatTemplate(const std::vector<ChatMessage>& messages,
                                        const ChatTemplateOptions& options) const;
  // Renders a given chat template string (no tokenizer needed).
  static Result<std::string> RenderChatTemplate(const std::string& chat_template,
                                                const std::vector<ChatMessage>& messages,
                                                const ChatTemplateOptions& options);
  // The stored text of a token, e.g. "<｜begin▁of▁sentence｜>" ("" when out of range).
  std::string TokenText(int32_t token) const;

  int32_t vocab_size() const;
  // False when the model came without tokenizer files (a Hugging Face folder without
  // tokenizer.json): token ids work, Encode/TokenToPiece/Decode return kFailedPrecondition.
  bool has_text() const;
  int32_t bos() const;  // -1 when the model has none
  int32_t eos() const;  // -1 when the model has none
  bool IsEndOfGeneration(int32_t token) const;

 private:
  std::shared_ptr<const internal::TokenizerImpl> impl_;
};

// Turns a stream of tokens into valid UTF-8 text pieces: bytes of an incomplete
// multi-byte character are held back until the character is complete.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}
  // Text that became complete with this token (possibly empty).
  Result<std::string> Push(int32_t token);
  // Whatever is still held back (invalid bytes become U+FFFD).
  std::string Flush();

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;
};

}  // namespace fathom

#endif  // FATHOM_TOKENIZER_H_
