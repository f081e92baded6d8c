// MatMul: F32 rows are used in place; other types are dequantized one row at a time into a
// per-thread buffer and reused for every token of the batch. Quantized types with integer kernels
// take the int8 path; FP8 rows for one token are multiplied by the fused kernel of kernels/fp8.
#include "kernels/matmul.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/dequant_simd.h"
#include "kernels/fp8.h"
#include "kernels/interleave.h"
#include "kernels/qact.h"
#include "kernels/qdot.h"
#include "kernels/qgemm.h"
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

bool InterleaveWeightMatrix(WeightMatrix& w, uint8_t* data) {
  if (w.interleaved || w.block_scale != nullptr || data != w.data ||
      !InterleaveSupported(w.type, w.rows, w.cols) || BestQGemmIsa() != QDotIsa::kAvx512Vnni) {
    return false;
  }
  InterleaveRows(w.type, data, w.rows, w.cols);
  w.interleaved = true;
  return true;
}

namespace {

// Row r's block scales (one per 128 columns).
const float* RowScales(const WeightMatrix& w, int64_t r) {
  return w.block_scale + ((w.scale_row0 + r) / kScaleBlock) * w.scale_cols;
}

}  // namespace

void DequantizeRow(const WeightMatrix& w, int64_t r, float* out) {
  const uint8_t* src = w.row(r);
  if (w.interleaved) {
    thread_local std::vector<uint8_t> row;
    row.resize(w.row_bytes);
    ExtractInterleavedRow(w.type, w.data, r, w.cols, row.data());
    src = row.data();
  }
  // The weight store checked the type and shape at load time, so this cannot fail.
  if (!DequantizeSimd(w.type, src, out, w.cols)) (void)Dequantize(w.type, src, out, w.cols);
  if (w.block_scale != nullptr) {
    const float* scales = RowScales(w, r);
    for (int64_t c0 = 0; c0 < w.cols; c0 += kScaleBlock) {
      const float s = scales[c0 / kScaleBlock];
      const int64_t end = std::min(c0 + kScaleBlock, w.cols);
      for (int64_t c = c0; c < end; ++c) out[c] *= s;
    }
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

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// out[r][t] = w[r] . x[t] for 4 rows and 2 tokens: 8 accumulators share every load.
void Dot4x2(const float* const w[4], const float* x0, const float* x1, int64_t n, float out[4][2]) {
  __m256 acc[4][2];
  for (auto& a : acc) a[0] = a[1] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 a0 = _mm256_loadu_ps(x0 + i), a1 = _mm256_loadu_ps(x1 + i);
    for (int r = 0; r < 4; ++r) {
      const __m256 b = _mm256_loadu_ps(w[r] + i);
      acc[r][0] = _mm256_fmadd_ps(b, a0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(b, a1, acc[r][1]);
    }
  }
  for (int r = 0; r < 4; ++r) {
    out[r][0] = HorizontalSum(acc[r][0]);
    out[r][1] = HorizontalSum(acc[r][1]);
    for (int64_t k = i; k < n; ++k) {
      out[r][0] += w[r][k] * x0[k];
      out[r][1] += w[r][k] * x1[k];
    }
  }
}

// Rows [begin, end) for all tokens. Batches take rows four at a time so each dequantized row and
// each activation load feeds several products; `row_buf` holds 4 * w.cols floats.
void MatMulRowRange(const WeightMatrix& w, int64_t begin, int64_t end, const float* x,
                    int64_t n_tokens, float* y, int64_t y_stride, float* row_buf) {
  int64_t r = begin;
  if (n_tokens >= 2) {
    for (; r + 4 <= end; r += 4) {
      const float* rows[4];
      for (int k = 0; k < 4; ++k) rows[k] = RowAsFloat(w, r + k, row_buf + k * w.cols);
      int64_t t = 0;
      for (; t + 2 <= n_tokens; t += 2) {
        float out[4][2];
        Dot4x2(rows, x + t * w.cols, x + (t + 1) * w.cols, w.cols, out);
        for (int k = 0; k < 4; ++k) {
          y[t * y_stride + r + k] = out[k][0];
          y[(t + 1) * y_stride + r + k] = out[k][1];
        }
      }
      for (; t < n_tokens; ++t) {
        for (int k = 0; k < 4; ++k)
          y[t * y_stride + r + k] = DotF32(rows[k], x + t * w.cols, w.cols);
      }
    }
  }
  if (n_tokens == 1 && w.type == DType::kF8_E4M3 && !w.interleaved) {
    // FP8 decode: the codes are converted in registers, block scales applied per 128 columns.
    for (; r < end; ++r) {
      y[r] = DotF8E4M3Scaled(w.row(r), x, w.block_scale != nullptr ? RowScales(w, r) : nullptr,
                             w.cols);
    }
    return;
  }
  for (; r < end; ++r) {
    const float* row = RowAsFloat(w, r, row_buf);
    for (int64_t t = 0; t < n_tokens; ++t) {
      y[t * y_stride + r] = DotF32(row, x + t * w.cols, w.cols);
    }
  }
}

}  // namespace

namespace {

MatMulMode InitialMode() {
  const char* env = std::getenv("FATHOM_MATMUL");
  return env != nullptr && std::strcmp(env, "exact") == 0 ? MatMulMode::kExact : MatMulMode::kInt8;
}

std::atomic<MatMulMode>& ModeFlag() {
  static std::atomic<MatMulMode> mode{InitialMode()};
  return mode;
}

// Int8 path: activations quantized once (every token; lib/kernels/qact, the reference
// quantizers' bytes). Below kQGemmMinTokens tokens, each weight row is streamed once and dotted
// with every token's quantized activations while it is in L1 (single-row kernels,
// lib/kernels/qdot); larger batches (prefill, speculative verify batches) take the batched kernels
// (lib/kernels/qgemm), which decode each weight super-block once for many tokens (at 2 tokens the
// two measured equal, both bound by streaming the weights; at 4 the batched kernels are 1.3-1.9x
// faster: bench/matmul_bench BM_QGemm). Both give every token exactly QDotRef's result, so a
// token's output does not depend on the batch around it: a speculative-decoding verify batch gives
// exactly the logits of one-token decode steps.
constexpr int64_t kQGemmMinTokens = 3;

bool MatMulInt8(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                ThreadPool& pool) {
  if (w.block_scale != nullptr) return false;
  const QDotFn dot = GetBestQDot(w.type);
  const DType act = QDotActivationType(w.type);
  if (dot == nullptr || w.cols % Traits(act).block_size != 0) return false;
  const uint64_t act_row = static_cast<uint64_t>(w.cols / Traits(act).block_size) *
                           static_cast<uint64_t>(Traits(act).type_size);
  thread_local std::vector<uint8_t> xq;
  if (xq.size() < act_row * n_tokens) xq.resize(act_row * n_tokens);
  uint8_t* xq_data = xq.data();
  if (n_tokens >= 4) {
    pool.ParallelFor(n_tokens, 1, [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t) {
        QuantizeActivationsFast(act, x + t * w.cols, w.cols, xq_data + t * act_row);
      }
    });
  } else {
    for (int64_t t = 0; t < n_tokens; ++t) {
      QuantizeActivationsFast(act, x + t * w.cols, w.cols, xq_data + t * act_row);
    }
  }
  if (w.interleaved) {
    // 16-row groups: split the groups over the threads, or the tokens when groups are few.
    const int64_t groups = w.rows / kInterleaveRows;
    if (groups >= 4 * pool.n_threads() || n_tokens < 2 * pool.n_threads()) {
      pool.ParallelFor(groups, 1, [&](int64_t begin, int64_t end, int) {
        (void)QGemmInterleaved(w.type, w.data + begin * kInterleaveRows * w.row_bytes,
                               (end - begin) * kInterleaveRows, w.cols, xq_data, act_row, n_tokens,
                               y + begin * kInterleaveRows, w.rows);
      });
    } else {
      pool.ParallelFor(n_tokens, 1, [&](int64_t begin, int64_t end, int) {
        (void)QGemmInterleaved(w.type, w.data, w.rows, w.cols, xq_data + begin * act_row, act_row,
                               end - begin, y + begin * w.rows, w.rows);
      });
    }
    return true;
  }
  if (n_tokens >= kQGemmMinTokens && QGemmSupported(w.type, w.cols)) {
    const QDotIsa isa = BestQGemmIsa();
    constexpr int64_t kPanel = 16;  // QGemm's rows per panel: split rows on panel boundaries
    const int64_t panels = (w.rows + kPanel - 1) / kPanel;
    if (panels >= 4 * pool.n_threads() || n_tokens < 2 * pool.n_threads()) {
      pool.ParallelFor(panels, 1, [&](int64_t begin, int64_t end, int) {
        const int64_t r0 = begin * kPanel, r1 = std::min(end * kPanel, w.rows);
        (void)QGemm(isa, w.type, w.row(r0), w.row_bytes, r1 - r0, w.cols, xq_data, act_row,
                    n_tokens, y + r0, w.rows);
      });
    } else {
      // Few rows, many tokens: split the tokens.
      pool.ParallelFor(n_tokens, 1, [&](int64_t begin, int64_t end, int) {
        (void)QGemm(isa, w.type, w.data, w.row_bytes, w.rows, w.cols, xq_data + begin * act_row,
                    act_row, end - begin, y + begin * w.rows, w.rows);
      });
    }
    return true;
  }
  const int64_t grain = 16;
  pool.ParallelFor(w.rows, grain, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const uint8_t* row = w.row(r);
      for (int64_t t = 0; t < n_tokens; ++t) {
        y[t * w.rows + r] = dot(row, xq_data + t * act_row, w.cols);
      }
    }
  });
  return true;
}

}  // namespace

