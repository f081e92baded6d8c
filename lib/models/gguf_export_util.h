// Shared pieces of the Hugging Face -> GGUF exporters (deepseek2, llama, qwen2): llama.cpp's
// general.file_type for an export type, and a sink that adds float32 vectors and weight matrices
// converted row by row (dequantized, FP8 block scales applied, then quantized) to a GgufWriter.
#ifndef FATHOM_LIB_MODELS_GGUF_EXPORT_UTIL_H_
#define FATHOM_LIB_MODELS_GGUF_EXPORT_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "format/gguf_writer.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

namespace fathom::internal {

// llama.cpp's llama_ftype (general.file_type) of a file whose weight matrices are mostly `t`;
// InvalidArgument for types the exporters do not write (the list is in the message).
absl::StatusOr<uint32_t> GgufFileType(DType t);

// g.WriteFile(path), removing a partly written file when it fails (tensors are produced while
// the file is written, so a conversion error can show up then).
absl::Status WriteGgufFile(const GgufWriter& g, const std::string& path);

// Weight matrices are converted when the file is written (GgufWriter::AddTensorProducer), so
// the matrices' data (the mapped checkpoint, HfWeights' converted buffers) must outlive the
// writer's WriteFile call; transposed stacks are converted at once.
class GgufTensorSink {
 public:
  GgufTensorSink(GgufWriter& g, DType weight_type) : g_(g), weight_type_(weight_type) {}

  absl::Status Vector(const std::string& name, const float* v, int64_t n) {
    return g_.AddTensor(name, DType::kF32, {n}, v, static_cast<uint64_t>(n) * sizeof(float));
  }
  // A [rows, cols] matrix as ggml {cols, rows}; `keep_f32` ignores the export type. With
  // `row_order` (a permutation of the rows), output row r is source row row_order[r].
  absl::Status Matrix(const std::string& name, const WeightMatrix& w, bool keep_f32 = false,
                      const std::vector<int64_t>* row_order = nullptr) {
    return Write(name, {w}, /*transpose=*/false, /*stacked=*/false, keep_f32, row_order);
  }
  // Equal-shaped matrices as one ggml {cols, rows, count} tensor, or {rows, cols, count} with
  // every matrix transposed.
  absl::Status Stack(const std::string& name, const std::vector<WeightMatrix>& ws,
                     bool transpose = false) {
    return Write(name, ws, transpose, /*stacked=*/true, /*keep_f32=*/false, nullptr);
  }

 private:
  absl::Status Write(const std::string& name, const std::vector<WeightMatrix>& ws, bool transpose,
                     bool stacked, bool keep_f32, const std::vector<int64_t>* row_order);

  GgufWriter& g_;
  DType weight_type_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_GGUF_EXPORT_UTIL_H_
