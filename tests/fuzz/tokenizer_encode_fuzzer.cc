// libFuzzer target: encode/decode arbitrary bytes with fixed real tokenizers (fixtures):
// DeepSeek-V3 and Qwen3 tokenizer.json folders (byte-level BPE, with tokenizer_config.json),
// Llama-2's SentencePiece tokenizer.model, and llama.cpp's llama-spm and gpt-2 vocab GGUFs. Input:
// one byte choosing the tokenizer and options, then the text. The text is encoded and decoded (with
// and without special tokens, and piece by piece), and the same bytes read as int32 ids are decoded
// too (ids outside the vocabulary must give clean errors).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::fuzz {
namespace {

using internal::TokenizerImpl;

const std::vector<std::unique_ptr<TokenizerImpl>>& Tokenizers() {
  static const std::vector<std::unique_ptr<TokenizerImpl>> all = [] {
    std::vector<std::unique_ptr<TokenizerImpl>> v;
    for (const char* rel :
         {"tokenizers/deepseek-v3", "tokenizers/qwen3", "tokenizers/llama2/tokenizer.model",
          "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-gpt-2.gguf"}) {
      const std::string path = FixturesDir() + "/" + rel;
      // A folder loads tokenizer.json with tokenizer_config.json (the model's rules).
      auto t = internal::LoadTokenizerFromPath(path);
      if (!t.ok()) {
        std::fprintf(stderr, "cannot load %s: %s\n", path.c_str(),
                     std::string(t.status().message()).c_str());
        std::abort();
      }
      v.push_back(std::move(*t));
    }
    return v;
  }();
  return all;
}

}  // namespace
}  // namespace fathom::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fathom::fuzz::Tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  if (size < 1) return 0;
  const auto& all = fuzz::Tokenizers();
  const internal::TokenizerImpl& t = *all[(data[0] & 7) % all.size()];
  const bool add_bos = (data[0] & 8) != 0;
  const bool parse_special = (data[0] & 16) != 0;
  const bool skip_special = (data[0] & 32) != 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto ids = t.Encode(text, add_bos, parse_special);
  if (!ids.ok()) {
    fuzz::CheckCleanError(ids.status());
  } else {
    for (int32_t id : *ids) {
      if (id < 0 || id >= t.vocab_size()) std::abort();  // Encode produced an invalid id
    }
    auto back = t.Decode(*ids, skip_special);
    if (!back.ok()) fuzz::CheckCleanError(back.status());
    for (int32_t id : *ids) {
      auto piece = t.TokenToPiece(id);
      if (!piece.ok()) fuzz::CheckCleanError(piece.status());
    }
  }

  // The same bytes as token ids (some out of range).
  std::vector<int32_t> raw((size - 1) / 4);
  if (!raw.empty()) std::memcpy(raw.data(), data + 1, raw.size() * 4);
  for (int32_t& id : raw) {
    if ((data[0] & 64) == 0)
      id = static_cast<int32_t>(static_cast<uint32_t>(id) % (t.vocab_size() + 8u));
  }
  auto decoded = t.Decode(raw, skip_special);
  if (!decoded.ok()) fuzz::CheckCleanError(decoded.status());
  for (size_t i = 0; i < raw.size() && i < 16; ++i) {
    auto piece = t.TokenToPiece(raw[i]);
    if (!piece.ok()) fuzz::CheckCleanError(piece.status());
    fuzz::Consume(t.TokenText(raw[i]).size());
  }
  return 0;
}
