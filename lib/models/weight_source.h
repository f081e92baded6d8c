// Where a model family gets its tensors: named, shape-checked matrices (zero-copy where the
// file layout allows) and small float32 vectors. Implemented for GGUF and Hugging Face folders.
#ifndef FATHOM_LIB_MODELS_WEIGHT_SOURCE_H_
#define FATHOM_LIB_MODELS_WEIGHT_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/matmul.h"

namespace fathom::internal {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool Has(const std::string& name) const = 0;
  // A 2-D weight of `rows` x `cols` (a Linear's [out, in]) of a computable type.
  virtual absl::StatusOr<WeightMatrix> Matrix(const std::string& name, int64_t rows,
                                              int64_t cols) = 0;
  // A 3-D weight of `count` stacked `rows` x `cols` matrices (GGUF expert tensors).
  virtual absl::StatusOr<std::vector<WeightMatrix>> Stacked(const std::string& name, int64_t count,
                                                            int64_t rows, int64_t cols) = 0;
  // A 1-D tensor of n elements as float32 (owned by the source).
  virtual absl::StatusOr<const float*> Vector(const std::string& name, int64_t n) = 0;
  // Parameters handed out so far.
  virtual int64_t n_params() const = 0;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_WEIGHT_SOURCE_H_
