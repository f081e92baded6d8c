// DeepSeekModel: loading (HF or GGUF), the decoder stack over the latent cache, and MTP.
#include "models/deepseek/deepseek_model.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "models/deepseek/deepseek_state.h"
#include "models/deepseek/mla.h"
#include "models/deepseek/moe.h"
#include "models/deepseek/yarn.h"
#include "models/gguf_weights.h"
#include "models/hf_weights.h"
#include "models/weight_layout.h"
#include "runtime/status_macros.h"
#include "tensor/quant.h"

namespace fathom::internal {

DeepSeekState::DeepSeekState(const DeepSeekConfig& c, int64_t n_mtp_layers, int64_t n_ctx,
                             int64_t max_batch)
    : config_(c), n_ctx_(n_ctx), max_batch_(max_batch) {
  const int64_t layers = c.num_hidden_layers + n_mtp_layers;
  const int64_t d = c.hidden_size;
  c_kv.resize(layers * n_ctx * c.kv_lora_rank);
  k_pe.resize(layers * n_ctx * c.qk_rope_head_dim);
  x.resize(max_batch * d);
  xn.resize(max_batch * d);
  tmp.resize(max_batch * d);
  cos.resize(max_batch * c.qk_rope_head_dim / 2);
  sin.resize(max_batch * c.qk_rope_head_dim / 2);
  dense_gate.resize(max_batch * c.intermediate_size);
  dense_up.resize(max_batch * c.intermediate_size);
  mtp_in.resize(max_batch * 2 * d);
  hidden.resize((max_batch + 1) * d);
  mtp_hidden.resize(d);
  mla.Resize(c, max_batch, n_ctx);
  if (c.n_routed_experts > 0) moe.Resize(c, max_batch);
}

int64_t DeepSeekState::bytes() const {
  int64_t n = static_cast<int64_t>((c_kv.size() + k_pe.size()) * sizeof(float)) + mla.bytes();
  for (const auto* v : {&x, &xn, &tmp, &cos, &sin, &dense_gate, &dense_up, &mtp_in, &hidden,
                        &mtp_hidden, &moe.router_logits, &moe.route_weights, &moe.gathered,
                        &moe.gate, &moe.up, &moe.expert_out}) {
    n += static_cast<int64_t>(v->size() * sizeof(float));
  }
  return n;
}

void DeepSeekState::OnTruncate(int64_t n) {
  // Hidden rows at positions >= n belong to dropped tokens; an MTP row at p used token p + 1.
  if (hidden_first_pos + hidden_rows > n) hidden_rows = std::max<int64_t>(0, n - hidden_first_pos);
  if (mtp_hidden_pos >= n - 1) mtp_hidden_pos = -1;
}

MlaCache DeepSeekState::LayerCache(int64_t layer) {
  return {&c_kv[layer * n_ctx_ * config_.kv_lora_rank],
          &k_pe[layer * n_ctx_ * config_.qk_rope_head_dim]};
}

std::vector<CacheSlab> DeepSeekState::CacheSlabs() {
  const int64_t lora = config_.kv_lora_rank, dr = config_.qk_rope_head_dim;
  const int64_t layers = static_cast<int64_t>(c_kv.size()) / (n_ctx_ * lora);
  std::vector<CacheSlab> slabs;
  slabs.reserve(2 * layers);
  for (int64_t l = 0; l < layers; ++l) {
    const MlaCache c = LayerCache(l);
    slabs.push_back({absl::StrFormat("blk.%d.c_kv", l), c.c_kv, lora});
    slabs.push_back({absl::StrFormat("blk.%d.k_pe", l), c.k_pe, dr, rope, 1, static_cast<int>(dr)});
  }
  return slabs;
}

namespace {

// One decoder block over n tokens: x += attn(norm(x)); x += ffn(norm(x)).
void RunBlock(const DeepSeekConfig& c, const BlockWeights& b, const RopeTable& rope,
              float softmax_scale, int64_t n, int64_t pos0, MlaCache cache, DeepSeekState& st,
              ThreadPool& pool, int32_t* trace_ids, float* trace_weights) {
  const int64_t d = c.hidden_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  for (int64_t t = 0; t < n; ++t) RmsNorm(&st.x[t * d], b.attn_norm, d, eps, &st.xn[t * d]);
  MlaForward(c, b.attn, rope, softmax_scale, st.xn.data(), n, pos0, st.cos.data(), st.sin.data(),
             cache, st.tmp.data(), st.mla, pool);
  st.latent_attention_tokens += n;
  for (int64_t i = 0; i < n * d; ++i) st.x[i] += st.tmp[i];
  for (int64_t t = 0; t < n; ++t) RmsNorm(&st.x[t * d], b.ffn_norm, d, eps, &st.xn[t * d]);
  if (b.is_moe) {
    MoeForward(c, b.moe, st.xn.data(), n, st.tmp.data(), st.moe, pool, trace_ids, trace_weights);
  } else {
    MlpForward(b.dense, st.xn.data(), n, st.tmp.data(), st.dense_gate.data(), st.dense_up.data(),
               pool);
  }
  for (int64_t i = 0; i < n * d; ++i) st.x[i] += st.tmp[i];
}

absl::Status CheckTokens(absl::Span<const int32_t> tokens, int64_t n_vocab) {
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab) {
      return absl::InvalidArgumentError(
          absl::StrFormat("token id %d is outside the vocabulary [0, %d)", t, n_vocab));
    }
  }
  return absl::OkStatus();
}

}  // namespace

