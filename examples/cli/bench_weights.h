// Active weight bytes per decoded token (fathom bench's bandwidth limit): every weight tensor a
// single-token decode step reads, from a model's tensor list and configuration.
//
//   active = dense + routed x (experts_used / experts) + embedding_read
//
// dense: every tensor of the main model's layers and the output head except routed experts
// (attention, dense FFNs, shared experts, routers, norms); routed: all routed-expert tensors (a
// decode step reads experts_used of the `experts` of each MoE layer, all equal in size);
// embedding_read: one row of the token embedding, or the whole matrix when it is also the output
// head (tied). Layers after the main model's (DeepSeek's MTP/nextn layers) are not counted: a
// plain decode step does not run them.
#ifndef FATHOM_EXAMPLES_CLI_BENCH_WEIGHTS_H_
#define FATHOM_EXAMPLES_CLI_BENCH_WEIGHTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fathom/model.h"

namespace fathom::cli {

enum class TensorNaming { kGguf, kHuggingFace };

struct WeightTensorBytes {
  std::string name;
  uint64_t bytes = 0;
};

struct ActiveWeightsInput {
  TensorNaming naming = TensorNaming::kGguf;
  std::vector<WeightTensorBytes> tensors;
  int64_t n_layer = 0;        // main-model layers; tensors of layers >= n_layer are not counted
  int64_t n_vocab = 0;        // rows of the token embedding
  int64_t n_expert = 0;       // routed experts per MoE layer (0: dense model)
  int64_t n_expert_used = 0;  // routed experts a token uses per MoE layer
};

struct ActiveWeights {
  uint64_t total_bytes = 0;             // every tensor in the list
  uint64_t dense_bytes = 0;             // read in full each step (head included, embedding not)
  uint64_t routed_bytes = 0;            // all routed-expert tensors
  uint64_t routed_active_bytes = 0;     // routed_bytes x n_expert_used / n_expert
  uint64_t embedding_bytes = 0;         // the token embedding matrix
  uint64_t embedding_active_bytes = 0;  // one row, or all of it when tied to the head
  uint64_t skipped_bytes = 0;           // tensors of layers >= n_layer (MTP), and unused copies
  bool tied_head = false;
  uint64_t active_bytes = 0;  // dense + routed_active + embedding_active
};

// InvalidArgument when the list has no token embedding, or routed experts without a valid
// n_expert_used <= n_expert.
absl::StatusOr<ActiveWeights> CountActiveWeights(const ActiveWeightsInput& input);

// The tensor list and configuration of a loaded model (GGUF file or Hugging Face folder).
absl::StatusOr<ActiveWeightsInput> ActiveWeightsInputOf(const Model& model);

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_BENCH_WEIGHTS_H_
