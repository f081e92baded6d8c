// Vectorised row dequantization for the common weight types. Results are bit-identical to the
// scalar reference (lib/tensor/quant.h Dequantize): the same float operations in the same order,
// no fused multiply-adds.
#ifndef FATHOM_LIB_KERNELS_DEQUANT_SIMD_H_
#define FATHOM_LIB_KERNELS_DEQUANT_SIMD_H_

#include <cstdint>

#include "tensor/dtype.h"

namespace fathom {

// Dequantizes `n` elements (a multiple of the block size) if `type` has a vector path; returns
// false (writing nothing) otherwise.
bool DequantizeSimd(DType type, const void* src, float* dst, int64_t n);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_DEQUANT_SIMD_H_
