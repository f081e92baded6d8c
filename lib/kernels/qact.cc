// AVX-512 versions of ggml's Q8_0 and Q8_K activation quantizers (see qact.h), element for
// element the reference's arithmetic: the same products x * id / iscale * x, the reference's
// rounding (half away from zero for Q8_0, ties to even for Q8_K), the scalar scale steps shared.
// Compiled without FP contraction (CMakeLists.txt).
#include "kernels/qact.h"

#include <cmath>
#include <cstring>

#include "kernels/avx512_intrinsics.h"
#include "kernels/qdot.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

namespace ti = tensor_internal;
using ti::BlockQ8_0;
using ti::BlockQ8_K;
using ti::kQK;
using ti::kQK_K;

#define FATHOM_QACT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return has;
}

// std::round (half away from zero) of |v| < 2^23, exactly: truncate, then step away from zero
// when the (exact) remainder is at least one half.
FATHOM_QACT_AVX512 inline __m512i RoundHalfAway(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 frac = _mm512_sub_ps(v, t);
  const __m512 abs_frac = _mm512_abs_ps(frac);
  const __mmask16 up = _mm512_cmp_ps_mask(abs_frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 step = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ),
                                           _mm512_set1_ps(1.0f), _mm512_set1_ps(-1.0f));
  return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, step));
}

FATHOM_QACT_AVX512 void QuantizeQ8_0Avx512(const float* x, int64_t nb, void* out) {
  auto* y = static_cast<uint8_t*>(out);
  for (int64_t i = 0; i < nb; ++i, x += kQK, y += sizeof(BlockQ8_0)) {
    const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = F32ToF16(d);
    std::memcpy(y, &dh, 2);
    const __m512 vid = _mm512_set1_ps(id);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 2),
                     _mm512_cvtepi32_epi8(RoundHalfAway(_mm512_mul_ps(a, vid))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 18),
                     _mm512_cvtepi32_epi8(RoundHalfAway(_mm512_mul_ps(b, vid))));
  }
}

FATHOM_QACT_AVX512 void QuantizeQ8_KAvx512(const float* x, int64_t nb, void* out) {
  auto* y = static_cast<uint8_t*>(out);
  for (int64_t i = 0; i < nb; ++i, x += kQK_K, y += sizeof(BlockQ8_K)) {
    __m512 vmax = _mm512_setzero_ps();
    for (int j = 0; j < kQK_K; j += 16)
      vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
    const float amax = _mm512_reduce_max_ps(vmax);
    BlockQ8_K b;
    std::memset(&b, 0, sizeof(b));
    if (amax != 0.0f) {
      // The reference keeps the first element of largest magnitude (its sign matters).
      float max = 0;
      const __m512 vamax = _mm512_set1_ps(amax);
      for (int j = 0; j < kQK_K; j += 16) {
        const __mmask16 m =
            _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + j)), vamax, _CMP_EQ_OQ);
        if (m != 0) {
          max = x[j + __builtin_ctz(m)];
          break;
        }
      }
      const float iscale = -127.f / max;
      const __m512 vs = _mm512_set1_ps(iscale);
      for (int j = 0; j < kQK_K; j += 16) {
        // cvtps rounds to nearest even, as NearestInt's magic number does for |v| <= 2^22.
        const __m512i q = _mm512_min_epi32(
            _mm512_cvtps_epi32(_mm512_mul_ps(vs, _mm512_loadu_ps(x + j))), _mm512_set1_epi32(127));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(b.qs + j), _mm512_cvtepi32_epi8(q));
        b.bsums[j / 16] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
      }
      b.d = 1 / iscale;
    }
    std::memcpy(y, &b, sizeof(b));
  }
}

}  // namespace

void QuantizeActivationsFast(DType act_type, const float* x, int64_t n, void* out) {
  if (CpuHasAvx512()) {
    if (act_type == DType::kQ8_0 && n % kQK == 0) return QuantizeQ8_0Avx512(x, n / kQK, out);
    if (act_type == DType::kQ8_K && n % kQK_K == 0) return QuantizeQ8_KAvx512(x, n / kQK_K, out);
  }
  QuantizeActivations(act_type, x, n, out);
}

}  // namespace fathom
