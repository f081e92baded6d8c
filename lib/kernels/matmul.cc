// MatMul: F32 rows are used in place; other types are dequantized one row at a time into a
// per-thread buffer and reused for every token of the batch.
#include "kernels/matmul.h"

#include <immintrin.h>

#include <algorithm>
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

WeightMatrix WeightMatrix::Rows(int64_t first, int64_t count) const {
  WeightMatrix sub = *this;
  sub.rows = count;
  sub.data = row(first);
  sub.scale_row0 = scale_row0 + first;
  return sub;
}

void DequantizeRow(const WeightMatrix& w, int64_t r, float* out) {
  // The weight store checked the type and shape at load time, so this cannot fail.
  (void)Dequantize(w.type, w.row(r), out, w.cols);
  if (w.block_scale != nullptr) {
    const float* scales = w.block_scale + ((w.scale_row0 + r) / kScaleBlock) * w.scale_cols;
    for (int64_t c = 0; c < w.cols; ++c) out[c] *= scales[c / kScaleBlock];
  }
}

namespace {

// Row r as floats: in place for plain F32, else dequantized into row_buf.
const float* RowAsFloat(const WeightMatrix& w, int64_t r, float* row_buf) {
  if (w.type == DType::kF32 && w.block_scale == nullptr) {
    return reinterpret_cast<const float*>(w.row(r));
  }
  DequantizeRow(w, r, row_buf);
  return row_buf;
}

void MatMulRowRange(const WeightMatrix& w, int64_t begin, int64_t end, const float* x,
                    int64_t n_tokens, float* y, int64_t y_stride, float* row_buf) {
  for (int64_t r = begin; r < end; ++r) {
    const float* row = RowAsFloat(w, r, row_buf);
    for (int64_t t = 0; t < n_tokens; ++t) {
      y[t * y_stride + r] = DotF32(row, x + t * w.cols, w.cols);
    }
  }
}

}  // namespace

void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t grain = 16;
  pool.ParallelFor(w.rows, grain, [&](int64_t begin, int64_t end, int) {
    thread_local std::vector<float> row_buf;
    if (static_cast<int64_t>(row_buf.size()) < w.cols) row_buf.resize(w.cols);
    MatMulRowRange(w, begin, end, x, n_tokens, y, w.rows, row_buf.data());
  });
}

void MatMulSerial(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                  int64_t y_stride, float* row_buf) {
  MatMulRowRange(w, 0, w.rows, x, n_tokens, y, y_stride, row_buf);
}

void MatMulTransposedSerial(const WeightMatrix& w, const float* x, int64_t x_stride,
                            int64_t n_tokens, float* y, float* row_buf) {
  std::fill(y, y + n_tokens * w.cols, 0.0f);
  for (int64_t r = 0; r < w.rows; ++r) {
    const float* row = RowAsFloat(w, r, row_buf);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float a = x[t * x_stride + r];
      float* yt = y + t * w.cols;
      for (int64_t c = 0; c < w.cols; ++c) yt[c] += a * row[c];
    }
  }
}

void MatMulRef(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
  std::vector<float> scaled(w.cols);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      const float* xt = x + t * w.cols;
      if (w.block_scale != nullptr) {
        // Fold the block scales into the activations so DotRef stays the plain type's reference.
        const float* scales = w.block_scale + ((w.scale_row0 + r) / kScaleBlock) * w.scale_cols;
        for (int64_t c = 0; c < w.cols; ++c) scaled[c] = xt[c] * scales[c / kScaleBlock];
        xt = scaled.data();
      }
      y[t * w.rows + r] = DotRef(w.type, w.row(r), xt, w.cols);
    }
  }
}

}  // namespace fathom
