// Products of activations with weight matrices of any computable type: Y = X * W^T.
#ifndef FATHOM_LIB_KERNELS_MATMUL_H_
#define FATHOM_LIB_KERNELS_MATMUL_H_

#include <cstdint>

#include "kernels/fp8.h"
#include "runtime/thread_pool.h"
#include "tensor/dtype.h"

namespace fathom {

// A weight matrix of `rows` x `cols` (ggml: ne1 x ne0), rows stored contiguously.
struct WeightMatrix {
  DType type = DType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  uint64_t row_bytes = 0;
  const uint8_t* data = nullptr;
  // Optional per-block scales (DeepSeek FP8: 128x128 blocks): element (r, c) is multiplied by
  // block_scale[((scale_row0 + r) / 128) * scale_cols + c / 128].
  const float* block_scale = nullptr;
  int64_t scale_cols = 0;
  int64_t scale_row0 = 0;
  // Rows regrouped 16 at a time for the integer kernels (lib/kernels/interleave.h), in place:
  // the matrix has the same size, but row(r) is not row r's bytes (DequantizeRow handles both).
  bool interleaved = false;

  // Row r's bytes in the row layout (not for interleaved matrices).
  const uint8_t* row(int64_t r) const { return data + static_cast<uint64_t>(r) * row_bytes; }
  // Rows [first, first + count) as a matrix of their own (for interleaved matrices, first and
  // count must be multiples of 16).
  WeightMatrix Rows(int64_t first, int64_t count) const;
};

inline constexpr int64_t kScaleBlock = kFp8ScaleBlock;  // DeepSeek FP8's 128x128 blocks

// How MatMul multiplies quantized weights (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K, IQ4_NL,
// IQ4_XS):
// - kInt8 (default): as llama.cpp does, each token's activations are rounded once per call to
//   Q8_0 / Q8_K blocks and the packed weight rows are dotted with them in integer arithmetic
//   (single tokens: lib/kernels/qdot; batches: lib/kernels/qgemm); every token's result is
//   bit-identical to a one-token product, whatever the batch;
// - kExact: each weight row is dequantized to float32 and dotted with the float activations
//   (no activation rounding; what the float64 reference tests compare against).
// Process-wide; the initial value comes from the environment variable FATHOM_MATMUL ("exact" or
// "int8"). Other weight types always take the float path.
enum class MatMulMode { kInt8, kExact };
void SetMatMulMode(MatMulMode mode);
MatMulMode GetMatMulMode();

// Rewrites `w` (whose bytes must be writable: `data` is the same memory) into the interleaved
// layout when the CPU has the kernels for it and the type and shape allow; returns whether it did.
bool InterleaveWeightMatrix(WeightMatrix& w, uint8_t* data);

// Row r of `w` as float32 (cols values).
void DequantizeRow(const WeightMatrix& w, int64_t r, float* out);

// y[t * w.rows + r] = dot(W row r, x[t * w.cols ...]) for t < n_tokens.
// Each weight row is read once for all tokens; rows are split over the pool's threads.
void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

// Single-threaded forms for callers that parallelise at a coarser level (e.g. per head).
// `row_buf` holds 4 * w.cols floats. MatMulSerial: y[t * y_stride + r] = W[r] . x[t * w.cols ...]
// (in int8 mode with MatMul's integer kernels and bits, where the type has them).
void MatMulSerial(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                  int64_t y_stride, float* row_buf);
// MatMulTransposedSerial: y[t * w.cols + c] = sum_r x[t * x_stride + r] * W[r][c] (y = x W);
// its row_buf needs only w.cols floats.
void MatMulTransposedSerial(const WeightMatrix& w, const float* x, int64_t x_stride,
                            int64_t n_tokens, float* y, float* row_buf);

// Scalar reference (DotRef per row and token), for tests.
void MatMulRef(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y);

// Dot product of two float32 vectors (vectorised).
float DotF32(const float* a, const float* b, int64_t n);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_MATMUL_H_
