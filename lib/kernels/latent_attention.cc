// Absorbed MLA attention over the latent cache (see the header): one pass in 64-key blocks with
// a running softmax per head; per block, scores for 4 heads x 4 keys per register tile (each
// cache row loaded once for the four heads), then the weighted sum of the block's rows for 4
// heads x a slice of the latent width per tile. AVX-512 where the CPU has it, else AVX2 (the
// same code on 256-bit vectors).
#include "kernels/latent_attention.h"

// GCC warns that a 512-bit vector crosses an inline function (-Wpsabi; nothing is passed by
// value at run time).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/avx512_intrinsics.h"

namespace fathom {
namespace {

#define FATHOM_AVX512 __attribute__((target("avx512f")))

constexpr int kHeadTile = 4;
constexpr int kKeyTile = 4;

// exp(x) for x <= 0 as Cephes' expf computes it: x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two
// parts), e^r by a degree-7 polynomial, times 2^n; relative error ~1e-7. Inputs below -87.3
// (weights under 1e-38 next to the block maximum's 1) are clamped there.
constexpr float kExpLow = -87.3365f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kExpPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                               4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

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
  // The sum of v's lanes, added in SumEach's order (so that a score's bits do not depend on the
  // tile it was computed in): within each 128-bit lane (e0 + e2) + (e1 + e3), then the lanes
  // (L0 + L1) + (L2 + L3).
  FATHOM_AVX512 static float Sum(V v) {
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm512_cvtss_f32(v);
  }
  // out[i] = the sum of v[i]'s lanes, i < 16: a tree of adds over interleaved pairs, quads and
  // 128-bit lanes that transposes as it sums (45 instructions instead of 16 reductions' 128).
  FATHOM_AVX512 __attribute__((always_inline)) static void SumEach(const V v[kWidth], float* out) {
    V quads[4];  // quads[g]'s 128-bit lane L: the lane-L sums of v[4g .. 4g + 3]
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      const V* x = v + 4 * g;
      const V ab = _mm512_add_ps(_mm512_unpacklo_ps(x[0], x[1]), _mm512_unpackhi_ps(x[0], x[1]));
      const V cd = _mm512_add_ps(_mm512_unpacklo_ps(x[2], x[3]), _mm512_unpackhi_ps(x[2], x[3]));
      quads[g] = _mm512_add_ps(
          _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
          _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))));
    }
    // 0x88 takes 128-bit lanes 0 and 2 of each operand, 0xdd lanes 1 and 3.
    const V q01 = _mm512_add_ps(_mm512_shuffle_f32x4(quads[0], quads[1], 0x88),
                                _mm512_shuffle_f32x4(quads[0], quads[1], 0xdd));
    const V q23 = _mm512_add_ps(_mm512_shuffle_f32x4(quads[2], quads[3], 0x88),
                                _mm512_shuffle_f32x4(quads[2], quads[3], 0xdd));
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_shuffle_f32x4(q01, q23, 0x88),
                                        _mm512_shuffle_f32x4(q01, q23, 0xdd)));
  }
  FATHOM_AVX512 static V Exp(V x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(kExpLow));
    const V n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
    V y = _mm512_set1_ps(kExpPoly[0]);
    for (int i = 1; i < 6; ++i) y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kExpPoly[i]));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, n);
  }
  // The largest of p[0..n), n >= 1.
  FATHOM_AVX512 static float Max(const float* p, int64_t n) {
    V best = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n; j += kWidth) {
      const __mmask16 k = n - j >= kWidth ? 0xffff : (1u << (n - j)) - 1;
      best = _mm512_mask_max_ps(best, k, best, _mm512_maskz_loadu_ps(k, p + j));
    }
    return _mm512_reduce_max_ps(best);
  }
  // p[j] *= a for j < n.
  FATHOM_AVX512 static void ScaleInPlace(float* p, int64_t n, float a) {
    const V av = _mm512_set1_ps(a);
    for (int64_t j = 0; j < n; j += kWidth) {
      const __mmask16 k = n - j >= kWidth ? 0xffff : (1u << (n - j)) - 1;
      _mm512_mask_storeu_ps(p + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), av));
    }
  }
  // p[j] = exp(p[j] - shift) for j < n; returns their sum.
  FATHOM_AVX512 static float ExpInPlace(float* p, int64_t n, float shift) {
    V total = _mm512_setzero_ps();
    const V sv = _mm512_set1_ps(shift);
    for (int64_t j = 0; j < n; j += kWidth) {
      const __mmask16 k = n - j >= kWidth ? 0xffff : (1u << (n - j)) - 1;
      const V e = Exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + j), sv));
      _mm512_mask_storeu_ps(p + j, k, e);
      total = _mm512_mask_add_ps(total, k, total, e);
    }
    return _mm512_reduce_add_ps(total);
  }
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
  static V Exp(V x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(kExpLow));
    const V n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
    V y = _mm256_set1_ps(kExpPoly[0]);
    for (int i = 1; i < 6; ++i) y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpPoly[i]));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
  }
  // The last n % 8 elements go through a zero-padded vector, so every element takes Exp.
  static float Max(const float* p, int64_t n) {
    V best = _mm256_set1_ps(-INFINITY);
    int64_t j = 0;
    for (; j + kWidth <= n; j += kWidth) best = _mm256_max_ps(best, _mm256_loadu_ps(p + j));
    alignas(32) float lanes[kWidth];
    _mm256_store_ps(lanes, best);
    float m = lanes[0];
    for (float v : lanes) m = std::max(m, v);
    for (; j < n; ++j) m = std::max(m, p[j]);
    return m;
  }
  static void ScaleInPlace(float* p, int64_t n, float a) {
    const V av = _mm256_set1_ps(a);
    int64_t j = 0;
    for (; j + kWidth <= n; j += kWidth)
      _mm256_storeu_ps(p + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), av));
    for (; j < n; ++j) p[j] *= a;
  }
  static float ExpInPlace(float* p, int64_t n, float shift) {
    V total = _mm256_setzero_ps();
    const V sv = _mm256_set1_ps(shift);
    int64_t j = 0;
    for (; j + kWidth <= n; j += kWidth) {
      const V e = Exp(_mm256_sub_ps(_mm256_loadu_ps(p + j), sv));
      _mm256_storeu_ps(p + j, e);
      total = _mm256_add_ps(total, e);
    }
    float sum = Sum(total);
    if (j < n) {
      alignas(32) float tail[kWidth] = {};
      for (int64_t i = j; i < n; ++i) tail[i - j] = p[i] - shift;
      _mm256_store_ps(tail, Exp(_mm256_load_ps(tail)));
      for (int64_t i = j; i < n; ++i) sum += (p[i] = tail[i - j]);
    }
    return sum;
  }
};

