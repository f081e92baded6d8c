// libFuzzer target: SentencePiece .model files (protobuf). A model that loads must encode and
// decode fixed texts and reject ids out of range with clean errors.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "tokenizer/spm_model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  auto tok = internal::SpmModelFileTokenizer::Create(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!tok.ok()) {
    fuzz::CheckCleanError(tok.status());
    return 0;
  }
  const internal::TokenizerImpl& t = **tok;
  static const char* const kTexts[] = {
      "Hello world! 123  4567 <s></s><unk>",
      " \xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\n\n\t x",
      "\xff\xfe invalid \xc3( utf-8 \xf0\x9f\x98",
  };
  for (const char* text : kTexts) {
    for (bool special : {false, true}) {
      auto ids = t.Encode(text, /*add_bos=*/true, special);
      if (!ids.ok()) {
        fuzz::CheckCleanError(ids.status());
        continue;
      }
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
  auto text = t.Decode(ids, false);
  if (!text.ok()) fuzz::CheckCleanError(text.status());
  return 0;
}
