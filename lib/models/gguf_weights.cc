// GgufWeights: shape and type checks for model tensors taken from a GGUF file.
#include "models/gguf_weights.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tensor/quant.h"

namespace fathom::internal {

absl::StatusOr<WeightMatrix> GgufWeights::Checked(const std::string& name,
                                                  const std::vector<int64_t>& dims, int64_t rows,
                                                  int64_t cols) {
  auto t = gguf_.GetTensor(name);
  if (!t.ok()) return t.status();
  if (t->dims != dims) {
    return absl::InvalidArgumentError(absl::StrFormat("tensor '%s' has shape [%s], expected [%s]",
                                                      name, absl::StrJoin(t->dims, ", "),
                                                      absl::StrJoin(dims, ", ")));
  }
  const DTypeTraits& traits = Traits(t->type);
  if (!traits.can_compute) {
    return absl::UnimplementedError(
        absl::StrFormat("tensor '%s' has type %s, which fathom cannot compute with yet", name,
                        std::string(traits.name)));
  }
  auto row_bytes = RowBytes(t->type, cols);
  if (!row_bytes.ok()) return row_bytes.status();
  WeightMatrix w;
  w.type = t->type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = *row_bytes;
  w.data = t->data;
  n_params_ += t->n_elements;
  return w;
}

absl::StatusOr<WeightMatrix> GgufWeights::Matrix(const std::string& name, int64_t rows,
                                                 int64_t cols) {
  return Checked(name, {cols, rows}, rows, cols);
}

absl::StatusOr<std::vector<WeightMatrix>> GgufWeights::Stacked(const std::string& name,
                                                               int64_t count, int64_t rows,
                                                               int64_t cols) {
  auto all = Checked(name, {cols, rows, count}, rows * count, cols);
  if (!all.ok()) return all.status();
  std::vector<WeightMatrix> out;
  out.reserve(count);
  for (int64_t i = 0; i < count; ++i) out.push_back(all->Rows(i * rows, rows));
  return out;
}

absl::StatusOr<const float*> GgufWeights::Vector(const std::string& name, int64_t n) {
  auto t = gguf_.GetTensor(name);
  if (!t.ok()) return t.status();
  if (t->n_elements != n || t->dims.size() != 1) {
    return absl::InvalidArgumentError(absl::StrFormat("tensor '%s' has shape [%s], expected [%d]",
                                                      name, absl::StrJoin(t->dims, ", "), n));
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
