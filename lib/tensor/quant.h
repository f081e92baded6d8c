// Dequantization, quantization and scalar reference dot products for every block type.
// These are the reference implementations that the fast kernels in lib/kernels/ are tested against.
#ifndef FATHOM_LIB_TENSOR_QUANT_H_
#define FATHOM_LIB_TENSOR_QUANT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "tensor/dtype.h"

namespace fathom {

// Converts `n` elements (a multiple of the type's block size) at `src` to float32.
// Supported for every type with `can_compute` (and Q8_K/Q8_1 activation types).
// Returns InvalidArgument for unsupported types or a bad `n`.
absl::Status Dequantize(DType type, const void* src, float* dst, int64_t n);

// Quantizes `n` float32 values into `dst` (RowBytes(type, n) bytes), as ggml's reference
// quantizer (quantize_row_*_ref) does, bit for bit where ggml's is deterministic.
// Supported for F32, F16, BF16, F8_E4M3, Q8_0, Q8_1, Q4_0, Q4_1, Q5_0, Q5_1, Q8_K, Q2_K..Q6_K,
// IQ4_NL and IQ4_XS; InvalidArgument for other types, a bad `n`, or (block types) non-finite input.
absl::Status Quantize(DType type, const float* src, void* dst, int64_t n);

// Reference dot product of one weight row of type `type` (n elements) with a float32 vector,
// accumulated exactly as dequantize-then-sum in float (block by block, double accumulator
// is not used: float accumulation per block, then summed in float).
// Returns NaN when `type` cannot be dequantized or `n` is not a whole number of blocks.
float DotRef(DType type, const void* row, const float* x, int64_t n);

// Half-precision helpers.
float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);
float BF16ToF32(uint16_t h);
uint16_t F32ToBF16(float f);   // round to nearest even, as ggml does
float F8E4M3ToF32(uint8_t v);  // e4m3fn: bias 7, no infinities, 0x7F/0xFF are NaN, max 448
// Round to nearest even; NaN, infinities and magnitudes >= 480 become NaN (0x7F | sign), as
// PyTorch's float8_e4m3fn conversion does; [448, 464] rounds to 448.
uint8_t F32ToF8E4M3(float f);

}  // namespace fathom

#endif  // FATHOM_LIB_TENSOR_QUANT_H_
