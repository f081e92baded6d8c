// Absorbed MLA attention over the latent cache (see the header): one pass in 64-key blocks with
// a running softmax per head; per block, scores for 4 heads x 4 keys per register tile (each
// cache row loaded once for the four heads), then the weighted sum of the block's rows for 4
// heads x a slice of the latent width per tile. AVX-512 where the CPU has it, else AVX2 (the
// same code on 256-bit vectors).
#include "kernels/latent_attention.h"

// The tile templates are shared by the AVX2 and AVX-512 versions (always inlined into functions
// of either target), so GCC warns that a 512-bit vector crosses a function of the default target
// (-Wpsabi; nothing is passed by value at run time), and GCC 12's AVX-512 intrinsics initialise
// their "undefined" operands from themselves (-Wuninitialized, GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace fathom {
namespace {

#define FATHOM_AVX512 __attribute__((target("avx512f")))

constexpr int kHeadTile = 4;
constexpr int kKeyTile = 4;

// The vector operations the kernel needs, for 512-bit and 256-bit registers.
struct Avx512 {
  using V = __m512;
  static constexpr int kWidth = 16;
  static constexpr int kOutTile = 4;  // vectors of the latent width per accumulation tile
  FATHOM_AVX512 static V Zero() { return _mm512_setzero_ps(); }
  FATHOM_AVX512 static V Load(const float* p) { return _mm512_loadu_ps(p); }
  FATHOM_AVX512 static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  FATHOM_AVX512 static V Set1(float x) { return _mm512_set1_ps(x); }
  FATHOM_AVX512 static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  FATHOM_AVX512 static float Sum(V v) { return _mm512_reduce_add_ps(v); }
};

struct Avx2 {
  using V = __m256;
  static constexpr int kWidth = 8;
  static constexpr int kOutTile = 2;
  static V Zero() { return _mm256_setzero_ps(); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V Set1(float x) { return _mm256_set1_ps(x); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float Sum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

// One segment of a dot product: query rows q + h * qs, cache rows c + k * cs, n floats.
struct Segment {
  const float* q;
  int64_t qs;
  const float* c;
  int64_t cs;
  int64_t n;
};

// Vector part of a segment into acc; returns where the scalar tail starts.
template <typename I, int NH, int NK>
__attribute__((always_inline)) inline int64_t AccumulateSegment(const Segment& g,
                                                                typename I::V acc[NH][NK]) {
  using V = typename I::V;
  int64_t i = 0;
  for (; i + I::kWidth <= g.n; i += I::kWidth) {
    V cv[NK];
    for (int k = 0; k < NK; ++k) cv[k] = I::Load(g.c + k * g.cs + i);
    for (int h = 0; h < NH; ++h) {
      const V qv = I::Load(g.q + h * g.qs + i);
      for (int k = 0; k < NK; ++k) acc[h][k] = I::Fma(qv, cv[k], acc[h][k]);
    }
  }
  return i;
}

// out[h][k] = a.q[h] . a.c[k] + b.q[h] . b.c[k] (the latent and rotary parts of a score) for NH
// query rows and NK cache rows, with one set of accumulators (one horizontal sum per pair).
template <typename I, int NH, int NK>
__attribute__((always_inline)) inline void DotTile(const Segment& a, const Segment& b,
                                                   float out[NH][NK]) {
  using V = typename I::V;
  V acc[NH][NK];
  for (auto& row : acc)
    for (V& v : row) v = I::Zero();
  const int64_t ta = AccumulateSegment<I, NH, NK>(a, acc);
  const int64_t tb = AccumulateSegment<I, NH, NK>(b, acc);
  for (int h = 0; h < NH; ++h) {
    for (int k = 0; k < NK; ++k) {
      float sum = I::Sum(acc[h][k]);
      for (int64_t j = ta; j < a.n; ++j) sum += a.q[h * a.qs + j] * a.c[k * a.cs + j];
      for (int64_t j = tb; j < b.n; ++j) sum += b.q[h * b.qs + j] * b.c[k * b.cs + j];
      out[h][k] = sum;
    }
  }
}

// Scores of NH heads for keys [j0, j1): scores[h * stride + j - j0].
template <typename I, int NH>
__attribute__((always_inline)) inline void ScoresForHeads(const LatentAttentionShape& s, int64_t j0,
                                                          int64_t j1, int64_t stride,
                                                          const float* q_lat, const float* q_pe,
                                                          int64_t q_pe_stride, const float* c_kv,
                                                          const float* k_pe, float* scores) {
  int64_t j = j0;
  for (; j + kKeyTile <= j1; j += kKeyTile) {
    float out[NH][kKeyTile];
    DotTile<I, NH, kKeyTile>({q_lat, s.lora, c_kv + j * s.lora, s.lora, s.lora},
                             {q_pe, q_pe_stride, k_pe + j * s.rope, s.rope, s.rope}, out);
    for (int h = 0; h < NH; ++h) {
      for (int k = 0; k < kKeyTile; ++k) scores[h * stride + j - j0 + k] = out[h][k] * s.scale;
    }
  }
  for (; j < j1; ++j) {
    float out[NH][1];
    DotTile<I, NH, 1>({q_lat, s.lora, c_kv + j * s.lora, s.lora, s.lora},
                      {q_pe, q_pe_stride, k_pe + j * s.rope, s.rope, s.rope}, out);
    for (int h = 0; h < NH; ++h) scores[h * stride + j - j0] = out[h][0] * s.scale;
  }
}

// out[h][i] += sum_j p[h * stride + j - j0] c_kv[j][i] over keys [j0, j1) for NH heads, a slice of
// I::kOutTile vectors at a time (the partial sums pass through `out` between key blocks, so each
// element still accumulates its products in key order).
template <typename I, int NH>
__attribute__((always_inline)) inline void WeightedSumForHeads(const LatentAttentionShape& s,
                                                               int64_t j0, int64_t j1,
                                                               int64_t stride, const float* p,
                                                               const float* c_kv, float* out) {
  using V = typename I::V;
  constexpr int64_t kSlice = I::kWidth * I::kOutTile;
  int64_t i = 0;
  for (; i + kSlice <= s.lora; i += kSlice) {
    V acc[NH][I::kOutTile];
    for (int h = 0; h < NH; ++h) {
      for (int v = 0; v < I::kOutTile; ++v)
        acc[h][v] = I::Load(out + h * s.lora + i + v * I::kWidth);
    }
    for (int64_t j = j0; j < j1; ++j) {
      V cv[I::kOutTile];
      for (int v = 0; v < I::kOutTile; ++v) cv[v] = I::Load(c_kv + j * s.lora + i + v * I::kWidth);
      for (int h = 0; h < NH; ++h) {
        const V pv = I::Set1(p[h * stride + j - j0]);
        for (int v = 0; v < I::kOutTile; ++v) acc[h][v] = I::Fma(pv, cv[v], acc[h][v]);
      }
    }
    for (int h = 0; h < NH; ++h) {
      for (int v = 0; v < I::kOutTile; ++v)
        I::Store(out + h * s.lora + i + v * I::kWidth, acc[h][v]);
    }
  }
  for (; i < s.lora; ++i) {  // latent widths that are not a multiple of the slice
    for (int h = 0; h < NH; ++h) {
      float sum = out[h * s.lora + i];
      for (int64_t j = j0; j < j1; ++j) sum += p[h * stride + j - j0] * c_kv[j * s.lora + i];
      out[h * s.lora + i] = sum;
    }
  }
}

// Keys per block: 64 latent rows (128 KiB at width 512) stay in L2 while every head group of
// the call uses them, so the cache streams from memory once per call.
constexpr int64_t kKeyBlock = 64;

// One pass over the cache with a running softmax per head (the flash-attention recurrence): per
// key block, the block's scores, the new running maximum m, the old partial sums rescaled by
// exp(m_old - m), then the block's weights exp(score - m) added into the sums; out is divided by
// the total weight at the end. The next block is prefetched while this one is used.
template <typename I>
__attribute__((always_inline)) inline void Run(const LatentAttentionShape& s, const float* q_lat,
                                               const float* q_pe, int64_t q_pe_stride,
                                               const float* c_kv, const float* k_pe, float* out,
                                               float* scores) {
  constexpr int kMaxHeadsOnStack = 256;
  float running_max[kMaxHeadsOnStack], total[kMaxHeadsOnStack];
  std::vector<float> heap_max, heap_total;
  float* m = running_max;
  float* l = total;
  if (s.heads > kMaxHeadsOnStack) {
    heap_max.resize(s.heads);
    heap_total.resize(s.heads);
    m = heap_max.data();
    l = heap_total.data();
  }
  std::fill(m, m + s.heads, -INFINITY);
  std::fill(l, l + s.heads, 0.0f);
  std::fill(out, out + s.heads * s.lora, 0.0f);
  const int64_t stride = std::min(s.n_keys, kKeyBlock);
  for (int64_t j0 = 0; j0 < s.n_keys; j0 += kKeyBlock) {
    const int64_t j1 = std::min(s.n_keys, j0 + kKeyBlock);
    for (int64_t j = j1; j < std::min(s.n_keys, j1 + kKeyBlock); ++j) {
      for (int64_t b = 0; b < s.lora * 4; b += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(c_kv + j * s.lora) + b, _MM_HINT_T1);
      }
    }
    // Block scores: scores[h * stride + j - j0].
    int64_t h = 0;
    for (; h + kHeadTile <= s.heads; h += kHeadTile) {
      ScoresForHeads<I, kHeadTile>(s, j0, j1, stride, q_lat + h * s.lora, q_pe + h * q_pe_stride,
                                   q_pe_stride, c_kv, k_pe, scores + h * stride);
    }
    for (; h < s.heads; ++h) {
      ScoresForHeads<I, 1>(s, j0, j1, stride, q_lat + h * s.lora, q_pe + h * q_pe_stride,
                           q_pe_stride, c_kv, k_pe, scores + h * stride);
    }
    for (h = 0; h < s.heads; ++h) {
      float* p = scores + h * stride;
      const float block_max = *std::max_element(p, p + (j1 - j0));
      const float new_max = std::max(m[h], block_max);
      const float rescale = std::exp(m[h] - new_max);  // 0 for the first block
      m[h] = new_max;
      float sum = 0;
      for (int64_t j = 0; j < j1 - j0; ++j) sum += (p[j] = std::exp(p[j] - new_max));
      l[h] = l[h] * rescale + sum;
      if (rescale != 1.0f) {
        float* o = out + h * s.lora;
        for (int64_t i = 0; i < s.lora; ++i) o[i] *= rescale;
      }
    }
    for (h = 0; h + kHeadTile <= s.heads; h += kHeadTile) {
      WeightedSumForHeads<I, kHeadTile>(s, j0, j1, stride, scores + h * stride, c_kv,
                                        out + h * s.lora);
    }
    for (; h < s.heads; ++h) {
      WeightedSumForHeads<I, 1>(s, j0, j1, stride, scores + h * stride, c_kv, out + h * s.lora);
    }
  }
  for (int64_t h = 0; h < s.heads; ++h) {
    const float inv = 1.0f / l[h];
    for (int64_t i = 0; i < s.lora; ++i) out[h * s.lora + i] *= inv;
  }
}

FATHOM_AVX512 void RunAvx512(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                             int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                             float* scores) {
  Run<Avx512>(s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out, scores);
}

}  // namespace

void LatentAttentionAvx2(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                         int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                         float* scores) {
  Run<Avx2>(s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out, scores);
}

void LatentAttention(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                     int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                     float* scores) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) {
    RunAvx512(s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out, scores);
  } else {
    LatentAttentionAvx2(s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out, scores);
  }
}

void LatentAttentionRef(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                        int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out) {
  std::vector<double> p(s.n_keys);
  for (int64_t h = 0; h < s.heads; ++h) {
    double best = -INFINITY;
    for (int64_t j = 0; j < s.n_keys; ++j) {
      double dot = 0;
      for (int64_t i = 0; i < s.lora; ++i)
        dot += double{q_lat[h * s.lora + i]} * c_kv[j * s.lora + i];
      for (int64_t i = 0; i < s.rope; ++i)
        dot += double{q_pe[h * q_pe_stride + i]} * k_pe[j * s.rope + i];
      p[j] = dot * s.scale;
      best = std::max(best, p[j]);
    }
    double total = 0;
    for (double& v : p) total += (v = std::exp(v - best));
    for (int64_t i = 0; i < s.lora; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < s.n_keys; ++j) sum += p[j] / total * c_kv[j * s.lora + i];
      out[h * s.lora + i] = static_cast<float>(sum);
    }
  }
}

}  // namespace fathom
