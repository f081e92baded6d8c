// fathom::Session: KV cache state, batched evaluation, generation and cancellation.
#include "fathom/session.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/strings/str_format.h"
#include "api/model_impl.h"
#include "runtime/thread_pool.h"

namespace fathom {
namespace internal {

class SessionImpl {
 public:
  SessionImpl(std::shared_ptr<const Model> m, std::unique_ptr<ForwardState> s, int n_threads,
              int32_t n_batch)
      : model(std::move(m)), state(std::move(s)), pool(n_threads), n_batch(n_batch) {}

  std::shared_ptr<const Model> model;
  std::unique_ptr<ForwardState> state;
  ThreadPool pool;
  int32_t n_batch;
  std::vector<int32_t> tokens;
  std::vector<float> logits;
  int32_t n_logits = 0;
  std::atomic<bool> cancel{false};
  bool mtp = false;
  int64_t mtp_next = 0;  // MTP cache entries valid below this position
  std::vector<float> mtp_logits;
  int32_t n_mtp_logits = 0;
  int32_t mtp_first = 0;

  const LanguageModel& lm() const { return *model->impl().model; }
};

}  // namespace internal

Session::Session(std::unique_ptr<internal::SessionImpl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::Create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options) {
  if (!model) return Status(StatusCode::kInvalidArgument, "null model");
  if (options.n_ctx < 0 || options.n_threads < 0 || options.n_batch < 0) {
    return Status(StatusCode::kInvalidArgument, "n_ctx, n_threads and n_batch must be >= 0");
  }
  int32_t n_ctx = options.n_ctx;
  if (n_ctx == 0) n_ctx = std::min<int32_t>(model->info().n_ctx_train, 4096);
  const int32_t n_batch = std::max<int32_t>(1, options.n_batch == 0 ? 512 : options.n_batch);
  if (options.mtp && !model->impl().model->has_mtp()) {
    return Status(StatusCode::kFailedPrecondition,
                  "SessionOptions::mtp: this model has no multi-token prediction module");
  }
  auto state = model->impl().model->NewState(n_ctx, std::min(n_batch, n_ctx));
  if (!state.ok()) return internal::FromAbsl(state.status());
  auto impl =
      std::make_unique<internal::SessionImpl>(model, *std::move(state), options.n_threads, n_batch);
  impl->mtp = options.mtp;
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Status Session::Evaluate(const std::vector<int32_t>& tokens, bool all_logits) {
  // A public call starts a new operation: an earlier Cancel() no longer applies.
  impl_->cancel.store(false, std::memory_order_relaxed);
  return EvaluateContinuing(tokens, all_logits);
}

Status Session::EvaluateContinuing(const std::vector<int32_t>& tokens, bool all_logits) {
  internal::SessionImpl& s = *impl_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return Status();
  const int64_t pos = static_cast<int64_t>(s.tokens.size());
  if (pos + n > s.state->n_ctx()) {
    return Status(StatusCode::kContextFull,
                  absl::StrFormat("context full: %d cached + %d new tokens exceed n_ctx %d", pos, n,
                                  s.state->n_ctx()));
  }
  const int32_t n_vocab = s.lm().n_vocab();
  s.logits.resize(static_cast<size_t>(all_logits ? n : 1) * n_vocab);
  s.n_logits = 0;
  s.n_mtp_logits = 0;
  if (s.mtp) s.mtp_logits.resize(static_cast<size_t>(n) * n_vocab);
  const int64_t batch = s.state->max_batch();
  for (int64_t b = 0; b < n; b += batch) {
    const int64_t len = std::min(batch, n - b);
    const bool last = b + len == n;
    // Logits of a non-final batch are only needed with all_logits.
    float* out = all_logits ? &s.logits[b * n_vocab] : s.logits.data();
    const internal::LogitsMode mode = all_logits ? internal::LogitsMode::kAll
                                      : last     ? internal::LogitsMode::kLast
                                                 : internal::LogitsMode::kNone;
    absl::Status st = s.lm().Forward(*s.state, absl::MakeConstSpan(tokens.data() + b, len), pos + b,
                                     mode, out, s.pool, &s.cancel);
    if (!st.ok()) return internal::FromAbsl(st);
    s.tokens.insert(s.tokens.end(), tokens.begin() + b, tokens.begin() + b + len);
    if (s.mtp) {
      // MTP rows for every position whose next token is now known.
      const int64_t first = s.mtp_next, last = pos + b + len - 2;
      if (last >= first) {
        if (s.n_mtp_logits == 0) s.mtp_first = static_cast<int32_t>(first);
        st = s.lm().ForwardMtp(
            *s.state, absl::MakeConstSpan(s.tokens.data() + first + 1, last - first + 1), first,
            &s.mtp_logits[static_cast<size_t>(s.n_mtp_logits) * n_vocab], s.pool, &s.cancel);
        if (!st.ok()) return internal::FromAbsl(st);
        s.n_mtp_logits += static_cast<int32_t>(last - first + 1);
        s.mtp_next = last + 1;
      }
    }
  }
  s.n_logits = static_cast<int32_t>(all_logits ? n : 1);
  return Status();
}

const float* Session::logits(int32_t i) const {
  const internal::SessionImpl& s = *impl_;
  if (i < 0) i = s.n_logits - 1;
  if (i < 0 || i >= s.n_logits) return nullptr;
  return &s.logits[static_cast<size_t>(i) * s.lm().n_vocab()];
}

int32_t Session::n_logits() const { return impl_->n_logits; }
int32_t Session::n_mtp_logits() const { return impl_->n_mtp_logits; }
int32_t Session::mtp_first_position() const { return impl_->mtp_first; }
const float* Session::mtp_logits(int32_t i) const {
  const internal::SessionImpl& s = *impl_;
  if (i < 0 || i >= s.n_mtp_logits) return nullptr;
  return &s.mtp_logits[static_cast<size_t>(i) * s.lm().n_vocab()];
}
int32_t Session::n_vocab() const { return impl_->lm().n_vocab(); }
int32_t Session::position() const { return static_cast<int32_t>(impl_->tokens.size()); }
int32_t Session::n_ctx() const { return static_cast<int32_t>(impl_->state->n_ctx()); }
const std::vector<int32_t>& Session::tokens() const { return impl_->tokens; }
const Model& Session::model() const { return *impl_->model; }
void Session::Cancel() { impl_->cancel.store(true, std::memory_order_relaxed); }

Status Session::Truncate(int32_t n) {
  internal::SessionImpl& s = *impl_;
  if (n < 0 || n > position()) {
    return Status(StatusCode::kOutOfRange,
                  absl::StrFormat("cannot truncate to %d: session holds %d tokens", n, position()));
  }
  s.n_logits = 0;
  s.n_mtp_logits = 0;
  if (!s.mtp || n == 0 || n == position()) {
    s.tokens.resize(n);  // cache entries past n are simply overwritten later
    s.mtp_next = std::min<int64_t>(s.mtp_next, std::max(n - 1, 0));
    return Status();
  }
  // The MTP module needs the main model's hidden state at n - 1, which only a forward pass of
  // that token gives back: rewind one further and evaluate it again.
  const int32_t last = s.tokens[n - 1];
  s.tokens.resize(n - 1);
  s.mtp_next = std::min<int64_t>(s.mtp_next, n - 1);
  return EvaluateContinuing({last}, false);
}

Result<GenerateResult> Session::Generate(const std::vector<int32_t>& prompt,
                                         const GenerateOptions& options) {
  internal::SessionImpl& s = *impl_;
  GenerateResult result;
  if (options.max_tokens < 0) return Status(StatusCode::kInvalidArgument, "max_tokens < 0");
  s.cancel.store(false, std::memory_order_relaxed);
  Status st = EvaluateContinuing(prompt, false);
  if (st.code() == StatusCode::kCancelled) {
    result.stop_reason = GenerateResult::StopReason::kCancelled;
    return result;
  }
  if (!st.ok()) return st;
  if (n_logits() == 0) {
    return Status(StatusCode::kFailedPrecondition,
                  "nothing to generate from: empty prompt and no previous evaluation");
  }
  const Tokenizer& tok = s.model->tokenizer();
  Sampler sampler(options.sampler);
  StreamingDecoder decoder(tok);
  for (int32_t i = 0; i < options.max_tokens; ++i) {
    if (s.cancel.load(std::memory_order_relaxed)) {
      result.stop_reason = GenerateResult::StopReason::kCancelled;
      break;
    }
    const int32_t token = sampler.Sample(logits(-1), n_vocab());
    if (options.stop_at_eos && tok.IsEndOfGeneration(token)) {
      result.stop_reason = GenerateResult::StopReason::kEndOfGeneration;
      break;
    }
    result.tokens.push_back(token);
    std::string piece;
    if (tok.has_text()) {
      auto p = decoder.Push(token);
      if (!p.ok()) return p.status();
      piece = std::move(p).value();
      result.text += piece;
    }
    if (options.on_token && !options.on_token(token, piece)) {
      result.stop_reason = GenerateResult::StopReason::kCallback;
      break;
    }
    if (i + 1 == options.max_tokens) break;
    if (position() >= n_ctx()) {
      result.stop_reason = GenerateResult::StopReason::kContextFull;
      break;
    }
    st = EvaluateContinuing({token}, false);
    if (st.code() == StatusCode::kCancelled) {
      result.stop_reason = GenerateResult::StopReason::kCancelled;
      break;
    }
    if (!st.ok()) return st;
  }
  const std::string tail = decoder.Flush();
  if (!tail.empty()) {
    result.text += tail;
    if (options.on_token) options.on_token(-1, tail);
  }
  return result;
}

}  // namespace fathom
