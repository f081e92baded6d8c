// Per-session state of a DeepSeek model: the latent KV cache (main layers, then MTP layers),
// the final hidden states kept for MTP, scratch buffers and an optional routing trace.
#ifndef FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_STATE_H_
#define FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_STATE_H_

#include <vector>

#include "models/deepseek/deepseek_config.h"
#include "models/deepseek/mla.h"
#include "models/deepseek/moe.h"
#include "models/language_model.h"
#include "tensor/aligned_vector.h"

namespace fathom::internal {

class DeepSeekState final : public ForwardState {
 public:
  DeepSeekState(const DeepSeekConfig& c, int64_t n_mtp_layers, int64_t n_ctx, int64_t max_batch);
  int64_t n_ctx() const override { return n_ctx_; }
  int64_t max_batch() const override { return max_batch_; }
  int64_t bytes() const override;

  MlaCache LayerCache(int64_t layer);  // main layers 0..L-1, MTP layers L..
  // Per layer (main, then MTP): "blk.L.c_kv" (no rotation) and "blk.L.k_pe" (one roped vector).
  std::vector<CacheSlab> CacheSlabs() override;
  void OnCacheRewritten() override {
    hidden_rows = 0;
    mtp_hidden_pos = -1;
  }
  void OnTruncate(int64_t n) override;
  const RopeTable* rope = nullptr;  // the model's, for re-roping k_pe in a context shift

  // Routing of the latest Forward (main layers) / ForwardMtp, when enabled: per layer,
  // [n_tokens x top_k] expert ids and weights (empty vectors for dense layers).
  bool trace_routing = false;
  std::vector<std::vector<int32_t>> trace_ids;
  std::vector<std::vector<float>> trace_weights;
  std::vector<int32_t> mtp_trace_ids;
  std::vector<float> mtp_trace_weights;
  // Tokens whose attention ran in the absorbed latent form (the only form fathom has).
  int64_t latent_attention_tokens = 0;

  // Final hidden states (after the output norm): row i is position hidden_first_pos + i.
  std::vector<float> hidden;
  int64_t hidden_first_pos = 0;
  int64_t hidden_rows = 0;
  // The MTP module's final hidden state (after shared_head.norm) of its latest row, at position
  // mtp_hidden_pos (-1: none): the hidden input of a chained draft step.
  std::vector<float> mtp_hidden;
  int64_t mtp_hidden_pos = -1;

  AlignedVector<float> c_kv, k_pe;
  std::vector<float> x, xn, tmp, cos, sin, dense_gate, dense_up, mtp_in;
  MlaScratch mla;
  MoeScratch moe;

 private:
  const DeepSeekConfig& config_;
  int64_t n_ctx_;
  int64_t max_batch_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_STATE_H_