DeepSeekModel::DeepSeekModel(DeepSeekConfig config, std::unique_ptr<WeightSource> source)
    : config_(std::move(config)), source_(std::move(source)) {}

absl::StatusOr<std::unique_ptr<DeepSeekModel>> DeepSeekModel::LoadHf(const HfCheckpoint& ckpt,
                                                                     ModelInfo* info) {
  FATHOM_ASSIGN_OR_RETURN(DeepSeekConfig config, DeepSeekConfig::FromHfConfig(ckpt.config()));
  std::unique_ptr<DeepSeekModel> m(
      new DeepSeekModel(std::move(config), std::make_unique<HfWeights>(ckpt)));
  FATHOM_RETURN_IF_ERROR(LoadDeepSeekHfWeights(m->config_, *m->source_, &m->weights_));
  FATHOM_RETURN_IF_ERROR(m->Finish(info));
  return m;
}

namespace {

// The matrices read only by MatMul: all but the embedding tables and the per-head MLA
// absorption matrices (uk, uv: rows of kv_b read by the serial per-head products).
void AddBlockWeights(BlockWeights& b, std::vector<WeightMatrix*>* out) {
  MlaWeights& a = b.attn;
  for (WeightMatrix* w : {&a.q_a, &a.q_b, &a.q, &a.kv_a, &a.o}) out->push_back(w);
  auto add_mlp = [&](MlpWeights& m) {
    for (WeightMatrix* w : {&m.gate, &m.up, &m.down}) out->push_back(w);
  };
  add_mlp(b.dense);
  out->push_back(&b.moe.router);
  for (MlpWeights& e : b.moe.experts) add_mlp(e);
  add_mlp(b.moe.shared);
}

std::vector<WeightMatrix*> MatMulOnlyWeights(DeepSeekWeights& w) {
  std::vector<WeightMatrix*> out = {&w.lm_head};
  for (BlockWeights& b : w.blocks) AddBlockWeights(b, &out);
  for (MtpWeights& m : w.mtp) {
    out.push_back(&m.eh_proj);
    out.push_back(&m.head);
    AddBlockWeights(m.block, &out);
  }
  return out;
}

std::vector<const uint8_t*> EmbeddingTables(const DeepSeekWeights& w) {
  std::vector<const uint8_t*> out = {w.embed.data};
  for (const MtpWeights& m : w.mtp) out.push_back(m.embed.data);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DeepSeekModel>> DeepSeekModel::LoadGguf(const GgufFile& gguf,
                                                                       ModelInfo* info) {
  FATHOM_ASSIGN_OR_RETURN(DeepSeekConfig config, DeepSeekConfig::FromGguf(gguf));
  std::unique_ptr<DeepSeekModel> m(
      new DeepSeekModel(std::move(config), std::make_unique<GgufWeights>(gguf)));
  FATHOM_RETURN_IF_ERROR(LoadDeepSeekGgufWeights(m->config_, *m->source_, &m->weights_));
  (void)InterleaveForDecode(*gguf.file(), MatMulOnlyWeights(m->weights_),
                            EmbeddingTables(m->weights_));
  FATHOM_RETURN_IF_ERROR(m->Finish(info));
  return m;
}

absl::Status DeepSeekModel::Finish(ModelInfo* info) {
  const DeepSeekConfig& c = config_;
  rope_ = std::make_unique<RopeTable>(DeepSeekRopeInvFreq(c), RopeLayout::kAdjacentPairs);
  softmax_scale_ = static_cast<float>(DeepSeekSoftmaxScale(c));
  info->architecture = c.model_type;
  info->n_params = source_->n_params();
  info->n_vocab = static_cast<int32_t>(c.vocab_size);
  info->n_ctx_train = static_cast<int32_t>(c.max_position_embeddings);
  info->n_embd = static_cast<int32_t>(c.hidden_size);
  info->n_layer = static_cast<int32_t>(c.num_hidden_layers);
  info->n_head = static_cast<int32_t>(c.num_attention_heads);
  info->n_head_kv = 1;  // one shared latent per token
  info->kv_bytes_per_token = (c.kv_lora_rank + c.qk_rope_head_dim) * c.num_hidden_layers *
                             static_cast<int64_t>(sizeof(float));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ForwardState>> DeepSeekModel::NewState(int64_t n_ctx,
                                                                      int64_t max_batch) const {
  if (n_ctx <= 0 || max_batch <= 0) {
    return absl::InvalidArgumentError("context size and batch size must be positive");
  }
  const int64_t layers = config_.num_hidden_layers + static_cast<int64_t>(weights_.mtp.size());
  const long double bytes = static_cast<long double>(n_ctx) * layers *
                            (config_.kv_lora_rank + config_.qk_rope_head_dim) * sizeof(float);
  if (bytes > static_cast<long double>(int64_t{1} << 40)) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("a latent cache of %d tokens would need %.0Lf bytes", n_ctx, bytes));
  }
  auto state = std::make_unique<DeepSeekState>(config_, static_cast<int64_t>(weights_.mtp.size()),
                                               n_ctx, std::min(max_batch, n_ctx));
  state->rope = rope_.get();
  return state;
}

absl::Status DeepSeekModel::Forward(ForwardState& state_base, absl::Span<const int32_t> tokens,
                                    int64_t pos0, LogitsMode mode, float* logits, ThreadPool& pool,
                                    const std::atomic<bool>* cancel) const {
  auto& st = static_cast<DeepSeekState&>(state_base);
  const DeepSeekConfig& c = config_;
  const int64_t n = static_cast<int64_t>(tokens.size()), d = c.hidden_size;
  if (n == 0) return absl::OkStatus();
  if (n > st.max_batch() || pos0 < 0 || pos0 + n > st.n_ctx()) {
    return absl::InternalError("forward batch exceeds the session's buffers");
  }
  FATHOM_RETURN_IF_ERROR(CheckTokens(tokens, c.vocab_size));
  const int64_t half = c.qk_rope_head_dim / 2;
  for (int64_t t = 0; t < n; ++t) {
    DequantizeRow(weights_.embed, tokens[t], &st.x[t * d]);
    rope_->Angles(pos0 + t, &st.cos[t * half], &st.sin[t * half]);
  }
  if (st.trace_routing) {
    st.trace_ids.assign(c.num_hidden_layers, {});
    st.trace_weights.assign(c.num_hidden_layers, {});
  }
  const int64_t k = c.num_experts_per_tok;
  for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return absl::CancelledError("cancelled");
    }
    int32_t* tid = nullptr;
    float* tw = nullptr;
    if (st.trace_routing && weights_.blocks[il].is_moe) {
      st.trace_ids[il].resize(n * k);
      st.trace_weights[il].resize(n * k);
      tid = st.trace_ids[il].data();
      tw = st.trace_weights[il].data();
    }
    RunBlock(c, weights_.blocks[il], *rope_, softmax_scale_, n, pos0, st.LayerCache(il), st, pool,
             tid, tw);
  }
  // Final hidden states, kept for MTP: the row just before this batch stays if it is there.
  if (st.hidden_rows > 0 && st.hidden_first_pos + st.hidden_rows == pos0) {
    std::memmove(st.hidden.data(), &st.hidden[(st.hidden_rows - 1) * d], d * sizeof(float));
    st.hidden_first_pos = pos0 - 1;
    st.hidden_rows = 1;
  } else {
    st.hidden_first_pos = pos0;
    st.hidden_rows = 0;
  }
  float* hid = &st.hidden[st.hidden_rows * d];
  const float eps = static_cast<float>(c.rms_norm_eps);
  for (int64_t t = 0; t < n; ++t) RmsNorm(&st.x[t * d], weights_.norm, d, eps, &hid[t * d]);
  st.hidden_rows += n;
  if (mode == LogitsMode::kNone) return absl::OkStatus();
  const int64_t first = mode == LogitsMode::kAll ? 0 : n - 1;
  MatMul(weights_.lm_head, &hid[first * d], n - first, logits, pool);
  return absl::OkStatus();
}

