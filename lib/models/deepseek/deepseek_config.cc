// DeepSeekConfig parsing: Hugging Face config.json (as released by deepseek-ai) and GGUF
// `deepseek2` metadata (as llama.cpp's converter writes it), with cross-field validation.
#include "models/deepseek/deepseek_config.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "runtime/status_macros.h"

namespace fathom::internal {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 20;

absl::Status ConfigError(const std::string& what) {
  return absl::InvalidArgumentError("config.json: " + what);
}

// Reads an integer field; `required` fields must exist, null counts as absent.
absl::Status JsonInt(const nlohmann::json& j, const char* key, bool required, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return required ? ConfigError(absl::StrFormat("missing field '%s'", key)) : absl::OkStatus();
  }
  if (it->is_number_integer()) {
    *out = it->get<int64_t>();
  } else if (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>() &&
             std::fabs(it->get<double>()) < 9e15) {
    *out = static_cast<int64_t>(it->get<double>());
  } else {
    return ConfigError(absl::StrFormat("field '%s' must be an integer", key));
  }
  return absl::OkStatus();
}

absl::Status JsonFloat(const nlohmann::json& j, const char* key, double* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    return ConfigError(absl::StrFormat("field '%s' must be a finite number", key));
  }
  *out = it->get<double>();
  return absl::OkStatus();
}

absl::Status JsonBool(const nlohmann::json& j, const char* key, bool* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return ConfigError(absl::StrFormat("field '%s' must be a boolean", key));
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status JsonString(const nlohmann::json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return ConfigError(absl::StrFormat("field '%s' must be a string", key));
  *out = it->get<std::string>();
  return absl::OkStatus();
}

}  // namespace

bool DeepSeekConfig::IsMoeLayer(int64_t il) const {
  return n_routed_experts > 0 && il >= first_k_dense_replace && il % moe_layer_freq == 0;
}

