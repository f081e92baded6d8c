// Load-time choice of the weights' memory layout: the matrices that only MatMul reads are
// rewritten in place into the interleaved layout (lib/kernels/interleave.h) when the file's bytes
// are a private huge-page copy (a file mapping is shared and read-only, so it keeps the row
// layout). Set FATHOM_INTERLEAVE=0 to keep the row layout (for comparisons).
#ifndef FATHOM_LIB_MODELS_WEIGHT_LAYOUT_H_
#define FATHOM_LIB_MODELS_WEIGHT_LAYOUT_H_

#include <cstdint>

#include "absl/types/span.h"
#include "format/mapped_file.h"
#include "kernels/matmul.h"

namespace fathom::internal {

// Interleaves each of `matrices` that the kernels support, unless its bytes start at one of
// `keep` (e.g. an embedding table tied to the output head: its rows are read one at a time).
// Matrices that share their bytes are rewritten once and all marked. Returns how many distinct
// matrices were interleaved.
int64_t InterleaveForDecode(MappedFile& file, absl::Span<WeightMatrix* const> matrices,
                            absl::Span<const uint8_t* const> keep);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_WEIGHT_LAYOUT_H_
