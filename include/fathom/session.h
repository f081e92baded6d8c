// fathom::Session: one conversation's state over a shared Model (KV cache, position, logits).
#ifndef FATHOM_SESSION_H_
#define FATHOM_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fathom/model.h"
#include "fathom/sampler.h"
#include "fathom/status.h"

namespace fathom {

namespace internal {
class SessionImpl;
}

// What a session does when a prompt or a generated token does not fit in its context.
enum class ContextOverflow : int32_t {
  kError = 0,  // Evaluate returns kContextFull; Generate stops with StopReason::kContextFull
  // llama.cpp's context shift: keep the first n_keep tokens, drop the oldest half of the rest
  // (re-roping the cached keys that move), and go on. Not available with `mtp`.
  kShift = 1,
};

struct SessionOptions {
  int32_t n_ctx = 0;      // context size in tokens; 0 = min(model's training context, 4096)
  int32_t n_threads = 0;  // 0 = all hardware threads
  int32_t n_batch = 512;  // prompt tokens per forward pass
  // Run the model's multi-token-prediction module (DeepSeek-V3 MTP) alongside every
  // evaluation; its logits are then available through mtp_logits(). Needs a model with MTP.
  bool mtp = false;
  ContextOverflow context_overflow = ContextOverflow::kError;
  int32_t n_keep = 0;  // with kShift: tokens at the start that are never dropped (< n_ctx)
};

// How Generate treats a reasoning model's thoughts (DeepSeek-R1 writes them between <think> and
// </think> before its answer).
enum class ReasoningMode : int32_t {
  kNone = 0,  // no separation: the tags and the reasoning are ordinary text
  // Separate the reasoning from the answer. Generation starts inside the block when the text
  // before it (the session's last tokens: the prompt) ends with the open tag, as R1 chat
  // templates' generation prompt ("...<think>\n") does.
  kSplit = 1,
  kSplitStartInside = 2,  // separate, and generation always starts inside the block
};

// How Generate proposes tokens ahead of the main model (speculative decoding).
enum class Speculative : int32_t {
  kNone = 0,
  // Self-speculation with the model's multi-token-prediction module (DeepSeek-V3/R1): the MTP
  // module drafts n_draft tokens, one batched forward of the main model verifies them. Greedy
  // output is identical to kNone; with temperature > 0 the output distribution is exactly the
  // model's (the random draws differ, so a seed gives other tokens than with kNone). Needs a
  // session created with SessionOptions::mtp.
  kMtp = 1,
};

inline constexpr int32_t kMaxDraftTokens = 3;  // GenerateOptions::n_draft is 1..kMaxDraftTokens

// What speculation did during one Generate call.
struct SpeculativeStats {
  int64_t main_forwards = 0;  // verification forwards of the main model (one per step)
  int64_t tokens = 0;         // tokens those forwards produced (accepted drafts + one each)
  int64_t drafted = 0;        // draft tokens proposed
  int64_t accepted = 0;       // draft tokens accepted
  // Index d: drafts proposed / accepted at depth d + 1 (the (d+1)-th token after the verified
  // one). A draft at depth d + 1 is only checked when the one before it was accepted.
  int64_t drafted_at_depth[kMaxDraftTokens] = {};
  int64_t accepted_at_depth[kMaxDraftTokens] = {};

