// Vocabulary data shared by the GGUF tokenizers: token texts, scores, attributes, special ids,
// end-of-generation set and special-token list, loaded and validated as llama.cpp's vocab loader
// does (llama-vocab.cpp, llama_vocab::impl::load).
#ifndef FATHOM_LIB_TOKENIZER_VOCAB_H_
#define FATHOM_LIB_TOKENIZER_VOCAB_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "format/gguf_reader.h"

namespace fathom::internal {

// Abseil here may have its own string_view type; convert explicitly.
inline absl::string_view ToAbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// llama.cpp's per-token attribute bits (llama_token_attr). A token may carry several, e.g. a
// NORMAL token whose text llama.cpp recognises as an end-of-generation marker also gets CONTROL.
enum TokenAttrBit : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrNormalized = 1u << 6,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
  kAttrSingleWord = 1u << 9,
};

// Which llama.cpp vocabulary type the data is loaded for (decides defaults).
enum class VocabKind {
  kSpm,           // tokenizer.ggml.model = "llama"
  kByteLevelBpe,  // tokenizer.ggml.model = "gpt2"
};

struct VocabData {
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre ("" if absent)
  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<uint32_t> attrs;  // TokenAttrBit flags
  absl::flat_hash_map<std::string, int32_t> text_to_id;

  // Special ids; -1 when none.
  int32_t bos = -1;
  int32_t eos = -1;
  int32_t eot = -1;
  int32_t eom = -1;
  int32_t unk = -1;
  int32_t sep = -1;
  int32_t pad = -1;
  int32_t mask = -1;
  int32_t fim_pre = -1;
  int32_t fim_suf = -1;
  int32_t fim_mid = -1;
  int32_t fim_pad = -1;
  int32_t fim_rep = -1;
  int32_t fim_sep = -1;

  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;
  bool add_space_prefix = false;

  absl::flat_hash_set<int32_t> eog_ids;
  // CONTROL, USER_DEFINED and UNKNOWN tokens, longest text first (ties: lower id first).
  std::vector<int32_t> special_tokens;

  int32_t size() const { return static_cast<int32_t>(texts.size()); }
  // Id of a token text, or -1.
  int32_t Find(std::string_view text) const {
    auto it = text_to_id.find(ToAbslView(text));
    return it == text_to_id.end() ? -1 : it->second;
  }
};

// Reads tokenizer.ggml.* from `gguf`. Every inconsistency (missing or mistyped arrays, length
// mismatches, non-finite scores, duplicate tokens, malformed byte tokens, special ids out of
// range, add_bos without a BOS id) is an InvalidArgument naming the key.
absl::StatusOr<VocabData> LoadVocab(const GgufFile& gguf, VocabKind kind);

// Parses a SentencePiece byte token "<0xHH>"; returns -1 if `text` is not of that form.
int ParseByteToken(std::string_view text);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_VOCAB_H_
