// fathom make-model: writes a random-weight GGUF with the exact tensor names, shapes and metadata
// of a real model (DeepSeek-R1-Distill-Qwen-1.5B, DeepSeek-V2-Lite, or a slice of DeepSeek-V3),
// for benchmarks that need no download. Weights are generated and quantized row block by row
// block and streamed to the file, so no F32 copy of the model is ever held in memory. The
// tokenizer comes from a real vocabulary file (a llama.cpp vocab-only GGUF or a tokenizer.json),
// padded with [PADn] tokens up to the model's vocabulary size as llama.cpp's converter does.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "commands.h"
#include "common.h"
#include "format/gguf_quantize.h"
#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "nlohmann/json.hpp"

namespace fathom::cli {
namespace {

constexpr char kCommand[] = "make-model";

// Every number of a model's shape; presets below, any of them overridable with --set.
struct Shape {
  std::string arch;  // "qwen2" or "deepseek2"
  std::string name;
  std::map<std::string, double> v;  // hidden, layers, heads, ...
  int64_t I(const std::string& k) const { return static_cast<int64_t>(v.at(k)); }
  double F(const std::string& k) const { return v.at(k); }
};

Shape Preset(const std::string& preset, bool* ok) {
  Shape s;
  *ok = true;
  if (preset == "r1-distill-qwen-1.5b") {
    s.arch = "qwen2";
    s.name = "DeepSeek-R1-Distill-Qwen-1.5B (random weights)";
    s.v = {{"hidden", 1536}, {"layers", 28},        {"heads", 12},
           {"kv_heads", 2},  {"ffn", 8960},         {"vocab", 151936},
           {"ctx", 131072},  {"rope_theta", 10000}, {"rms_eps", 1e-6}};
  } else if (preset == "deepseek-v2-lite") {
    s.arch = "deepseek2";
    s.name = "DeepSeek-V2-Lite (random weights)";
    s.v = {{"hidden", 2048},
           {"layers", 27},
           {"heads", 16},
           {"q_lora", 0},
           {"kv_lora", 512},
           {"rope_dim", 64},
           {"nope_dim", 128},
           {"v_dim", 128},
           {"experts", 64},
           {"experts_used", 6},
           {"shared", 2},
           {"expert_ffn", 1408},
           {"dense_layers", 1},
           {"ffn", 10944},
           {"vocab", 102400},
           {"ctx", 163840},
           {"rope_theta", 10000},
           {"rms_eps", 1e-6},
           {"routed_scale", 1.0},
           {"norm_topk", 0},
           {"gating", 1},
           {"groups", 1},
           {"groups_used", 1},
           {"yarn_factor", 40},
           {"yarn_orig_ctx", 4096},
           {"yarn_mscale_all_dim", 0.707},
           {"mtp", 0}};
  } else if (preset == "deepseek-v3") {
    s.arch = "deepseek2";
    s.name = "DeepSeek-V3 slice (random weights)";
    s.v = {{"hidden", 7168},
           {"layers", 61},
           {"heads", 128},
           {"q_lora", 1536},
           {"kv_lora", 512},
           {"rope_dim", 64},
           {"nope_dim", 128},
           {"v_dim", 128},
           {"experts", 256},
           {"experts_used", 8},
           {"shared", 1},
           {"expert_ffn", 2048},
           {"dense_layers", 3},
           {"ffn", 18432},
           {"vocab", 129280},
           {"ctx", 163840},
           {"rope_theta", 10000},
           {"rms_eps", 1e-6},
           {"routed_scale", 2.5},
           {"norm_topk", 1},
           {"gating", 2},
           {"groups", 8},
           {"groups_used", 4},
           {"yarn_factor", 40},
           {"yarn_orig_ctx", 4096},
           {"yarn_mscale_all_dim", 1.0},
           {"mtp", 0}};
  } else {
    *ok = false;
  }
  return s;
}

// How a tensor's values are generated.
enum class Init { kNormal, kOnes, kZeros };

struct TensorSpec {
  std::string name;
  std::vector<int64_t> dims;  // ggml order
  Init init = Init::kNormal;
};

std::vector<TensorSpec> Tensors(const Shape& s) {
  std::vector<TensorSpec> t;
  const int64_t h = s.I("hidden"), vocab = s.I("vocab");
  auto w = [&](const std::string& name, std::vector<int64_t> dims) {
    t.push_back({name, std::move(dims), Init::kNormal});
  };
  auto norm = [&](const std::string& name, int64_t n) { t.push_back({name, {n}, Init::kOnes}); };
  w("token_embd.weight", {h, vocab});
  if (s.arch == "qwen2") {
    const int64_t heads = s.I("heads"), kv = s.I("kv_heads"), hd = h / heads, ffn = s.I("ffn");
    for (int64_t il = 0; il < s.I("layers"); ++il) {
      const std::string p = absl::StrFormat("blk.%d.", il);
      norm(p + "attn_norm.weight", h);
      w(p + "attn_q.weight", {h, heads * hd});
      w(p + "attn_q.bias", {heads * hd});
      w(p + "attn_k.weight", {h, kv * hd});
      w(p + "attn_k.bias", {kv * hd});
      w(p + "attn_v.weight", {h, kv * hd});
      w(p + "attn_v.bias", {kv * hd});
      w(p + "attn_output.weight", {heads * hd, h});
      norm(p + "ffn_norm.weight", h);
      w(p + "ffn_gate.weight", {h, ffn});
      w(p + "ffn_up.weight", {h, ffn});
      w(p + "ffn_down.weight", {ffn, h});
    }
  } else {
    const int64_t H = s.I("heads"), q_lora = s.I("q_lora"), kv_lora = s.I("kv_lora");
    const int64_t rope = s.I("rope_dim"), nope = s.I("nope_dim"), vd = s.I("v_dim");
    const int64_t E = s.I("experts"), eff = s.I("expert_ffn"), shared = s.I("shared");
    const int64_t n_main = s.I("layers"), n_mtp = s.I("mtp");
    for (int64_t il = 0; il < n_main + n_mtp; ++il) {
      const std::string p = absl::StrFormat("blk.%d.", il);
      if (il >= n_main) {
        norm(p + "nextn.enorm.weight", h);
        norm(p + "nextn.hnorm.weight", h);
        w(p + "nextn.eh_proj.weight", {2 * h, h});
      }
      norm(p + "attn_norm.weight", h);
      if (q_lora > 0) {
        w(p + "attn_q_a.weight", {h, q_lora});
        norm(p + "attn_q_a_norm.weight", q_lora);
        w(p + "attn_q_b.weight", {q_lora, H * (nope + rope)});
      } else {
        w(p + "attn_q.weight", {h, H * (nope + rope)});
      }
      w(p + "attn_kv_a_mqa.weight", {h, kv_lora + rope});
      norm(p + "attn_kv_a_norm.weight", kv_lora);
      w(p + "attn_kv_b.weight", {kv_lora, H * (nope + vd)});
      w(p + "attn_output.weight", {H * vd, h});
      norm(p + "ffn_norm.weight", h);
      if (il < s.I("dense_layers")) {
        w(p + "ffn_gate.weight", {h, s.I("ffn")});
        w(p + "ffn_up.weight", {h, s.I("ffn")});
        w(p + "ffn_down.weight", {s.I("ffn"), h});
      } else {
        w(p + "ffn_gate_inp.weight", {h, E});
        if (s.I("gating") == 2) t.push_back({p + "exp_probs_b.bias", {E}, Init::kZeros});
        w(p + "ffn_gate_exps.weight", {h, eff, E});
        w(p + "ffn_up_exps.weight", {h, eff, E});
        w(p + "ffn_down_exps.weight", {eff, h, E});
        if (shared > 0) {
          w(p + "ffn_gate_shexp.weight", {h, eff * shared});
          w(p + "ffn_up_shexp.weight", {h, eff * shared});
          w(p + "ffn_down_shexp.weight", {eff * shared, h});
        }
      }
      if (il >= n_main) norm(p + "nextn.shared_head_norm.weight", h);
    }
  }
  norm("output_norm.weight", h);
  w("output.weight", {h, vocab});
  return t;
}

void WriteMetadata(const Shape& s, QuantFtype ftype, GgufWriter& g) {
  const std::string a = s.arch + ".";
  auto u32 = [&](const std::string& k, int64_t v) { g.SetUint32(a + k, static_cast<uint32_t>(v)); };
  auto f32 = [&](const std::string& k, double v) { g.SetFloat32(a + k, static_cast<float>(v)); };
  g.SetString("general.architecture", s.arch);
  g.SetString("general.type", "model");
  g.SetString("general.name", s.name);
  if (s.arch == "qwen2") {
    u32("block_count", s.I("layers"));
    u32("context_length", s.I("ctx"));
    u32("embedding_length", s.I("hidden"));
    u32("feed_forward_length", s.I("ffn"));
    u32("attention.head_count", s.I("heads"));
    u32("attention.head_count_kv", s.I("kv_heads"));
    f32("rope.freq_base", s.F("rope_theta"));
    f32("attention.layer_norm_rms_epsilon", s.F("rms_eps"));
  } else {
    // The deepseek2 layout every llama.cpp since early 2025 reads: attn_kv_b whole, MLA head
    // sizes in key_length / value_length, one KV head per query head.
    u32("block_count", s.I("layers") + s.I("mtp"));
    u32("context_length", s.I("ctx"));
    u32("embedding_length", s.I("hidden"));
    u32("feed_forward_length", s.I("ffn"));
    u32("attention.head_count", s.I("heads"));
    u32("attention.head_count_kv", s.I("heads"));
    f32("rope.freq_base", s.F("rope_theta"));
    f32("attention.layer_norm_rms_epsilon", s.F("rms_eps"));
    u32("expert_used_count", s.I("experts_used"));
    u32("expert_count", s.I("experts"));
    u32("leading_dense_block_count", s.I("dense_layers"));
    u32("vocab_size", s.I("vocab"));
    if (s.I("q_lora") > 0) u32("attention.q_lora_rank", s.I("q_lora"));
    u32("attention.kv_lora_rank", s.I("kv_lora"));
    u32("attention.key_length", s.I("nope_dim") + s.I("rope_dim"));
    u32("attention.value_length", s.I("v_dim"));
    u32("expert_feed_forward_length", s.I("expert_ffn"));
    u32("expert_shared_count", s.I("shared"));
    f32("expert_weights_scale", s.F("routed_scale"));
    if (s.I("norm_topk") != 0) g.SetBool(a + "expert_weights_norm", true);
    u32("expert_gating_func", s.I("gating"));
    u32("expert_group_count", s.I("groups"));
    u32("expert_group_used_count", s.I("groups_used"));
    u32("rope.dimension_count", s.I("rope_dim"));
    if (s.F("yarn_factor") > 0) {
      g.SetString(a + "rope.scaling.type", "yarn");
      f32("rope.scaling.factor", s.F("yarn_factor"));
      u32("rope.scaling.original_context_length", s.I("yarn_orig_ctx"));
      f32("rope.scaling.yarn_log_multiplier", 0.1 * s.F("yarn_mscale_all_dim"));
    }
    if (s.I("mtp") > 0) u32("nextn_predict_layers", s.I("mtp"));
  }
  g.SetUint32("general.file_type", static_cast<uint32_t>(ftype));
  g.SetUint32("general.quantization_version", 2);
}

// Copies a tokenizer into the file, padded to `n_vocab` tokens. Returns false with a message.
bool WriteTokenizer(const std::string& path, const std::string& pre_override, int64_t n_vocab,
                    GgufWriter& g, std::string* error) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;
  bool has_scores = false;
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0) {
    auto file = GgufFile::Open(path);
    if (!file.ok()) {
      *error = std::string(file.status().message());
      return false;
    }
    for (const GgufKeyValue& kv : (*file)->metadata()) {
      if (kv.key.rfind("tokenizer.", 0) == 0) g.SetValue(kv.key, kv.value);
    }
    auto t = (*file)->GetStringArray("tokenizer.ggml.tokens");
    if (!t.ok()) {
      *error = "'" + path + "' has no tokenizer.ggml.tokens";
      return false;
    }
    tokens = *t;
    if ((*file)->Find("tokenizer.ggml.token_type") != nullptr) {
      auto ty = (*file)->GetIntArray("tokenizer.ggml.token_type");
      if (!ty.ok() || ty->size() != tokens.size()) {
        *error = "'" + path + "': tokenizer.ggml.token_type does not match the tokens";
        return false;
      }
      for (int64_t x : *ty) types.push_back(static_cast<int32_t>(x));
    }
    if ((*file)->Find("tokenizer.ggml.scores") != nullptr) {
      auto sc = (*file)->GetFloatArray("tokenizer.ggml.scores");
      if (!sc.ok() || sc->size() != tokens.size()) {
        *error = "'" + path + "': tokenizer.ggml.scores does not match the tokens";
        return false;
      }
      for (double x : *sc) scores.push_back(static_cast<float>(x));
      has_scores = true;
    }
  } else {
    // A Hugging Face tokenizer.json with a byte-level BPE model.
    std::ifstream in(path);
    if (!in) {
      *error = "cannot read '" + path + "'";
      return false;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
      const auto& model = j.at("model");
      if (model.at("type") != "BPE") {
        *error = "'" + path + "' is not a BPE tokenizer";
        return false;
      }
      std::map<int64_t, std::pair<std::string, int32_t>> by_id;
      for (auto it = model.at("vocab").begin(); it != model.at("vocab").end(); ++it) {
        by_id[it.value().get<int64_t>()] = {it.key(), 1};
      }
      for (const auto& a : j.value("added_tokens", nlohmann::json::array())) {
        by_id[a.at("id").get<int64_t>()] = {a.at("content").get<std::string>(),
                                            a.value("special", false) ? 3 : 4};
      }
      std::vector<std::string> merges;
      for (const auto& m : model.at("merges")) {
        merges.push_back(m.is_string()
                             ? m.get<std::string>()
                             : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
      }
      const int64_t n = by_id.empty() ? 0 : by_id.rbegin()->first + 1;
      if (n > n_vocab) {
        *error = absl::StrFormat("'%s' has %d tokens, more than the model's %d", path, n, n_vocab);
        return false;
      }
      for (int64_t i = 0; i < n; ++i) {
        auto it = by_id.find(i);
        tokens.push_back(it != by_id.end() ? it->second.first : absl::StrFormat("[PAD%d]", i));
        types.push_back(it != by_id.end() ? it->second.second : 5);
      }
      g.SetString("tokenizer.ggml.model", "gpt2");
      g.SetString("tokenizer.ggml.pre", "qwen2");
      g.SetStringArray("tokenizer.ggml.merges", merges);
      for (const char* eos : {"<|endoftext|>",
                              "<\xEF\xBD\x9C"
                              "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"}) {
        for (const auto& [id, tok] : by_id) {
          if (tok.first == eos)
            g.SetUint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(id));
        }
      }
      g.SetBool("tokenizer.ggml.add_bos_token", false);
    } catch (const nlohmann::json::exception& e) {
      *error = "'" + path + "': " + e.what();
      return false;
    }
  }
  if (static_cast<int64_t>(tokens.size()) > n_vocab) {
    *error = absl::StrFormat("'%s' has %d tokens, more than the model's vocabulary of %d", path,
                             tokens.size(), n_vocab);
    return false;
  }
  if (types.empty()) types.assign(tokens.size(), 1);
  // llama.cpp's converter pads a vocabulary smaller than the embedding with [PADn] tokens of
  // type UNUSED (5); llama.cpp requires one token per embedding row.
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < n_vocab; ++i) {
    tokens.push_back(absl::StrFormat("[PAD%d]", i));
    types.push_back(5);
    scores.push_back(0.0f);
  }
  g.SetStringArray("tokenizer.ggml.tokens", tokens);
  g.SetInt32Array("tokenizer.ggml.token_type", types);
  if (has_scores) g.SetFloat32Array("tokenizer.ggml.scores", scores);
  if (!pre_override.empty()) g.SetString("tokenizer.ggml.pre", pre_override);
  return true;
}

