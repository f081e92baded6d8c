// Absorbed MLA (see mla.h): groups of heads run in parallel; each head absorbs its queries
// through W_UK, the group attends over the shared latent cache together (lib/kernels/
// latent_attention: each cache row read once per four heads), and each head projects through W_UV.
#include "models/deepseek/mla.h"

#include <algorithm>
#include <cstring>

#include "kernels/latent_attention.h"
#include "kernels/matmul.h"
#include "tensor/aligned_vector.h"

namespace fathom::internal {

void MlaScratch::Resize(const DeepSeekConfig& c, int64_t max_batch) {
  q_a.resize(max_batch * std::max<int64_t>(c.q_lora_rank, 1));
  q.resize(max_batch * c.num_attention_heads * c.qk_head_dim());
  kv.resize(max_batch * (c.kv_lora_rank + c.qk_rope_head_dim));
  heads_out.resize(max_batch * c.num_attention_heads * c.v_head_dim);
}

void MlaForward(const DeepSeekConfig& c, const MlaWeights& w, const RopeTable& rope,
                float softmax_scale, const float* xn, int64_t n, int64_t pos0, const float* cos,
                const float* sin, MlaCache cache, float* out, MlaScratch& s, ThreadPool& pool) {
  const int64_t H = c.num_attention_heads, nope = c.qk_nope_head_dim, dr = c.qk_rope_head_dim;
  const int64_t qk = c.qk_head_dim(), lora = c.kv_lora_rank, dv = c.v_head_dim;
  const int64_t half = dr / 2;
  const float eps = static_cast<float>(c.rms_norm_eps);

  // Queries.
  if (c.q_lora_rank > 0) {
    MatMul(w.q_a, xn, n, s.q_a.data(), pool);
    for (int64_t t = 0; t < n; ++t) {
      RmsNorm(&s.q_a[t * c.q_lora_rank], w.q_a_norm, c.q_lora_rank, eps, &s.q_a[t * c.q_lora_rank]);
    }
    MatMul(w.q_b, s.q_a.data(), n, s.q.data(), pool);
  } else {
    MatMul(w.q, xn, n, s.q.data(), pool);
  }
  // Latents into the cache: normalised c_kv, roped k_pe (shared by all heads).
  MatMul(w.kv_a, xn, n, s.kv.data(), pool);
  for (int64_t t = 0; t < n; ++t) {
    const float* kv = &s.kv[t * (lora + dr)];
    RmsNorm(kv, w.kv_a_norm, lora, eps, cache.c_kv + (pos0 + t) * lora);
    float* kpe = cache.k_pe + (pos0 + t) * dr;
    std::memcpy(kpe, kv + lora, dr * sizeof(float));
    rope.Apply(kpe, 1, static_cast<int>(dr), cos + t * half, sin + t * half);
    for (int64_t h = 0; h < H; ++h) {
      rope.Apply(&s.q[(t * H + h) * qk + nope], 1, static_cast<int>(dr), cos + t * half,
                 sin + t * half);
    }
  }

  // Heads split over the threads in pieces of a multiple of four heads, as large as the thread
  // count allows: the attention kernel fetches the latent cache once per piece (per call), so
  // with one piece per thread the cache is read once per thread and token.
  const int64_t per_thread = (H + pool.n_threads() - 1) / pool.n_threads();
  const int64_t grain = std::max<int64_t>(4, (per_thread + 3) / 4 * 4);
  pool.ParallelFor(H, grain, [&](int64_t h_begin, int64_t h_end, int) {
    const int64_t nh = h_end - h_begin;
    thread_local AlignedVector<float> q_nope, q_lat, q_lat_all, lat_out, scores, row_buf;
    q_nope.resize(n * nope);
    q_lat.resize(n * lora);
    q_lat_all.resize(n * nh * lora);  // [t][head][lora]
    lat_out.resize(nh * lora);
    scores.resize(nh * (pos0 + n));
    row_buf.resize(4 * std::max(lora, nope));
    for (int64_t h = h_begin; h < h_end; ++h) {
      for (int64_t t = 0; t < n; ++t) {
        std::memcpy(&q_nope[t * nope], &s.q[(t * H + h) * qk], nope * sizeof(float));
      }
      // Absorb: q_lat = q_nope W_UK_h (kv_lora wide).
      if (w.uk_latent_major) {
        MatMulSerial(w.uk[h], q_nope.data(), n, q_lat.data(), lora, row_buf.data());
      } else {
        MatMulTransposedSerial(w.uk[h], q_nope.data(), nope, n, q_lat.data(), row_buf.data());
      }
      for (int64_t t = 0; t < n; ++t) {
        std::memcpy(&q_lat_all[(t * nh + (h - h_begin)) * lora], &q_lat[t * lora],
                    lora * sizeof(float));
      }
    }
    for (int64_t t = 0; t < n; ++t) {
      LatentAttentionShape shape;
      shape.heads = nh;
      shape.lora = lora;
      shape.rope = dr;
      shape.n_keys = pos0 + t + 1;
      shape.scale = softmax_scale;
      LatentAttention(shape, &q_lat_all[t * nh * lora], &s.q[(t * H + h_begin) * qk + nope], qk,
                      cache.c_kv, cache.k_pe, lat_out.data(), scores.data());
      for (int64_t h = h_begin; h < h_end; ++h) {
        // o_h = W_UV_h lat_out.
        MatMulSerial(w.uv[h], &lat_out[(h - h_begin) * lora], 1, &s.heads_out[(t * H + h) * dv], dv,
                     row_buf.data());
      }
    }
  });
  MatMul(w.o, s.heads_out.data(), n, out, pool);
}

}  // namespace fathom::internal
