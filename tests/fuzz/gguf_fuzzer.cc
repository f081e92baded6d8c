// libFuzzer target: GGUF files. Parses the input as a GGUF image, reads every metadata value with
// every typed getter, touches the first and last byte of every tensor view, then builds the
// tokenizer the metadata describes (and encodes/decodes a fixed text). With
// FATHOM_FUZZ_GGUF_MODEL (target fuzz_gguf_model) it also builds the model (llama / qwen2 /
// deepseek2 config and weights). Every failure must be a clean error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "format/mapped_file.h"
#include "fuzz_support.h"
#ifdef FATHOM_FUZZ_GGUF_MODEL
#include "models/language_model.h"
#endif
#include "tokenizer/tokenizer_impl.h"

namespace fathom::fuzz {
namespace {

void TouchMetadata(const GgufFile& gguf) {
  for (const GgufKeyValue& kv : gguf.metadata()) {
    Consume(gguf.GetString(kv.key).ok());
    Consume(gguf.GetInt(kv.key).ok());
    Consume(gguf.GetUint(kv.key).ok());
    Consume(gguf.GetFloat(kv.key).ok());
    Consume(gguf.GetBool(kv.key).ok());
    auto strings = gguf.GetStringArray(kv.key);
    if (strings.ok()) Consume(strings->size());
    auto floats = gguf.GetFloatArray(kv.key);
    if (floats.ok()) Consume(floats->size());
    auto ints = gguf.GetIntArray(kv.key);
    if (ints.ok()) Consume(ints->size());
    Consume(gguf.Find(kv.key) != nullptr);
  }
}

void TouchTensors(const GgufFile& gguf, const uint8_t* begin, size_t size) {
  for (const GgufTensorInfo& info : gguf.tensor_infos()) {
    absl::StatusOr<TensorView> view = gguf.GetTensor(info.name);
    if (!view.ok()) {
      CheckCleanError(view.status());
      continue;
    }
    if (view->n_bytes == 0) continue;
    // A view must lie inside the input; ASan checks the reads (the input is an exact-size copy).
    if (view->data < begin || view->n_bytes > size ||
        static_cast<size_t>(view->data - begin) > size - view->n_bytes) {
      __builtin_trap();
    }
    Consume(view->data[0] + view->data[view->n_bytes - 1]);
  }
}

void BuildTokenizer(const GgufFile& gguf) {
  auto tok = internal::LoadTokenizerFromGguf(gguf);
  if (!tok.ok()) {
    CheckCleanError(tok.status());
    return;
  }
  const internal::TokenizerImpl& t = **tok;
  for (bool special : {false, true}) {
    auto ids = t.Encode("Hello world! <s> 123 \xe4\xbd\xa0\xe5\xa5\xbd\n\t  x", true, special);
    if (!ids.ok()) {
      CheckCleanError(ids.status());
      continue;
    }
    auto text = t.Decode(*ids, special);
    if (!text.ok()) CheckCleanError(text.status());
  }
  std::vector<int32_t> probe = {-1, 0, 1, 2, 3, t.vocab_size() - 1, t.vocab_size()};
  for (int32_t id : probe) {
    auto piece = t.TokenToPiece(id);
    if (!piece.ok()) CheckCleanError(piece.status());
    Consume(t.TokenText(id).size() + t.IsEndOfGeneration(id));
  }
  Consume(t.chat_template().size() + t.BosTokenText().size() + t.EosTokenText().size());
}

#ifdef FATHOM_FUZZ_GGUF_MODEL
void BuildModel(const GgufFile& gguf) {
  ModelInfo info;
  auto model = internal::LoadLanguageModel(gguf, &info);
  if (!model.ok()) CheckCleanError(model.status());
}
#endif

}  // namespace
}  // namespace fathom::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  auto gguf = GgufFile::Parse(MappedFile::FromBuffer(data, size));
  if (!gguf.ok()) {
    fuzz::CheckCleanError(gguf.status());
    return 0;
  }
  fuzz::TouchMetadata(**gguf);
  fuzz::TouchTensors(**gguf, data, size);
  fuzz::BuildTokenizer(**gguf);
#ifdef FATHOM_FUZZ_GGUF_MODEL
  fuzz::BuildModel(**gguf);
#endif
  return 0;
}