// splitmix64: a counter-based generator, so any row block can be generated on its own.
inline uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Values of row `row` of tensor `index`: approximately normal (sum of four uniform 16-bit draws,
// scaled to unit variance; bounded at +-3.46 sigma), times `std`.
void FillRow(uint64_t seed, uint64_t index, int64_t row, int64_t n, float std, float* out) {
  uint64_t state = Mix(seed ^ Mix(index * 0x100000001B3ull + static_cast<uint64_t>(row)));
  const float scale = std * std::sqrt(3.0f) / 65536.0f;  // the centred sum has std 65536/sqrt(3)
  for (int64_t i = 0; i < n; ++i) {
    state = Mix(state);
    const int64_t sum = static_cast<int64_t>(state & 0xFFFF) + ((state >> 16) & 0xFFFF) +
                        ((state >> 32) & 0xFFFF) + (state >> 48) - 2 * 65535;
    out[i] = static_cast<float>(sum) * scale;
  }
}

bool SetOverrides(const std::string& text, Shape* s, std::string* error) {
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      *error = "--set expects KEY=VALUE[,KEY=VALUE...], got '" + item + "'";
      return false;
    }
    const std::string key = item.substr(0, eq);
    float value = 0;
    if (s->v.count(key) == 0) {
      std::string keys;
      for (const auto& [k, unused] : s->v) keys += (keys.empty() ? "" : ", ") + k;
      *error = "unknown shape key '" + key + "' (this preset has: " + keys + ")";
      return false;
    }
    if (!ParseFloat(item.substr(eq + 1), &value) || value < 0) {
      *error = "bad value in '" + item + "'";
      return false;
    }
    s->v[key] = value;
  }
  return true;
}

}  // namespace

