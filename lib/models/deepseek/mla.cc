// Absorbed MLA (see mla.h): each head absorbs its queries through W_UK, attends over the shared
// latent cache (lib/kernels/latent_attention: each cache row read once per four heads) and
// projects through W_UV. Batches of several tokens per thread split the tokens over the threads
// (all heads per call), smaller ones the heads; one token over a long context splits its
// key pieces over the threads instead (each thread reads its share of the cache).
#include "models/deepseek/mla.h"

#include <algorithm>
#include <cstring>

#include "kernels/latent_attention.h"
#include "kernels/matmul.h"
#include "tensor/aligned_vector.h"

namespace fathom::internal {

void MlaScratch::Resize(const DeepSeekConfig& c, int64_t max_batch, int64_t n_ctx) {
  const int64_t H = c.num_attention_heads, lora = c.kv_lora_rank;
  q_a.resize(max_batch * std::max<int64_t>(c.q_lora_rank, 1));
  q.resize(max_batch * H * c.qk_head_dim());
  kv.resize(max_batch * (lora + c.qk_rope_head_dim));
  heads_out.resize(max_batch * H * c.v_head_dim);
  const int64_t pieces = LatentAttentionMaxPieces(n_ctx);
  q_lat.resize(H * lora);
  lat_out.resize(H * lora);
  piece_out.resize(pieces * H * lora);
  piece_max.resize(pieces * H);
  piece_sum.resize(pieces * H);
  q_lat_batch.resize(std::min(max_batch, kMlaTokenStep) * H * lora);
}

int64_t MlaScratch::bytes() const {
  int64_t n = 0;
  for (const auto* v : {&q_a, &q, &kv, &heads_out, &q_lat, &lat_out, &piece_out, &piece_max,
                        &piece_sum, &q_lat_batch}) {
    n += static_cast<int64_t>(v->size() * sizeof(float));
  }
  return n;
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

  // q_lat[t][h] = q_nope[t][h] W_UK_h (kv_lora wide), for heads [h_begin, h_end) of the tokens
  // [t_begin, t_end), at q_lat + ((t - t_begin) * stride + h - h_begin) * lora.
  auto absorb = [&](int64_t t_begin, int64_t t_end, int64_t h_begin, int64_t h_end, float* q_lat,
                    int64_t stride) {
    const int64_t m = t_end - t_begin;
    thread_local AlignedVector<float> q_nope, q_lat_h, row_buf;
    q_nope.resize(m * nope);
    q_lat_h.resize(m * lora);
    row_buf.resize(4 * std::max(lora, nope));
    for (int64_t h = h_begin; h < h_end; ++h) {
      for (int64_t t = 0; t < m; ++t) {
        std::memcpy(&q_nope[t * nope], &s.q[((t_begin + t) * H + h) * qk], nope * sizeof(float));
      }
      if (w.uk_latent_major) {
        MatMulSerial(w.uk[h], q_nope.data(), m, q_lat_h.data(), lora, row_buf.data());
      } else {
        MatMulTransposedSerial(w.uk[h], q_nope.data(), nope, m, q_lat_h.data(), row_buf.data());
      }
      for (int64_t t = 0; t < m; ++t) {
        std::memcpy(q_lat + (t * stride + h - h_begin) * lora, &q_lat_h[t * lora],
                    lora * sizeof(float));
      }
    }
  };
  // o_h = W_UV_h lat_out_h for heads [h_begin, h_end) of token t.
  auto project = [&](int64_t h_begin, int64_t h_end, int64_t t, const float* lat_out) {
    thread_local AlignedVector<float> row_buf;
    row_buf.resize(4 * std::max(lora, nope));
    for (int64_t h = h_begin; h < h_end; ++h) {
      MatMulSerial(w.uv[h], lat_out + (h - h_begin) * lora, 1, &s.heads_out[(t * H + h) * dv], dv,
                   row_buf.data());
    }
  };
  LatentAttentionShape shape;
  shape.lora = lora;
  shape.rope = dr;
  shape.scale = softmax_scale;
  const int64_t threads = pool.n_threads();
  const int64_t pieces = LatentAttentionPieces(pos0 + 1);

  if (n == 1 && threads > 1 && pieces > 1) {
    // One token over a long context: its key pieces (times head groups, when there are fewer
    // pieces than threads) run in parallel, so each thread reads only its share of the cache;
    // the pieces' states are merged per head. Same arithmetic as the batch path below.
    pool.ParallelFor(H, (H + threads - 1) / threads, [&](int64_t h_begin, int64_t h_end, int) {
      absorb(0, n, h_begin, h_end, &s.q_lat[h_begin * lora], H);
    });
    const int64_t want_groups = (threads + pieces - 1) / pieces;
    const int64_t group = std::min(H, ((H + want_groups - 1) / want_groups + 3) / 4 * 4);
    const int64_t groups = (H + group - 1) / group;
    pool.ParallelFor(pieces * groups, 1, [&](int64_t i_begin, int64_t i_end, int) {
      thread_local AlignedVector<float> scores;
      for (int64_t i = i_begin; i < i_end; ++i) {
        const int64_t p = i / groups, h0 = (i % groups) * group, h1 = std::min(H, h0 + group);
        int64_t key_begin, key_end;
        LatentAttentionPieceRange(pos0 + 1, p, &key_begin, &key_end);
        LatentAttentionShape piece = shape;
        piece.heads = h1 - h0;
        piece.n_keys = key_end - key_begin;
        scores.resize(piece.heads * std::min<int64_t>(piece.n_keys, 64));
        LatentAttentionPartial(piece, &s.q_lat[h0 * lora], &s.q[h0 * qk + nope], qk,
                               cache.c_kv + key_begin * lora, cache.k_pe + key_begin * dr,
                               &s.piece_out[(p * H + h0) * lora], &s.piece_max[p * H + h0],
                               &s.piece_sum[p * H + h0], scores.data());
      }
    });
    pool.ParallelFor(H, (H + threads - 1) / threads, [&](int64_t h_begin, int64_t h_end, int) {
      MergeLatentPartials(h_end - h_begin, lora, pieces, &s.piece_out[h_begin * lora], H * lora,
                          &s.piece_max[h_begin], &s.piece_sum[h_begin], H,
                          &s.lat_out[h_begin * lora]);
      project(h_begin, h_end, 0, &s.lat_out[h_begin * lora]);
    });
  } else if (threads > 1 && n >= 4 * threads) {
    // A batch of several tokens per thread: the tokens go to the threads, each attended by
    // all heads in one call, so every cache row a call reads serves all the heads (4 head groups
    // per L1-resident key tile for V2's 16 heads) and each token's keys are read by one thread.
    // The queries are absorbed kMlaTokenStep tokens at a time, heads split over the threads.
    // A head's result does not depend on which heads share its call, so this gives the bits
    // the head split below gives.
    for (int64_t t0 = 0; t0 < n; t0 += kMlaTokenStep) {
      const int64_t t1 = std::min(n, t0 + kMlaTokenStep);
      pool.ParallelFor(H, (H + threads - 1) / threads, [&](int64_t h_begin, int64_t h_end, int) {
        absorb(t0, t1, h_begin, h_end, &s.q_lat_batch[h_begin * lora], H);
      });
      pool.ParallelFor(t1 - t0, 1, [&](int64_t i_begin, int64_t i_end, int) {
        thread_local AlignedVector<float> lat_out, scratch;
        lat_out.resize(H * lora);
        for (int64_t i = i_begin; i < i_end; ++i) {
          const int64_t t = t0 + i;
          LatentAttentionShape token = shape;
          token.heads = H;
          token.n_keys = pos0 + t + 1;
          scratch.resize(LatentAttentionScratchFloats(token));
          LatentAttention(token, &s.q_lat_batch[i * H * lora], &s.q[t * H * qk + nope], qk,
                          cache.c_kv, cache.k_pe, lat_out.data(), scratch.data());
          project(0, H, t, lat_out.data());
        }
      });
    }
  } else {
    // One thread, or a few tokens per thread (a speculative verify batch, a short prompt):
    // heads split over the threads in pieces of a multiple of four heads, as large as the
    // thread count allows: the attention kernel fetches the latent cache once per piece (per
    // call), so with one piece per thread the cache is read once per thread and token.
    const int64_t per_thread = (H + threads - 1) / threads;
    const int64_t grain = std::max<int64_t>(4, (per_thread + 3) / 4 * 4);
    pool.ParallelFor(H, grain, [&](int64_t h_begin, int64_t h_end, int) {
      const int64_t nh = h_end - h_begin;
      thread_local AlignedVector<float> q_lat_all, lat_out, scratch;
      q_lat_all.resize(n * nh * lora);  // [t][head][lora]
      lat_out.resize(nh * lora);
      absorb(0, n, h_begin, h_end, q_lat_all.data(), nh);
      for (int64_t t = 0; t < n; ++t) {
        LatentAttentionShape token = shape;
        token.heads = nh;
        token.n_keys = pos0 + t + 1;
        scratch.resize(LatentAttentionScratchFloats(token));
        LatentAttention(token, &q_lat_all[t * nh * lora], &s.q[(t * H + h_begin) * qk + nope], qk,
                        cache.c_kv, cache.k_pe, lat_out.data(), scratch.data());
        project(h_begin, h_end, t, lat_out.data());
      }
    });
  }
  MatMul(w.o, s.heads_out.data(), n, out, pool);
}

}  // namespace fathom::internal
