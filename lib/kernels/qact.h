// Fast activation quantizers for the integer matmul path: the same bytes as QuantizeActivations
// (ggml's quantize_row_q8_0_ref / quantize_row_q8_K_ref, lib/tensor) for finite inputs, computed
// with AVX-512 where the CPU has it (the reference quantizers call roundf per element and check
// the whole row first, which costs as much as the Q8_0 products of a prefill batch).
#ifndef FATHOM_LIB_KERNELS_QACT_H_
#define FATHOM_LIB_KERNELS_QACT_H_

#include <cstdint>

#include "tensor/dtype.h"

namespace fathom {

// Quantizes `n` finite activations (a multiple of the block size of `act_type`, kQ8_0 or kQ8_K)
// into `out`, byte for byte as QuantizeActivations(act_type, x, n, out).
void QuantizeActivationsFast(DType act_type, const float* x, int64_t n, void* out);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_QACT_H_
