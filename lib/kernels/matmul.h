// Products of activations with weight matrices of any computable type: Y = X * W^T.
#ifndef FATHOM_LIB_KERNELS_MATMUL_H_
#define FATHOM_LIB_KERNELS_MATMUL_H_

#include <cstdint>

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

  const uint8_t* row(int64_t r) const { return data + static_cast<uint64_t>(r) * row_bytes; }
};

// y[t * w.rows + r] = dot(W row r, x[t * w.cols ...]) for t < n_tokens.
// Each weight row is read once for all tokens; rows are split over the pool's threads.
void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

// Scalar reference (DotRef per row and token), for tests.
void MatMulRef(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y);

// Dot product of two float32 vectors (vectorised).
float DotF32(const float* a, const float* b, int64_t n);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_MATMUL_H_
