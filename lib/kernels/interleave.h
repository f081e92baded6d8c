// The row-interleaved weight layout ("x16"): quantized rows regrouped at load time so that the
// integer kernels read 16 rows at once, one row per 32-bit lane of an AVX-512 register, without
// transposing anything per call (decode reads every weight once per token, so a transpose per
// call cost as much as the products; llama.cpp's CPU backend repacks for the same reason).
//
// Rows are taken in groups of 16; a group occupies exactly the bytes of its 16 rows (16 *
// row_bytes), so a matrix keeps its size and its groups stay where its rows were. Inside a group,
// the 256-element units (one Q4_K / Q5_K / Q6_K super-block, eight Q8_0 / Q4_0 blocks) follow each
// other; a unit of 16 rows lists each field of the row format as [element][row], with elements of 2
// bytes (fp16 scales) or 4 bytes (4 code or scale bytes), in the order the kernels read them (so
// each unit is one forward stream):
//   Q4_K: d[16], dmin[16], scales dwords [3][16], qs dwords [32][16]            (2304 bytes)
//   Q5_K: d[16], dmin[16], scales dwords [3][16], qh dwords [8][16], qs dwords [32][16]
//                                                                               (2816 bytes)
//   Q6_K: scales dwords [4][16], then for h < 2, k < 8: ql dword 16h + k, ql dword 16h + 8 + k,
//         qh dword 8h + k (each [16]), then d[16]                               (3360 bytes)
//   Q8_0: d [8 blocks][16], qs dwords [8 blocks x 8][16]                        (4352 bytes)
//   Q4_0: d [8 blocks][16], qs dwords [8 blocks x 4][16]                        (2304 bytes)
//   Q5_0: d [8 blocks][16], qh [8 blocks][16], qs dwords [8 blocks x 4][16]     (2816 bytes),
//         each qh with its bits transposed: element e's bit at 8 (e % 4) + e / 4
// Q8_0 / Q4_0 / Q5_0 rows whose length is not a multiple of 256 end in a unit of fewer blocks, laid
// out the same way for that many blocks (d [n][16], qs dwords [n x 8 or 4][16]). Every byte of the
// row format appears once, so the layout is lossless and a row can be read back
// (ExtractInterleavedRow).
#ifndef FATHOM_LIB_KERNELS_INTERLEAVE_H_
#define FATHOM_LIB_KERNELS_INTERLEAVE_H_

#include <cstdint>

#include "tensor/dtype.h"

namespace fathom {

inline constexpr int64_t kInterleaveRows = 16;

// Whether a rows x cols matrix of `type` can take the interleaved layout: Q4_K, Q5_K, Q6_K, Q8_0,
// Q4_0 or Q5_0, rows a multiple of 16, cols a multiple of 256 (K-quants) or 32 (the others).
bool InterleaveSupported(DType type, int64_t rows, int64_t cols);

// Bytes of one full 16-row unit (the table above); 0 for other types.
uint64_t InterleavedUnitBytes(DType type);

// Rewrites `rows` rows of `cols` elements at `data` (row format) into the interleaved layout, in
// place. Requires InterleaveSupported.
void InterleaveRows(DType type, uint8_t* data, int64_t rows, int64_t cols);

// Writes row `r` of an interleaved matrix in the row format to `out` (row_bytes bytes).
void ExtractInterleavedRow(DType type, const uint8_t* data, int64_t r, int64_t cols, uint8_t* out);

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_INTERLEAVE_H_
