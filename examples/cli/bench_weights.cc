// Active weight bytes per decoded token (see bench_weights.h for the formula).
#include "bench_weights.h"

#include <charconv>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "api/model_impl.h"

namespace fathom::cli {
namespace {

struct Names {
  std::string_view layer_prefix;  // followed by the layer index and '.'
  std::string_view embedding;
  std::string_view head;
  std::string_view routed;  // in a per-layer name after "<prefix><layer>.": a routed expert
};

constexpr Names kGgufNames = {"blk.", "token_embd.weight", "output.weight", "_exps."};
constexpr Names kHfNames = {"model.layers.", "model.embed_tokens.weight", "lm_head.weight",
                            "mlp.experts."};

// The layer index of a per-layer tensor name ("blk.3.attn_q.weight" -> 3), or -1.
int64_t LayerOf(std::string_view name, std::string_view prefix, std::string_view* rest) {
  if (name.substr(0, prefix.size()) != prefix) return -1;
  name.remove_prefix(prefix.size());
  int64_t il = -1;
  const auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), il);
  if (ec != std::errc() || ptr == name.data() || ptr == name.data() + name.size() || *ptr != '.') {
    return -1;
  }
  *rest = std::string_view(ptr + 1, static_cast<size_t>(name.data() + name.size() - ptr - 1));
  return il;
}

}  // namespace

absl::StatusOr<ActiveWeights> CountActiveWeights(const ActiveWeightsInput& in) {
  const Names& names = in.naming == TensorNaming::kGguf ? kGgufNames : kHfNames;
  // DeepSeek GGUFs may carry both attn_kv_b and its split form attn_k_b/attn_v_b; the model
  // reads attn_kv_b then (lib/models/deepseek/deepseek_weights.cc).
  absl::flat_hash_set<int64_t> layers_with_kv_b;
  if (in.naming == TensorNaming::kGguf) {
    for (const WeightTensorBytes& t : in.tensors) {
      std::string_view rest;
      const int64_t il = LayerOf(t.name, names.layer_prefix, &rest);
      if (il >= 0 && rest == "attn_kv_b.weight") layers_with_kv_b.insert(il);
    }
  }
  ActiveWeights w;
  bool has_embedding = false, has_head = false;
  for (const WeightTensorBytes& t : in.tensors) {
    w.total_bytes += t.bytes;
    if (t.name == names.embedding) {
      has_embedding = true;
      w.embedding_bytes += t.bytes;
      continue;
    }
    std::string_view rest;
    const int64_t il = LayerOf(t.name, names.layer_prefix, &rest);
    if (il >= in.n_layer || (il >= 0 && layers_with_kv_b.contains(il) &&
                             (rest == "attn_k_b.weight" || rest == "attn_v_b.weight"))) {
      w.skipped_bytes += t.bytes;
      continue;
    }
    if (t.name == names.head) has_head = true;
    if (il >= 0 && rest.find(names.routed) != std::string_view::npos) {
      w.routed_bytes += t.bytes;
    } else {
      w.dense_bytes += t.bytes;
    }
  }
  if (!has_embedding) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the model has no token embedding '%s'", names.embedding));
  }
  if (w.routed_bytes > 0 &&
      (in.n_expert <= 0 || in.n_expert_used <= 0 || in.n_expert_used > in.n_expert)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "routed experts present but experts used %d of %d", in.n_expert_used, in.n_expert));
  }
  if (w.routed_bytes > 0) {
    const long double share =
        static_cast<long double>(in.n_expert_used) / static_cast<long double>(in.n_expert);
    w.routed_active_bytes =
        static_cast<uint64_t>(static_cast<long double>(w.routed_bytes) * share + 0.5L);
  }
  w.tied_head = !has_head;
  if (w.tied_head || in.n_vocab <= 0) {
    w.embedding_active_bytes = w.embedding_bytes;
  } else {
    w.embedding_active_bytes = w.embedding_bytes / static_cast<uint64_t>(in.n_vocab);
  }
  w.active_bytes = w.dense_bytes + w.routed_active_bytes + w.embedding_active_bytes;
  return w;
}

absl::StatusOr<ActiveWeightsInput> ActiveWeightsInputOf(const Model& model) {
  const internal::ModelImpl& impl = model.impl();
  ActiveWeightsInput in;
  in.n_vocab = model.info().n_vocab;
  in.n_layer = model.info().n_layer;
  if (impl.gguf != nullptr) {
    const GgufFile& g = *impl.gguf;
    in.naming = TensorNaming::kGguf;
    for (const GgufTensorInfo& t : g.tensor_infos()) in.tensors.push_back({t.name, t.n_bytes});
    // The key prefix is the file's architecture ("deepseek2"), not ModelInfo's family name.
    absl::StatusOr<std::string> file_arch = g.GetString("general.architecture");
    if (!file_arch.ok()) return file_arch.status();
    const std::string arch = *file_arch + ".";
    if (auto v = g.GetInt(arch + "expert_count"); v.ok()) in.n_expert = *v;
    if (auto v = g.GetInt(arch + "expert_used_count"); v.ok()) in.n_expert_used = *v;
    // ModelInfo::n_layer counts the main model's layers; be explicit for files that also
    // carry MTP layers.
    if (auto blocks = g.GetInt(arch + "block_count"); blocks.ok()) {
      int64_t nextn = 0;
      if (auto v = g.GetInt(arch + "nextn_predict_layers"); v.ok()) nextn = *v;
      in.n_layer = *blocks - nextn;
    }
    return in;
  }
  if (impl.hf != nullptr) {
    const HfCheckpoint& hf = *impl.hf;
    in.naming = TensorNaming::kHuggingFace;
    for (const std::string& name : hf.TensorNames()) {
      in.tensors.push_back({name, hf.Find(name)->n_bytes});
    }
    const nlohmann::json& c = hf.config();
    auto get = [&c](const char* key, int64_t* out) {
      auto it = c.find(key);
      if (it != c.end() && it->is_number_integer()) *out = it->get<int64_t>();
    };
    get("num_hidden_layers", &in.n_layer);
    get("n_routed_experts", &in.n_expert);
    get("num_experts_per_tok", &in.n_expert_used);
    return in;
  }
  return absl::FailedPreconditionError("the model has no tensor list");
}

}  // namespace fathom::cli