int MakeModelCommand(int argc, char** argv) {
  std::string preset = "r1-distill-qwen-1.5b", out_path, vocab_path, type_name = "F16", sets, pre;
  int32_t layers = -1, threads = 0;
  uint64_t seed = 1;
  float std_dev = 0.02f;
  bool pure = false;
  OptionParser parser(
      kCommand,
      "Writes a random-weight GGUF with the tensor shapes and metadata of a real model.\n"
      "presets: r1-distill-qwen-1.5b (qwen2), deepseek-v2-lite (deepseek2),\n"
      "deepseek-v3 (deepseek2; use --layers for a slice, --set mtp=1 adds the nextn layer).");
  parser.AddString("-p,--preset", "NAME", "model shape (default r1-distill-qwen-1.5b)", &preset);
  parser.AddString("-o,--output", "PATH", "GGUF file to write, required", &out_path);
  parser.AddString(
      "--vocab", "PATH",
      "tokenizer: a llama.cpp vocab-only GGUF (tokenizer.* keys are copied) or a\n"
      "tokenizer.json (byte-level BPE); padded with [PADn] to the vocab size; required",
      &vocab_path);
  parser.AddString("--vocab-pre", "NAME", "override tokenizer.ggml.pre", &pre);
  parser.AddString("-t,--type", "TYPE",
                   "file type as llama-quantize names it: F32, F16, BF16, Q8_0, Q4_0, Q4_K_M,\n"
                   "Q5_K_M, Q6_K, ... (default F16)",
                   &type_name);
  parser.AddFlag("--pure", "every 2-D weight in the file type's base type (no mix)", &pure);
  parser.AddInt32("--layers", "N", "number of (main) layers (default: the preset's)", &layers);
  parser.AddString(
      "--set", "K=V,...",
      "override shape numbers, e.g. hidden=64,ffn=128,heads=4 (see the error for keys)", &sets);
  parser.AddUint64("--seed", "N", "random seed (default 1)", &seed);
  parser.AddFloat("--std", "X", "standard deviation of the weights (default 0.02)", &std_dev);
  parser.AddInt32("--threads", "N", "threads for generation/quantization (default: all)", &threads);
  if (int rc = ParseCommandLine(parser, argc, argv, {"--output", "--vocab"}); rc >= 0) return rc;
  bool ok = false;
  Shape shape = Preset(preset, &ok);
  if (!ok) return UsageError(parser, "unknown preset '" + preset + "'");
  std::string error;
  if (!sets.empty() && !SetOverrides(sets, &shape, &error)) return UsageError(parser, error);
  if (layers >= 0) {
    if (layers < 1) return UsageError(parser, "--layers must be >= 1");
    shape.v["layers"] = layers;
    if (shape.arch == "deepseek2" && shape.I("dense_layers") >= layers) {
      shape.v["dense_layers"] = layers - 1;  // keep at least one MoE layer
    }
  }
  const std::optional<QuantFtype> ftype = QuantFtypeFromName(type_name);
  if (!ftype.has_value()) return UsageError(parser, "unknown type '" + type_name + "'");
  if (!(std_dev > 0)) return UsageError(parser, "--std must be > 0");
  if (threads <= 0)
    threads = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
  for (const char* k : {"hidden", "layers", "heads", "vocab"}) {
    if (shape.I(k) <= 0) return UsageError(parser, std::string(k) + " must be > 0");
  }
  if (shape.arch == "qwen2" && shape.I("hidden") % shape.I("heads") != 0) {
    return UsageError(parser, "hidden must be a multiple of heads");
  }

  GgufWriter g;
  WriteMetadata(shape, *ftype, g);
  if (!WriteTokenizer(vocab_path, pre, shape.I("vocab"), g, &error)) {
    PrintError(kCommand, error);
    return kExitFailure;
  }
  const std::vector<TensorSpec> specs = Tensors(shape);
  QuantModelInfo info;
  info.arch = shape.arch;
  info.n_layer = shape.I("layers") + (shape.v.count("mtp") ? shape.I("mtp") : 0);
  info.n_expert = shape.v.count("experts") ? shape.I("experts") : 0;
  info.n_head = shape.I("heads");
  info.n_head_kv = shape.v.count("kv_heads") ? shape.I("kv_heads") : shape.I("heads");
  info.has_output = true;
  for (const TensorSpec& t : specs) {
    if (t.name.find("attn_v.weight") != std::string::npos ||
        t.name.find("attn_kv_b.weight") != std::string::npos) {
      ++info.n_attention_wv;
    }
  }
  QuantTypeChooser chooser(*ftype, info, pure);
  uint64_t total_bytes = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& t = specs[i];
    absl::StatusOr<DType> type = chooser.Choose(t.name, t.dims, DType::kF32);
    if (!type.ok()) {
      PrintError(kCommand, std::string(type.status().message()));
      return kExitFailure;
    }
    int64_t rows = 1;
    for (size_t d = 1; d < t.dims.size(); ++d) rows *= t.dims[d];
    const int64_t cols = t.dims[0];
    const DType dst = *type;
    const Init init = t.init;
    const uint64_t index = i;
    total_bytes += *RowBytes(dst, cols) * static_cast<uint64_t>(rows);
    absl::Status s =
        g.AddTensorProducer(t.name, dst, t.dims, [=](const GgufWriter::ByteEmitter& emit) {
          RowFiller fill = [&](int64_t first, int64_t n, float* out) -> absl::Status {
            for (int64_t r = 0; r < n; ++r) {
              float* row = out + r * cols;
              if (init == Init::kNormal) {
                FillRow(seed, index, first + r, cols, std_dev, row);
              } else {
                std::fill(row, row + cols, init == Init::kOnes ? 1.0f : 0.0f);
              }
            }
            return absl::OkStatus();
          };
          return EmitConvertedRows(dst, rows, cols, fill, threads, emit);
        });
    if (!s.ok()) {
      PrintError(kCommand, std::string(s.message()));
      return kExitFailure;
    }
  }
  std::fprintf(stderr, "fathom make-model: writing %s (%s, %d tensors, %.2f GiB of tensor data)\n",
               out_path.c_str(), std::string(QuantFtypeName(*ftype)).c_str(),
               static_cast<int>(specs.size()), static_cast<double>(total_bytes) / (1 << 30));
  if (absl::Status s = g.WriteFile(out_path); !s.ok()) {
    PrintError(kCommand, std::string(s.message()));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace fathom::cli