  double acceptance_rate() const {
    return drafted == 0 ? 0.0 : static_cast<double>(accepted) / static_cast<double>(drafted);
  }
  double tokens_per_forward() const {
    return main_forwards == 0 ? 0.0
                              : static_cast<double>(tokens) / static_cast<double>(main_forwards);
  }
};

struct GenerateOptions {
  int32_t max_tokens = 128;
  SamplerOptions sampler;
  bool stop_at_eos = true;
  // Called for each generated token with the text that became complete; return false to stop.
  // A final call with token -1 delivers bytes held back at the end (an incomplete character).
  std::function<bool(int32_t token, const std::string& piece)> on_token;
  // Generation stops when the text contains one of these. Text that might be the start of a stop
  // string is held back (never emitted, then retracted); neither GenerateResult::text nor
  // on_token ever sees the stop string or what follows it. Stop strings may span tokens.
  std::vector<std::string> stop = {};
  // Also evaluate the last generated token (when generation ended by max_tokens, a stop string
  // or the callback), so the session's logits predict the next one: a later Generate({}) then
  // continues exactly where one longer Generate would have gone. Use it before SaveState.
  bool evaluate_last = false;
  // With a reasoning mode other than kNone, text between the tags is reasoning: it goes to
  // on_reasoning (called with the token that completed it; token -1 at the end) and to
  // GenerateResult::reasoning, never to on_token or GenerateResult::text, which carry the answer
  // only. The tags themselves are dropped. on_token is still called once per token (with the
  // answer text that token completed, often empty while the model reasons). Return false from
  // on_reasoning to stop (StopReason::kCallback). Stop strings apply to the raw text, tags
  // included, before this separation.
  ReasoningMode reasoning = ReasoningMode::kNone;
  std::string reasoning_open_tag = "<think>";
  std::string reasoning_close_tag = "</think>";
  std::function<bool(int32_t token, const std::string& reasoning)> on_reasoning;
  // Speculative decoding and its draft length per step (1..kMaxDraftTokens).
  Speculative speculative = Speculative::kNone;
  int32_t n_draft = 1;
};

struct GenerateResult {
  std::vector<int32_t> tokens;
  std::string text;
  enum class StopReason {
    kMaxTokens,
    kEndOfGeneration,
    kCallback,
    kCancelled,
    kContextFull,
    kStopString,  // one of GenerateOptions::stop appeared (see stop_string)
  } stop_reason = StopReason::kMaxTokens;
  std::string stop_string;  // which one, with kStopString
  std::string reasoning;    // the reasoning text, with a ReasoningMode other than kNone
  SpeculativeStats speculative;  // all zero without GenerateOptions::speculative
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
  // tokens. The session keeps its sampler's RNG between calls (and in saved states): a call
  // with the same seed continues the random sequence, a different seed restarts it. The penalty
  // window sees the session's last tokens (prompt included). Every generated token except the last
  // is in the KV cache afterwards; the last one (or the end-of-generation token) is returned but
  // not evaluated. Generation stops with kContextFull when the context has no room for the next
  // token.
  Result<GenerateResult> Generate(const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options);

  // Makes the session hold exactly `tokens` (non-empty): keeps the longest common prefix of the
  // cached tokens and `tokens`, drops the rest and evaluates only the differing suffix (at least
  // the last token, so logits() is current). Multi-turn chat re-evaluates only the new turn.
  Status EvaluateReusingPrefix(const std::vector<int32_t>& tokens);
  // Tokens run through the model by this session so far (prefix reuse shows in it).
  int64_t n_evaluated() const;
  // Tokens dropped by context shifts so far.
  int64_t n_shifted() const;

  // Session state: tokens, KV cache rows [0, position()) (for MLA models the latent cache), the
  // last logits and the sampler's RNG. Restoring needs the same model (checked by a fingerprint)
  // and a context that holds the saved tokens; a corrupted or truncated image is kDataLoss, a
  // different model kFailedPrecondition. The format is described in docs/SESSIONS.md.
  Result<std::string> SaveState() const;
  Status SaveStateToFile(const std::string& path) const;  // written atomically (temp + rename)
  Status LoadState(std::string_view image);
  Status LoadStateFromFile(const std::string& path);  // memory-mapped while it is read

  // The seed of the sampler whose RNG the session carries (after a Generate or a LoadState).
  std::optional<uint64_t> sampler_seed() const;

  // Memory this session owns: the KV cache alone, and everything (cache, scratch, logits).
  int64_t kv_cache_bytes() const;
  int64_t memory_bytes() const;

  // Asks the Evaluate/Generate in progress to stop (checked between layers and between
  // tokens); it then returns kCancelled (Generate: StopReason::kCancelled). Safe from any thread
  // and from inside Generate's callback. Each new Evaluate/Generate call starts uncancelled.
  void Cancel();

  const Model& model() const;

 private:
  explicit Session(std::unique_ptr<internal::SessionImpl> impl);
  // Evaluate without clearing a pending Cancel() (used inside Generate and Truncate).
  Status EvaluateContinuing(const std::vector<int32_t>& tokens, bool all_logits);
  // Streams the state image to `sink` (false = write error).
  Status SaveStateToSink(const std::function<bool(const void*, size_t)>& sink) const;
  std::unique_ptr<internal::SessionImpl> impl_;
};

}  // namespace fathom

#endif  // FATHOM_SESSION_H_
