// DeepSeek V2/V3 hyperparameters, read from a Hugging Face config.json or GGUF deepseek2 keys.
#ifndef FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_CONFIG_H_
#define FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "format/gguf_reader.h"
#include "nlohmann/json.hpp"

namespace fathom::internal {

enum class ScoringFunc { kSoftmax, kSigmoid };
enum class TopkMethod {
  kGreedy,              // V2-Lite: plain top-k of the scores
  kGroupLimitedGreedy,  // V2-236B: keep topk_group groups by their MAX score
  kNoAuxTc,             // V3: bias-corrected scores, groups by the sum of their top-2
};

struct DeepSeekConfig {
  std::string model_type;  // deepseek_v2 | deepseek_v3
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;      // dense MLP width
  int64_t moe_intermediate_size = 0;  // one routed expert's width
  int64_t num_hidden_layers = 0;      // main decoder layers (MTP layers come after)
  int64_t num_attention_heads = 0;
  int64_t q_lora_rank = 0;  // 0 = no low-rank query (q_proj)
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t n_routed_experts = 0;  // 0 = dense model
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  TopkMethod topk_method = TopkMethod::kGreedy;
  ScoringFunc scoring_func = ScoringFunc::kSoftmax;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  int64_t max_position_embeddings = 4096;
  // YaRN (rope_scaling.type == "yarn"); factor 1 = none.
  bool yarn = false;
  double yarn_factor = 1.0;
  int64_t yarn_original_max_position = 4096;
  double yarn_beta_fast = 32.0;
  double yarn_beta_slow = 1.0;
  double yarn_mscale = 1.0;
  double yarn_mscale_all_dim = 0.0;
  int64_t num_nextn_predict_layers = 0;
  bool tie_word_embeddings = false;
  bool fp8_block_scales = false;  // quantization_config: fp8, weight_block_size [128, 128]
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;

  // Whether decoder layer `il` (0-based) uses the MoE (true) or the dense MLP.
  bool IsMoeLayer(int64_t il) const;
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }

  static absl::StatusOr<DeepSeekConfig> FromHfConfig(const nlohmann::json& config);
  static absl::StatusOr<DeepSeekConfig> FromGguf(const GgufFile& gguf);
  // Cross-field checks shared by both sources.
  absl::Status Validate() const;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_CONFIG_H_
