// Writes a DeepSeek V2/V3 Hugging Face checkpoint as a GGUF `deepseek2` file in the layout of
// llama.cpp's convert_hf_to_gguf.py (names, shapes, metadata keys), optionally with the MTP
// layers and with the weight matrices re-quantized.
#ifndef FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_GGUF_EXPORT_H_
#define FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_GGUF_EXPORT_H_

#include <string>

#include "absl/status/status.h"
#include "format/hf_checkpoint.h"
#include "tensor/dtype.h"

namespace fathom::internal {

struct ExportOptions {
  // Type of the weight matrices: every Linear projection (dense MLPs, stacked experts, shared
  // experts, attention, the per-head attn_k_b / attn_v_b), token_embd, output and the MTP
  // eh_proj / embed_tokens / shared_head_head. One of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
  // Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS. A matrix whose row length is not a
  // multiple of the block size is written as F16 (llama.cpp's converter does the same).
  // Norms, biases (exp_probs_b) and the router (ffn_gate_inp) are always F32.
  DType weight_type = DType::kF32;
  // Write the checkpoint's MTP layers (blk.L.nextn.*, deepseek2.nextn_predict_layers).
  bool include_mtp = true;
};

// Reads and validates `ckpt` exactly as DeepSeekModel::LoadHf does (config, every tensor's
// shape, FP8 block scales), dequantizes FP8 weights with their `_scale_inv` blocks and writes
// the GGUF to `out_path`, the weight matrices converted while the file is written
// (models/gguf_export_util.h). The tokenizer (tokenizer.json or tokenizer.model) is written as
// llama.cpp's converter writes it (tokenizer/gguf_vocab_export.h); a folder without tokenizer
// files gets a synthetic gpt2 vocabulary of vocab_size tokens (`fathom.synthetic_vocab = true`).
absl::Status ExportDeepSeekToGguf(const HfCheckpoint& ckpt, const std::string& out_path,
                                  const ExportOptions& opts);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_GGUF_EXPORT_H_