// One segment of a dot product: query rows q + h * qs, cache rows c + k * cs, n floats.
struct Segment {
  const float* q;
  int64_t qs;
  const float* c;
  int64_t cs;
  int64_t n;
  const float* pf;  // pf_rows rows (stride cs) to prefetch while this segment is read
  int pf_rows;
};

// Keys per block: 64 latent rows (128 KiB at width 512) stay in L2 while every head group of
// the call uses them, so the cache streams from memory once per call.
constexpr int64_t kKeyBlock = 64;

// Scores prefetch the cache rows this many keys ahead into L2, one line per row per 16 products,
// spread over the head groups. Spread out like this it makes a 4096-key decode ~20% faster (27
// V2-Lite layers, two threads); a burst per block (the next block's 2048 lines at once) had made
// it ~15% slower, and without any, the first head group of each tile waits on memory.
constexpr int64_t kPrefetchKeys = 16;

// Long contexts are attended in pieces of about this many keys (a multiple of kKeyBlock), at most
// kMaxPieces of them: the pieces of one token can run on different threads (each thread then
// reads only its share of the cache), and the result depends on the key count alone.
constexpr int64_t kPieceKeys = 512;
constexpr int64_t kMaxPieces = 16;

namespace avx512 {
#define FATHOM_LA_TARGET FATHOM_AVX512
#include "kernels/latent_attention_pass.inc"
#undef FATHOM_LA_TARGET
}  // namespace avx512

namespace avx2 {
#define FATHOM_LA_TARGET
#include "kernels/latent_attention_pass.inc"
#undef FATHOM_LA_TARGET
}  // namespace avx2

FATHOM_AVX512 void PartialAvx512(const LatentAttentionShape& s, const float* q_lat,
                                 const float* q_pe, int64_t q_pe_stride, const float* c_kv,
                                 const float* k_pe, float* out, float* max, float* sum,
                                 float* scores) {
  avx512::Run<Avx512>(s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out, max, sum, scores);
}

void PartialAvx2(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                 int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out, float* max,
                 float* sum, float* scores) {
  avx2::Run<Avx2>(s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out, max, sum, scores);
}

using PartialFn = void (*)(const LatentAttentionShape&, const float*, const float*, int64_t,
                           const float*, const float*, float*, float*, float*, float*);

