// LlamaModel: hyperparameters and weights from GGUF (llama.cpp's names and keys), batched forward.
#include "models/llama/llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_format.h"
#include "kernels/attention.h"
#include "models/weight_layout.h"
#include "runtime/status_macros.h"
#include "tensor/aligned_vector.h"
#include "tensor/quant.h"

namespace fathom::internal {
namespace {

// Upper bounds that keep a hostile file from asking for absurd allocations.
constexpr int64_t kMaxDim = int64_t{1} << 20;
constexpr int64_t kMaxLayers = 4096;

absl::StatusOr<int64_t> RequiredInt(const GgufFile& g, const std::string& key, int64_t lo,
                                    int64_t hi) {
  auto v = g.GetInt(key);
  if (!v.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("model metadata: %s", v.status().message()));
  }
  if (*v < lo || *v > hi) {
    return absl::InvalidArgumentError(
        absl::StrFormat("model metadata: %s = %d is outside [%d, %d]", key, *v, lo, hi));
  }
  return *v;
}

absl::StatusOr<int64_t> OptionalInt(const GgufFile& g, const std::string& key, int64_t dflt,
                                    int64_t lo, int64_t hi) {
  if (g.Find(key) == nullptr) return dflt;
  return RequiredInt(g, key, lo, hi);
}

absl::StatusOr<double> OptionalFloat(const GgufFile& g, const std::string& key, double dflt) {
  if (g.Find(key) == nullptr) return dflt;
  auto v = g.GetFloat(key);
  if (!v.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("model metadata: %s", v.status().message()));
  }
  if (!std::isfinite(*v)) {
    return absl::InvalidArgumentError(absl::StrFormat("model metadata: %s is not finite", key));
  }
  return *v;
}

class LlamaState final : public ForwardState {
 public:
  LlamaState(const LlamaHParams& hp, const RopeTable* rope, int64_t n_ctx, int64_t max_batch)
      : hp_(hp), rope_(rope), n_ctx_(n_ctx), max_batch_(max_batch) {
    const int64_t kv_k = hp.n_head_kv * hp.head_dim_k;
    const int64_t kv_v = hp.n_head_kv * hp.head_dim_v;
    k_cache.resize(hp.n_layer * n_ctx * kv_k);
    v_cache.resize(hp.n_layer * n_ctx * kv_v);
    x.resize(max_batch * hp.n_embd);
    xn.resize(max_batch * hp.n_embd);
    q.resize(max_batch * hp.n_head * hp.head_dim_k);
    k.resize(max_batch * kv_k);
    v.resize(max_batch * kv_v);
    attn.resize(max_batch * hp.n_head * hp.head_dim_v);
    gate.resize(max_batch * hp.n_ff);
    up.resize(max_batch * hp.n_ff);
    rope_cos.resize(max_batch * (hp.n_rot / 2));
    rope_sin.resize(max_batch * (hp.n_rot / 2));
  }
  int64_t n_ctx() const override { return n_ctx_; }
  int64_t max_batch() const override { return max_batch_; }
  int64_t bytes() const override {
    int64_t n = 0;
    for (const auto* b :
         {&k_cache, &v_cache, &x, &xn, &q, &k, &v, &attn, &gate, &up, &rope_cos, &rope_sin}) {
      n += static_cast<int64_t>(b->size() * sizeof(float));
    }
    return n;
  }

  // Per layer: "blk.L.k" (n_head_kv roped heads) and "blk.L.v".
  std::vector<CacheSlab> CacheSlabs() override {
    const int64_t kv_k = hp_.n_head_kv * hp_.head_dim_k, kv_v = hp_.n_head_kv * hp_.head_dim_v;
    std::vector<CacheSlab> slabs;
    slabs.reserve(2 * hp_.n_layer);
    for (int64_t l = 0; l < hp_.n_layer; ++l) {
      slabs.push_back({absl::StrFormat("blk.%d.k", l), &k_cache[l * n_ctx_ * kv_k], kv_k, rope_,
                       static_cast<int>(hp_.n_head_kv), static_cast<int>(hp_.head_dim_k)});
      slabs.push_back({absl::StrFormat("blk.%d.v", l), &v_cache[l * n_ctx_ * kv_v], kv_v});
    }
    return slabs;
  }

