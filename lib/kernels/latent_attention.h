// Attention of queries over a DeepSeek MLA latent cache in the absorbed form (decode reads the
// 512-wide latents, never per-head keys and values): for each head h,
//   score_j = (q_lat[h] . c_kv[j] + q_pe[h] . k_pe[j]) * scale,  p = softmax(score),
//   out[h]  = sum_j p_j c_kv[j].
// The fast version makes one pass over the cache in 64-key blocks with a running softmax per head
// (so each block is fetched once for all heads of the call), in register tiles of 4 heads x 4 keys
// (scores) and 4 heads x a slice of the latent width (weighted sums); the scalar reference (two
// passes, double precision) is for tests. Long contexts are cut into pieces whose softmax states
// are merged, so that one token's attention can be spread over threads by keys.
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
// k_pe: [n_keys][rope]; out: [heads][lora]; scratch: LatentAttentionScratchFloats(s) floats.
// Long contexts are attended in pieces (LatentAttentionPieces) whose states are merged; a head's
// result depends only on its query, the cache and the key count (not on the heads computed with
// it, nor on whether the pieces ran here or on several threads through the two functions below).
void LatentAttention(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                     int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                     float* scratch);
int64_t LatentAttentionScratchFloats(const LatentAttentionShape& s);

// The pieces of n_keys keys: how many, and the keys [begin, end) of piece p; no key count up to
// n_ctx has more than LatentAttentionMaxPieces(n_ctx) pieces.
int64_t LatentAttentionPieces(int64_t n_keys);
int64_t LatentAttentionMaxPieces(int64_t n_ctx);
void LatentAttentionPieceRange(int64_t n_keys, int64_t piece, int64_t* begin, int64_t* end);

// One piece (c_kv, k_pe and s.n_keys describing its keys only) as a running-softmax state per
// head: max[h] = the largest score, sum[h] = sum_j exp(score_j - max[h]), out[h] = sum_j
// exp(score_j - max[h]) c_kv[j] (not divided by sum). scores: heads * min(n_keys, 64) floats.
void LatentAttentionPartial(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                            int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                            float* max, float* sum, float* scores);

// The attention of `heads` heads from the states of their pieces (piece p: outs + p * out_stride,
// maxes/sums + p * stat_stride, heads consecutive), combined in piece order; out: [heads][lora].
void MergeLatentPartials(int64_t heads, int64_t lora, int64_t pieces, const float* outs,
                         int64_t out_stride, const float* maxes, const float* sums,
                         int64_t stat_stride, float* out);

// The AVX2 version of LatentAttention (what it runs on CPUs without AVX-512), for tests on any
// CPU.
void LatentAttentionAvx2(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                         int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                         float* scratch);

// Scalar reference (one head at a time, plain loops).
void LatentAttentionRef(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                        int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_LATENT_ATTENTION_H_
