// libFuzzer target: chat templates. Input: one flags byte, then the template text, "\0\0", and
// the message content. Flags bit 0: add_generation_prompt; bit 1: the content is the raw
// messages JSON array (else it becomes the content of a system, user and assistant message);
// bit 2: also pass it as the `tools` variable (JSON text). Rendering must succeed or fail cleanly
// (template errors, limits), never crash, recurse without bound or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "nlohmann/json.hpp"
#include "tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  auto [tmpl, content] =
      fuzz::SplitAtDoubleNul(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  internal::ChatTemplateInput input;
  input.add_generation_prompt = (flags & 1) != 0;
  if ((flags & 2) != 0) {
    input.messages_json = std::string(content);
  } else {
    nlohmann::json messages = nlohmann::json::array();
    for (const char* role : {"system", "user", "assistant"}) {
      messages.push_back({{"role", role}, {"content", std::string(content)}});
    }
    input.messages_json = messages.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if ((flags & 4) != 0) input.variables_json["tools"] = std::string(content);
  input.special_tokens["bos_token"] = "<s>";
  input.special_tokens["eos_token"] = "</s>";
  auto out = internal::RenderChatTemplate(tmpl, input);
  if (!out.ok()) fuzz::CheckCleanError(out.status());
  return 0;
}