  AlignedVector<float> k_cache, v_cache;
  AlignedVector<float> x, xn, q, k, v, attn, gate, up, rope_cos, rope_sin;

 private:
  const LlamaHParams& hp_;
  const RopeTable* rope_;
  int64_t n_ctx_;
  int64_t max_batch_;
};

}  // namespace

absl::StatusOr<LlamaHParams> LlamaHParams::FromGguf(const GgufFile& g) {
  LlamaHParams hp;
  FATHOM_ASSIGN_OR_RETURN(hp.arch, g.GetString("general.architecture"));
  const std::string a = hp.arch + ".";
  auto embd = g.GetTensor("token_embd.weight");
  if (!embd.ok()) return embd.status();
  if (embd->dims.size() != 2) {
    return absl::InvalidArgumentError("tensor 'token_embd.weight' must be 2-D");
  }
  hp.n_vocab = embd->dims[1];
  FATHOM_ASSIGN_OR_RETURN(hp.n_embd, RequiredInt(g, a + "embedding_length", 1, kMaxDim));
  FATHOM_ASSIGN_OR_RETURN(hp.n_layer, RequiredInt(g, a + "block_count", 1, kMaxLayers));
  FATHOM_ASSIGN_OR_RETURN(hp.n_ff, RequiredInt(g, a + "feed_forward_length", 1, kMaxDim));
  FATHOM_ASSIGN_OR_RETURN(hp.n_head, RequiredInt(g, a + "attention.head_count", 1, kMaxDim));
  FATHOM_ASSIGN_OR_RETURN(hp.n_head_kv,
                          OptionalInt(g, a + "attention.head_count_kv", hp.n_head, 1, hp.n_head));
  if (hp.n_head % hp.n_head_kv != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("model metadata: head_count %d is not a multiple of head_count_kv %d",
                        hp.n_head, hp.n_head_kv));
  }
  if (hp.n_embd % hp.n_head != 0 && g.Find(a + "attention.key_length") == nullptr) {
    return absl::InvalidArgumentError("model metadata: embedding_length % head_count != 0");
  }
  FATHOM_ASSIGN_OR_RETURN(
      hp.head_dim_k, OptionalInt(g, a + "attention.key_length", hp.n_embd / hp.n_head, 1, kMaxDim));
  FATHOM_ASSIGN_OR_RETURN(hp.head_dim_v, OptionalInt(g, a + "attention.value_length",
                                                     hp.n_embd / hp.n_head, 1, kMaxDim));
  FATHOM_ASSIGN_OR_RETURN(
      hp.n_rot, OptionalInt(g, a + "rope.dimension_count", hp.head_dim_k, 2, hp.head_dim_k));
  if (hp.n_rot % 2 != 0) {
    return absl::InvalidArgumentError("model metadata: rope.dimension_count must be even");
  }
  FATHOM_ASSIGN_OR_RETURN(hp.n_ctx_train,
                          OptionalInt(g, a + "context_length", 2048, 1, int64_t{1} << 24));
  FATHOM_ASSIGN_OR_RETURN(hp.rope_base, OptionalFloat(g, a + "rope.freq_base", 10000.0));
  double eps = 0;
  FATHOM_ASSIGN_OR_RETURN(eps, OptionalFloat(g, a + "attention.layer_norm_rms_epsilon", 1e-5));
  hp.rms_eps = static_cast<float>(eps);
  if (hp.rope_base <= 0 || eps < 0) {
    return absl::InvalidArgumentError("model metadata: rope.freq_base must be > 0, eps >= 0");
  }

  // RoPE scaling: none or linear here; YaRN belongs to the DeepSeek family.
  std::string scaling = "none";
  if (g.Find(a + "rope.scaling.type") != nullptr) {
    FATHOM_ASSIGN_OR_RETURN(scaling, g.GetString(a + "rope.scaling.type"));
  }
  double factor = 1.0;
  FATHOM_ASSIGN_OR_RETURN(factor, OptionalFloat(g, a + "rope.scaling.factor", 1.0));
  if (g.Find(a + "rope.scale_linear") != nullptr) {
    scaling = "linear";
    FATHOM_ASSIGN_OR_RETURN(factor, OptionalFloat(g, a + "rope.scale_linear", 1.0));
  }
  if (scaling == "linear") {
    if (factor <= 0) return absl::InvalidArgumentError("model metadata: rope scaling factor <= 0");
    hp.rope_position_scale = 1.0 / factor;
  } else if (scaling != "none") {
    return absl::UnimplementedError(
        absl::StrFormat("rope scaling type '%s' is not supported for %s", scaling, hp.arch));
  }

  if (hp.arch == "llama") {
    hp.rope_layout = RopeLayout::kAdjacentPairs;
  } else if (hp.arch == "qwen2") {
    hp.rope_layout = RopeLayout::kNeox;
  } else {
    return absl::UnimplementedError(
        absl::StrFormat("architecture '%s' is not a Llama-family model", hp.arch));
  }
  return hp;
}

