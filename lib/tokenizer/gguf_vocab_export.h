// Writes the tokenizer of a Hugging Face folder as GGUF tokenizer.* metadata, the way llama.cpp's
// convert_hf_to_gguf.py does (_set_vocab_gpt2 / _set_vocab_sentencepiece + gguf-py's
// SpecialVocab), so that `fathom convert` output carries the model's real tokenizer.
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

// Reads the tokenizer of Hugging Face folder `dir` (tokenizer.json, tokenizer.model,
// tokenizer_config.json, added_tokens.json, config.json, generation_config.json) and writes to `g`
// what llama.cpp's converter writes:
//  - a SentencePiece BPE tokenizer.model (used when it exists and `prefer_sentencepiece` is set,
//    as llama.cpp's llama / qwen2 converters try it first, or when there is no tokenizer.json):
//    tokenizer.ggml.model "llama", pre "default", tokens / scores / token_type from the pieces
//    (UNKNOWN 2, CONTROL 3, UNUSED 5, BYTE 6, others NORMAL 1), added tokens (added_tokens.json,
//    tokenizer_config.json's added_tokens_decoder) with score -1000, ids without a piece
//    "[PAD<id>]" with score -10000 and type UNUSED; unigram models are refused;
//  - a byte-level BPE tokenizer.json: tokenizer.ggml.model "gpt2" and tokenizer.ggml.pre, chosen
//    by matching the pre_tokenizer's Split regexes against fathom's (= llama.cpp's) presets (an
//    unknown pre-tokenizer is an error); tokens / token_type for ids 0 .. n-1: model vocabulary
//    NORMAL (1); added tokens CONTROL (3) when special or when they look special to llama.cpp
//    (<|...|>, <｜...｜>, <pad>, <mask>, ...), otherwise USER_DEFINED (4) with U+2581 replaced by
//    a space; ids without a token "[PAD<id>]" UNUSED (5); tokenizer.ggml.merges ("a b", spaces
//    inside pair-style merges written as U+0120). A SentencePiece-style tokenizer.json
//    (byte_fallback, no byte-level decoder) without a tokenizer.model is refused;
//  - both: n = `vocab_size` (config.json's; <= 0: the tokenizer's own size);
//    tokenizer.ggml.{bos,eos,unknown,seperator,padding,mask}_token_id from tokenizer_config.json's
//    *_token (looked up among tokenizer.json's added tokens; without a tokenizer.json among the
//    added tokens, then the pieces), then config.json's *_token_id, then (bos, eos, pad)
//    generation_config.json's; ids outside the vocabulary are skipped, as gguf-py does;
//    tokenizer.ggml.add_{bos,eos,sep}_token from a TemplateProcessing post-processor and
//    tokenizer_config.json's add_*_token (which wins); tokenizer.chat_template (a string, or the
//    "default" entry of a list, whose other entries become tokenizer.chat_template.<name>), else
//    chat_template.jinja.
absl::StatusOr<GgufVocabSummary> WriteHfTokenizerToGguf(const std::string& dir, int64_t vocab_size,
                                                        bool prefer_sentencepiece, GgufWriter& g);

// The tokenizer.ggml.pre name whose regexes are exactly those of a tokenizer.json
// pre_tokenizer (llama-bpe, qwen2, deepseek-v3, deepseek-llm, deepseek-coder, gpt-2), or an
// error saying what is not supported.
absl::StatusOr<std::string> GgufPreForPreTokenizer(const nlohmann::json& pre_tokenizer);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_GGUF_VOCAB_EXPORT_H_