absl::StatusOr<DeepSeekConfig> DeepSeekConfig::FromHfConfig(const nlohmann::json& j) {
  if (!j.is_object()) return ConfigError("not a JSON object");
  DeepSeekConfig c;
  FATHOM_RETURN_IF_ERROR(JsonString(j, "model_type", &c.model_type));
  if (c.model_type != "deepseek_v2" && c.model_type != "deepseek_v3") {
    return absl::UnimplementedError(absl::StrFormat(
        "config.json: model_type '%s' is not supported (expected deepseek_v2 or deepseek_v3)",
        c.model_type));
  }
  const bool v3 = c.model_type == "deepseek_v3";
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "vocab_size", true, &c.vocab_size));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "hidden_size", true, &c.hidden_size));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "intermediate_size", true, &c.intermediate_size));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "num_hidden_layers", true, &c.num_hidden_layers));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "num_attention_heads", true, &c.num_attention_heads));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "q_lora_rank", false, &c.q_lora_rank));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "kv_lora_rank", true, &c.kv_lora_rank));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "qk_nope_head_dim", true, &c.qk_nope_head_dim));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "qk_rope_head_dim", true, &c.qk_rope_head_dim));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "v_head_dim", true, &c.v_head_dim));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "n_routed_experts", false, &c.n_routed_experts));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "n_shared_experts", false, &c.n_shared_experts));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "num_experts_per_tok", false, &c.num_experts_per_tok));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "moe_intermediate_size", false, &c.moe_intermediate_size));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "n_group", false, &c.n_group));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "topk_group", false, &c.topk_group));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "first_k_dense_replace", false, &c.first_k_dense_replace));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "moe_layer_freq", false, &c.moe_layer_freq));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "max_position_embeddings", false, &c.max_position_embeddings));
  FATHOM_RETURN_IF_ERROR(
      JsonInt(j, "num_nextn_predict_layers", false, &c.num_nextn_predict_layers));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "bos_token_id", false, &c.bos_token_id));
  FATHOM_RETURN_IF_ERROR(JsonInt(j, "eos_token_id", false, &c.eos_token_id));
  FATHOM_RETURN_IF_ERROR(JsonBool(j, "norm_topk_prob", &c.norm_topk_prob));
  FATHOM_RETURN_IF_ERROR(JsonBool(j, "tie_word_embeddings", &c.tie_word_embeddings));
  FATHOM_RETURN_IF_ERROR(JsonFloat(j, "routed_scaling_factor", &c.routed_scaling_factor));
  FATHOM_RETURN_IF_ERROR(JsonFloat(j, "rms_norm_eps", &c.rms_norm_eps));
  FATHOM_RETURN_IF_ERROR(JsonFloat(j, "rope_theta", &c.rope_theta));

  std::string scoring = v3 ? "sigmoid" : "softmax";
  FATHOM_RETURN_IF_ERROR(JsonString(j, "scoring_func", &scoring));
  if (scoring == "softmax") {
    c.scoring_func = ScoringFunc::kSoftmax;
  } else if (scoring == "sigmoid") {
    c.scoring_func = ScoringFunc::kSigmoid;
  } else {
    return ConfigError(absl::StrFormat("unknown scoring_func '%s'", scoring));
  }
  std::string method = v3 ? "noaux_tc" : "greedy";
  FATHOM_RETURN_IF_ERROR(JsonString(j, "topk_method", &method));
  if (method == "greedy") {
    c.topk_method = TopkMethod::kGreedy;
  } else if (method == "group_limited_greedy") {
    c.topk_method = TopkMethod::kGroupLimitedGreedy;
  } else if (method == "noaux_tc") {
    c.topk_method = TopkMethod::kNoAuxTc;
  } else {
    return ConfigError(absl::StrFormat("unknown topk_method '%s'", method));
  }

  auto rs = j.find("rope_scaling");
  if (rs != j.end() && !rs->is_null()) {
    if (!rs->is_object()) return ConfigError("rope_scaling must be an object or null");
    std::string type;
    FATHOM_RETURN_IF_ERROR(JsonString(*rs, "type", &type));
    if (type.empty()) FATHOM_RETURN_IF_ERROR(JsonString(*rs, "rope_type", &type));
    if (type != "yarn") {
      return absl::UnimplementedError(
          absl::StrFormat("config.json: rope_scaling type '%s' is not supported", type));
    }
    c.yarn = true;
    c.yarn_original_max_position = c.max_position_embeddings;
    FATHOM_RETURN_IF_ERROR(JsonFloat(*rs, "factor", &c.yarn_factor));
    FATHOM_RETURN_IF_ERROR(
        JsonInt(*rs, "original_max_position_embeddings", false, &c.yarn_original_max_position));
    FATHOM_RETURN_IF_ERROR(JsonFloat(*rs, "beta_fast", &c.yarn_beta_fast));
    FATHOM_RETURN_IF_ERROR(JsonFloat(*rs, "beta_slow", &c.yarn_beta_slow));
    FATHOM_RETURN_IF_ERROR(JsonFloat(*rs, "mscale", &c.yarn_mscale));
    FATHOM_RETURN_IF_ERROR(JsonFloat(*rs, "mscale_all_dim", &c.yarn_mscale_all_dim));
  }

  auto qc = j.find("quantization_config");
  if (qc != j.end() && !qc->is_null()) {
    if (!qc->is_object()) return ConfigError("quantization_config must be an object");
    std::string quant_method, fmt;
    FATHOM_RETURN_IF_ERROR(JsonString(*qc, "quant_method", &quant_method));
    FATHOM_RETURN_IF_ERROR(JsonString(*qc, "fmt", &fmt));
    if (quant_method != "fp8" || (!fmt.empty() && fmt != "e4m3")) {
      return absl::UnimplementedError(
          absl::StrFormat("config.json: quantization '%s' (fmt '%s') is not supported; fp8/e4m3 is",
                          quant_method, fmt));
    }
    auto bs = qc->find("weight_block_size");
    if (bs != qc->end() &&
        !(bs->is_array() && bs->size() == 2 && (*bs)[0] == 128 && (*bs)[1] == 128)) {
      return absl::UnimplementedError(
          "config.json: only fp8 weight_block_size [128, 128] is supported");
    }
    c.fp8_block_scales = true;
  }
  FATHOM_RETURN_IF_ERROR(c.Validate());
  return c;
}

