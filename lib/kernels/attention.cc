// CausalAttention: one (token, head) pair per work item; scores in a per-thread buffer.
#include "kernels/attention.h"

#include <algorithm>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace fathom {

void CausalAttention(const AttentionShape& s, const float* q, int64_t n_tokens, int64_t pos0,
                     const float* k_cache, const float* v_cache, float* out, ThreadPool& pool) {
  const int group = s.n_head / s.n_head_kv;
  const int64_t k_stride = static_cast<int64_t>(s.n_head_kv) * s.head_dim_k;
  const int64_t v_stride = static_cast<int64_t>(s.n_head_kv) * s.head_dim_v;
  const int64_t n_items = n_tokens * s.n_head;
  pool.ParallelFor(n_items, 1, [&](int64_t begin, int64_t end, int) {
    thread_local std::vector<float> scores;
    const int64_t n_ctx_needed = pos0 + n_tokens;
    if (static_cast<int64_t>(scores.size()) < n_ctx_needed) scores.resize(n_ctx_needed);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / s.n_head;
      const int h = static_cast<int>(item % s.n_head);
      const int kvh = h / group;
      const float* qv = q + (t * s.n_head + h) * s.head_dim_k;
      const int64_t n_keys = pos0 + t + 1;
      for (int64_t j = 0; j < n_keys; ++j) {
        scores[j] = DotF32(qv, k_cache + j * k_stride + kvh * s.head_dim_k, s.head_dim_k) * s.scale;
      }
      Softmax(scores.data(), n_keys);
      float* o = out + (t * s.n_head + h) * s.head_dim_v;
      std::fill(o, o + s.head_dim_v, 0.0f);
      for (int64_t j = 0; j < n_keys; ++j) {
        const float p = scores[j];
        const float* vv = v_cache + j * v_stride + kvh * s.head_dim_v;
        for (int d = 0; d < s.head_dim_v; ++d) o[d] += p * vv[d];
      }
    }
  });
}

}  // namespace fathom
