// DeepSeekMoE routing and expert evaluation (see moe.h and DESIGN.md §6).
#include "models/deepseek/moe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace fathom::internal {

void RouteToken(const DeepSeekConfig& c, const float* logits, const float* score_bias, int32_t* ids,
                float* weights, float* scratch, int32_t* order) {
  const int64_t E = c.n_routed_experts;
  const int64_t k = c.num_experts_per_tok;
  float* scores = scratch;      // unbiased scores: they give the weights
  float* select = scratch + E;  // selection scores (biased for V3), masked per group
  float* group_score = scratch + 2 * E;
  if (c.scoring_func == ScoringFunc::kSigmoid) {
    for (int64_t e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  } else {
    std::copy(logits, logits + E, scores);
    Softmax(scores, E);
  }
  for (int64_t e = 0; e < E; ++e) select[e] = scores[e] + (score_bias ? score_bias[e] : 0.0f);

  if (c.topk_method != TopkMethod::kGreedy && c.n_group > 1) {
    const int64_t per = E / c.n_group;
    for (int64_t g = 0; g < c.n_group; ++g) {
      const float* s = select + g * per;
      if (c.topk_method == TopkMethod::kNoAuxTc) {
        // Sum of the group's two best biased scores.
        float a = -std::numeric_limits<float>::infinity(), b = a;
        for (int64_t i = 0; i < per; ++i) {
          if (s[i] > a) {
            b = a;
            a = s[i];
          } else if (s[i] > b) {
            b = s[i];
          }
        }
        group_score[g] = a + b;
      } else {
        group_score[g] = *std::max_element(s, s + per);  // V2: the group's best expert
      }
    }
    // Keep the topk_group best groups; experts of the others can never be chosen.
    std::iota(order, order + c.n_group, 0);
    std::partial_sort(order, order + c.topk_group, order + c.n_group, [&](int32_t x, int32_t y) {
      return group_score[x] > group_score[y] || (group_score[x] == group_score[y] && x < y);
    });
    for (int64_t r = c.topk_group; r < c.n_group; ++r) {
      std::fill(select + order[r] * per, select + (order[r] + 1) * per,
                -std::numeric_limits<float>::infinity());
    }
  }
  // Top-k by selection score (ties: lower expert id first), in descending order.
  std::iota(order, order + E, 0);
  std::partial_sort(order, order + k, order + E, [&](int32_t x, int32_t y) {
    return select[x] > select[y] || (select[x] == select[y] && x < y);
  });
  double sum = 0.0;
  for (int64_t i = 0; i < k; ++i) {
    ids[i] = order[i];
    weights[i] = scores[order[i]];
    sum += weights[i];
  }
  const float norm = c.norm_topk_prob ? static_cast<float>(1.0 / sum) : 1.0f;
  for (int64_t i = 0; i < k; ++i) {
    weights[i] = weights[i] * norm * static_cast<float>(c.routed_scaling_factor);
  }
}

void MoeScratch::Resize(const DeepSeekConfig& c, int64_t max_batch) {
  const int64_t E = c.n_routed_experts, k = c.num_experts_per_tok, d = c.hidden_size;
  const int64_t width =
      std::max(c.moe_intermediate_size, c.moe_intermediate_size * c.n_shared_experts);
  router_logits.resize(max_batch * E);
  route_weights.resize(max_batch * k);
  route_ids.resize(max_batch * k);
  route_scratch.resize(2 * E + c.n_group);
  route_order.resize(E);
  gathered.resize(max_batch * d);
  gate.resize(max_batch * width);
  up.resize(max_batch * width);
  expert_out.resize(max_batch * d);
  expert_tokens.resize(max_batch * k);
  expert_count.resize(E + 1);
}

void MlpForward(const MlpWeights& w, const float* xn, int64_t n, float* out, float* gate, float* up,
                ThreadPool& pool) {
  MatMul(w.gate, xn, n, gate, pool);
  MatMul(w.up, xn, n, up, pool);
  SwiGlu(gate, up, n * w.gate.rows, gate);
  MatMul(w.down, gate, n, out, pool);
}

void MoeForward(const DeepSeekConfig& c, const MoeWeights& w, const float* xn, int64_t n,
                float* out, MoeScratch& s, ThreadPool& pool, int32_t* trace_ids,
                float* trace_weights) {
  const int64_t E = c.n_routed_experts, k = c.num_experts_per_tok, d = c.hidden_size;
  MatMul(w.router, xn, n, s.router_logits.data(), pool);
  for (int64_t t = 0; t < n; ++t) {
    RouteToken(c, &s.router_logits[t * E], w.score_bias, &s.route_ids[t * k],
               &s.route_weights[t * k], s.route_scratch.data(), s.route_order.data());
  }
  if (trace_ids != nullptr) std::copy(s.route_ids.begin(), s.route_ids.begin() + n * k, trace_ids);
  if (trace_weights != nullptr) {
    std::copy(s.route_weights.begin(), s.route_weights.begin() + n * k, trace_weights);
  }
  // Bucket (token, slot) pairs by expert: counting sort keeps token order within an expert.
  std::fill(s.expert_count.begin(), s.expert_count.end(), 0);
  for (int64_t i = 0; i < n * k; ++i) ++s.expert_count[s.route_ids[i] + 1];
  for (int64_t e = 0; e < E; ++e) s.expert_count[e + 1] += s.expert_count[e];
  {
    std::vector<int64_t>& next = s.expert_count;  // reused as write cursors, then restored
    for (int64_t i = 0; i < n * k; ++i)
      s.expert_tokens[next[s.route_ids[i]]++] = static_cast<int32_t>(i);
    for (int64_t e = E; e > 0; --e) next[e] = next[e - 1];
    next[0] = 0;
  }
  if (w.has_shared) {
    MlpForward(w.shared, xn, n, out, s.gate.data(), s.up.data(), pool);
  } else {
    std::fill(out, out + n * d, 0.0f);
  }
  for (int64_t e = 0; e < E; ++e) {
    const int64_t begin = s.expert_count[e], m = s.expert_count[e + 1] - begin;
    if (m == 0) continue;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t t = s.expert_tokens[begin + j] / k;
      std::copy(xn + t * d, xn + (t + 1) * d, &s.gathered[j * d]);
    }
    MlpForward(w.experts[e], s.gathered.data(), m, s.expert_out.data(), s.gate.data(), s.up.data(),
               pool);
    for (int64_t j = 0; j < m; ++j) {
      const int64_t slot = s.expert_tokens[begin + j];
      const int64_t t = slot / k;
      const float wt = s.route_weights[slot];
      for (int64_t i = 0; i < d; ++i) out[t * d + i] += wt * s.expert_out[j * d + i];
    }
  }
}

}  // namespace fathom::internal