absl::StatusOr<DeepSeekConfig> DeepSeekConfig::FromGguf(const GgufFile& g) {
  DeepSeekConfig c;
  const std::string a = "deepseek2.";
  auto get_int = [&](const std::string& key, bool required, int64_t* out) -> absl::Status {
    if (g.Find(key) == nullptr) {
      return required ? absl::InvalidArgumentError("gguf: missing key " + key) : absl::OkStatus();
    }
    auto v = g.GetInt(key);
    if (!v.ok()) return v.status();
    *out = *v;
    return absl::OkStatus();
  };
  auto get_float = [&](const std::string& key, double* out) -> absl::Status {
    if (g.Find(key) == nullptr) return absl::OkStatus();
    auto v = g.GetFloat(key);
    if (!v.ok()) return v.status();
    if (!std::isfinite(*v)) return absl::InvalidArgumentError("gguf: " + key + " is not finite");
    *out = *v;
    return absl::OkStatus();
  };
  auto embd = g.GetTensor("token_embd.weight");
  if (!embd.ok()) return embd.status();
  if (embd->dims.size() != 2) return absl::InvalidArgumentError("token_embd.weight must be 2-D");
  c.vocab_size = embd->dims[1];
  int64_t block_count = 0, key_length = 0, value_length = 0, key_mla = 0, value_mla = 0;
  int64_t gating = 0;
  FATHOM_RETURN_IF_ERROR(get_int(a + "block_count", true, &block_count));
  FATHOM_RETURN_IF_ERROR(get_int(a + "nextn_predict_layers", false, &c.num_nextn_predict_layers));
  c.num_hidden_layers = block_count - c.num_nextn_predict_layers;
  FATHOM_RETURN_IF_ERROR(get_int(a + "embedding_length", true, &c.hidden_size));
  FATHOM_RETURN_IF_ERROR(get_int(a + "feed_forward_length", true, &c.intermediate_size));
  FATHOM_RETURN_IF_ERROR(get_int(a + "context_length", false, &c.max_position_embeddings));
  FATHOM_RETURN_IF_ERROR(get_int(a + "attention.head_count", true, &c.num_attention_heads));
  FATHOM_RETURN_IF_ERROR(get_int(a + "attention.q_lora_rank", false, &c.q_lora_rank));
  FATHOM_RETURN_IF_ERROR(get_int(a + "attention.kv_lora_rank", true, &c.kv_lora_rank));
  FATHOM_RETURN_IF_ERROR(get_int(a + "rope.dimension_count", true, &c.qk_rope_head_dim));
  FATHOM_RETURN_IF_ERROR(get_int(a + "attention.key_length", true, &key_length));
  FATHOM_RETURN_IF_ERROR(get_int(a + "attention.value_length", true, &value_length));
  FATHOM_RETURN_IF_ERROR(get_int(a + "attention.key_length_mla", false, &key_mla));
  FATHOM_RETURN_IF_ERROR(get_int(a + "attention.value_length_mla", false, &value_mla));
  // Newer converters store the MLA head sizes in *_mla keys (key_length is then the latent
  // width); older ones store them in key_length/value_length directly.
  c.qk_nope_head_dim = (key_mla > 0 ? key_mla : key_length) - c.qk_rope_head_dim;
  c.v_head_dim = value_mla > 0 ? value_mla : value_length;
  FATHOM_RETURN_IF_ERROR(get_int(a + "expert_count", false, &c.n_routed_experts));
  FATHOM_RETURN_IF_ERROR(get_int(a + "expert_used_count", false, &c.num_experts_per_tok));
  FATHOM_RETURN_IF_ERROR(get_int(a + "expert_shared_count", false, &c.n_shared_experts));
  FATHOM_RETURN_IF_ERROR(
      get_int(a + "expert_feed_forward_length", false, &c.moe_intermediate_size));
  FATHOM_RETURN_IF_ERROR(get_int(a + "expert_group_count", false, &c.n_group));
  FATHOM_RETURN_IF_ERROR(get_int(a + "expert_group_used_count", false, &c.topk_group));
  FATHOM_RETURN_IF_ERROR(get_int(a + "leading_dense_block_count", false, &c.first_k_dense_replace));
  FATHOM_RETURN_IF_ERROR(get_int(a + "expert_gating_func", false, &gating));
  FATHOM_RETURN_IF_ERROR(get_float(a + "expert_weights_scale", &c.routed_scaling_factor));
  if (g.Find(a + "expert_weights_norm") != nullptr) {
    auto b = g.GetBool(a + "expert_weights_norm");
    if (!b.ok()) return b.status();
    c.norm_topk_prob = *b;
  }
  FATHOM_RETURN_IF_ERROR(get_float(a + "attention.layer_norm_rms_epsilon", &c.rms_norm_eps));
  FATHOM_RETURN_IF_ERROR(get_float(a + "rope.freq_base", &c.rope_theta));
  if (gating == 2) {
    c.scoring_func = ScoringFunc::kSigmoid;
    c.topk_method = TopkMethod::kNoAuxTc;
    c.model_type = "deepseek_v3";
  } else if (gating == 0 || gating == 1) {
    c.scoring_func = ScoringFunc::kSoftmax;
    // GGUF has no key for the V2 group rule; with softmax gating, groups mean V2-236B's
    // group_limited_greedy (a group's score is its best expert), as DeepSeek's code does.
    c.topk_method = c.n_group > 1 ? TopkMethod::kGroupLimitedGreedy : TopkMethod::kGreedy;
    c.model_type = "deepseek_v2";
  } else {
    return absl::InvalidArgumentError(
        absl::StrFormat("gguf: unknown %sexpert_gating_func %d", a, gating));
  }
  if (g.Find(a + "rope.scaling.type") != nullptr) {
    auto type = g.GetString(a + "rope.scaling.type");
    if (!type.ok()) return type.status();
    if (*type == "yarn") {
      c.yarn = true;
      FATHOM_RETURN_IF_ERROR(get_float(a + "rope.scaling.factor", &c.yarn_factor));
      FATHOM_RETURN_IF_ERROR(get_int(a + "rope.scaling.original_context_length", false,
                                     &c.yarn_original_max_position));
      FATHOM_RETURN_IF_ERROR(get_float(a + "rope.scaling.yarn_beta_fast", &c.yarn_beta_fast));
      FATHOM_RETURN_IF_ERROR(get_float(a + "rope.scaling.yarn_beta_slow", &c.yarn_beta_slow));
      double log_mul = 0.0;
      FATHOM_RETURN_IF_ERROR(get_float(a + "rope.scaling.yarn_log_multiplier", &log_mul));
      c.yarn_mscale_all_dim = log_mul / 0.1;  // the converter writes 0.1 * mscale_all_dim
      c.yarn_mscale = c.yarn_mscale_all_dim;
    } else if (*type != "none") {
      return absl::UnimplementedError("gguf: rope scaling '" + *type + "' is not supported");
    }
  }
  FATHOM_RETURN_IF_ERROR(c.Validate());
  return c;
}