LlamaModel::LlamaModel(const GgufFile& gguf, LlamaHParams hp)
    : hp_(std::move(hp)), weights_(gguf) {}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const GgufFile& gguf,
                                                             ModelInfo* info) {
  auto hp = LlamaHParams::FromGguf(gguf);
  if (!hp.ok()) return hp.status();
  std::unique_ptr<LlamaModel> m(new LlamaModel(gguf, *std::move(hp)));
  absl::Status s = m->LoadWeights();
  if (!s.ok()) return s;

  std::vector<float> factors;
  if (m->weights_.Has("rope_freqs.weight")) {
    auto f = m->weights_.Vector("rope_freqs.weight", m->hp_.n_rot / 2);
    if (!f.ok()) return f.status();
    factors.assign(*f, *f + m->hp_.n_rot / 2);
    for (float v : factors) {
      if (!(v > 0) || !std::isfinite(v)) {
        return absl::InvalidArgumentError("tensor 'rope_freqs.weight' has a non-positive value");
      }
    }
  }
  m->rope_ = std::make_unique<RopeTable>(static_cast<int>(m->hp_.n_rot), m->hp_.rope_base, factors,
                                         m->hp_.rope_position_scale, m->hp_.rope_layout);
  const LlamaHParams& h = m->hp_;
  info->architecture = h.arch;
  info->n_params = m->weights_.n_params();
  info->n_vocab = static_cast<int32_t>(h.n_vocab);
  info->n_ctx_train = static_cast<int32_t>(h.n_ctx_train);
  info->n_embd = static_cast<int32_t>(h.n_embd);
  info->n_layer = static_cast<int32_t>(h.n_layer);
  info->n_head = static_cast<int32_t>(h.n_head);
  info->n_head_kv = static_cast<int32_t>(h.n_head_kv);
  info->kv_bytes_per_token =
      h.n_layer * h.n_head_kv * (h.head_dim_k + h.head_dim_v) * static_cast<int64_t>(sizeof(float));
  return m;
}

