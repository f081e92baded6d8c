// Llama-family decoder (llama, qwen2 = R1-Distill-Qwen, DeepSeek LLM v1): RMSNorm, RoPE,
// grouped-query attention with optional QKV bias, SwiGLU FFN, tied or separate output.
#ifndef FATHOM_LIB_MODELS_LLAMA_LLAMA_MODEL_H_
#define FATHOM_LIB_MODELS_LLAMA_LLAMA_MODEL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "models/gguf_weights.h"
#include "models/language_model.h"

namespace fathom::internal {

struct LlamaHParams {
  std::string arch;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  int64_t n_rot = 0;
  int64_t n_ctx_train = 0;
  double rope_base = 10000.0;
  double rope_position_scale = 1.0;
  float rms_eps = 1e-5f;
  RopeLayout rope_layout = RopeLayout::kAdjacentPairs;

  static absl::StatusOr<LlamaHParams> FromGguf(const GgufFile& gguf);
};

class LlamaModel final : public LanguageModel {
 public:
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(const GgufFile& gguf, ModelInfo* info);

  int32_t n_vocab() const override { return static_cast<int32_t>(hp_.n_vocab); }
  absl::StatusOr<std::unique_ptr<ForwardState>> NewState(int64_t n_ctx,
                                                         int64_t max_batch) const override;
  absl::Status Forward(ForwardState& state, absl::Span<const int32_t> tokens, int64_t pos0,
                       LogitsMode mode, float* logits, ThreadPool& pool,
                       const std::atomic<bool>* cancel) const override;

 private:
  struct Layer {
    const float* attn_norm = nullptr;
    WeightMatrix wq, wk, wv, wo;
    const float* bq = nullptr;
    const float* bk = nullptr;
    const float* bv = nullptr;
    const float* ffn_norm = nullptr;
    WeightMatrix w_gate, w_up, w_down;
  };

  LlamaModel(const GgufFile& gguf, LlamaHParams hp);
  absl::Status LoadWeights();

  LlamaHParams hp_;
  GgufWeights weights_;
  WeightMatrix token_embd_;
  WeightMatrix output_;
  const float* output_norm_ = nullptr;
  std::vector<Layer> layers_;
  std::unique_ptr<RopeTable> rope_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_LLAMA_LLAMA_MODEL_H_
