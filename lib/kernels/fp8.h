// DeepSeek's FP8 weights (float8_e4m3fn, with float32 scales per 128x128 block): vectorised
// conversion to float32 and the row product that decode uses. An e4m3 code converts to fp16
// exactly by moving bits (its magnitude bits shifted into fp16's exponent and mantissa give the
// value / 256, subnormals included), and F16C converts fp16 to float32; so the conversion is
// bit-identical to the scalar table (lib/tensor/quant.h F8E4M3ToF32), NaN codes included.
#ifndef FATHOM_LIB_KERNELS_FP8_H_
#define FATHOM_LIB_KERNELS_FP8_H_

#include <cstdint>

namespace fathom {

inline constexpr int64_t kFp8ScaleBlock = 128;  // columns per block scale

// y[i] = F8E4M3ToF32(x[i]) for i < n (AVX2 + F16C).
void DequantizeF8E4M3Simd(const uint8_t* x, float* y, int64_t n);

// Sum over 128-column blocks b of scales[b] * (sum over block b of value(w[i]) * x[i]), for `n`
// columns (the last block may be partial); `scales` may be null (every scale 1). The fastest
// version this CPU runs (AVX-512 or AVX2); the float sums run in a different order from the
// reference, so results agree to rounding.
float DotF8E4M3Scaled(const uint8_t* w, const float* x, const float* scales, int64_t n);

// Scalar reference: each block summed in order in float, then scaled and added in order.
float DotF8E4M3ScaledRef(const uint8_t* w, const float* x, const float* scales, int64_t n);

// The AVX2 version (for tests on CPUs that would pick AVX-512).
float DotF8E4M3ScaledAvx2(const uint8_t* w, const float* x, const float* scales, int64_t n);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_FP8_H_
