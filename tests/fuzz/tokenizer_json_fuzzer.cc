// libFuzzer target: tokenizer.json (+ tokenizer_config.json). The input is the tokenizer.json text,
// optionally followed by "\0\0" and a tokenizer_config.json text. A tokenizer that loads must
// encode and decode fixed texts, render pieces and decode ids out of range with clean errors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "tokenizer/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  auto [json, config] =
      fuzz::SplitAtDoubleNul(std::string_view(reinterpret_cast<const char*>(data), size));
  auto tok = internal::HfTokenizer::Create(json, config);
  if (!tok.ok()) {
    fuzz::CheckCleanError(tok.status());
    return 0;
  }
  const internal::HfTokenizer& t = **tok;
  static const char* const kTexts[] = {
      "Hello world! 123 4567",
      " \xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c <s></s><|endoftext|>\n\n\t x",
      "\xff\xfe invalid \xc3( utf-8 \xf0\x9f\x98",
  };
  for (const char* text : kTexts) {
    for (bool special : {false, true}) {
      auto ids = t.Encode(text, /*add_bos=*/true, special);
      if (!ids.ok()) {
        fuzz::CheckCleanError(ids.status());
        continue;
      }
      auto file_ids = t.EncodeWithFileRules(text, true, special);
      if (!file_ids.ok()) fuzz::CheckCleanError(file_ids.status());
      auto back = t.Decode(*ids, special);
      if (!back.ok()) fuzz::CheckCleanError(back.status());
    }
  }
  const int32_t n = t.vocab_size();
  std::vector<int32_t> ids = {-1, 0, 1, n / 2, n - 1, n, n + 1000};
  for (int32_t id : ids) {
    auto piece = t.TokenToPiece(id);
    if (!piece.ok()) fuzz::CheckCleanError(piece.status());
    fuzz::Consume(t.TokenText(id).size() + t.IsEndOfGeneration(id));
  }
  for (bool skip : {false, true}) {
    auto text = t.Decode(ids, skip);
    if (!text.ok()) fuzz::CheckCleanError(text.status());
  }
  fuzz::Consume(t.chat_template().size() + t.BosTokenText().size() + t.EosTokenText().size());
  return 0;
}
