// GgufWeights: shape and type checks for model tensors taken from a GGUF file.
#include "models/gguf_weights.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tensor/quant.h"

namespace fathom::internal {

absl::StatusOr<WeightMatrix> GgufWeights::Matrix(const std::string& name, int64_t rows,
                                                  int64_t cols) {
  auto t = gguf_.GetTensor(name);
  if (!t.ok()) return t.status();
  if (t->dims.size() != 2 || t->dims[0] != cols || t->dims[1] != rows) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tensor '%s' has shape [%s], expected [%d, %d]", name,
                        absl::StrJoin(t->dims, ", "), cols, rows));
  }
  const DTypeTraits& traits = Traits(t->type);
  if (!traits.can_compute) {
    return absl::UnimplementedError(
        absl::StrFormat("tensor '%s' has type %s, which fathom cannot compute with yet", name,
                        traits.name));
  }
  auto row_bytes = RowBytes(t->type, cols);
  if (!row_bytes.ok()) return row_bytes.status();
  WeightMatrix w;
  w.type = t->type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = *row_bytes;
  w.data = t->data;
  n_params_ += rows * cols;
  return w;
}

absl::StatusOr<const float*> GgufWeights::Vector(const std::string& name, int64_t n) {
  auto t = gguf_.GetTensor(name);
  if (!t.ok()) return t.status();
  if (t->n_elements != n || t->dims.size() != 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tensor '%s' has shape [%s], expected [%d]", name, absl::StrJoin(t->dims, ", "), n));
  }
  std::vector<float>& out = vectors_.emplace_back(n);
  absl::Status s = Dequantize(t->type, t->data, out.data(), n);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("tensor '%s': %s", name, s.message()));
  }
  n_params_ += n;
  return out.data();
}

}  // namespace fathom::internal
