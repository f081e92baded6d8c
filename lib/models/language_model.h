// The interface every model family implements: per-session state and a batched forward pass.
#ifndef FATHOM_LIB_MODELS_LANGUAGE_MODEL_H_
#define FATHOM_LIB_MODELS_LANGUAGE_MODEL_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fathom/model.h"
#include "format/gguf_reader.h"
#include "runtime/thread_pool.h"

namespace fathom::internal {

// A session's model state: KV cache and scratch buffers, sized at creation.
class ForwardState {
 public:
  virtual ~ForwardState() = default;
  virtual int64_t n_ctx() const = 0;
  virtual int64_t max_batch() const = 0;
  virtual int64_t bytes() const = 0;  // KV cache + scratch
};

// Which positions of a forward batch need logits.
enum class LogitsMode { kNone, kLast, kAll };

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual int32_t n_vocab() const = 0;
  virtual absl::StatusOr<std::unique_ptr<ForwardState>> NewState(int64_t n_ctx,
                                                                 int64_t max_batch) const = 0;
  // Runs `tokens` (at most state.max_batch()) at positions pos0, pos0+1, ... (cache entries
  // below pos0 must be valid). Writes logits of every token ([n x n_vocab]) for kAll, of the
  // last token for kLast, none for kNone. Checks `cancel` between layers (returns Cancelled).
  virtual absl::Status Forward(ForwardState& state, absl::Span<const int32_t> tokens, int64_t pos0,
                               LogitsMode mode, float* logits, ThreadPool& pool,
                               const std::atomic<bool>* cancel) const = 0;

  // Multi-token prediction (DeepSeek-V3's MTP module), where the model has one.
  virtual bool has_mtp() const { return false; }
  // Runs the MTP module for positions pos0 .. pos0 + n - 1 (n = next_tokens.size()): row i
  // combines the main model's final hidden state at position pos0 + i (kept by Forward, which
  // must have covered that position; the state keeps the hidden states of the latest Forward
  // batch and the position just before it) with the embedding of next_tokens[i] (the token at
  // pos0 + i + 1), and predicts the token at pos0 + i + 2. MTP cache entries below pos0 must be
  // valid. Writes [n x n_vocab] logits.
  virtual absl::Status ForwardMtp(ForwardState& state, absl::Span<const int32_t> next_tokens,
                                  int64_t pos0, float* logits, ThreadPool& pool,
                                  const std::atomic<bool>* cancel) const;
};

// Builds the model the GGUF file describes (by general.architecture) and fills `info`.
absl::StatusOr<std::unique_ptr<LanguageModel>> LoadLanguageModel(const GgufFile& gguf,
                                                                 ModelInfo* info);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_LANGUAGE_MODEL_H_
