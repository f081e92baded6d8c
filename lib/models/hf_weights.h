// WeightSource over a Hugging Face checkpoint: [out, in] Linear weights in F32/BF16/F16 used in
// place, FP8-E4M3 weights kept FP8 with their 128x128 `weight_scale_inv` block scales.
#ifndef FATHOM_LIB_MODELS_HF_WEIGHTS_H_
#define FATHOM_LIB_MODELS_HF_WEIGHTS_H_

#include <deque>
#include <string>
#include <vector>

#include "format/hf_checkpoint.h"
#include "models/weight_source.h"

namespace fathom::internal {

class HfWeights final : public WeightSource {
 public:
  explicit HfWeights(const HfCheckpoint& ckpt) : ckpt_(ckpt) {}

  bool Has(const std::string& name) const override { return ckpt_.Has(name); }
  absl::StatusOr<WeightMatrix> Matrix(const std::string& name, int64_t rows, int64_t cols) override;
  // Hugging Face checkpoints store experts one by one; a stacked tensor is an error here.
  absl::StatusOr<std::vector<WeightMatrix>> Stacked(const std::string& name, int64_t count,
                                                    int64_t rows, int64_t cols) override;
  absl::StatusOr<const float*> Vector(const std::string& name, int64_t n) override;
  int64_t n_params() const override { return n_params_; }
  // Bytes of FP8 weights kept in FP8 (for docs and load reports).
  int64_t fp8_bytes() const { return fp8_bytes_; }

 private:
  absl::StatusOr<const float*> ToFloat(const SafetensorsTensor& t);
  const HfCheckpoint& ckpt_;
  std::deque<std::vector<float>> owned_;
  int64_t n_params_ = 0;
  int64_t fp8_bytes_ = 0;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_HF_WEIGHTS_H_
