// Causal grouped-query attention of a batch of new queries over a float32 KV cache.
#ifndef FATHOM_LIB_KERNELS_ATTENTION_H_
#define FATHOM_LIB_KERNELS_ATTENTION_H_

#include <cstdint>

#include "runtime/thread_pool.h"

namespace fathom {

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim_k = 0;  // query/key width
  int head_dim_v = 0;  // value width
  float scale = 1.0f;  // multiplies q.k
};

// q: [n_tokens][n_head][head_dim_k]; k_cache: [pos][n_head_kv][head_dim_k];
// v_cache: [pos][n_head_kv][head_dim_v]; token t sits at position pos0 + t and attends to
// cache positions 0..pos0+t. out: [n_tokens][n_head][head_dim_v].
// Query head h uses KV head h / (n_head / n_head_kv).
void CausalAttention(const AttentionShape& s, const float* q, int64_t n_tokens, int64_t pos0,
                     const float* k_cache, const float* v_cache, float* out, ThreadPool& pool);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_ATTENTION_H_
