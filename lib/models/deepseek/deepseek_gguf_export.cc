// ExportDeepSeekToGguf: the Hugging Face loader fills DeepSeekWeights (validating every shape and
// FP8 block scale); this file writes those weights in llama.cpp's deepseek2 layout.
//
// Names, shapes and metadata follow llama.cpp's convert_hf_to_gguf.py (class DeepseekV2Model),
// as fixtures/deepseek/*/README.md (GGUF section) lists them: kv_b_proj split into attn_k_b
// (W_UK per head, transposed) and attn_v_b (W_UV per head), experts stacked, head_count_kv 1,
// key_length = kv_lora + rope, *_mla keys for the per-head sizes, yarn_log_multiplier =
// 0.1 * mscale_all_dim, expert_weights_norm only when true. Also written (fixture README): the
// key attention.q_lora_rank = 0 when there is no low-rank query (llama.cpp needs it).
//
// llama.cpp's converter drops DeepSeek's MTP layer. We write it the way llama.cpp names the
// next-token-prediction layers of the architectures it does keep them for (glm4moe, qwen35):
// src/llama-arch.cpp maps LLM_TENSOR_NEXTN_EH_PROJ -> "blk.%d.nextn.eh_proj",
// LLM_TENSOR_NEXTN_EMBED_TOKENS -> "blk.%d.nextn.embed_tokens", LLM_TENSOR_NEXTN_ENORM ->
// "blk.%d.nextn.enorm", LLM_TENSOR_NEXTN_HNORM -> "blk.%d.nextn.hnorm",
// LLM_TENSOR_NEXTN_SHARED_HEAD_HEAD -> "blk.%d.nextn.shared_head_head" and
// LLM_TENSOR_NEXTN_SHARED_HEAD_NORM -> "blk.%d.nextn.shared_head_norm" (the last three optional
// there), with the layer index after the main layers, the layer's decoder block under the same
// blk.%d., block_count counting the nextn layers and %s.nextn_predict_layers
// (LLM_KV_NEXTN_PREDICT_LAYERS) giving their number.
#include "models/deepseek/deepseek_gguf_export.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "format/gguf_writer.h"
#include "models/deepseek/deepseek_config.h"
#include "models/deepseek/deepseek_weights.h"
#include "models/gguf_export_util.h"
#include "models/hf_weights.h"
#include "runtime/status_macros.h"
#include "tensor/quant.h"
#include "tokenizer/gguf_vocab_export.h"

