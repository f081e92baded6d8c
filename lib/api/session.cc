// fathom::Session: KV cache state, batched evaluation, prefix reuse, context shift, generation
// with stop strings, cancellation, and saving/restoring the state (runtime/session_state.h).
#include "fathom/session.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/strings/str_format.h"
#include "api/model_impl.h"
#include "api/session_impl.h"
#include "api/speculative_decoder.h"
#include "format/mapped_file.h"
#include "runtime/session_state.h"
#include "runtime/thread_pool.h"
#include "sampling/stop_strings.h"
#include "tokenizer/reasoning_splitter.h"

namespace fathom {
namespace internal {

namespace {

// Hash of what makes two models interchangeable for a saved cache: architecture, dimensions,
// and per tensor its name, shape, type and the first and last 64 bytes of its data (a sample
// that changes with any re-quantization or fine-tune, without reading whole weights).
uint64_t ComputeFingerprint(const ModelImpl& m) {
  uint64_t h = kFnvOffset;
  auto mix_bytes = [&h](const void* p, size_t n) { h = Fnv1a64(p, n, h); };
  auto mix_str = [&](const std::string& s) { mix_bytes(s.data(), s.size() + 1); };
  auto mix_int = [&](int64_t v) { mix_bytes(&v, sizeof(v)); };
  auto mix_sample = [&](const uint8_t* data, uint64_t n) {
    constexpr uint64_t kSample = 64;
    mix_bytes(data, std::min(n, kSample));
    if (n > kSample) mix_bytes(data + n - kSample, kSample);
  };
  const ModelInfo& i = m.info;
  mix_str(i.architecture);
  for (int64_t v :
       {int64_t{i.n_vocab}, int64_t{i.n_ctx_train}, int64_t{i.n_embd}, int64_t{i.n_layer},
        int64_t{i.n_head}, int64_t{i.n_head_kv}, i.kv_bytes_per_token, i.n_params}) {
    mix_int(v);
  }
  if (m.gguf != nullptr) {
    const uint8_t* base = m.gguf->file()->data() + m.gguf->data_offset();
    for (const GgufTensorInfo& t : m.gguf->tensor_infos()) {
      mix_str(t.name);
      for (int64_t d : t.dims) mix_int(d);
      mix_int(static_cast<int64_t>(t.type));
      mix_sample(base + t.offset, t.n_bytes);
    }
  } else if (m.hf != nullptr) {
    for (const std::string& name : m.hf->TensorNames()) {
      const SafetensorsTensor* t = m.hf->Find(name);
      mix_str(name);
      for (int64_t d : t->shape) mix_int(d);
      mix_str(t->dtype_name);
      mix_sample(t->data, t->n_bytes);
    }
  }
  return h;
}

std::vector<std::pair<std::string, int64_t>> ModelDims(const ModelInfo& i) {
  return {{"n_vocab", i.n_vocab},
          {"n_embd", i.n_embd},
          {"n_layer", i.n_layer},
          {"n_head", i.n_head},
          {"n_head_kv", i.n_head_kv},
          {"n_ctx_train", i.n_ctx_train},
          {"kv_bytes_per_token", i.kv_bytes_per_token}};
}

// Whether the text of the session's last tokens ends with `open_tag` (trailing whitespace aside):
// the prompt opened a reasoning block that generation continues.
bool PromptOpensReasoning(const Tokenizer& tok, const std::vector<int32_t>& tokens,
                          const std::string& open_tag) {
  if (open_tag.empty() || tokens.empty()) return false;
  // Every token but a control token stands for at least one byte; the margin covers those.
  const size_t n = std::min(tokens.size(), open_tag.size() + 16);
  auto text = tok.Decode(std::vector<int32_t>(tokens.end() - n, tokens.end()));
  if (!text.ok()) return false;
  std::string_view t = *text;
  while (!t.empty() &&
         (t.back() == ' ' || t.back() == '\n' || t.back() == '\r' || t.back() == '\t')) {
    t.remove_suffix(1);
  }
  return t.size() >= open_tag.size() && t.substr(t.size() - open_tag.size()) == open_tag;
}

}  // namespace

// Drops cached positions [keep, keep + n_discard) and moves the later ones down, rotating their
// keys back by n_discard positions (RoPE rotations compose: R(p - d) = R(-d) R(p)).
Status SessionImpl::ShiftContext(int64_t n_discard) {
  const int64_t n_past = static_cast<int64_t>(tokens.size());
  const int64_t keep = std::min(n_keep, n_past);
  if (n_discard <= 0 || keep + n_discard > n_past) {
    return Status(StatusCode::kContextFull,
                  absl::StrFormat("context full: cannot drop %d of %d tokens while keeping %d",
                                  n_discard, n_past, keep));
  }
  const int64_t n_move = n_past - keep - n_discard;
  std::vector<float> cos, sin;
  for (const CacheSlab& slab : state->CacheSlabs()) {
    float* dst = slab.data + keep * slab.row_floats;
    const float* src = slab.data + (keep + n_discard) * slab.row_floats;
    std::memmove(dst, src, static_cast<size_t>(n_move * slab.row_floats) * sizeof(float));
    if (slab.rope == nullptr) continue;
    const int half = slab.rope->n_rot() / 2;
    cos.resize(half);
    sin.resize(half);
    slab.rope->Angles(n_discard, cos.data(), sin.data());
    for (float& v : sin) v = -v;
    for (int64_t r = 0; r < n_move; ++r) {
      slab.rope->Apply(dst + r * slab.row_floats, slab.rope_heads, slab.rope_stride, cos.data(),
                       sin.data());
    }
  }
  tokens.erase(tokens.begin() + keep, tokens.begin() + keep + n_discard);
  state->OnCacheRewritten();
  n_shifted += n_discard;
  return Status();
}

}  // namespace internal

Session::Session(std::unique_ptr<internal::SessionImpl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::Create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options) {
  if (!model) return Status(StatusCode::kInvalidArgument, "null model");
  if (options.n_ctx < 0 || options.n_threads < 0 || options.n_batch < 0 || options.n_keep < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "n_ctx, n_threads, n_batch and n_keep must be >= 0");
  }
  int32_t n_ctx = options.n_ctx;
  if (n_ctx == 0) n_ctx = std::min<int32_t>(model->info().n_ctx_train, 4096);
  const int32_t n_batch = std::max<int32_t>(1, options.n_batch == 0 ? 512 : options.n_batch);
  if (options.mtp && !model->impl().model->has_mtp()) {
    return Status(StatusCode::kFailedPrecondition,
                  "SessionOptions::mtp: this model has no multi-token prediction module");
  }
  if (options.context_overflow == ContextOverflow::kShift) {
    if (options.mtp) {
      return Status(StatusCode::kInvalidArgument,
                    "ContextOverflow::kShift is not available together with mtp");
    }
    if (options.n_keep >= n_ctx) {
      return Status(StatusCode::kInvalidArgument,
                    absl::StrFormat("n_keep %d must be below n_ctx %d", options.n_keep, n_ctx));
    }
  } else if (options.context_overflow != ContextOverflow::kError) {
    return Status(StatusCode::kInvalidArgument, "unknown context_overflow policy");
  }
  auto state = model->impl().model->NewState(n_ctx, std::min(n_batch, n_ctx));
  if (!state.ok()) return internal::FromAbsl(state.status());
  auto impl =
      std::make_unique<internal::SessionImpl>(model, *std::move(state), options.n_threads, n_batch);
  impl->mtp = options.mtp;
  impl->overflow = options.context_overflow;
  impl->n_keep = options.n_keep;
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
  const int64_t n_ctx = s.state->n_ctx();
  const bool shift = s.overflow == ContextOverflow::kShift;
  if (!shift && static_cast<int64_t>(s.tokens.size()) + n > n_ctx) {
    return Status(StatusCode::kContextFull,
                  absl::StrFormat("context full: %d cached + %d new tokens exceed n_ctx %d",
                                  s.tokens.size(), n, n_ctx));
  }
  const int32_t n_vocab = s.lm().n_vocab();
  s.logits.resize(static_cast<size_t>(all_logits ? n : 1) * n_vocab);
  s.n_logits = 0;
  s.n_mtp_logits = 0;
  if (s.mtp) s.mtp_logits.resize(static_cast<size_t>(n) * n_vocab);
  // With a context shift, a batch never needs more room than what n_keep leaves.
  const int64_t batch = shift
                            ? std::min(s.state->max_batch(), n_ctx - std::min(s.n_keep, n_ctx - 1))
                            : s.state->max_batch();
  for (int64_t b = 0; b < n; b += batch) {
    const int64_t len = std::min(batch, n - b);
    const bool last = b + len == n;
    int64_t pos = static_cast<int64_t>(s.tokens.size());
    if (pos + len > n_ctx) {
      // Only with kShift: drop half of what follows the kept tokens, or more if the batch needs.
      const int64_t n_left = pos - std::min(s.n_keep, pos);
      const Status st = s.ShiftContext(std::max(n_left / 2, pos + len - n_ctx));
      if (!st.ok()) return st;
      pos = static_cast<int64_t>(s.tokens.size());
    }
    // Logits of a non-final batch are only needed with all_logits.
    float* out = all_logits ? &s.logits[b * n_vocab] : s.logits.data();
    const internal::LogitsMode mode = all_logits ? internal::LogitsMode::kAll
                                      : last     ? internal::LogitsMode::kLast
                                                 : internal::LogitsMode::kNone;
    absl::Status st = s.lm().Forward(*s.state, absl::MakeConstSpan(tokens.data() + b, len), pos,
                                     mode, out, s.pool, &s.cancel);
    if (!st.ok()) return internal::FromAbsl(st);
    s.n_evaluated += len;
    s.tokens.insert(s.tokens.end(), tokens.begin() + b, tokens.begin() + b + len);
    if (s.mtp) {
      // MTP rows for every position whose next token is now known.
      const int64_t first = s.mtp_next, last_row = pos + len - 2;
      if (last_row >= first) {
        if (s.n_mtp_logits == 0) s.mtp_first = static_cast<int32_t>(first);
        st = s.lm().ForwardMtp(
            *s.state, absl::MakeConstSpan(s.tokens.data() + first + 1, last_row - first + 1), first,
            &s.mtp_logits[static_cast<size_t>(s.n_mtp_logits) * n_vocab], s.pool, &s.cancel);
        if (!st.ok()) return internal::FromAbsl(st);
        s.n_mtp_logits += static_cast<int32_t>(last_row - first + 1);
        s.mtp_next = last_row + 1;
      }
    }
  }
  s.n_logits = static_cast<int32_t>(all_logits ? n : 1);
  return Status();
}