absl::Status DeepSeekModel::ForwardMtp(ForwardState& state_base,
                                       absl::Span<const int32_t> next_tokens, int64_t pos0,
                                       float* logits, ThreadPool& pool,
                                       const std::atomic<bool>* cancel) const {
  if (weights_.mtp.empty())
    return LanguageModel::ForwardMtp(state_base, next_tokens, pos0, logits, pool, cancel);
  auto& st = static_cast<DeepSeekState&>(state_base);
  const int64_t n = static_cast<int64_t>(next_tokens.size());
  if (n == 0) return absl::OkStatus();
  if (n > st.max_batch() || pos0 < 0 || pos0 + n > st.n_ctx()) {
    return absl::InternalError("MTP batch exceeds the session's buffers");
  }
  if (pos0 < st.hidden_first_pos || pos0 + n > st.hidden_first_pos + st.hidden_rows) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "MTP rows %d..%d need main-model hidden states that are not kept (kept: %d..%d)", pos0,
        pos0 + n - 1, st.hidden_first_pos, st.hidden_first_pos + st.hidden_rows - 1));
  }
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
    return absl::CancelledError("cancelled");
  }
  FATHOM_RETURN_IF_ERROR(CheckTokens(next_tokens, config_.vocab_size));
  RunMtp(st, next_tokens, pos0, &st.hidden[(pos0 - st.hidden_first_pos) * config_.hidden_size],
         logits, pool);
  return absl::OkStatus();
}

