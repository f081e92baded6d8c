// The interface every model family implements: per-session state and a batched forward pass.
#ifndef FATHOM_LIB_MODELS_LANGUAGE_MODEL_H_
#define FATHOM_LIB_MODELS_LANGUAGE_MODEL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fathom/model.h"
#include "format/gguf_reader.h"
#include "kernels/ops.h"
#include "runtime/thread_pool.h"

namespace fathom::internal {

// One slab of a session's cache: row p (0 <= p < n_ctx) holds position p's `row_floats` float32
// values for one layer and one kind of entry (e.g. "blk.3.k"). Session state files store rows
// [0, n) of every slab; a context shift moves rows and re-ropes the rotary part.
struct CacheSlab {
  std::string name;
  float* data = nullptr;
  int64_t row_floats = 0;
  // Rotary content: each row holds `rope_heads` vectors spaced `rope_stride` floats apart,
  // rotated by `rope` for the row's position (nullptr: the slab holds no positional rotation).
  const RopeTable* rope = nullptr;
  int rope_heads = 0;
  int rope_stride = 0;
};

// A session's model state: KV cache and scratch buffers, sized at creation.
class ForwardState {
 public:
  virtual ~ForwardState() = default;
  virtual int64_t n_ctx() const = 0;
  virtual int64_t max_batch() const = 0;
  virtual int64_t bytes() const = 0;  // KV cache + scratch
  // The cache as slabs, always in the same order for the same model (state files rely on it).
  virtual std::vector<CacheSlab> CacheSlabs() = 0;
  int64_t cache_bytes() {
    int64_t n = 0;
    for (const CacheSlab& s : CacheSlabs()) n += s.row_floats * n_ctx() * 4;
    return n;
  }
  // Cache element type as stored ("f32"): part of a state file's compatibility check.
  virtual const char* cache_dtype() const { return "f32"; }
  // Called after cache rows have been replaced (restore, shift): drops derived state that
  // referred to positions (e.g. DeepSeek's MTP hidden rows).
  virtual void OnCacheRewritten() {}
  // Called when the session drops positions >= n (a rewind, or rejected speculative tokens):
  // cache rows there are simply overwritten later, but derived state about them must go.
  virtual void OnTruncate(int64_t n) { (void)n; }
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
  // Drafting deeper than one token: runs the MTP module once more at `pos`, chained on its own
  // output instead of the main model's hidden state. The hidden input is the MTP module's final
  // (head-normed) hidden state of position pos - 1 from the latest ForwardMtp or
  // ForwardMtpChained call, which must have ended there; `next_token` is the token at pos + 1
  // (a draft). Writes the MTP cache entry at `pos` (a speculative entry: a later ForwardMtp
  // over `pos` overwrites it) and [n_vocab] logits predicting the token at pos + 2.
  virtual absl::Status ForwardMtpChained(ForwardState& state, int32_t next_token, int64_t pos,
                                         float* logits, ThreadPool& pool,
                                         const std::atomic<bool>* cancel) const;
};

// Builds the model the GGUF file describes (by general.architecture) and fills `info`.
absl::StatusOr<std::unique_ptr<LanguageModel>> LoadLanguageModel(const GgufFile& gguf,
                                                                 ModelInfo* info);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_LANGUAGE_MODEL_H_