Status Session::EvaluateReusingPrefix(const std::vector<int32_t>& tokens) {
  internal::SessionImpl& s = *impl_;
  if (tokens.empty()) {
    return Status(StatusCode::kInvalidArgument, "EvaluateReusingPrefix: no tokens");
  }
  s.cancel.store(false, std::memory_order_relaxed);
  const size_t limit = std::min(s.tokens.size(), tokens.size() - 1);
  size_t common = 0;
  while (common < limit && s.tokens[common] == tokens[common]) ++common;
  if (common < s.tokens.size()) {
    const Status st = Truncate(static_cast<int32_t>(common));
    if (!st.ok()) return st;
    common = s.tokens.size();  // Truncate with MTP may have re-evaluated up to `common`
  }
  return EvaluateContinuing(std::vector<int32_t>(tokens.begin() + common, tokens.end()), false);
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
int64_t Session::n_evaluated() const { return impl_->n_evaluated; }
int64_t Session::n_shifted() const { return impl_->n_shifted; }
std::optional<uint64_t> Session::sampler_seed() const {
  if (!impl_->sampler_live) return std::nullopt;
  return impl_->sampler.options().seed;
}
int64_t Session::kv_cache_bytes() const { return impl_->state->cache_bytes(); }
int64_t Session::memory_bytes() const {
  const internal::SessionImpl& s = *impl_;
  return s.state->bytes() +
         static_cast<int64_t>((s.logits.capacity() + s.mtp_logits.capacity()) * sizeof(float) +
                              s.tokens.capacity() * sizeof(int32_t));
}

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
  const bool split_reasoning = options.reasoning != ReasoningMode::kNone;
  if (split_reasoning) {
    if (options.reasoning != ReasoningMode::kSplit &&
        options.reasoning != ReasoningMode::kSplitStartInside) {
      return Status(StatusCode::kInvalidArgument, "unknown reasoning mode");
    }
    if (options.reasoning_open_tag.empty() || options.reasoning_close_tag.empty()) {
      return Status(StatusCode::kInvalidArgument, "the reasoning tags must not be empty");
    }
  }
  if (options.speculative != Speculative::kNone) {
    if (Status c = internal::SpeculativeDecoder::Check(s, options); !c.ok()) return c;
  }
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
  // The session's sampler: same seed continues its RNG, another seed starts a new one.
  if (!s.sampler_live || s.sampler.options().seed != options.sampler.seed) {
    s.sampler = Sampler(options.sampler);
    s.sampler_live = true;
  } else {
    s.sampler.SetOptions(options.sampler);
  }
  Sampler& sampler = s.sampler;
  sampler.ClearHistory();
  const int32_t window = options.sampler.penalty_last_n;
  if (window != 0) {
    const size_t n_hist =
        window < 0 ? s.tokens.size() : std::min(s.tokens.size(), static_cast<size_t>(window));
    for (size_t i = s.tokens.size() - n_hist; i < s.tokens.size(); ++i) sampler.Accept(s.tokens[i]);
  }
  StreamingDecoder decoder(tok);
  internal::StopStringMatcher stops(options.stop);
  ReasoningSplitter::Options split_options;
  split_options.open_tag = options.reasoning_open_tag;
  split_options.close_tag = options.reasoning_close_tag;
  split_options.start_in_reasoning =
      options.reasoning == ReasoningMode::kSplitStartInside ||
      (options.reasoning == ReasoningMode::kSplit &&
       internal::PromptOpensReasoning(tok, s.tokens, options.reasoning_open_tag));
  ReasoningSplitter splitter(split_options);
  // Delivers text that the stop-string matcher let through: split into reasoning and answer when
  // asked, in the order the text came. Returns false when a callback asks to stop.
  auto deliver = [&](int32_t token, const std::string& text) {
    ReasoningPiece piece;
    if (split_reasoning) {
      piece = splitter.Push(text);
      if (token < 0) {
        ReasoningPiece rest = splitter.Flush();
        piece.reasoning += rest.reasoning;
        piece.content += rest.content;
      }
    } else {
      piece.content = text;
    }
    result.text += piece.content;
    result.reasoning += piece.reasoning;
    // Within one piece, answer text precedes reasoning only when an open tag was crossed.
    const bool content_first = split_reasoning && splitter.in_reasoning();
    bool go_on = true;
    auto reasoning_cb = [&] {
      if (!piece.reasoning.empty() && options.on_reasoning) {
        go_on = options.on_reasoning(token, piece.reasoning) && go_on;
      }
    };
    if (!content_first) reasoning_cb();
    if (options.on_token && (token >= 0 || !piece.content.empty())) {
      go_on = options.on_token(token, piece.content) && go_on;
    }
    if (content_first) reasoning_cb();
    return go_on;
  };
  std::optional<internal::SpeculativeDecoder> spec;  // tokens come from it when set
  if (options.speculative != Speculative::kNone) spec.emplace(s, options);
  bool last_evaluated = true;  // whether the last token of result.tokens is in the cache
  for (int32_t i = 0; i < options.max_tokens; ++i) {
    if (s.cancel.load(std::memory_order_relaxed)) {
      result.stop_reason = GenerateResult::StopReason::kCancelled;
      break;
    }
    const int32_t token = spec ? spec->Next() : sampler.Sample(logits(-1), n_vocab());
    if (options.stop_at_eos && tok.IsEndOfGeneration(token)) {
      result.stop_reason = GenerateResult::StopReason::kEndOfGeneration;
      break;
    }
    sampler.Accept(token);
    result.tokens.push_back(token);
    last_evaluated = false;
    std::string piece;
    if (tok.has_text()) {
      auto p = decoder.Push(token);
      if (!p.ok()) return p.status();
      piece = stops.Push(*p, &result.stop_string);
    }
    const bool callback_stop = !deliver(token, piece);
    if (stops.stopped()) {
      result.stop_reason = GenerateResult::StopReason::kStopString;
      break;
    }
    if (callback_stop) {
      result.stop_reason = GenerateResult::StopReason::kCallback;
      break;
    }
    if (i + 1 == options.max_tokens) break;
    if (s.overflow == ContextOverflow::kError &&
        (spec ? spec->last_position() : position()) >= n_ctx()) {
      result.stop_reason = GenerateResult::StopReason::kContextFull;
      break;
    }
    st = spec ? spec->Advance(options.max_tokens - i - 1) : EvaluateContinuing({token}, false);
    if (st.code() == StatusCode::kCancelled) {
      result.stop_reason = GenerateResult::StopReason::kCancelled;
      break;
    }
    if (!st.ok()) return st;
    last_evaluated = true;
  }
  if (spec) {
    if (st = spec->Finish(last_evaluated); !st.ok()) return st;
    result.speculative = spec->stats();
  }
  if (!stops.stopped()) {
    std::string tail = stops.Push(decoder.Flush(), &result.stop_string);
    if (stops.stopped()) {
      result.stop_reason = GenerateResult::StopReason::kStopString;
    } else {
      tail += stops.Flush();
    }
    (void)deliver(-1, tail);  // the generation is over: a request to stop changes nothing
  } else if (split_reasoning) {
    (void)deliver(-1, "");  // text the splitter still holds (a partial tag)
  }
  using R = GenerateResult::StopReason;
  if (options.evaluate_last && !last_evaluated &&
      (result.stop_reason == R::kMaxTokens || result.stop_reason == R::kStopString ||
       result.stop_reason == R::kCallback) &&
      (s.overflow == ContextOverflow::kShift || position() < n_ctx())) {
    st = EvaluateContinuing({result.tokens.back()}, false);
    if (st.code() == StatusCode::kCancelled) {
      result.stop_reason = R::kCancelled;
    } else if (!st.ok()) {
      return st;
    }
  }
  return result;
}

