// Chat templates: renders a tokenizer's Jinja2 chat template the way transformers'
// apply_chat_template does (messages, tools/documents = None, add_generation_prompt, the
// special tokens map and extra variables).
#ifndef FATHOM_LIB_TOKENIZER_CHAT_TEMPLATE_H_
#define FATHOM_LIB_TOKENIZER_CHAT_TEMPLATE_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fathom::internal {

struct ChatTemplateInput {
  std::string messages_json;  // a JSON array of message objects
  bool add_generation_prompt = false;
  // Special tokens (bos_token, eos_token, ...): plain strings, rendered as variables.
  std::map<std::string, std::string> special_tokens;
  // Extra variables: name -> JSON text (they override the special tokens).
  std::map<std::string, std::string> variables_json;
};

absl::StatusOr<std::string> RenderChatTemplate(std::string_view chat_template,
                                               const ChatTemplateInput& input);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_CHAT_TEMPLATE_H_