namespace fathom::internal {
namespace {

constexpr char kArch[] = "deepseek2.";

// GGUF deepseek2 cannot say everything config.json can; refuse what would change the model.
absl::Status CheckExpressible(const DeepSeekConfig& c) {
  if (c.n_routed_experts == 0) return absl::OkStatus();
  if (c.moe_layer_freq != 1) {
    return absl::UnimplementedError(absl::StrFormat(
        "GGUF export: moe_layer_freq = %d cannot be expressed in GGUF deepseek2 (every layer "
        "after leading_dense_block_count is MoE there)",
        c.moe_layer_freq));
  }
  // expert_gating_func 2 means sigmoid scores with noaux_tc selection, 1 softmax with greedy or
  // (groups > 1) group_limited_greedy; other pairings have no encoding.
  if ((c.scoring_func == ScoringFunc::kSigmoid) != (c.topk_method == TopkMethod::kNoAuxTc)) {
    return absl::UnimplementedError(
        "GGUF export: this scoring_func / topk_method pairing cannot be expressed in GGUF "
        "deepseek2 (sigmoid goes with noaux_tc, softmax with greedy or group_limited_greedy)");
  }
  return absl::OkStatus();
}

void WriteMetadata(const DeepSeekConfig& c, int64_t n_mtp, uint32_t file_type,
                   const std::string& name, GgufWriter& g) {
  auto u32 = [&](const std::string& key, int64_t v) {
    g.SetUint32(std::string(kArch) + key, static_cast<uint32_t>(v));
  };
  auto f32 = [&](const std::string& key, double v) {
    g.SetFloat32(std::string(kArch) + key, static_cast<float>(v));
  };
  g.SetString("general.architecture", "deepseek2");
  g.SetString("general.type", "model");
  if (!name.empty()) g.SetString("general.name", name);
  u32("block_count", c.num_hidden_layers + n_mtp);
  u32("context_length", c.max_position_embeddings);
  u32("embedding_length", c.hidden_size);
  u32("feed_forward_length", c.intermediate_size);
  u32("attention.head_count", c.num_attention_heads);
  u32("attention.head_count_kv", 1);  // MLA as MQA: one shared latent
  if (c.yarn) {
    g.SetString(std::string(kArch) + "rope.scaling.type", "yarn");
    f32("rope.scaling.factor", c.yarn_factor);
    u32("rope.scaling.original_context_length", c.yarn_original_max_position);
    f32("rope.scaling.yarn_beta_fast", c.yarn_beta_fast);
    f32("rope.scaling.yarn_beta_slow", c.yarn_beta_slow);
  }
  f32("rope.freq_base", c.rope_theta);
  f32("attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  u32("expert_count", c.n_routed_experts);
  u32("expert_used_count", c.num_experts_per_tok);
  // Plain greedy top-k ignores groups, but a reader sees softmax gating with groups as
  // group_limited_greedy (GGUF has no key for the V2 group rule), so greedy writes one group.
  const bool greedy = c.topk_method == TopkMethod::kGreedy;
  u32("expert_group_count", greedy ? 1 : c.n_group);
  u32("expert_group_used_count", greedy ? 1 : c.topk_group);
  u32("expert_gating_func", c.scoring_func == ScoringFunc::kSigmoid ? 2 : 1);
  g.SetUint32("general.file_type", file_type);
  u32("leading_dense_block_count", c.first_k_dense_replace);
  u32("vocab_size", c.vocab_size);
  u32("attention.q_lora_rank", c.q_lora_rank);
  u32("attention.kv_lora_rank", c.kv_lora_rank);
  u32("attention.key_length", c.kv_lora_rank + c.qk_rope_head_dim);
  u32("attention.value_length", c.kv_lora_rank);
  u32("attention.key_length_mla", c.qk_head_dim());
  u32("attention.value_length_mla", c.v_head_dim);
  u32("expert_feed_forward_length", c.moe_intermediate_size);
  u32("expert_shared_count", c.n_shared_experts);
  f32("expert_weights_scale", c.routed_scaling_factor);
  if (c.norm_topk_prob) g.SetBool(std::string(kArch) + "expert_weights_norm", true);
  u32("rope.dimension_count", c.qk_rope_head_dim);
  // llama.cpp divides this by 0.1 again; only mscale_all_dim enters the softmax scale.
  if (c.yarn) f32("rope.scaling.yarn_log_multiplier", 0.1 * c.yarn_mscale_all_dim);
  if (n_mtp > 0) u32("nextn_predict_layers", n_mtp);
  g.SetUint32("general.quantization_version", 2);
}

// GPT-2's byte-to-unicode alphabet: the token text of byte b (printable Latin-1 bytes stand for
// themselves, the others for U+0100 + their rank among the non-printable ones).
std::string ByteLevelText(int b) {
  auto printable = [](int x) {
    return (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
  };
  uint32_t cp = static_cast<uint32_t>(b);
  if (!printable(b)) {
    cp = 256;
    for (int x = 0; x < b; ++x) cp += printable(x) ? 0 : 1;
  }
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

// A stand-in vocabulary for checkpoints without tokenizer files, laid out as the fixtures'
// converter did: begin/end-of-sentence CONTROL tokens at the config's bos/eos ids, then in the
// remaining ids the 256 byte tokens, 8 merged tokens (with their merges: llama.cpp requires a
// merges key for gpt2) and fillers <|tokN|>. Token ids are meant to be fed directly.
void WriteSyntheticVocab(const DeepSeekConfig& c, GgufWriter& g) {
  constexpr int32_t kNormal = 1, kControl = 3;
  const std::string sp = "\xC4\xA0";  // byte-level space
  const std::vector<std::pair<std::string, std::string>> merges = {
      {sp, "t"},  {sp, "a"},  {"h", "e"},       {"i", "n"},
      {"r", "e"}, {"o", "n"}, {sp + "t", "he"}, {"e", "r"}};
  const int64_t V = c.vocab_size;
  std::vector<std::string> tokens(V);
  std::vector<int32_t> types(V, kNormal);
  auto in_vocab = [&](int64_t id) { return id >= 0 && id < V; };
  const bool has_bos = in_vocab(c.bos_token_id), has_eos = in_vocab(c.eos_token_id);
  if (has_eos) {
    tokens[c.eos_token_id] =
        "<\xEF\xBD\x9C"
        "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
    types[c.eos_token_id] = kControl;
  }
  if (has_bos) {  // wins when bos == eos
    tokens[c.bos_token_id] =
        "<\xEF\xBD\x9C"
        "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
    types[c.bos_token_id] = kControl;
  }
  std::vector<std::string> regular;
  for (int b = 0; b < 256; ++b) regular.push_back(ByteLevelText(b));
  for (const auto& [a, b] : merges) regular.push_back(a + b);
  size_t next = 0;
  for (int64_t id = 0; id < V; ++id) {
    if (!tokens[id].empty()) continue;
    tokens[id] = next < regular.size() ? regular[next++] : absl::StrFormat("<|tok%d|>", id);
  }
  std::vector<std::string> merge_rules;
  for (size_t i = 0; i < merges.size() && 256 + i < next; ++i) {
    merge_rules.push_back(merges[i].first + " " + merges[i].second);
  }
  g.SetString("tokenizer.ggml.model", "gpt2");
  g.SetString("tokenizer.ggml.pre", "default");
  g.SetStringArray("tokenizer.ggml.tokens", tokens);
  g.SetInt32Array("tokenizer.ggml.token_type", types);
  g.SetStringArray("tokenizer.ggml.merges", merge_rules);
  if (has_bos) g.SetUint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(c.bos_token_id));
  if (has_eos) g.SetUint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_token_id));
  if (has_bos) g.SetBool("tokenizer.ggml.add_bos_token", true);
  g.SetBool("fathom.synthetic_vocab", true);
}

absl::Status WriteMlp(const std::string& p, const std::string& suffix, const MlpWeights& m,
                      GgufTensorSink& out) {
  FATHOM_RETURN_IF_ERROR(out.Matrix(p + "ffn_gate" + suffix + ".weight", m.gate));
  FATHOM_RETURN_IF_ERROR(out.Matrix(p + "ffn_up" + suffix + ".weight", m.up));
  return out.Matrix(p + "ffn_down" + suffix + ".weight", m.down);
}

absl::Status WriteBlock(const DeepSeekConfig& c, const BlockWeights& b, int64_t il,
                        GgufTensorSink& out) {
  const std::string p = absl::StrFormat("blk.%d.", il);
  FATHOM_RETURN_IF_ERROR(out.Vector(p + "attn_norm.weight", b.attn_norm, c.hidden_size));
  const MlaWeights& a = b.attn;
  if (c.q_lora_rank > 0) {
    FATHOM_RETURN_IF_ERROR(out.Matrix(p + "attn_q_a.weight", a.q_a));
    FATHOM_RETURN_IF_ERROR(out.Vector(p + "attn_q_a_norm.weight", a.q_a_norm, c.q_lora_rank));
    FATHOM_RETURN_IF_ERROR(out.Matrix(p + "attn_q_b.weight", a.q_b));
  } else {
    FATHOM_RETURN_IF_ERROR(out.Matrix(p + "attn_q.weight", a.q));
  }
  FATHOM_RETURN_IF_ERROR(out.Matrix(p + "attn_kv_a_mqa.weight", a.kv_a));
  FATHOM_RETURN_IF_ERROR(out.Vector(p + "attn_kv_a_norm.weight", a.kv_a_norm, c.kv_lora_rank));
  // attn_k_b: W_UK of each head transposed to [kv_lora, nope] (ggml {nope, kv_lora, H});
  // attn_v_b: W_UV of each head as it is, [v, kv_lora] (ggml {kv_lora, v, H}).
  FATHOM_RETURN_IF_ERROR(out.Stack(p + "attn_k_b.weight", a.uk, !a.uk_latent_major));
  FATHOM_RETURN_IF_ERROR(out.Stack(p + "attn_v_b.weight", a.uv));
  FATHOM_RETURN_IF_ERROR(out.Matrix(p + "attn_output.weight", a.o));
  FATHOM_RETURN_IF_ERROR(out.Vector(p + "ffn_norm.weight", b.ffn_norm, c.hidden_size));
  if (!b.is_moe) return WriteMlp(p, "", b.dense, out);
  const MoeWeights& e = b.moe;
  FATHOM_RETURN_IF_ERROR(out.Matrix(p + "ffn_gate_inp.weight", e.router, /*keep_f32=*/true));
  if (e.score_bias != nullptr) {
    FATHOM_RETURN_IF_ERROR(out.Vector(p + "exp_probs_b.bias", e.score_bias, c.n_routed_experts));
  }
  std::vector<WeightMatrix> gate, up, down;
  for (const MlpWeights& x : e.experts) {
    gate.push_back(x.gate);
    up.push_back(x.up);
    down.push_back(x.down);
  }
  FATHOM_RETURN_IF_ERROR(out.Stack(p + "ffn_gate_exps.weight", gate));
  FATHOM_RETURN_IF_ERROR(out.Stack(p + "ffn_up_exps.weight", up));
  FATHOM_RETURN_IF_ERROR(out.Stack(p + "ffn_down_exps.weight", down));
  if (e.has_shared) FATHOM_RETURN_IF_ERROR(WriteMlp(p, "_shexp", e.shared, out));
  return absl::OkStatus();
}

std::string FolderName(std::string folder) {
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  const size_t slash = folder.find_last_of('/');
  return slash == std::string::npos ? folder : folder.substr(slash + 1);
}

}  // namespace

absl::Status ExportDeepSeekToGguf(const HfCheckpoint& ckpt, const std::string& out_path,
                                  const ExportOptions& opts) {
  FATHOM_ASSIGN_OR_RETURN(const uint32_t file_type, GgufFileType(opts.weight_type));
  FATHOM_ASSIGN_OR_RETURN(const DeepSeekConfig c, DeepSeekConfig::FromHfConfig(ckpt.config()));
  FATHOM_RETURN_IF_ERROR(CheckExpressible(c));
  HfWeights src(ckpt);
  DeepSeekWeights w;
  FATHOM_RETURN_IF_ERROR(LoadDeepSeekHfWeights(c, src, &w));
  const int64_t n_mtp = opts.include_mtp ? static_cast<int64_t>(w.mtp.size()) : 0;

  GgufWriter g;
  WriteMetadata(c, n_mtp, file_type, FolderName(ckpt.folder()), g);
  if (ckpt.HasTokenizerFiles()) {
    absl::StatusOr<GgufVocabSummary> v =
        WriteHfTokenizerToGguf(ckpt.folder(), c.vocab_size, /*prefer_sentencepiece=*/false, g);
    if (!v.ok()) {
      return absl::Status(v.status().code(), "tokenizer: " + std::string(v.status().message()));
    }
  } else {
    WriteSyntheticVocab(c, g);
  }
  GgufTensorSink out(g, opts.weight_type);
  const int64_t d = c.hidden_size;
  FATHOM_RETURN_IF_ERROR(out.Matrix("token_embd.weight", w.embed));
  for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
    FATHOM_RETURN_IF_ERROR(WriteBlock(c, w.blocks[il], il, out));
  }
  for (int64_t k = 0; k < n_mtp; ++k) {
    const MtpWeights& m = w.mtp[k];
    const int64_t il = c.num_hidden_layers + k;
    const std::string p = absl::StrFormat("blk.%d.nextn.", il);
    FATHOM_RETURN_IF_ERROR(out.Vector(p + "enorm.weight", m.enorm, d));
    FATHOM_RETURN_IF_ERROR(out.Vector(p + "hnorm.weight", m.hnorm, d));
    FATHOM_RETURN_IF_ERROR(out.Matrix(p + "eh_proj.weight", m.eh_proj));
    FATHOM_RETURN_IF_ERROR(WriteBlock(c, m.block, il, out));
    FATHOM_RETURN_IF_ERROR(out.Vector(p + "shared_head_norm.weight", m.head_norm, d));
    // Optional in llama.cpp and here: without them the layer uses the main output/token_embd.
    if (m.head.data != w.lm_head.data) {
      FATHOM_RETURN_IF_ERROR(out.Matrix(p + "shared_head_head.weight", m.head));
    }
    if (m.embed.data != w.embed.data) {
      FATHOM_RETURN_IF_ERROR(out.Matrix(p + "embed_tokens.weight", m.embed));
    }
  }
  FATHOM_RETURN_IF_ERROR(out.Vector("output_norm.weight", w.norm, d));
  if (!c.tie_word_embeddings) FATHOM_RETURN_IF_ERROR(out.Matrix("output.weight", w.lm_head));
  return WriteGgufFile(g, out_path);
}

}  // namespace fathom::internal
