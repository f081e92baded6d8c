// Fills DeepSeekWeights from Hugging Face or GGUF tensor names, checking every shape against
// the config. Both loaders produce the same per-head W_UK / W_UV views of the MLA up-projection.
#include "models/deepseek/deepseek_weights.h"

#include <string>

#include "absl/strings/str_format.h"
#include "runtime/status_macros.h"

namespace fathom::internal {
namespace {

// Per-head views of kv_b ([heads * (nope + v), kv_lora], rows grouped per head).
void SplitKvB(const DeepSeekConfig& c, const WeightMatrix& kv_b, MlaWeights* a) {
  const int64_t per_head = c.qk_nope_head_dim + c.v_head_dim;
  for (int64_t h = 0; h < c.num_attention_heads; ++h) {
    a->uk.push_back(kv_b.Rows(h * per_head, c.qk_nope_head_dim));
    a->uv.push_back(kv_b.Rows(h * per_head + c.qk_nope_head_dim, c.v_head_dim));
  }
  a->uk_latent_major = false;
}

absl::Status LoadHfBlock(const DeepSeekConfig& c, WeightSource& src, int64_t il, BlockWeights* b) {
  const std::string p = absl::StrFormat("model.layers.%d.", il);
  const int64_t d = c.hidden_size, H = c.num_attention_heads;
  FATHOM_ASSIGN_OR_RETURN(b->attn_norm, src.Vector(p + "input_layernorm.weight", d));
  FATHOM_ASSIGN_OR_RETURN(b->ffn_norm, src.Vector(p + "post_attention_layernorm.weight", d));
  MlaWeights& a = b->attn;
  const std::string s = p + "self_attn.";
  if (c.q_lora_rank > 0) {
    FATHOM_ASSIGN_OR_RETURN(a.q_a, src.Matrix(s + "q_a_proj.weight", c.q_lora_rank, d));
    FATHOM_ASSIGN_OR_RETURN(a.q_a_norm, src.Vector(s + "q_a_layernorm.weight", c.q_lora_rank));
    FATHOM_ASSIGN_OR_RETURN(a.q_b,
                            src.Matrix(s + "q_b_proj.weight", H * c.qk_head_dim(), c.q_lora_rank));
  } else {
    FATHOM_ASSIGN_OR_RETURN(a.q, src.Matrix(s + "q_proj.weight", H * c.qk_head_dim(), d));
  }
  FATHOM_ASSIGN_OR_RETURN(
      a.kv_a, src.Matrix(s + "kv_a_proj_with_mqa.weight", c.kv_lora_rank + c.qk_rope_head_dim, d));
  FATHOM_ASSIGN_OR_RETURN(a.kv_a_norm, src.Vector(s + "kv_a_layernorm.weight", c.kv_lora_rank));
  WeightMatrix kv_b;
  FATHOM_ASSIGN_OR_RETURN(
      kv_b,
      src.Matrix(s + "kv_b_proj.weight", H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank));
  SplitKvB(c, kv_b, &a);
  FATHOM_ASSIGN_OR_RETURN(a.o, src.Matrix(s + "o_proj.weight", d, H * c.v_head_dim));

  const std::string m = p + "mlp.";
  auto load_mlp = [&](const std::string& q, int64_t width, MlpWeights* w) -> absl::Status {
    FATHOM_ASSIGN_OR_RETURN(w->gate, src.Matrix(q + "gate_proj.weight", width, d));
    FATHOM_ASSIGN_OR_RETURN(w->up, src.Matrix(q + "up_proj.weight", width, d));
    FATHOM_ASSIGN_OR_RETURN(w->down, src.Matrix(q + "down_proj.weight", d, width));
    return absl::OkStatus();
  };
  b->is_moe = c.IsMoeLayer(il);
  if (!b->is_moe) return load_mlp(m, c.intermediate_size, &b->dense);
  MoeWeights& e = b->moe;
  FATHOM_ASSIGN_OR_RETURN(e.router, src.Matrix(m + "gate.weight", c.n_routed_experts, d));
  if (c.topk_method == TopkMethod::kNoAuxTc) {
    FATHOM_ASSIGN_OR_RETURN(e.score_bias,
                            src.Vector(m + "gate.e_score_correction_bias", c.n_routed_experts));
  }
  e.experts.resize(c.n_routed_experts);
  for (int64_t x = 0; x < c.n_routed_experts; ++x) {
    FATHOM_RETURN_IF_ERROR(
        load_mlp(absl::StrFormat("%sexperts.%d.", m, x), c.moe_intermediate_size, &e.experts[x]));
  }
  e.has_shared = c.n_shared_experts > 0;
  if (e.has_shared) {
    FATHOM_RETURN_IF_ERROR(
        load_mlp(m + "shared_experts.", c.moe_intermediate_size * c.n_shared_experts, &e.shared));
  }
  return absl::OkStatus();
}

absl::Status LoadGgufBlock(const DeepSeekConfig& c, WeightSource& src, int64_t il,
                           BlockWeights* b) {
  const std::string p = absl::StrFormat("blk.%d.", il);
  const int64_t d = c.hidden_size, H = c.num_attention_heads;
  FATHOM_ASSIGN_OR_RETURN(b->attn_norm, src.Vector(p + "attn_norm.weight", d));
  FATHOM_ASSIGN_OR_RETURN(b->ffn_norm, src.Vector(p + "ffn_norm.weight", d));
  MlaWeights& a = b->attn;
  if (c.q_lora_rank > 0) {
    FATHOM_ASSIGN_OR_RETURN(a.q_a, src.Matrix(p + "attn_q_a.weight", c.q_lora_rank, d));
    FATHOM_ASSIGN_OR_RETURN(a.q_a_norm, src.Vector(p + "attn_q_a_norm.weight", c.q_lora_rank));
    FATHOM_ASSIGN_OR_RETURN(a.q_b,
                            src.Matrix(p + "attn_q_b.weight", H * c.qk_head_dim(), c.q_lora_rank));
  } else {
    FATHOM_ASSIGN_OR_RETURN(a.q, src.Matrix(p + "attn_q.weight", H * c.qk_head_dim(), d));
  }
  FATHOM_ASSIGN_OR_RETURN(
      a.kv_a, src.Matrix(p + "attn_kv_a_mqa.weight", c.kv_lora_rank + c.qk_rope_head_dim, d));
  FATHOM_ASSIGN_OR_RETURN(a.kv_a_norm, src.Vector(p + "attn_kv_a_norm.weight", c.kv_lora_rank));
  if (src.Has(p + "attn_kv_b.weight")) {
    WeightMatrix kv_b;
    FATHOM_ASSIGN_OR_RETURN(
        kv_b, src.Matrix(p + "attn_kv_b.weight", H * (c.qk_nope_head_dim + c.v_head_dim),
                         c.kv_lora_rank));
    SplitKvB(c, kv_b, &a);
  } else {
    // Split layout: attn_k_b is W_UK transposed per head ({nope, kv_lora, H}); attn_v_b is
    // W_UV per head ({kv_lora, v, H}).
    FATHOM_ASSIGN_OR_RETURN(
        a.uk, src.Stacked(p + "attn_k_b.weight", H, c.kv_lora_rank, c.qk_nope_head_dim));
    a.uk_latent_major = true;
    FATHOM_ASSIGN_OR_RETURN(a.uv,
                            src.Stacked(p + "attn_v_b.weight", H, c.v_head_dim, c.kv_lora_rank));
  }
  FATHOM_ASSIGN_OR_RETURN(a.o, src.Matrix(p + "attn_output.weight", d, H * c.v_head_dim));

  b->is_moe = c.IsMoeLayer(il);
  if (!b->is_moe) {
    FATHOM_ASSIGN_OR_RETURN(b->dense.gate,
                            src.Matrix(p + "ffn_gate.weight", c.intermediate_size, d));
    FATHOM_ASSIGN_OR_RETURN(b->dense.up, src.Matrix(p + "ffn_up.weight", c.intermediate_size, d));
    FATHOM_ASSIGN_OR_RETURN(b->dense.down,
                            src.Matrix(p + "ffn_down.weight", d, c.intermediate_size));
    return absl::OkStatus();
  }
  MoeWeights& e = b->moe;
  const int64_t E = c.n_routed_experts, ff = c.moe_intermediate_size;
  FATHOM_ASSIGN_OR_RETURN(e.router, src.Matrix(p + "ffn_gate_inp.weight", E, d));
  if (c.topk_method == TopkMethod::kNoAuxTc) {
    FATHOM_ASSIGN_OR_RETURN(e.score_bias, src.Vector(p + "exp_probs_b.bias", E));
  }
  std::vector<WeightMatrix> gate, up, down;
  FATHOM_ASSIGN_OR_RETURN(gate, src.Stacked(p + "ffn_gate_exps.weight", E, ff, d));
  FATHOM_ASSIGN_OR_RETURN(up, src.Stacked(p + "ffn_up_exps.weight", E, ff, d));
  FATHOM_ASSIGN_OR_RETURN(down, src.Stacked(p + "ffn_down_exps.weight", E, d, ff));
  e.experts.resize(E);
  for (int64_t x = 0; x < E; ++x) e.experts[x] = {gate[x], up[x], down[x]};
  e.has_shared = c.n_shared_experts > 0;
  if (e.has_shared) {
    const int64_t sff = ff * c.n_shared_experts;
    FATHOM_ASSIGN_OR_RETURN(e.shared.gate, src.Matrix(p + "ffn_gate_shexp.weight", sff, d));
    FATHOM_ASSIGN_OR_RETURN(e.shared.up, src.Matrix(p + "ffn_up_shexp.weight", sff, d));
    FATHOM_ASSIGN_OR_RETURN(e.shared.down, src.Matrix(p + "ffn_down_shexp.weight", d, sff));
  }
  return absl::OkStatus();
}

// Tensor names (after the layer prefix) of an MTP layer's own parts.
struct MtpNames {
  const char* head_norm;
  const char* head;
};
constexpr MtpNames kHfMtpNames = {"shared_head.norm.weight", "shared_head.head.weight"};
constexpr MtpNames kGgufMtpNames = {"shared_head_norm.weight", "shared_head_head.weight"};

// The MTP layer's parts around its decoder block; the head and embedding default to the main
// model's when the file does not carry copies.
absl::Status LoadMtpHead(const DeepSeekConfig& c, WeightSource& src, const DeepSeekWeights& w,
                         const std::string& p, const MtpNames& names, MtpWeights* m) {
  const int64_t d = c.hidden_size, V = c.vocab_size;
  FATHOM_ASSIGN_OR_RETURN(m->enorm, src.Vector(p + "enorm.weight", d));
  FATHOM_ASSIGN_OR_RETURN(m->hnorm, src.Vector(p + "hnorm.weight", d));
  FATHOM_ASSIGN_OR_RETURN(m->eh_proj, src.Matrix(p + "eh_proj.weight", d, 2 * d));
  FATHOM_ASSIGN_OR_RETURN(m->head_norm, src.Vector(p + names.head_norm, d));
  m->head = w.lm_head;
  if (src.Has(p + names.head)) {
    FATHOM_ASSIGN_OR_RETURN(m->head, src.Matrix(p + names.head, V, d));
  }
  m->embed = w.embed;
  if (src.Has(p + "embed_tokens.weight")) {
    FATHOM_ASSIGN_OR_RETURN(m->embed, src.Matrix(p + "embed_tokens.weight", V, d));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadDeepSeekHfWeights(const DeepSeekConfig& c, WeightSource& src, DeepSeekWeights* w) {
  const int64_t d = c.hidden_size, V = c.vocab_size;
  FATHOM_ASSIGN_OR_RETURN(w->embed, src.Matrix("model.embed_tokens.weight", V, d));
  FATHOM_ASSIGN_OR_RETURN(w->norm, src.Vector("model.norm.weight", d));
  if (c.tie_word_embeddings) {
    w->lm_head = w->embed;
  } else {
    FATHOM_ASSIGN_OR_RETURN(w->lm_head, src.Matrix("lm_head.weight", V, d));
  }
  w->blocks.resize(c.num_hidden_layers);
  for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
    FATHOM_RETURN_IF_ERROR(LoadHfBlock(c, src, il, &w->blocks[il]));
  }
  for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) {
    const int64_t il = c.num_hidden_layers + k;
    const std::string p = absl::StrFormat("model.layers.%d.", il);
    // Converted checkpoints often drop the MTP layer; then the model simply has none.
    if (!src.Has(p + "eh_proj.weight")) break;
    MtpWeights m;
    FATHOM_RETURN_IF_ERROR(LoadHfBlock(c, src, il, &m.block));
    FATHOM_RETURN_IF_ERROR(LoadMtpHead(c, src, *w, p, kHfMtpNames, &m));
    w->mtp.push_back(m);
  }
  return absl::OkStatus();
}

absl::Status LoadDeepSeekGgufWeights(const DeepSeekConfig& c, WeightSource& src,
                                     DeepSeekWeights* w) {
  const int64_t d = c.hidden_size, V = c.vocab_size;
  FATHOM_ASSIGN_OR_RETURN(w->embed, src.Matrix("token_embd.weight", V, d));
  FATHOM_ASSIGN_OR_RETURN(w->norm, src.Vector("output_norm.weight", d));
  if (src.Has("output.weight")) {
    FATHOM_ASSIGN_OR_RETURN(w->lm_head, src.Matrix("output.weight", V, d));
  } else {
    w->lm_head = w->embed;
  }
  w->blocks.resize(c.num_hidden_layers);
  for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
    FATHOM_RETURN_IF_ERROR(LoadGgufBlock(c, src, il, &w->blocks[il]));
  }
  for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) {
    const int64_t il = c.num_hidden_layers + k;
    const std::string p = absl::StrFormat("blk.%d.nextn.", il);
    MtpWeights m;
    FATHOM_RETURN_IF_ERROR(LoadGgufBlock(c, src, il, &m.block));
    FATHOM_RETURN_IF_ERROR(LoadMtpHead(c, src, *w, p, kGgufMtpNames, &m));
    w->mtp.push_back(m);
  }
  return absl::OkStatus();
}

}  // namespace fathom::internal