absl::Status DeepSeekConfig::Validate() const {
  auto in_range = [](const char* name, int64_t v, int64_t lo, int64_t hi) -> absl::Status {
    if (v < lo || v > hi) {
      return absl::InvalidArgumentError(
          absl::StrFormat("model config: %s = %d is outside [%d, %d]", name, v, lo, hi));
    }
    return absl::OkStatus();
  };
  FATHOM_RETURN_IF_ERROR(in_range("vocab_size", vocab_size, 1, int64_t{1} << 24));
  FATHOM_RETURN_IF_ERROR(in_range("hidden_size", hidden_size, 1, kMaxDim));
  FATHOM_RETURN_IF_ERROR(in_range("intermediate_size", intermediate_size, 1, kMaxDim));
  FATHOM_RETURN_IF_ERROR(in_range("num_hidden_layers", num_hidden_layers, 1, 4096));
  FATHOM_RETURN_IF_ERROR(in_range("num_attention_heads", num_attention_heads, 1, 4096));
  FATHOM_RETURN_IF_ERROR(in_range("q_lora_rank", q_lora_rank, 0, kMaxDim));
  FATHOM_RETURN_IF_ERROR(in_range("kv_lora_rank", kv_lora_rank, 1, kMaxDim));
  FATHOM_RETURN_IF_ERROR(in_range("qk_nope_head_dim", qk_nope_head_dim, 1, kMaxDim));
  FATHOM_RETURN_IF_ERROR(in_range("qk_rope_head_dim", qk_rope_head_dim, 2, kMaxDim));
  FATHOM_RETURN_IF_ERROR(in_range("v_head_dim", v_head_dim, 1, kMaxDim));
  FATHOM_RETURN_IF_ERROR(in_range("num_nextn_predict_layers", num_nextn_predict_layers, 0, 16));
  FATHOM_RETURN_IF_ERROR(
      in_range("max_position_embeddings", max_position_embeddings, 1, int64_t{1} << 24));
  if (qk_rope_head_dim % 2 != 0) {
    return absl::InvalidArgumentError("model config: qk_rope_head_dim must be even");
  }
  if (n_routed_experts > 0) {
    FATHOM_RETURN_IF_ERROR(in_range("n_routed_experts", n_routed_experts, 1, 65536));
    FATHOM_RETURN_IF_ERROR(in_range("moe_intermediate_size", moe_intermediate_size, 1, kMaxDim));
    FATHOM_RETURN_IF_ERROR(
        in_range("num_experts_per_tok", num_experts_per_tok, 1, n_routed_experts));
    FATHOM_RETURN_IF_ERROR(in_range("n_shared_experts", n_shared_experts, 0, 1024));
    FATHOM_RETURN_IF_ERROR(in_range("n_group", n_group, 1, n_routed_experts));
    FATHOM_RETURN_IF_ERROR(in_range("topk_group", topk_group, 1, n_group));
    FATHOM_RETURN_IF_ERROR(in_range("moe_layer_freq", moe_layer_freq, 1, 4096));
    FATHOM_RETURN_IF_ERROR(in_range("first_k_dense_replace", first_k_dense_replace, 0, 4096));
    if (n_routed_experts % n_group != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("model config: n_routed_experts %d is not a multiple of n_group %d",
                          n_routed_experts, n_group));
    }
    const int64_t per_group = n_routed_experts / n_group;
    if (topk_method == TopkMethod::kNoAuxTc && n_group > 1 && per_group < 2) {
      return absl::InvalidArgumentError("model config: noaux_tc needs >= 2 experts per group");
    }
    if (topk_method != TopkMethod::kGreedy && num_experts_per_tok > topk_group * per_group) {
      return absl::InvalidArgumentError(
          "model config: num_experts_per_tok exceeds the experts of the kept groups");
    }
  }
  if (yarn && !(yarn_factor >= 1.0 && yarn_original_max_position > 0 && yarn_beta_fast > 0 &&
                yarn_beta_slow > 0)) {
    return absl::InvalidArgumentError("model config: invalid yarn rope_scaling parameters");
  }
  if (!(rope_theta > 1.0) || !(rms_norm_eps >= 0) || !(routed_scaling_factor > 0)) {
    return absl::InvalidArgumentError(
        "model config: rope_theta must be > 1, rms_norm_eps >= 0, routed_scaling_factor > 0");
  }
  return absl::OkStatus();
}

}  // namespace fathom::internal
