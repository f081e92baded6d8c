// DeepSeekMoE: the router (V2 softmax / group-limited greedy, V3 sigmoid + bias + group top-2)
// and the expert computation, each selected expert run once over the tokens that chose it.
#ifndef FATHOM_LIB_MODELS_DEEPSEEK_MOE_H_
#define FATHOM_LIB_MODELS_DEEPSEEK_MOE_H_

#include <cstdint>
#include <vector>

#include "models/deepseek/deepseek_config.h"
#include "models/deepseek/deepseek_weights.h"
#include "runtime/thread_pool.h"

namespace fathom::internal {

// Routes one token: `logits` are the router outputs (n_routed_experts). Writes
// num_experts_per_tok expert ids (by descending selection score) and their final weights.
// `scratch` needs 2 * n_routed_experts + n_group floats.
void RouteToken(const DeepSeekConfig& c, const float* logits, const float* score_bias, int32_t* ids,
                float* weights, float* scratch);

// Scratch for MoeForward, sized for a batch of up to `max_batch` tokens.
struct MoeScratch {
  void Resize(const DeepSeekConfig& c, int64_t max_batch);
  std::vector<float> router_logits, route_weights, route_scratch, gathered, gate, up, expert_out;
  std::vector<int32_t> route_ids, route_order, expert_tokens;
  std::vector<int64_t> expert_count;
};

// out[t] = sum_k w_k expert_k(xn[t]) + shared(xn[t]) for n tokens (out is overwritten).
// With `trace_ids`/`trace_weights` (n * top_k each), the routing is recorded.
void MoeForward(const DeepSeekConfig& c, const MoeWeights& w, const float* xn, int64_t n,
                float* out, MoeScratch& s, ThreadPool& pool, int32_t* trace_ids,
                float* trace_weights);

// Dense SiLU-gated MLP over n tokens (gate/up buffers hold n * width floats).
void MlpForward(const MlpWeights& w, const float* xn, int64_t n, float* out, float* gate, float* up,
                ThreadPool& pool);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_DEEPSEEK_MOE_H_
