// Named, shape-checked weight access over a GGUF file: matrices stay zero-copy in the mapping,
// small vectors (norms, biases) are converted to float32 once.
#ifndef FATHOM_LIB_MODELS_GGUF_WEIGHTS_H_
#define FATHOM_LIB_MODELS_GGUF_WEIGHTS_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "format/gguf_reader.h"
#include "kernels/matmul.h"
#include "models/weight_source.h"

namespace fathom::internal {

class GgufWeights final : public WeightSource {
 public:
  explicit GgufWeights(const GgufFile& gguf) : gguf_(gguf) {}

  bool Has(const std::string& name) const override { return gguf_.HasTensor(name); }
  const GgufFile& gguf() const { return gguf_; }
  // ggml dims {cols, rows}.
  absl::StatusOr<WeightMatrix> Matrix(const std::string& name, int64_t rows, int64_t cols) override;
  // ggml dims {cols, rows, count}.
  absl::StatusOr<std::vector<WeightMatrix>> Stacked(const std::string& name, int64_t count,
                                                    int64_t rows, int64_t cols) override;
  absl::StatusOr<const float*> Vector(const std::string& name, int64_t n) override;
  int64_t n_params() const override { return n_params_; }

 private:
  absl::StatusOr<WeightMatrix> Checked(const std::string& name, const std::vector<int64_t>& dims,
                                       int64_t rows, int64_t cols);
  const GgufFile& gguf_;
  std::deque<std::vector<float>> vectors_;
  int64_t n_params_ = 0;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_GGUF_WEIGHTS_H_