void SetMatMulMode(MatMulMode mode) { ModeFlag().store(mode, std::memory_order_relaxed); }
MatMulMode GetMatMulMode() { return ModeFlag().load(std::memory_order_relaxed); }

void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  if (GetMatMulMode() == MatMulMode::kInt8 && MatMulInt8(w, x, n_tokens, y, pool)) return;
  const int64_t grain = 16;
  pool.ParallelFor(w.rows, grain, [&](int64_t begin, int64_t end, int) {
    thread_local std::vector<float> row_buf;
    if (static_cast<int64_t>(row_buf.size()) < 4 * w.cols) row_buf.resize(4 * w.cols);
    MatMulRowRange(w, begin, end, x, n_tokens, y, w.rows, row_buf.data());
  });
}

void MatMulSerial(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                  int64_t y_stride, float* row_buf) {
  // Int8 mode: the single-row integer kernels, as MatMul's (the same bits per row and token).
  const QDotFn dot =
      GetMatMulMode() == MatMulMode::kInt8 && w.block_scale == nullptr && !w.interleaved
          ? GetBestQDot(w.type)
          : nullptr;
  const DType act = QDotActivationType(w.type);
  if (dot != nullptr && w.cols % Traits(act).block_size == 0) {
    const uint64_t act_row = static_cast<uint64_t>(w.cols / Traits(act).block_size) *
                             static_cast<uint64_t>(Traits(act).type_size);
    thread_local std::vector<uint8_t> xq;
    if (xq.size() < act_row) xq.resize(act_row);
    for (int64_t t = 0; t < n_tokens; ++t) {
      QuantizeActivationsFast(act, x + t * w.cols, w.cols, xq.data());
      for (int64_t r = 0; r < w.rows; ++r) y[t * y_stride + r] = dot(w.row(r), xq.data(), w.cols);
    }
    return;
  }
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
  std::vector<uint8_t> row_bytes;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      const float* xt = x + t * w.cols;
      if (w.block_scale != nullptr) {
        // Fold the block scales into the activations so DotRef stays the plain type's reference.
        const float* scales = RowScales(w, r);
        for (int64_t c = 0; c < w.cols; ++c) scaled[c] = xt[c] * scales[c / kScaleBlock];
        xt = scaled.data();
      }
      const uint8_t* row = w.row(r);
      if (w.interleaved) {
        row_bytes.resize(w.row_bytes);
        ExtractInterleavedRow(w.type, w.data, r, w.cols, row_bytes.data());
        row = row_bytes.data();
      }
      y[t * w.rows + r] = DotRef(w.type, row, xt, w.cols);
    }
  }
}

}  // namespace fathom
