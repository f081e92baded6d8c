// ExportLlamaToGguf, following llama.cpp's convert_hf_to_gguf.py:
// - TextModel.set_gguf_parameters: block_count, context_length (max_position_embeddings),
//   embedding_length, feed_forward_length, attention.head_count(_kv), rope.freq_base,
//   attention.layer_norm_rms_epsilon, key/value_length when config.json has head_dim,
//   general.file_type; LlamaModel adds vocab_size and rope.dimension_count, rope.scaling.type
//   linear + factor; Qwen2Model adds rope.scaling yarn (type, factor, original_context_length).
// - Tensor names (gguf-py tensor_mapping): embed_tokens -> token_embd, input_layernorm ->
//   attn_norm, self_attn.{q,k,v,o}_proj -> attn_{q,k,v,output} (+ .bias), post_attention_layernorm
//   -> ffn_norm, mlp.{gate,up,down}_proj -> ffn_{gate,up,down}, model.norm -> output_norm,
//   lm_head -> output; rotary_emb.inv_freq is dropped.
// - LlamaModel.modify_tensors permutes the rows of q_proj (weight and bias) with n_head and of
//   k_proj with n_head_kv (LlamaModel.permute): within each head of size D, GGUF row 2i + j is
//   HF row j * D/2 + i (HF's rotate-half layout -> ggml's adjacent pairs). Qwen2 is not permuted
//   (NEOX rope reads the HF layout).
// - LlamaModel.generate_extra_tensors: rope_scaling rope_type "llama3" gives rope_freqs.weight,
//   computed here in float32 with the same operations torch performs there.
#include "models/llama/llama_gguf_export.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "format/gguf_writer.h"
#include "models/gguf_export_util.h"
#include "models/hf_weights.h"
#include "runtime/status_macros.h"
#include "tokenizer/gguf_vocab_export.h"

namespace fathom::internal {
namespace {

constexpr double kPi = 3.14159265358979323846;  // Python's math.pi

struct LlamaHparams {
  std::string arch;  // "llama" or "qwen2"
  int64_t n_layer = 0, n_embd = 0, n_ff = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  int64_t n_vocab = 0;
  bool explicit_head_dim = false;
  const nlohmann::json* n_ctx = nullptr;
  const nlohmann::json* rope_theta = nullptr;
  const nlohmann::json* rms_eps = nullptr;
  bool tied = false;
  const nlohmann::json* rope_scaling = nullptr;  // an object, or nullptr
};

absl::Status ConfigInt(const nlohmann::json& j, const char* key, bool required, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrFormat("config.json: '%s' is missing", key));
  }
  if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (1 << 24)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("config.json: '%s' must be a positive integer", key));
  }
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

const nlohmann::json* ConfigNumber(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? &*it : nullptr;
}

double Num(const nlohmann::json& j, const char* key, double fallback) {
  const nlohmann::json* v = ConfigNumber(j, key);
  return v != nullptr ? v->get<double>() : fallback;
}

