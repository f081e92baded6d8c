// Attention of queries over a DeepSeek MLA latent cache in the absorbed form (decode reads the
// 512-wide latents, never per-head keys and values): for each head h,
//   score_j = (q_lat[h] . c_kv[j] + q_pe[h] . k_pe[j]) * scale,  p = softmax(score),
//   out[h]  = sum_j p_j c_kv[j].
// The fast version makes one pass over the cache in 64-key blocks with a running softmax per head
// (so each block is fetched once for all heads of the call), in register tiles of 4 heads x 4 keys
// (scores) and 4 heads x a slice of the latent width (weighted sums); the scalar reference (two
// passes, double precision) is for tests.
#ifndef FATHOM_LIB_KERNELS_LATENT_ATTENTION_H_
#define FATHOM_LIB_KERNELS_LATENT_ATTENTION_H_

#include <cstdint>

namespace fathom {

struct LatentAttentionShape {
  int64_t heads = 0;  // heads in this call
  int64_t lora = 0;   // latent width (kv_lora_rank)
  int64_t rope = 0;   // rotary key width (qk_rope_head_dim)
  int64_t n_keys = 0;
  float scale = 1.0f;
};

// q_lat: [heads][lora]; q_pe: head h at q_pe + h * q_pe_stride (rope values); c_kv: [n_keys][lora];
// k_pe: [n_keys][rope]; out: [heads][lora]; scores: scratch of heads * min(n_keys, 64) floats.
void LatentAttention(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                     int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                     float* scores);

// The AVX2 version (what LatentAttention runs on CPUs without AVX-512), for tests on any CPU.
void LatentAttentionAvx2(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                         int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                         float* scores);

// Scalar reference (one head at a time, plain loops).
void LatentAttentionRef(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                        int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_LATENT_ATTENTION_H_
