// The tensors of a DeepSeek V2/V3 model, independent of the file they came from, and the two
// loaders that fill them: Hugging Face names (config.json + safetensors) and GGUF deepseek2.
#ifndef FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_WEIGHTS_H_
#define FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_WEIGHTS_H_

#include <vector>

#include "absl/status/status.h"
#include "kernels/matmul.h"
#include "models/deepseek/deepseek_config.h"
#include "models/weight_source.h"

namespace fathom::internal {

struct MlaWeights {
  // Query: q_a -> q_a_norm -> q_b when q_lora_rank > 0, else q.
  WeightMatrix q_a, q_b, q;
  const float* q_a_norm = nullptr;
  WeightMatrix kv_a;  // [kv_lora + rope, hidden]
  const float* kv_a_norm = nullptr;
  // Per head: W_UK (k_nope from the latent) and W_UV (v from the latent).
  // uk[h] is [nope, kv_lora] (Hugging Face kv_b rows) unless uk_latent_major, where it is
  // [kv_lora, nope] (GGUF attn_k_b, already transposed for the absorbed query).
  std::vector<WeightMatrix> uk;
  bool uk_latent_major = false;
  std::vector<WeightMatrix> uv;  // [v_head, kv_lora]
  WeightMatrix o;                // [hidden, heads * v_head]
};

struct MlpWeights {
  WeightMatrix gate, up, down;
};

struct MoeWeights {
  WeightMatrix router;                // [n_routed_experts, hidden]
  const float* score_bias = nullptr;  // e_score_correction_bias (V3), selection only
  std::vector<MlpWeights> experts;
  bool has_shared = false;
  MlpWeights shared;  // width moe_intermediate_size * n_shared_experts
};

struct BlockWeights {
  const float* attn_norm = nullptr;
  MlaWeights attn;
  const float* ffn_norm = nullptr;
  bool is_moe = false;
  MlpWeights dense;
  MoeWeights moe;
};

struct MtpWeights {
  const float* enorm = nullptr;
  const float* hnorm = nullptr;
  WeightMatrix eh_proj;  // [hidden, 2 * hidden]: embedding half first
  BlockWeights block;
  const float* head_norm = nullptr;
  WeightMatrix head;   // [vocab, hidden]
  WeightMatrix embed;  // [vocab, hidden]
};

struct DeepSeekWeights {
  WeightMatrix embed;  // [vocab, hidden]
  std::vector<BlockWeights> blocks;
  const float* norm = nullptr;
  WeightMatrix lm_head;  // [vocab, hidden]
  std::vector<MtpWeights> mtp;
};

// Hugging Face names: model.embed_tokens, model.layers.N.self_attn.*, mlp.experts.E.*, ...
absl::Status LoadDeepSeekHfWeights(const DeepSeekConfig& c, WeightSource& src, DeepSeekWeights* w);
// llama.cpp's deepseek2 names: token_embd, blk.N.attn_q_a, attn_kv_b or attn_k_b/attn_v_b,
// ffn_*_exps (stacked), exp_probs_b, blk.N.nextn.* for MTP layers.
absl::Status LoadDeepSeekGgufWeights(const DeepSeekConfig& c, WeightSource& src,
                                     DeepSeekWeights* w);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_WEIGHTS_H_