absl::Status LlamaModel::LoadWeights() {
  const LlamaHParams& h = hp_;
  FATHOM_ASSIGN_OR_RETURN(token_embd_, weights_.Matrix("token_embd.weight", h.n_vocab, h.n_embd));
  FATHOM_ASSIGN_OR_RETURN(output_norm_, weights_.Vector("output_norm.weight", h.n_embd));
  if (weights_.Has("output.weight")) {
    FATHOM_ASSIGN_OR_RETURN(output_, weights_.Matrix("output.weight", h.n_vocab, h.n_embd));
  } else {
    output_ = token_embd_;  // tied classifier
  }
  const int64_t q_dim = h.n_head * h.head_dim_k;
  const int64_t k_dim = h.n_head_kv * h.head_dim_k;
  const int64_t v_dim = h.n_head_kv * h.head_dim_v;
  layers_.resize(h.n_layer);
  for (int64_t i = 0; i < h.n_layer; ++i) {
    Layer& l = layers_[i];
    const std::string p = absl::StrFormat("blk.%d.", i);
    FATHOM_ASSIGN_OR_RETURN(l.attn_norm, weights_.Vector(p + "attn_norm.weight", h.n_embd));
    FATHOM_ASSIGN_OR_RETURN(l.wq, weights_.Matrix(p + "attn_q.weight", q_dim, h.n_embd));
    FATHOM_ASSIGN_OR_RETURN(l.wk, weights_.Matrix(p + "attn_k.weight", k_dim, h.n_embd));
    FATHOM_ASSIGN_OR_RETURN(l.wv, weights_.Matrix(p + "attn_v.weight", v_dim, h.n_embd));
    FATHOM_ASSIGN_OR_RETURN(
        l.wo, weights_.Matrix(p + "attn_output.weight", h.n_embd, h.n_head * h.head_dim_v));
    if (weights_.Has(p + "attn_q.bias")) {
      FATHOM_ASSIGN_OR_RETURN(l.bq, weights_.Vector(p + "attn_q.bias", q_dim));
    }
    if (weights_.Has(p + "attn_k.bias")) {
      FATHOM_ASSIGN_OR_RETURN(l.bk, weights_.Vector(p + "attn_k.bias", k_dim));
    }
    if (weights_.Has(p + "attn_v.bias")) {
      FATHOM_ASSIGN_OR_RETURN(l.bv, weights_.Vector(p + "attn_v.bias", v_dim));
    }
    FATHOM_ASSIGN_OR_RETURN(l.ffn_norm, weights_.Vector(p + "ffn_norm.weight", h.n_embd));
    FATHOM_ASSIGN_OR_RETURN(l.w_gate, weights_.Matrix(p + "ffn_gate.weight", h.n_ff, h.n_embd));
    FATHOM_ASSIGN_OR_RETURN(l.w_up, weights_.Matrix(p + "ffn_up.weight", h.n_ff, h.n_embd));
    FATHOM_ASSIGN_OR_RETURN(l.w_down, weights_.Matrix(p + "ffn_down.weight", h.n_embd, h.n_ff));
  }
  // Everything but the embedding table is read only by MatMul.
  std::vector<WeightMatrix*> matmul_only = {&output_};
  for (Layer& l : layers_) {
    for (WeightMatrix* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      matmul_only.push_back(w);
    }
  }
  const uint8_t* embedding[] = {token_embd_.data};
  (void)InterleaveForDecode(*weights_.gguf().file(), matmul_only, embedding);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ForwardState>> LlamaModel::NewState(int64_t n_ctx,
                                                                   int64_t max_batch) const {
  if (n_ctx <= 0 || max_batch <= 0) {
    return absl::InvalidArgumentError("context size and batch size must be positive");
  }
  // Refuse sizes whose KV cache would overflow or exceed what a process can address sensibly.
  const long double kv_bytes = static_cast<long double>(n_ctx) * hp_.n_layer * hp_.n_head_kv *
                               (hp_.head_dim_k + hp_.head_dim_v) * sizeof(float);
  if (kv_bytes > static_cast<long double>(int64_t{1} << 40)) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("a KV cache of %d tokens would need %.0Lf bytes", n_ctx, kv_bytes));
  }
  return std::make_unique<LlamaState>(hp_, rope_.get(), n_ctx, std::min(max_batch, n_ctx));
}

