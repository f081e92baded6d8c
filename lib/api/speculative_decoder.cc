// MTP self-speculative decoding: draft with the MTP module, verify in one batched forward,
// accept by speculative sampling, roll back the rest (see speculative_decoder.h).
#include "api/speculative_decoder.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace fathom::internal {

namespace {

bool PenaltiesActive(const SamplerOptions& o) {
  return o.penalty_last_n != 0 &&
         (o.repeat_penalty != 1.0f || o.frequency_penalty != 0.0f || o.presence_penalty != 0.0f);
}

}  // namespace

Status SpeculativeDecoder::Check(const SessionImpl& s, const GenerateOptions& options) {
  if (options.speculative != Speculative::kMtp) {
    return Status(StatusCode::kInvalidArgument, "unknown speculative decoding mode");
  }
  if (options.n_draft < 1 || options.n_draft > kMaxDraftTokens) {
    return Status(StatusCode::kInvalidArgument,
                  absl::StrFormat("n_draft %d is outside 1..%d", options.n_draft, kMaxDraftTokens));
  }
  if (!s.mtp) {
    return Status(StatusCode::kFailedPrecondition,
                  s.lm().has_mtp()
                      ? "speculative decoding with MTP needs a session created with "
                        "SessionOptions::mtp"
                      : "speculative decoding with MTP: this model has no multi-token prediction "
                        "module");
  }
  if (s.state->max_batch() < options.n_draft + 1) {
    return Status(StatusCode::kInvalidArgument,
                  absl::StrFormat("n_draft %d needs a batch of %d tokens; the session's is %d",
                                  options.n_draft, options.n_draft + 1, s.state->max_batch()));
  }
  return Status();
}

SpeculativeDecoder::SpeculativeDecoder(SessionImpl& s, const GenerateOptions& options)
    : s_(s),
      n_draft_(options.n_draft),
      penalties_(PenaltiesActive(options.sampler)),
      chain_(options.sampler),
      q_(kMaxDraftTokens) {}

int32_t SpeculativeDecoder::Next() {
  if (!started_) {
    started_ = true;
    last_pos_ = static_cast<int64_t>(s_.tokens.size());
    logits_pos0_ = last_pos_ - s_.n_logits;
    const int32_t n_vocab = s_.lm().n_vocab();
    last_token_ =
        s_.sampler.Sample(&s_.logits[static_cast<size_t>(s_.n_logits - 1) * n_vocab], n_vocab);
    return last_token_;
  }
  last_token_ = queue_.front();
  queue_.pop_front();
  ++last_pos_;
  return last_token_;
}

Status SpeculativeDecoder::Advance(int32_t remaining) {
  const int64_t p = static_cast<int64_t>(s_.tokens.size());
  if (last_pos_ < p) return Status();  // a verified draft: already in the cache
  // The main model's own token: evaluate it with as many drafts as can still be used.
  int64_t k = std::min<int64_t>(n_draft_, remaining - 1);
  k = std::min<int64_t>(k, s_.state->n_ctx() - 1 - p);
  k = std::min<int64_t>(k, s_.state->max_batch() - 1);
  return Step(last_token_, static_cast<int32_t>(std::max<int64_t>(k, 0)));
}

void SpeculativeDecoder::TargetOrDraft(const float* logits, const std::vector<int32_t>& extra,
                                       TokenDistribution* out) {
  if (penalties_) {
    // The penalty window as Generate keeps it: the last penalty_last_n tokens of the sequence.
    const int32_t window = chain_.options().penalty_last_n;
    history_.assign(s_.tokens.begin(), s_.tokens.end());
    history_.insert(history_.end(), extra.begin(), extra.end());
    const size_t n =
        window < 0 ? history_.size() : std::min(history_.size(), static_cast<size_t>(window));
    chain_.ClearHistory();
    for (size_t i = history_.size() - n; i < history_.size(); ++i) chain_.Accept(history_[i]);
  }
  chain_.Distribution(logits, s_.lm().n_vocab(), &out->ids, &out->probs);
}

int32_t SpeculativeDecoder::Draw(const TokenDistribution& d) {
  if (d.ids.size() == 1) return d.ids[0];  // greedy, or one candidate left: no draw needed
  return DrawToken(d, s_.sampler.NextUniform());
}