std::string Architecture(const nlohmann::json& config) {
  auto it = config.find("architectures");
  if (it == config.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return "";
  return (*it)[0].get<std::string>();
}

absl::StatusOr<LlamaHparams> ReadHparams(const nlohmann::json& c) {
  LlamaHparams h;
  const std::string arch = Architecture(c);
  if (arch == "LlamaForCausalLM") {
    h.arch = "llama";
  } else if (arch == "Qwen2ForCausalLM") {
    h.arch = "qwen2";
  } else {
    return absl::UnimplementedError(absl::StrFormat(
        "config.json: architecture '%s' is not supported (LlamaForCausalLM, Qwen2ForCausalLM, "
        "DeepseekV2ForCausalLM, DeepseekV3ForCausalLM are)",
        arch));
  }
  FATHOM_RETURN_IF_ERROR(ConfigInt(c, "num_hidden_layers", true, &h.n_layer));
  FATHOM_RETURN_IF_ERROR(ConfigInt(c, "hidden_size", true, &h.n_embd));
  FATHOM_RETURN_IF_ERROR(ConfigInt(c, "intermediate_size", true, &h.n_ff));
  FATHOM_RETURN_IF_ERROR(ConfigInt(c, "num_attention_heads", true, &h.n_head));
  FATHOM_RETURN_IF_ERROR(ConfigInt(c, "vocab_size", true, &h.n_vocab));
  h.n_head_kv = h.n_head;
  FATHOM_RETURN_IF_ERROR(ConfigInt(c, "num_key_value_heads", false, &h.n_head_kv));
  h.explicit_head_dim = c.contains("head_dim") && !c["head_dim"].is_null();
  if (!h.explicit_head_dim && h.n_embd % h.n_head != 0) {
    return absl::InvalidArgumentError("config.json: hidden_size is not a multiple of the heads");
  }
  h.head_dim = h.n_embd / h.n_head;
  FATHOM_RETURN_IF_ERROR(ConfigInt(c, "head_dim", false, &h.head_dim));
  if (h.n_head % h.n_head_kv != 0 || h.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        "config.json: num_attention_heads must be a multiple of num_key_value_heads and the head "
        "size even");
  }
  if (h.n_head_kv > h.n_head || h.n_head * h.head_dim > (1 << 24)) {
    return absl::InvalidArgumentError("config.json: the attention sizes are out of range");
  }
  h.n_ctx = ConfigNumber(c, "max_position_embeddings");
  if (h.n_ctx != nullptr &&
      !(h.n_ctx->get<double>() >= 1 && h.n_ctx->get<double>() < 4294967296.0)) {
    return absl::InvalidArgumentError("config.json: max_position_embeddings is out of range");
  }
  h.rope_theta = ConfigNumber(c, "rope_theta");
  h.rms_eps = ConfigNumber(c, "rms_norm_eps");
  // transformers' LlamaConfig and Qwen2Config default to untied embeddings.
  if (auto it = c.find("tie_word_embeddings"); it != c.end() && it->is_boolean()) {
    h.tied = it->get<bool>();
  }
  if (auto it = c.find("mlp_bias"); it != c.end() && it->is_boolean() && it->get<bool>()) {
    return absl::UnimplementedError("config.json: mlp_bias is not supported in GGUF llama");
  }
  if (auto it = c.find("rope_scaling"); it != c.end() && !it->is_null()) {
    if (!it->is_object()) return absl::InvalidArgumentError("config.json: bad rope_scaling");
    h.rope_scaling = &*it;
  }
  return h;
}

// rope_scaling -> metadata (or rope_freqs); refuses what GGUF llama / qwen2 cannot say.
absl::Status WriteRopeScaling(const LlamaHparams& h, GgufWriter& g, std::vector<float>* freqs) {
  if (h.rope_scaling == nullptr) return absl::OkStatus();
  const nlohmann::json& r = *h.rope_scaling;
  std::string type;
  for (const char* k : {"rope_type", "type"}) {
    if (auto it = r.find(k); it != r.end() && it->is_string()) type = it->get<std::string>();
    if (!type.empty()) break;
  }
  const std::string a = h.arch + ".";
  if (type == "default") return absl::OkStatus();
  if (h.arch == "llama" && type == "linear") {
    g.SetString(a + "rope.scaling.type", "linear");
    g.SetFloat32(a + "rope.scaling.factor", static_cast<float>(Num(r, "factor", 1.0)));
    return absl::OkStatus();
  }
  if (h.arch == "qwen2" && type == "yarn") {
    const double orig = Num(r, "original_max_position_embeddings", 0);
    if (ConfigNumber(r, "factor") == nullptr || !(orig >= 1 && orig < 4294967296.0)) {
      return absl::InvalidArgumentError(
          "config.json: yarn rope_scaling needs factor and original_max_position_embeddings");
    }
    g.SetString(a + "rope.scaling.type", "yarn");
    g.SetFloat32(a + "rope.scaling.factor", static_cast<float>(Num(r, "factor", 1.0)));
    g.SetUint32(a + "rope.scaling.original_context_length", static_cast<uint32_t>(orig));
    return absl::OkStatus();
  }
  if (h.arch == "llama" && type == "llama3") {
    // Float32 throughout, as torch computes it in LlamaModel.generate_extra_tensors (a Python
    // scalar divided by a tensor is reciprocal(tensor) * scalar there).
    const float base = static_cast<float>(h.rope_theta ? h.rope_theta->get<double>() : 10000.0);
    const double factor = Num(r, "factor", 8.0), low = Num(r, "low_freq_factor", 1.0);
    const double high = Num(r, "high_freq_factor", 4.0);
    const double old_ctx = Num(r, "original_max_position_embeddings", 8192);
    const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
    if (low_wavelen == high_wavelen) {
      return absl::InvalidArgumentError("config.json: llama3 rope_scaling has equal wavelengths");
    }
    const int64_t dim = h.head_dim;
    for (int64_t k = 0; k < dim; k += 2) {
      const float e = static_cast<float>(k) / static_cast<float>(dim);
      const float freq = 1.0f / std::pow(base, e);
      const float wavelen = (1.0f / freq) * static_cast<float>(2 * kPi);
      if (wavelen < static_cast<float>(high_wavelen)) {
        freqs->push_back(1.0f);
      } else if (wavelen > static_cast<float>(low_wavelen)) {
        freqs->push_back(static_cast<float>(factor));
      } else {
        const float smooth =
            ((1.0f / wavelen) * static_cast<float>(old_ctx) - static_cast<float>(low)) /
            static_cast<float>(high - low);
        const float denom = (1.0f - smooth) / static_cast<float>(factor) + smooth;
        freqs->push_back((1.0f / denom) * 1.0f);
      }
    }
    return absl::OkStatus();
  }
  return absl::UnimplementedError(absl::StrFormat(
      "config.json: rope_scaling type '%s' cannot be expressed in GGUF %s", type, h.arch));
}

