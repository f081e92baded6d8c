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

namespace fathom::internal {

class GgufWeights {
 public:
  explicit GgufWeights(const GgufFile& gguf) : gguf_(gguf) {}

  bool Has(const std::string& name) const { return gguf_.HasTensor(name); }
  // A 2-D tensor of `rows` x `cols` (ggml dims {cols, rows}) of a computable type.
  absl::StatusOr<WeightMatrix> Matrix(const std::string& name, int64_t rows, int64_t cols);
  // A 1-D tensor of n elements, as float32 (owned by this object).
  absl::StatusOr<const float*> Vector(const std::string& name, int64_t n);
  // Sum of the elements of every tensor handed out so far.
  int64_t n_params() const { return n_params_; }

 private:
  const GgufFile& gguf_;
  std::deque<std::vector<float>> vectors_;
  int64_t n_params_ = 0;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_GGUF_WEIGHTS_H_
