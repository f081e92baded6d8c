// fathom::Session: one conversation's state over a shared Model (KV cache, position, logits).
#ifndef FATHOM_SESSION_H_
#define FATHOM_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fathom/model.h"
#include "fathom/sampler.h"
#include "fathom/status.h"

namespace fathom {

namespace internal {
class SessionImpl;
}

struct SessionOptions {
  int32_t n_ctx = 0;      // context size in tokens; 0 = min(model's training context, 4096)
  int32_t n_threads = 0;  // 0 = all hardware threads
  int32_t n_batch = 512;  // prompt tokens per forward pass
  // Run the model's multi-token-prediction module (DeepSeek-V3 MTP) alongside every
  // evaluation; its logits are then available through mtp_logits(). Needs a model with MTP.
  bool mtp = false;
};

struct GenerateOptions {
  int32_t max_tokens = 128;
  SamplerOptions sampler;
  bool stop_at_eos = true;
  // Called for each generated token with the text that became complete; return false to stop.
  // A final call with token -1 delivers bytes held back at the end (an incomplete character).
  std::function<bool(int32_t token, const std::string& piece)> on_token;
};

struct GenerateResult {
  std::vector<int32_t> tokens;
  std::string text;
  enum class StopReason {
    kMaxTokens,
    kEndOfGeneration,
    kCallback,
    kCancelled,
    kContextFull
  } stop_reason = StopReason::kMaxTokens;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> Create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = {});
  ~Session();

  // Appends `tokens` at the current position and runs them through the model in batches.
  // With `all_logits`, logits of every evaluated position are kept; otherwise only the last.
  Status Evaluate(const std::vector<int32_t>& tokens, bool all_logits = false);
  // Logits of the i-th position of the last Evaluate (i < n_logits()); -1 = the last one.
  const float* logits(int32_t i = -1) const;
  int32_t n_logits() const;
  int32_t n_vocab() const;

  // With SessionOptions::mtp: MTP logits computed by the last Evaluate. Row i belongs to
  // position mtp_first_position() + i (it combines that position's hidden state with the next
  // token) and predicts the token at mtp_first_position() + i + 2. Rows lag one position behind
  // the main model because each needs the following token. Position 0 zeroes the embedding
  // (vLLM's convention). nullptr when i is out of range.
  const float* mtp_logits(int32_t i) const;
  int32_t n_mtp_logits() const;
  int32_t mtp_first_position() const;

  int32_t position() const;  // tokens in the KV cache
  int32_t n_ctx() const;
  const std::vector<int32_t>& tokens() const;
  // Drops cached tokens after `n` (rewind); n <= position(). With MTP, the token at n - 1 is
  // evaluated again to recover the hidden state the MTP module needs next.
  Status Truncate(int32_t n);
  void Reset() { (void)Truncate(0); }

  // Evaluates `prompt` (appended at the current position) then samples up to max_tokens
  // tokens. Every generated token except the last is in the KV cache afterwards; the last one
  // (or the end-of-generation token) is returned but not evaluated. Generation stops with
  // kContextFull when the context has no room for the next token.
  Result<GenerateResult> Generate(const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options);

  // Asks the Evaluate/Generate in progress to stop (checked between layers and between
  // tokens); it then returns kCancelled (Generate: StopReason::kCancelled). Safe from any thread
  // and from inside Generate's callback. Each new Evaluate/Generate call starts uncancelled.
  void Cancel();

  const Model& model() const;

 private:
  explicit Session(std::unique_ptr<internal::SessionImpl> impl);
  // Evaluate without clearing a pending Cancel() (used inside Generate and Truncate).
  Status EvaluateContinuing(const std::vector<int32_t>& tokens, bool all_logits);
  std::unique_ptr<internal::SessionImpl> impl_;
};

}  // namespace fathom

#endif  // FATHOM_SESSION_H_
