// HfWeights: shape/dtype checks and FP8 block-scale wiring for Hugging Face tensors.
#include "models/hf_weights.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tensor/quant.h"

namespace fathom::internal {
namespace {

std::string ShapeString(const std::vector<int64_t>& s) { return absl::StrJoin(s, ", "); }

}  // namespace

absl::StatusOr<const float*> HfWeights::ToFloat(const SafetensorsTensor& t) {
  if (t.type == DType::kF32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
    return reinterpret_cast<const float*>(t.data);
  }
  std::vector<float>& out = owned_.emplace_back(t.n_elements);
  absl::Status s = Dequantize(t.type, t.data, out.data(), t.n_elements);
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tensor '%s' (%s): %s", t.name, t.dtype_name, s.message()));
  }
  return out.data();
}

absl::StatusOr<WeightMatrix> HfWeights::Matrix(const std::string& name, int64_t rows,
                                               int64_t cols) {
  const SafetensorsTensor* t = ckpt_.Find(name);
  if (t == nullptr) return absl::NotFoundError(absl::StrFormat("missing tensor '%s'", name));
  if (t->shape != std::vector<int64_t>{rows, cols}) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tensor '%s' has shape [%s], expected [%d, %d]", name, ShapeString(t->shape), rows, cols));
  }
  if (t->type != DType::kF32 && t->type != DType::kBF16 && t->type != DType::kF16 &&
      t->type != DType::kF8_E4M3) {
    return absl::UnimplementedError(
        absl::StrFormat("tensor '%s' has dtype %s; weights must be F32, BF16, F16 or F8_E4M3", name,
                        t->dtype_name));
  }
  WeightMatrix w;
  w.type = t->type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = static_cast<uint64_t>(cols) * Traits(t->type).type_size;
  w.data = t->data;
  n_params_ += rows * cols;
  if (reinterpret_cast<uintptr_t>(w.data) % alignof(float) != 0 && t->type == DType::kF32) {
    // The file does not align this tensor: use an aligned copy rather than misaligned loads.
    auto copy = ToFloat(*t);
    if (!copy.ok()) return copy.status();
    w.data = reinterpret_cast<const uint8_t*>(*copy);
  }
  if (t->type == DType::kF8_E4M3) {
    const std::string scale_name = name + "_scale_inv";
    const SafetensorsTensor* s = ckpt_.Find(scale_name);
    if (s == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("FP8 tensor '%s' has no '%s' block scales", name, scale_name));
    }
    const int64_t grid_rows = (rows + kScaleBlock - 1) / kScaleBlock;
    const int64_t grid_cols = (cols + kScaleBlock - 1) / kScaleBlock;
    if (s->shape != std::vector<int64_t>{grid_rows, grid_cols}) {
      return absl::InvalidArgumentError(
          absl::StrFormat("tensor '%s' has shape [%s], expected [%d, %d] for 128x128 blocks",
                          scale_name, ShapeString(s->shape), grid_rows, grid_cols));
    }
    auto scales = ToFloat(*s);
    if (!scales.ok()) return scales.status();
    for (int64_t i = 0; i < s->n_elements; ++i) {
      if (!std::isfinite((*scales)[i])) {
        return absl::InvalidArgumentError(
            absl::StrFormat("tensor '%s' holds a non-finite scale", scale_name));
      }
    }
    w.block_scale = *scales;
    w.scale_cols = grid_cols;
    fp8_bytes_ += rows * cols;
  }
  return w;
}

absl::StatusOr<std::vector<WeightMatrix>> HfWeights::Stacked(const std::string& name, int64_t,
                                                             int64_t, int64_t) {
  return absl::UnimplementedError(
      absl::StrFormat("stacked tensor '%s' is not a Hugging Face layout", name));
}

absl::StatusOr<const float*> HfWeights::Vector(const std::string& name, int64_t n) {
  const SafetensorsTensor* t = ckpt_.Find(name);
  if (t == nullptr) return absl::NotFoundError(absl::StrFormat("missing tensor '%s'", name));
  if (t->shape != std::vector<int64_t>{n}) {
    return absl::InvalidArgumentError(absl::StrFormat("tensor '%s' has shape [%s], expected [%d]",
                                                      name, ShapeString(t->shape), n));
  }
  if (t->type != DType::kF32 && t->type != DType::kBF16 && t->type != DType::kF16) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tensor '%s' has dtype %s; vectors must be F32, BF16 or F16", name, t->dtype_name));
  }
  n_params_ += n;
  return ToFloat(*t);
}

}  // namespace fathom::internal
