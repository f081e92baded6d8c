// MatMul: F32 rows are used in place; other types are dequantized one row at a time into a
// per-thread buffer and reused for every token of the batch.
#include "kernels/matmul.h"

#include <immintrin.h>

#include <vector>

#include "tensor/quant.h"

namespace fathom {

float DotF32(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float sum = _mm_cvtss_f32(s);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t grain = 16;
  pool.ParallelFor(w.rows, grain, [&](int64_t begin, int64_t end, int) {
    thread_local std::vector<float> row_buf;
    if (w.type != DType::kF32 && static_cast<int64_t>(row_buf.size()) < w.cols) {
      row_buf.resize(w.cols);
    }
    for (int64_t r = begin; r < end; ++r) {
      const float* row;
      if (w.type == DType::kF32) {
        row = reinterpret_cast<const float*>(w.row(r));
      } else {
        // The weight store checked the type and shape at load time, so this cannot fail.
        (void)Dequantize(w.type, w.row(r), row_buf.data(), w.cols);
        row = row_buf.data();
      }
      for (int64_t t = 0; t < n_tokens; ++t) {
        y[t * w.rows + r] = DotF32(row, x + t * w.cols, w.cols);
      }
    }
  });
}

void MatMulRef(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      y[t * w.rows + r] = DotRef(w.type, w.row(r), x + t * w.cols, w.cols);
    }
  }
}

}  // namespace fathom
