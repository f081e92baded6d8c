// Multi-head Latent Attention in its absorbed form: queries are moved into the kv_lora-wide
// latent space through W_UK, attention runs over the cached latents c_kv and the shared roped
// k_pe, and the latent output leaves through W_UV. Cached latents are never expanded per head.
#ifndef FATHOM_LIB_MODELS_DEEPSEEK_MLA_H_
#define FATHOM_LIB_MODELS_DEEPSEEK_MLA_H_

#include <cstdint>
#include <vector>

#include "kernels/ops.h"
#include "models/deepseek/deepseek_config.h"
#include "models/deepseek/deepseek_weights.h"
#include "runtime/thread_pool.h"
#include "tensor/aligned_vector.h"

namespace fathom::internal {

// One layer's latent cache: c_kv [n_ctx][kv_lora] (normalised) and k_pe [n_ctx][rope] (roped).
struct MlaCache {
  float* c_kv = nullptr;
  float* k_pe = nullptr;
};

struct MlaScratch {
  void Resize(const DeepSeekConfig& c, int64_t max_batch, int64_t n_ctx);
  int64_t bytes() const;
  AlignedVector<float> q_a, q, kv, heads_out;
  // One token's attention split by keys: absorbed queries [head][lora], the pieces' states
  // ([piece][head][lora], [piece][head]) and the merged result [head][lora].
  AlignedVector<float> q_lat, lat_out, piece_out, piece_max, piece_sum;
  // A batch split by tokens: the absorbed queries of up to kMlaTokenStep tokens [t][head][lora].
  AlignedVector<float> q_lat_batch;
};

// Tokens whose queries a batch absorbs at a time before the threads attend them token by token.
inline constexpr int64_t kMlaTokenStep = 64;

// Attention for n tokens at positions pos0.. (their latents are written into `cache` first).
// xn: normalised input [n][hidden]; cos/sin: [n][rope/2]; out: [n][hidden].
void MlaForward(const DeepSeekConfig& c, const MlaWeights& w, const RopeTable& rope,
                float softmax_scale, const float* xn, int64_t n, int64_t pos0, const float* cos,
                const float* sin, MlaCache cache, float* out, MlaScratch& s, ThreadPool& pool);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_DEEPSEEK_MLA_H_
