// Writes the tokenizer of a Hugging Face folder as GGUF tokenizer.* metadata, the way llama.cpp's
// convert_hf_to_gguf.py does (get_vocab_base + _set_vocab_gpt2 + gguf-py's SpecialVocab), so
// that `fathom convert` output carries the model's real tokenizer.
#ifndef FATHOM_LIB_TOKENIZER_GGUF_VOCAB_EXPORT_H_
#define FATHOM_LIB_TOKENIZER_GGUF_VOCAB_EXPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "format/gguf_writer.h"
#include "nlohmann/json.hpp"

namespace fathom::internal {

struct GgufVocabSummary {
  std::string model;     // tokenizer.ggml.model
  std::string pre;       // tokenizer.ggml.pre
  int64_t n_tokens = 0;  // entries of tokenizer.ggml.tokens
};

// Reads `dir`/tokenizer.json (byte-level BPE), tokenizer_config.json, config.json and
// generation_config.json and writes to `g`:
//  - tokenizer.ggml.model "gpt2" and tokenizer.ggml.pre, chosen by matching the pre_tokenizer's
//    Split regexes against fathom's (= llama.cpp's) presets; an unknown pre-tokenizer is an error;
//  - tokenizer.ggml.tokens / token_type for ids 0 .. n-1, n = max(`vocab_size`, largest id + 1):
//    model vocabulary NORMAL (1); added tokens CONTROL (3) when special or when they look special
//    to llama.cpp (<|...|>, <｜...｜>, <pad>, <mask>, ...), otherwise USER_DEFINED (4) with U+2581
//    replaced by a space; ids without a token "[PAD<id>]" UNUSED (5);
//  - tokenizer.ggml.merges ("a b", spaces inside pair-style merges written as U+0120);
//  - tokenizer.ggml.<bos|eos|unk|sep|pad|cls|mask>_token_id from tokenizer_config.json's
//    *_token (looked up among the added tokens), then config.json's *_token_id, then (bos, eos,
//    pad only) generation_config.json's;
//  - tokenizer.ggml.add_<bos|eos|...>_token from a TemplateProcessing post-processor and
//    tokenizer_config.json's add_*_token (which wins);
//  - tokenizer.chat_template (a string, or the "default" entry of a list, whose other entries
//    become tokenizer.chat_template.<name>), else chat_template.jinja.
// A SentencePiece-style tokenizer.json (byte_fallback, no byte-level decoder) and a folder with
// only tokenizer.model are refused (Unimplemented): SentencePiece vocabularies are not converted.
// `vocab_size` <= 0 means the tokenizer's own size.
absl::StatusOr<GgufVocabSummary> WriteHfTokenizerToGguf(const std::string& dir, int64_t vocab_size,
                                                        GgufWriter& g);

// The tokenizer.ggml.pre name whose regexes are exactly those of a tokenizer.json
// pre_tokenizer (llama-bpe, qwen2, deepseek-v3, deepseek-llm, deepseek-coder, gpt-2), or an
// error saying what is not supported.
absl::StatusOr<std::string> GgufPreForPreTokenizer(const nlohmann::json& pre_tokenizer);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_GGUF_VOCAB_EXPORT_H_
