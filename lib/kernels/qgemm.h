// Batched integer products of quantized weight matrices with the quantized activations of many
// tokens (prefill): Y[t][r] = QDotRef(type, W row r, activations of token t). Each weight
// super-block is decoded once per 16 rows (codes unpacked to bytes, 6-bit scales to vectors) and
// reused for every token, with 16 rows x up to 8 tokens in AVX-512 VNNI registers (vpdpbusd, one
// row per 32-bit lane, the token's 4 activation bytes broadcast), or 16 rows x 16 tokens per AMX
// tile product where the CPU has AMX-INT8 (FATHOM_AMX=0 turns that off). Every result is
// bit-identical to QDotRef for that row and token (integer parts exact, the float steps of qdot.h
// in the same order), so a token's output does not depend on the batch it is in.
#ifndef FATHOM_LIB_KERNELS_QGEMM_H_
#define FATHOM_LIB_KERNELS_QGEMM_H_

#include <cstdint>

#include "kernels/qdot.h"
#include "tensor/dtype.h"

namespace fathom {

// Whether QGemm handles `weight_type` with rows of `cols` elements (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K,
// Q6_K with cols a multiple of 256).
bool QGemmSupported(DType weight_type, int64_t cols);

// The fastest version this CPU runs: kAvx512Vnni (tiled) where available, else kAvx2.
QDotIsa BestQGemmIsa();

// y[t * y_stride + r] = QDotRef(weight_type, w + r * row_bytes, xq + t * xq_stride, cols) for
// r < rows, t < n_tokens. `xq` holds each token's activations quantized with
// QuantizeActivations(QDotActivationType(weight_type), ...). Single-threaded (callers split rows
// or tokens over threads). Versions: kScalar calls QDotRef per row and token, kAvx2 the AVX2
// single-row kernel per row and token, kAvx512Vnni the tiled kernel. Returns false (and writes
// nothing) if !QGemmSupported or the CPU lacks `isa`.
bool QGemm(QDotIsa isa, DType weight_type, const uint8_t* w, uint64_t row_bytes, int64_t rows,
           int64_t cols, const uint8_t* xq, uint64_t xq_stride, int64_t n_tokens, float* y,
           int64_t y_stride);

// The same products for a matrix in the interleaved layout (lib/kernels/interleave.h): `w` is the
// first byte of a 16-row group, `rows` a multiple of 16. With nothing to transpose this is also
// the fastest form for one token (decode). AVX-512 VNNI only: returns false (and writes nothing)
// if the CPU lacks it or !InterleaveSupported(weight_type, rows, cols).
bool QGemmInterleaved(DType weight_type, const uint8_t* w, int64_t rows, int64_t cols,
                      const uint8_t* xq, uint64_t xq_stride, int64_t n_tokens, float* y,
                      int64_t y_stride);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_QGEMM_H_