absl::Status DeepSeekModel::ForwardMtpChained(ForwardState& state_base, int32_t next_token,
                                              int64_t pos, float* logits, ThreadPool& pool,
                                              const std::atomic<bool>* cancel) const {
  if (weights_.mtp.empty()) {
    return LanguageModel::ForwardMtpChained(state_base, next_token, pos, logits, pool, cancel);
  }
  auto& st = static_cast<DeepSeekState&>(state_base);
  if (pos <= 0 || pos >= st.n_ctx()) {
    return absl::InternalError("chained MTP position outside the session's context");
  }
  if (st.mtp_hidden_pos != pos - 1) {
    return absl::FailedPreconditionError(
        absl::StrFormat("chained MTP step at %d needs the MTP hidden state of %d (kept: %d)", pos,
                        pos - 1, st.mtp_hidden_pos));
  }
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
    return absl::CancelledError("cancelled");
  }
  const int32_t token[1] = {next_token};
  FATHOM_RETURN_IF_ERROR(CheckTokens(token, config_.vocab_size));
  // RunMtp reads the hidden input before it overwrites mtp_hidden with this row's output.
  RunMtp(st, token, pos, st.mtp_hidden.data(), logits, pool);
  return absl::OkStatus();
}

void DeepSeekModel::RunMtp(DeepSeekState& st, absl::Span<const int32_t> next_tokens, int64_t pos0,
                           const float* h, float* logits, ThreadPool& pool) const {
  const DeepSeekConfig& c = config_;
  const int64_t n = static_cast<int64_t>(next_tokens.size()), d = c.hidden_size;
  const MtpWeights& m = weights_.mtp[0];
  const float eps = static_cast<float>(c.rms_norm_eps);
  const int64_t half = c.qk_rope_head_dim / 2;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = pos0 + i;
    float* e = &st.mtp_in[i * 2 * d];
    // vLLM's convention (the fixture's mtp_logits): the embedding is zeroed at position 0.
    if (p == 0) {
      std::fill(e, e + d, 0.0f);
    } else {
      DequantizeRow(m.embed, next_tokens[i], e);
      RmsNorm(e, m.enorm, d, eps, e);
    }
    RmsNorm(&h[i * d], m.hnorm, d, eps, e + d);
    rope_->Angles(p, &st.cos[i * half], &st.sin[i * half]);
  }
  MatMul(m.eh_proj, st.mtp_in.data(), n, st.x.data(), pool);
  int32_t* tid = nullptr;
  float* tw = nullptr;
  if (st.trace_routing && m.block.is_moe) {
    st.mtp_trace_ids.resize(n * c.num_experts_per_tok);
    st.mtp_trace_weights.resize(n * c.num_experts_per_tok);
    tid = st.mtp_trace_ids.data();
    tw = st.mtp_trace_weights.data();
  }
  RunBlock(c, m.block, *rope_, softmax_scale_, n, pos0, st.LayerCache(c.num_hidden_layers), st,
           pool, tid, tw);
  for (int64_t t = 0; t < n; ++t) RmsNorm(&st.x[t * d], m.head_norm, d, eps, &st.xn[t * d]);
  std::memcpy(st.mtp_hidden.data(), &st.xn[(n - 1) * d], d * sizeof(float));
  st.mtp_hidden_pos = pos0 + n - 1;
  MatMul(m.head, st.xn.data(), n, logits, pool);
}

}  // namespace fathom::internal
