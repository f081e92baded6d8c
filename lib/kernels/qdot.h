// Integer dot products of quantized weight rows with quantized activations, as ggml computes
// them: the activation vector is rounded once per matmul to Q8_0 blocks (for Q8_0 / Q4_0 / Q4_1 /
// Q5_0 / Q5_1 / IQ4_NL weights) or Q8_K blocks (for K-quants and IQ4_XS), and each weight row is
// consumed in its packed form (no float copy). Every kernel has a scalar reference (QDotRef) and
// AVX2 / AVX-512 VNNI versions chosen at run time; all of them return bit-identical results:
// - integer parts are exact (int32 sums of int8 products, times the integer sub-block scales);
// - Q8_0 / Q4_0 / Q5_0 / IQ4_NL: block b's sum isum_b (exact) is accumulated as acc[b % 4] =
//   fmaf(float(isum_b), fp16(w.d) * fp16(x.d), acc[b % 4]); result (acc0 + acc1) + (acc2 + acc3);
// - Q4_1 / Q5_1: as Q8_0, each block then adds fmaf(float(xsum_b), fp16(w.m) * fp16(x.d), ...),
//   xsum_b the sum of its activation codes;
// - Q2_K / Q4_K / Q5_K: per super-block, d = x.d * fp16(w.d), m = x.d * fp16(w.dmin),
//   sum = (sum + d * float(isum)) - m * float(msum), super-blocks in order;
// - Q3_K / Q6_K / IQ4_XS: per super-block, sum = sum + (x.d * fp16(w.d)) * float(isum).
#ifndef FATHOM_LIB_KERNELS_QDOT_H_
#define FATHOM_LIB_KERNELS_QDOT_H_

#include <cstdint>

#include "tensor/dtype.h"

namespace fathom {

enum class QDotIsa { kScalar, kAvx2, kAvx512Vnni };

// The activation block type for weights of `type` (kQ8_0 or kQ8_K), or kF32 when there is no
// integer kernel for `type`.
DType QDotActivationType(DType weight_type);

// Quantizes `n` activations (a multiple of the activation block size) with ggml's reference
// quantizer (quantize_row_q8_0_ref / quantize_row_q8_K_ref).
void QuantizeActivations(DType act_type, const float* x, int64_t n, void* out);

// Dot product of one weight row (`n` elements of `weight_type`) with quantized activations.
using QDotFn = float (*)(const void* w, const void* xq, int64_t n);

// The kernel for `isa` (nullptr if the type has none or the CPU lacks the ISA).
QDotFn GetQDot(DType weight_type, QDotIsa isa);
// The best kernel this CPU runs (nullptr if the type has no integer kernel).
QDotFn GetBestQDot(DType weight_type);
QDotIsa BestQDotIsa();
const char* QDotIsaName(QDotIsa isa);

// Scalar reference.
float QDotRef(DType weight_type, const void* w, const void* xq, int64_t n);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_QDOT_H_