// LlamaModel.permute: GGUF row h*D + 2i + j <- HF row h*D + j*D/2 + i.
std::vector<int64_t> PermutedRows(int64_t heads, int64_t head_dim) {
  std::vector<int64_t> order(heads * head_dim);
  for (int64_t hh = 0; hh < heads; ++hh) {
    for (int64_t i = 0; i < head_dim / 2; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        order[hh * head_dim + 2 * i + j] = hh * head_dim + j * (head_dim / 2) + i;
      }
    }
  }
  return order;
}

std::string FolderName(std::string folder) {
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  const size_t slash = folder.find_last_of('/');
  return slash == std::string::npos ? folder : folder.substr(slash + 1);
}

}  // namespace

bool IsLlamaFamilyHfConfig(const HfCheckpoint& ckpt) {
  const std::string a = Architecture(ckpt.config());
  return a == "LlamaForCausalLM" || a == "Qwen2ForCausalLM";
}

absl::Status ExportLlamaToGguf(const HfCheckpoint& ckpt, const std::string& out_path,
                               DType weight_type) {
  FATHOM_ASSIGN_OR_RETURN(const uint32_t file_type, GgufFileType(weight_type));
  FATHOM_ASSIGN_OR_RETURN(const LlamaHparams h, ReadHparams(ckpt.config()));
  GgufWriter g;
  const std::string a = h.arch + ".";
  auto u32 = [&](const std::string& key, int64_t v) {
    g.SetUint32(a + key, static_cast<uint32_t>(v));
  };
  g.SetString("general.architecture", h.arch);
  g.SetString("general.type", "model");
  g.SetString("general.name", FolderName(ckpt.folder()));
  u32("block_count", h.n_layer);
  if (h.n_ctx != nullptr) u32("context_length", static_cast<int64_t>(h.n_ctx->get<double>()));
  u32("embedding_length", h.n_embd);
  u32("feed_forward_length", h.n_ff);
  u32("attention.head_count", h.n_head);
  u32("attention.head_count_kv", h.n_head_kv);
  if (h.rope_theta != nullptr) {
    g.SetFloat32(a + "rope.freq_base", static_cast<float>(h.rope_theta->get<double>()));
  }
  if (h.rms_eps != nullptr) {
    g.SetFloat32(a + "attention.layer_norm_rms_epsilon",
                 static_cast<float>(h.rms_eps->get<double>()));
  }
  if (h.explicit_head_dim) {
    u32("attention.key_length", h.head_dim);
    u32("attention.value_length", h.head_dim);
  }
  g.SetUint32("general.file_type", file_type);
  if (h.arch == "llama") {
    u32("vocab_size", h.n_vocab);
    u32("rope.dimension_count", h.head_dim);
  }
  std::vector<float> rope_freqs;
  FATHOM_RETURN_IF_ERROR(WriteRopeScaling(h, g, &rope_freqs));
  g.SetUint32("general.quantization_version", 2);
  if (!ckpt.HasTokenizerFiles()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' has no tokenizer.json: a GGUF %s model needs its tokenizer", ckpt.folder(), h.arch));
  }
  {
    absl::StatusOr<GgufVocabSummary> v =
        WriteHfTokenizerToGguf(ckpt.folder(), h.n_vocab, /*prefer_sentencepiece=*/true, g);
    if (!v.ok()) {
      return absl::Status(v.status().code(), "tokenizer: " + std::string(v.status().message()));
    }
  }

  HfWeights src(ckpt);
  GgufTensorSink out(g, weight_type);
  absl::flat_hash_set<std::string> used;
  auto matrix = [&](const std::string& hf, const std::string& gguf, int64_t rows, int64_t cols,
                    const std::vector<int64_t>* order = nullptr) -> absl::Status {
    FATHOM_ASSIGN_OR_RETURN(const WeightMatrix w, src.Matrix(hf, rows, cols));
    used.insert(hf);
    return out.Matrix(gguf, w, /*keep_f32=*/false, order);
  };
  auto vector = [&](const std::string& hf, const std::string& gguf, int64_t n,
                    const std::vector<int64_t>* order = nullptr) -> absl::Status {
    FATHOM_ASSIGN_OR_RETURN(const float* v, src.Vector(hf, n));
    used.insert(hf);
    if (order == nullptr) return out.Vector(gguf, v, n);
    std::vector<float> p(n);
    for (int64_t r = 0; r < n; ++r) p[r] = v[(*order)[r]];
    return out.Vector(gguf, p.data(), n);
  };
  const int64_t q_dim = h.n_head * h.head_dim, kv_dim = h.n_head_kv * h.head_dim;
  const bool permute = h.arch == "llama";
  const std::vector<int64_t> q_order = PermutedRows(h.n_head, h.head_dim);
  const std::vector<int64_t> k_order = PermutedRows(h.n_head_kv, h.head_dim);
  FATHOM_RETURN_IF_ERROR(
      matrix("model.embed_tokens.weight", "token_embd.weight", h.n_vocab, h.n_embd));
  for (int64_t il = 0; il < h.n_layer; ++il) {
    const std::string p = absl::StrFormat("model.layers.%d.", il);
    const std::string b = absl::StrFormat("blk.%d.", il);
    FATHOM_RETURN_IF_ERROR(vector(p + "input_layernorm.weight", b + "attn_norm.weight", h.n_embd));
    struct Proj {
      const char* hf;
      const char* gguf;
      int64_t rows;
      const std::vector<int64_t>* order;
    };
    for (const Proj& pr : {Proj{"q_proj", "attn_q", q_dim, permute ? &q_order : nullptr},
                           Proj{"k_proj", "attn_k", kv_dim, permute ? &k_order : nullptr},
                           Proj{"v_proj", "attn_v", kv_dim, nullptr}}) {
      const std::string hf = p + "self_attn." + pr.hf;
      FATHOM_RETURN_IF_ERROR(
          matrix(hf + ".weight", b + pr.gguf + ".weight", pr.rows, h.n_embd, pr.order));
      if (h.arch == "qwen2" || src.Has(hf + ".bias")) {
        FATHOM_RETURN_IF_ERROR(vector(hf + ".bias", b + pr.gguf + ".bias", pr.rows, pr.order));
      }
    }
    FATHOM_RETURN_IF_ERROR(
        matrix(p + "self_attn.o_proj.weight", b + "attn_output.weight", h.n_embd, q_dim));
    if (src.Has(p + "self_attn.o_proj.bias")) {
      FATHOM_RETURN_IF_ERROR(vector(p + "self_attn.o_proj.bias", b + "attn_output.bias", h.n_embd));
    }
    FATHOM_RETURN_IF_ERROR(
        vector(p + "post_attention_layernorm.weight", b + "ffn_norm.weight", h.n_embd));
    FATHOM_RETURN_IF_ERROR(
        matrix(p + "mlp.gate_proj.weight", b + "ffn_gate.weight", h.n_ff, h.n_embd));
    FATHOM_RETURN_IF_ERROR(matrix(p + "mlp.up_proj.weight", b + "ffn_up.weight", h.n_ff, h.n_embd));
    FATHOM_RETURN_IF_ERROR(
        matrix(p + "mlp.down_proj.weight", b + "ffn_down.weight", h.n_embd, h.n_ff));
  }
  FATHOM_RETURN_IF_ERROR(vector("model.norm.weight", "output_norm.weight", h.n_embd));
  if (!h.tied) {
    FATHOM_RETURN_IF_ERROR(matrix("lm_head.weight", "output.weight", h.n_vocab, h.n_embd));
  } else if (src.Has("lm_head.weight")) {
    used.insert("lm_head.weight");  // a stored copy of the tied embedding
  }
  if (!rope_freqs.empty()) {
    FATHOM_RETURN_IF_ERROR(out.Vector("rope_freqs.weight", rope_freqs.data(),
                                      static_cast<int64_t>(rope_freqs.size())));
  }
  for (const std::string& name : ckpt.TensorNames()) {
    if (used.contains(name) || absl::EndsWith(name, "rotary_emb.inv_freq")) continue;
    return absl::InvalidArgumentError(absl::StrFormat(
        "tensor '%s' has no place in GGUF %s (layer beyond num_hidden_layers, or an "
        "unsupported variant)",
        name, h.arch));
  }
  return WriteGgufFile(g, out_path);
}

}  // namespace fathom::internal