Status SpeculativeDecoder::Step(int32_t x0, int32_t k) {
  SessionImpl& s = s_;
  const LanguageModel& lm = s.lm();
  const int32_t n_vocab = lm.n_vocab();
  const int64_t p0 = static_cast<int64_t>(s.tokens.size());
  if (p0 < 1) return Status(StatusCode::kInternal, "speculative step without a previous token");
  // 1. Draft. The MTP rows from mtp_next to p0 - 1 (the last one pairs hidden(p0 - 1) with x0)
  // run even when k == 0, so the MTP cache never falls behind the hidden states kept.
  const int64_t r0 = std::min<int64_t>(s.mtp_next, p0 - 1);
  batch_.assign(s.tokens.begin() + r0 + 1, s.tokens.end());
  batch_.push_back(x0);
  s.mtp_logits.resize(batch_.size() * static_cast<size_t>(n_vocab));
  s.n_mtp_logits = 0;
  absl::Status st = lm.ForwardMtp(*s.state, batch_, r0, s.mtp_logits.data(), s.pool, &s.cancel);
  if (!st.ok()) return FromAbsl(st);
  s.mtp_next = p0;
  std::vector<int32_t>& drafts = drafts_;  // x0, d1, d2, ...: the sequence after s.tokens
  drafts.assign(1, x0);
  const float* mtp_row = &s.mtp_logits[(batch_.size() - 1) * n_vocab];
  for (int32_t i = 0; i < k; ++i) {
    if (i > 0) {
      // Chained: the MTP module's own output at p0 + i - 1 with the draft at p0 + i.
      st = lm.ForwardMtpChained(*s.state, drafts.back(), p0 + i - 1, s.mtp_logits.data(), s.pool,
                                &s.cancel);
      if (!st.ok()) return FromAbsl(st);
      mtp_row = s.mtp_logits.data();
    }
    TargetOrDraft(mtp_row, drafts, &q_[i]);
    drafts.push_back(Draw(q_[i]));
  }

  // 2. Verify [x0, d1 .. dk] in one forward of the main model.
  const int64_t n = k + 1;
  s.logits.resize(static_cast<size_t>(n) * n_vocab);
  s.n_logits = 0;
  st = lm.Forward(*s.state, drafts, p0, LogitsMode::kAll, s.logits.data(), s.pool, &s.cancel);
  if (!st.ok()) return FromAbsl(st);
  s.n_logits = static_cast<int32_t>(n);
  logits_pos0_ = p0;
  s.n_evaluated += n;
  ++stats_.main_forwards;
  stats_.drafted += k;
  for (int32_t i = 0; i < k; ++i) ++stats_.drafted_at_depth[i];

  // 3. Accept the longest prefix that passes, then one token of the main model's own.
  std::vector<int32_t>& seen = seen_;  // tokens before row i's target
  seen.assign(1, drafts[0]);
  int32_t accepted = 0, next = -1;
  for (int32_t i = 0; i < k; ++i) {
    const int32_t d = drafts[i + 1];
    TargetOrDraft(&s.logits[static_cast<size_t>(i) * n_vocab], seen, &p_);
    const double a = AcceptanceProbability(p_, q_[i], d);
    if (a >= 1.0 || (a > 0.0 && s.sampler.NextUniform() < a)) {
      ++accepted;
      ++stats_.accepted;
      ++stats_.accepted_at_depth[i];
      seen.push_back(d);
      continue;
    }
    ResidualDistribution(p_, q_[i], &dense_, &residual_);
    next = Draw(residual_);
    break;
  }
  if (next < 0) {
    TargetOrDraft(&s.logits[static_cast<size_t>(k) * n_vocab], seen, &p_);
    next = Draw(p_);
  }
  stats_.tokens += accepted + 1;

  // 4. Keep x0 and the accepted drafts; the rest is rolled back.
  s.tokens.insert(s.tokens.end(), drafts.begin(), drafts.begin() + 1 + accepted);
  s.state->OnTruncate(static_cast<int64_t>(s.tokens.size()));
  for (int32_t i = 1; i <= accepted; ++i) queue_.push_back(drafts[i]);
  queue_.push_back(next);
  return Status();
}

Status SpeculativeDecoder::Finish(bool last_evaluated) {
  SessionImpl& s = s_;
  if (!started_) return Status();
  const int64_t target = last_pos_ + (last_evaluated ? 1 : 0);
  if (static_cast<int64_t>(s.tokens.size()) > target) {
    s.tokens.resize(target);
    s.state->OnTruncate(target);
  }
  // MTP rows whose next token is known (below target - 1), as plain evaluation keeps them.
  s.mtp_next = std::min<int64_t>(s.mtp_next, std::max<int64_t>(target - 1, 0));
  const int64_t last_row = target - 2;
  if (last_row >= s.mtp_next) {
    const int32_t n_vocab = s.lm().n_vocab();
    batch_.assign(s.tokens.begin() + s.mtp_next + 1, s.tokens.begin() + last_row + 2);
    s.mtp_logits.resize(batch_.size() * static_cast<size_t>(n_vocab));
    // Not cancellable: the session must stay consistent.
    const absl::Status st =
        s.lm().ForwardMtp(*s.state, batch_, s.mtp_next, s.mtp_logits.data(), s.pool, nullptr);
    if (!st.ok()) return FromAbsl(st);
    s.mtp_next = last_row + 1;
  }
  s.n_mtp_logits = 0;
  // logits(-1) predicts the token at `target`.
  const int64_t row = target - 1 - logits_pos0_;
  if (row >= 0 && row < s.n_logits) {
    const size_t v = static_cast<size_t>(s.lm().n_vocab());
    if (row > 0) std::memmove(s.logits.data(), &s.logits[row * v], v * sizeof(float));
    s.n_logits = 1;
  } else {
    s.n_logits = 0;  // defensive: the row is always in the last verification
  }
  return Status();
}

}  // namespace fathom::internal