// Every piece's state into scratch (a single piece: straight into out), then merged.
void AttendInPieces(PartialFn partial, const LatentAttentionShape& s, const float* q_lat,
                    const float* q_pe, int64_t q_pe_stride, const float* c_kv, const float* k_pe,
                    float* out, float* scratch) {
  const int64_t pieces = LatentAttentionPieces(s.n_keys);
  float* maxes = scratch;
  float* sums = maxes + pieces * s.heads;
  float* scores = sums + pieces * s.heads;
  float* outs = pieces == 1 ? out : scores + s.heads * kKeyBlock;
  for (int64_t p = 0; p < pieces; ++p) {
    int64_t begin, end;
    LatentAttentionPieceRange(s.n_keys, p, &begin, &end);
    LatentAttentionShape piece = s;
    piece.n_keys = end - begin;
    partial(piece, q_lat, q_pe, q_pe_stride, c_kv + begin * s.lora, k_pe + begin * s.rope,
            outs + p * s.heads * s.lora, maxes + p * s.heads, sums + p * s.heads, scores);
  }
  MergeLatentPartials(s.heads, s.lora, pieces, outs, s.heads * s.lora, maxes, sums, s.heads, out);
}

}  // namespace

int64_t LatentAttentionMaxPieces(int64_t n_ctx) {
  return std::clamp<int64_t>((n_ctx + kPieceKeys - 1) / kPieceKeys, 1, kMaxPieces);
}

// Keys per piece: the key count over the wanted number of pieces, rounded up to whole blocks
// (at least one block, so that no key count divides by zero).
static int64_t PieceKeys(int64_t n_keys) {
  const int64_t wanted = LatentAttentionMaxPieces(n_keys);
  return std::max<int64_t>(
      kKeyBlock, ((n_keys + wanted - 1) / wanted + kKeyBlock - 1) / kKeyBlock * kKeyBlock);
}

int64_t LatentAttentionPieces(int64_t n_keys) {
  const int64_t per = PieceKeys(n_keys);
  return std::max<int64_t>(1, (n_keys + per - 1) / per);
}

void LatentAttentionPieceRange(int64_t n_keys, int64_t piece, int64_t* begin, int64_t* end) {
  const int64_t per = PieceKeys(n_keys);
  *begin = std::min(n_keys, piece * per);
  *end = std::min(n_keys, *begin + per);
}

int64_t LatentAttentionScratchFloats(const LatentAttentionShape& s) {
  const int64_t pieces = LatentAttentionPieces(s.n_keys);
  return pieces * s.heads * 2 + s.heads * kKeyBlock + (pieces > 1 ? pieces * s.heads * s.lora : 0);
}

void LatentAttentionPartial(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                            int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                            float* max, float* sum, float* scores) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  (avx512 ? PartialAvx512 : PartialAvx2)(s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out, max, sum,
                                         scores);
}

void MergeLatentPartials(int64_t heads, int64_t lora, int64_t pieces, const float* outs,
                         int64_t out_stride, const float* maxes, const float* sums,
                         int64_t stat_stride, float* out) {
  for (int64_t h = 0; h < heads; ++h) {
    float top = -INFINITY;
    for (int64_t p = 0; p < pieces; ++p) top = std::max(top, maxes[p * stat_stride + h]);
    float total = 0;
    float* o = out + h * lora;
    for (int64_t p = 0; p < pieces; ++p) {
      const float w = std::exp(maxes[p * stat_stride + h] - top);
      total += w * sums[p * stat_stride + h];
      const float* x = outs + p * out_stride + h * lora;
      if (p == 0) {
        for (int64_t i = 0; i < lora; ++i) o[i] = w * x[i];
      } else {
        for (int64_t i = 0; i < lora; ++i) o[i] += w * x[i];
      }
    }
    const float inv = 1.0f / total;
    for (int64_t i = 0; i < lora; ++i) o[i] *= inv;
  }
}

void LatentAttentionAvx2(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                         int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                         float* scratch) {
  AttendInPieces(PartialAvx2, s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out, scratch);
}

void LatentAttention(const LatentAttentionShape& s, const float* q_lat, const float* q_pe,
                     int64_t q_pe_stride, const float* c_kv, const float* k_pe, float* out,
                     float* scratch) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  AttendInPieces(avx512 ? PartialAvx512 : PartialAvx2, s, q_lat, q_pe, q_pe_stride, c_kv, k_pe, out,
                 scratch);
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