// ---- session state ----------------------------------------------------------------------------

Result<std::string> Session::SaveState() const {
  std::string out;
  const Status st = SaveStateToSink([&out](const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
    return true;
  });
  if (!st.ok()) return st;
  return out;
}

Status Session::SaveStateToFile(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return Status(StatusCode::kUnavailable,
                  absl::StrFormat("cannot create '%s': %s", tmp, std::strerror(errno)));
  }
  Status st =
      SaveStateToSink([f](const void* p, size_t n) { return std::fwrite(p, 1, n, f) == n; });
  const bool closed = std::fclose(f) == 0;
  if (st.ok() && !closed) {
    st = Status(StatusCode::kUnavailable, absl::StrFormat("cannot write '%s'", tmp));
  }
  if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status(StatusCode::kUnavailable,
                absl::StrFormat("cannot rename '%s' to '%s': %s", tmp, path, std::strerror(errno)));
  }
  if (!st.ok()) std::remove(tmp.c_str());
  return st;
}

Status Session::SaveStateToSink(const std::function<bool(const void*, size_t)>& sink) const {
  internal::SessionImpl& s = *impl_;
  const ModelInfo& info = s.model->info();
  if (!s.fingerprint) s.fingerprint = internal::ComputeFingerprint(s.model->impl());
  internal::state::SessionStateHeader h;
  h.set_model_fingerprint(*s.fingerprint);
  h.set_architecture(info.architecture);
  for (const auto& [name, value] : internal::ModelDims(info)) {
    internal::state::Dim* d = h.add_dims();
    d->set_name(name);
    d->set_value(value);
  }
  h.set_cache_dtype(s.state->cache_dtype());
  const int64_t n = static_cast<int64_t>(s.tokens.size());
  h.set_n_tokens(n);
  h.set_n_ctx(s.state->n_ctx());
  std::string rng;
  if (s.sampler_live) {
    rng = s.sampler.SaveRngState();
    h.set_has_sampler(true);
    h.set_sampler_seed(s.sampler.options().seed);
    h.set_sampler_rng(rng);
  }
  h.set_mtp_next(s.mtp ? s.mtp_next : 0);
  std::vector<internal::StateBlobRef> blobs;
  blobs.push_back({"tokens", "i32", {n}, s.tokens.data(), static_cast<uint64_t>(n) * 4});
  if (s.n_logits > 0) {
    const int64_t v = s.lm().n_vocab();
    blobs.push_back({"logits", "f32", {v}, logits(-1), static_cast<uint64_t>(v) * 4});
  }
  for (const internal::CacheSlab& slab : s.state->CacheSlabs()) {
    blobs.push_back({slab.name,
                     "f32",
                     {n, slab.row_floats},
                     slab.data,
                     static_cast<uint64_t>(n * slab.row_floats) * 4});
  }
  const absl::Status st =
      internal::WriteSessionState(std::move(h), blobs, [&sink](const void* p, size_t size) {
        return sink(p, size) ? absl::OkStatus()
                             : absl::UnavailableError("cannot write the session state");
      });
  return internal::FromAbsl(st);
}

