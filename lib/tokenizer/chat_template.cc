// Chat templates: builds transformers' render context and runs the Jinja2 subset interpreter.
#include "tokenizer/chat_template.h"

#include "tokenizer/jinja/jinja_eval.h"
#include "tokenizer/jinja/jinja_value.h"
#include "tokenizer/json_util.h"

namespace fathom::internal {

absl::StatusOr<std::string> RenderChatTemplate(std::string_view chat_template,
                                               const ChatTemplateInput& input) {
  if (chat_template.empty()) {
    return absl::FailedPreconditionError("the tokenizer has no chat template");
  }
  absl::StatusOr<Json> messages = ParseJson(input.messages_json, "the messages");
  if (!messages.ok()) return messages.status();
  if (!messages->is_array()) {
    return absl::InvalidArgumentError("the messages must be a JSON array");
  }
  jinja::ValueDict vars;
  auto set = [&vars](const std::string& k, jinja::Value v) {
    for (auto& kv : vars) {
      if (kv.first == k) {
        kv.second = std::move(v);
        return;
      }
    }
    vars.emplace_back(k, std::move(v));
  };
  for (const auto& [k, v] : input.special_tokens) set(k, jinja::Value::String(v));
  set("tools", jinja::Value::None());
  set("documents", jinja::Value::None());
  for (const auto& [k, text] : input.variables_json) {
    if (k == "messages" || k == "add_generation_prompt") {
      return absl::InvalidArgumentError(
          jinja::Cat("variable '", k, "' is set by the chat template call itself"));
    }
    absl::StatusOr<Json> j = ParseJson(text, jinja::Cat("variable '", k, "'"));
    if (!j.ok()) return j.status();
    set(k, jinja::Value::FromJson(*j));
  }
  set("messages", jinja::Value::FromJson(*messages));
  set("add_generation_prompt", jinja::Value::Bool(input.add_generation_prompt));
  return jinja::RenderTemplateSource(chat_template, jinja::Value::Dict(std::move(vars)));
}

}  // namespace fathom::internal