absl::Status LlamaModel::Forward(ForwardState& state_base, absl::Span<const int32_t> tokens,
                                 int64_t pos0, LogitsMode mode, float* logits, ThreadPool& pool,
                                 const std::atomic<bool>* cancel) const {
  auto& st = static_cast<LlamaState&>(state_base);
  const LlamaHParams& h = hp_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return absl::OkStatus();
  if (n > st.max_batch() || pos0 < 0 || pos0 + n > st.n_ctx()) {
    return absl::InternalError("forward batch exceeds the session's buffers");
  }
  for (int32_t t : tokens) {
    if (t < 0 || t >= h.n_vocab) {
      return absl::InvalidArgumentError(
          absl::StrFormat("token id %d is outside the vocabulary [0, %d)", t, h.n_vocab));
    }
  }
  const int64_t d = h.n_embd;
  const int64_t q_dim = h.n_head * h.head_dim_k;
  const int64_t k_dim = h.n_head_kv * h.head_dim_k;
  const int64_t v_dim = h.n_head_kv * h.head_dim_v;
  const int64_t half_rot = h.n_rot / 2;

  for (int64_t t = 0; t < n; ++t) {
    absl::Status s = Dequantize(token_embd_.type, token_embd_.row(tokens[t]), &st.x[t * d], d);
    if (!s.ok()) return s;
    rope_->Angles(pos0 + t, &st.rope_cos[t * half_rot], &st.rope_sin[t * half_rot]);
  }

  AttentionShape shape;
  shape.n_head = static_cast<int>(h.n_head);
  shape.n_head_kv = static_cast<int>(h.n_head_kv);
  shape.head_dim_k = static_cast<int>(h.head_dim_k);
  shape.head_dim_v = static_cast<int>(h.head_dim_v);
  shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(h.head_dim_k)));

  for (int64_t il = 0; il < h.n_layer; ++il) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return absl::CancelledError("cancelled");
    }
    const Layer& l = layers_[il];
    for (int64_t t = 0; t < n; ++t) RmsNorm(&st.x[t * d], l.attn_norm, d, h.rms_eps, &st.xn[t * d]);
    MatMul(l.wq, st.xn.data(), n, st.q.data(), pool);
    MatMul(l.wk, st.xn.data(), n, st.k.data(), pool);
    MatMul(l.wv, st.xn.data(), n, st.v.data(), pool);
    float* k_cache = &st.k_cache[il * st.n_ctx() * k_dim];
    float* v_cache = &st.v_cache[il * st.n_ctx() * v_dim];
    for (int64_t t = 0; t < n; ++t) {
      float* q = &st.q[t * q_dim];
      float* k = &st.k[t * k_dim];
      float* v = &st.v[t * v_dim];
      if (l.bq != nullptr) {
        for (int64_t i = 0; i < q_dim; ++i) q[i] += l.bq[i];
      }
      if (l.bk != nullptr) {
        for (int64_t i = 0; i < k_dim; ++i) k[i] += l.bk[i];
      }
      if (l.bv != nullptr) {
        for (int64_t i = 0; i < v_dim; ++i) v[i] += l.bv[i];
      }
      const float* c = &st.rope_cos[t * half_rot];
      const float* s = &st.rope_sin[t * half_rot];
      rope_->Apply(q, static_cast<int>(h.n_head), static_cast<int>(h.head_dim_k), c, s);
      rope_->Apply(k, static_cast<int>(h.n_head_kv), static_cast<int>(h.head_dim_k), c, s);
      std::memcpy(k_cache + (pos0 + t) * k_dim, k, k_dim * sizeof(float));
      std::memcpy(v_cache + (pos0 + t) * v_dim, v, v_dim * sizeof(float));
    }
    CausalAttention(shape, st.q.data(), n, pos0, k_cache, v_cache, st.attn.data(), pool);
    MatMul(l.wo, st.attn.data(), n, st.xn.data(), pool);
    for (int64_t i = 0; i < n * d; ++i) st.x[i] += st.xn[i];

    for (int64_t t = 0; t < n; ++t) RmsNorm(&st.x[t * d], l.ffn_norm, d, h.rms_eps, &st.xn[t * d]);
    MatMul(l.w_gate, st.xn.data(), n, st.gate.data(), pool);
    MatMul(l.w_up, st.xn.data(), n, st.up.data(), pool);
    SwiGlu(st.gate.data(), st.up.data(), n * h.n_ff, st.gate.data());
    MatMul(l.w_down, st.gate.data(), n, st.xn.data(), pool);
    for (int64_t i = 0; i < n * d; ++i) st.x[i] += st.xn[i];
  }

  if (mode == LogitsMode::kNone) return absl::OkStatus();
  const int64_t first = mode == LogitsMode::kAll ? 0 : n - 1;
  const int64_t rows = n - first;
  for (int64_t t = first; t < n; ++t) {
    RmsNorm(&st.x[t * d], output_norm_, d, h.rms_eps, &st.xn[(t - first) * d]);
  }
  MatMul(output_, st.xn.data(), rows, logits, pool);
  return absl::OkStatus();
}

}  // namespace fathom::internal