Status Session::LoadStateFromFile(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return internal::FromAbsl(file.status());
  return LoadState(std::string_view(reinterpret_cast<const char*>((*file)->data()),
                                    static_cast<size_t>((*file)->size())));
}

Status Session::LoadState(std::string_view image) {
  internal::SessionImpl& s = *impl_;
  auto parsed = internal::ParseSessionState(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(image.data()), image.size()));
  if (!parsed.ok()) return internal::FromAbsl(parsed.status());
  const internal::state::SessionStateHeader& h = parsed->header;
  const ModelInfo& info = s.model->info();
  auto mismatch = [](const std::string& what) {
    return Status(StatusCode::kFailedPrecondition,
                  "session state belongs to a different model: " + what);
  };
  if (h.architecture() != info.architecture) {
    return mismatch(absl::StrFormat("architecture '%s', this model is '%s'", h.architecture(),
                                    info.architecture));
  }
  const auto dims = internal::ModelDims(info);
  if (h.dims_size() != static_cast<int>(dims.size())) return mismatch("different dimensions");
  for (size_t i = 0; i < dims.size(); ++i) {
    if (h.dims(i).name() != dims[i].first || h.dims(i).value() != dims[i].second) {
      return mismatch(absl::StrFormat("%s = %d, this model has %d", h.dims(i).name(),
                                      h.dims(i).value(), dims[i].second));
    }
  }
  if (!s.fingerprint) s.fingerprint = internal::ComputeFingerprint(s.model->impl());
  if (h.model_fingerprint() != *s.fingerprint) {
    return mismatch(absl::StrFormat("fingerprint %016x, this model's is %016x",
                                    h.model_fingerprint(), *s.fingerprint));
  }
  if (h.cache_dtype() != s.state->cache_dtype()) {
    return Status(StatusCode::kFailedPrecondition,
                  absl::StrFormat("session state cache type '%s', this session uses '%s'",
                                  h.cache_dtype(), s.state->cache_dtype()));
  }
  const int64_t n = h.n_tokens();
  if (n < 0) return Status(StatusCode::kDataLoss, "session state: negative token count");
  if (n > s.state->n_ctx()) {
    return Status(StatusCode::kContextFull,
                  absl::StrFormat("session state holds %d tokens; this session's context is %d", n,
                                  s.state->n_ctx()));
  }
  auto blob = [&](const std::string& name, std::vector<int64_t> shape,
                  const internal::state::Blob** out) {
    const internal::state::Blob* b = parsed->Find(name);
    if (b == nullptr) {
      return Status(StatusCode::kDataLoss, "session state: blob '" + name + "' is missing");
    }
    if (b->dtype() != (name == "tokens" ? "i32" : "f32") ||
        std::vector<int64_t>(b->shape().begin(), b->shape().end()) != shape) {
      return Status(StatusCode::kDataLoss,
                    "session state: blob '" + name + "' has an unexpected type or shape");
    }
    *out = b;
    return Status();
  };
  const internal::state::Blob* tokens_blob = nullptr;
  if (Status st = blob("tokens", {n}, &tokens_blob); !st.ok()) return st;
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  if (n > 0) std::memcpy(tokens.data(), parsed->Data(*tokens_blob), static_cast<size_t>(n) * 4);
  const int32_t n_vocab = s.lm().n_vocab();
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab) {
      return Status(StatusCode::kDataLoss, "session state: a token id is outside the vocabulary");
    }
  }
  const internal::state::Blob* logits_blob = nullptr;
  if (parsed->Find("logits") != nullptr) {
    if (Status st = blob("logits", {n_vocab}, &logits_blob); !st.ok()) return st;
  }
  std::vector<internal::CacheSlab> slabs = s.state->CacheSlabs();
  std::vector<const internal::state::Blob*> slab_blobs(slabs.size());
  for (size_t i = 0; i < slabs.size(); ++i) {
    if (Status st = blob(slabs[i].name, {n, slabs[i].row_floats}, &slab_blobs[i]); !st.ok()) {
      return st;
    }
  }
  Sampler sampler;
  if (h.has_sampler()) {
    SamplerOptions so;
    so.seed = h.sampler_seed();
    sampler = Sampler(so);
    if (!sampler.RestoreRngState(h.sampler_rng())) {
      return Status(StatusCode::kDataLoss, "session state: malformed sampler RNG state");
    }
  }

  // Everything checked: replace the session's state.
  for (size_t i = 0; i < slabs.size(); ++i) {
    std::memcpy(slabs[i].data, parsed->Data(*slab_blobs[i]), slab_blobs[i]->size());
  }
  s.state->OnCacheRewritten();
  s.tokens = std::move(tokens);
  s.n_mtp_logits = 0;
  s.n_logits = 0;
  if (logits_blob != nullptr) {
    s.logits.resize(n_vocab);
    std::memcpy(s.logits.data(), parsed->Data(*logits_blob), logits_blob->size());
    s.n_logits = 1;
  }
  s.sampler_live = h.has_sampler();
  if (s.sampler_live) s.sampler = std::move(sampler);
  if (s.mtp && n > 0) {
    // The MTP module needs hidden states that are not saved: recompute them (and, when the
    // saving session did not run MTP, the MTP cache) by evaluating again.
    s.cancel.store(false, std::memory_order_relaxed);
    std::vector<int32_t> redo;
    if (h.mtp_next() >= n - 1) {
      redo.push_back(s.tokens.back());
      s.mtp_next = n - 1;
    } else {
      redo = s.tokens;
      s.mtp_next = 0;
    }
    s.tokens.resize(n - redo.size());
    return EvaluateContinuing(redo, false);
  }
  s.mtp_next = 0;
  return Status();
}

}  // namespace fathom
