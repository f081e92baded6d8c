// MTP self-speculative decoding inside Session::Generate. One step, for the main model's own
// token x0 at position P (sampled, not yet evaluated):
//   1. draft: the MTP module first catches up on the rows whose next token became known since
//      the last step (their hidden states come from the last verification, so the MTP cache ends
//      up exactly as plain MTP evaluation would leave it), its row P - 1 (hidden(P - 1), x0)
//      gives the first draft d1; deeper drafts chain the module on its own output
//      (LanguageModel::ForwardMtpChained);
//   2. verify: one batched forward of the main model over [x0, d1 .. dk] at P .. P + k;
//   3. accept: the longest prefix of drafts that passes speculative sampling's test (greedy:
//      equals the main model's argmax), plus one token of the main model's own (the correction
//      at the first rejection, or the next token after k accepted drafts);
//   4. roll back: rejected positions are dropped from the token list; their main and MTP cache
//      rows are stale and overwritten by the next step (nothing is re-evaluated), and the kept
//      hidden states are clipped (ForwardState::OnTruncate).
// Generate takes the tokens one at a time (Next / Advance), so stop strings, callbacks and
// max_tokens work as without speculation; Finish leaves the session as plain generation would.
#ifndef FATHOM_LIB_API_SPECULATIVE_DECODER_H_
#define FATHOM_LIB_API_SPECULATIVE_DECODER_H_

#include <cstdint>
#include <deque>
#include <vector>

#include "api/session_impl.h"
#include "fathom/session.h"
#include "sampling/speculative_sampling.h"

namespace fathom::internal {

class SpeculativeDecoder {
 public:
  // Checks that `options` can run on this session (kMtp needs SessionOptions::mtp, n_draft in
  // 1..kMaxDraftTokens, a batch that holds n_draft + 1 tokens).
  static Status Check(const SessionImpl& s, const GenerateOptions& options);
  SpeculativeDecoder(SessionImpl& s, const GenerateOptions& options);

  // The next token: the first comes from the session's current logits (the session's sampler,
  // as without speculation), the later ones from verification steps.
  int32_t Next();
  // The position the token last returned by Next takes.
  int64_t last_position() const { return last_pos_; }
  // Makes the last returned token part of the context. A verified draft already is; the main
  // model's own token starts a step. `remaining`: tokens Generate may still ask for after it.
  Status Advance(int32_t remaining);
  // Leaves the session as plain generation would: the cache holds the returned tokens but the
  // last (all of them with `last_evaluated`), logits(-1) predicts the next token, the MTP cache
  // is current.
  Status Finish(bool last_evaluated);

  const SpeculativeStats& stats() const { return stats_; }

 private:
  Status Step(int32_t x0, int32_t k);
  // The chain's distribution for `logits` given the tokens before: s.tokens[0, P) then `extra`.
  void TargetOrDraft(const float* logits, const std::vector<int32_t>& extra,
                     TokenDistribution* out);
  int32_t Draw(const TokenDistribution& d);

  SessionImpl& s_;
  const int32_t n_draft_;
  const bool penalties_;
  Sampler chain_;              // the Generate sampler's chain for distributions (its RNG is unused)
  std::deque<int32_t> queue_;  // verified tokens not returned yet; the last is not evaluated
  bool started_ = false;
  int64_t last_pos_ = -1;
  int32_t last_token_ = -1;
  int64_t logits_pos0_ = 0;  // position whose logits are s.logits row 0
  SpeculativeStats stats_;
  // Scratch.
  std::vector<int32_t> batch_, history_;
  std::vector<int32_t> drafts_, seen_;  // Step's scratch, kept so steps do not allocate
  std::vector<TokenDistribution> q_;
  TokenDistribution p_, residual_;
  std::vector<double> dense_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_API_SPECULATIVE_DECODER_H_
