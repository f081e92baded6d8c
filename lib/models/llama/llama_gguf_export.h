// Writes a Hugging Face Llama (LlamaForCausalLM) or Qwen2 (Qwen2ForCausalLM) checkpoint as a
// GGUF `llama` / `qwen2` file in the layout of llama.cpp's convert_hf_to_gguf.py (LlamaModel,
// Qwen2Model): tensor names, llama's q/k row permutation, metadata keys, rope_freqs for Llama-3.1
// rope scaling, no output.weight when the embeddings are tied, and the real tokenizer.
#ifndef FATHOM_LIB_MODELS_LLAMA_LLAMA_GGUF_EXPORT_H_
#define FATHOM_LIB_MODELS_LLAMA_LLAMA_GGUF_EXPORT_H_

#include <string>

#include "absl/status/status.h"
#include "format/hf_checkpoint.h"
#include "tensor/dtype.h"

namespace fathom::internal {

// Whether config.json's `architectures` names a model ExportLlamaToGguf converts.
bool IsLlamaFamilyHfConfig(const HfCheckpoint& ckpt);

// Validates config.json and every tensor's shape (a missing, misshapen or unknown tensor is an
// error naming it), converts the weight matrices (token_embd, attention, FFN, output) to
// `weight_type` (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K, IQ4_NL, IQ4_XS; a row
// length that is not a whole number of blocks falls back to F16), keeps norms, biases and
// rope_freqs F32, and writes the tokenizer from tokenizer.json (required). Nothing is written on
// error.
absl::Status ExportLlamaToGguf(const HfCheckpoint& ckpt, const std::string& out_path,
                               DType weight_type);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_LLAMA_LLAMA_GGUF_EXPORT_H_
