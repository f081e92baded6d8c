// Hostile and inconsistent DeepSeek inputs: copies of the fixture folders with an edited
// config.json or rewritten model.safetensors, and fixture GGUF files with keys or tensors taken
// away or changed. Each must fail Model::Load with a message naming the field, key or tensor.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "fathom/fathom.h"
#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "format/safetensors_reader.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"

namespace fathom {
namespace {

using Json = nlohmann::json;
using testing::FixturePath;

// Model::Load(path) fails, and its message contains every needle.
void ExpectLoadError(const std::string& path, const std::vector<std::string>& needles) {
  auto model = Model::Load(path);
  ASSERT_FALSE(model.ok()) << "loaded although it should not: " << path;
  const std::string& msg = model.status().message();
  for (const std::string& n : needles) {
    EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

struct RawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};
using TensorMap = std::map<std::string, RawTensor>;

// A temporary copy of a fixture folder (config.json, model.safetensors), removed at the end.
class FolderCopy {
 public:
  explicit FolderCopy(const std::string& fixture) {
    std::string tmpl = ::testing::TempDir() + "/fathom_config_XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    for (const char* f : {"config.json", "model.safetensors"}) {
      std::error_code ec;
      std::filesystem::copy_file(FixturePath(fixture + "/" + f), path_ + "/" + f, ec);
      EXPECT_FALSE(ec) << f << ": " << ec.message();
    }
  }
  ~FolderCopy() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

  void EditConfig(const std::function<void(Json&)>& edit) const {
    Json j = Json::parse(testing::ReadFile(path_ + "/config.json"));
    edit(j);
    std::ofstream(path_ + "/config.json", std::ios::trunc) << j.dump(2);
  }

  void EditTensors(const std::function<void(TensorMap&)>& edit) const {
    const std::string file = path_ + "/model.safetensors";
    TensorMap tensors;
    {
      auto st = SafetensorsFile::Open(file);
      ASSERT_TRUE(st.ok()) << st.status();
      for (const SafetensorsTensor& t : (*st)->tensors()) {
        tensors[t.name] = {t.dtype_name, t.shape,
                           std::string(reinterpret_cast<const char*>(t.data), t.n_bytes)};
      }
    }
    edit(tensors);
    Json header = Json::object();
    std::string data;
    for (const auto& [name, t] : tensors) {
      header[name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
      data += t.bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << out << text << data;
  }

 private:
  std::string path_;
};

// ---- config.json ------------------------------------------------------------------------------

struct ConfigCase {
  std::string name;
  std::string fixture;
  std::function<void(Json&)> edit;
  std::vector<std::string> needles;  // the message names these
};

void PrintTo(const ConfigCase& c, std::ostream* os) { *os << c.name; }

class DeepSeekConfigTest : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(DeepSeekConfigTest, LoadFailsNamingTheField) {
  const ConfigCase& c = GetParam();
  FATHOM_REQUIRE_FIXTURE(c.fixture + "/config.json");
  FolderCopy dir(c.fixture);
  ASSERT_TRUE(Model::Load(dir.path()).ok()) << "the unedited copy must load";
  dir.EditConfig(c.edit);
  ExpectLoadError(dir.path(), c.needles);
}

const char kV3[] = "deepseek/v3-tiny";
const char kV2[] = "deepseek/v2-lite-tiny";
const char kFp8[] = "deepseek/v3-tiny-fp8";

std::function<void(Json&)> Set(const std::string& key, Json value) {
  return [key, value](Json& j) { j[key] = value; };
}
std::function<void(Json&)> Erase(const std::string& key) {
  return [key](Json& j) { j.erase(key); };
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, DeepSeekConfigTest,
    ::testing::Values(
        ConfigCase{"unknown_model_type",
                   kV3,
                   Set("model_type", "deepseek_v9"),
                   {"model_type", "deepseek_v9"}},
        ConfigCase{"model_type_not_a_string", kV3, Set("model_type", 3), {"model_type"}},
        ConfigCase{"missing_hidden_size", kV3, Erase("hidden_size"), {"missing", "hidden_size"}},
        ConfigCase{"missing_kv_lora_rank", kV2, Erase("kv_lora_rank"), {"kv_lora_rank"}},
        ConfigCase{"null_vocab_size", kV3, Set("vocab_size", nullptr), {"vocab_size"}},
        ConfigCase{"string_for_int",
                   kV3,
                   Set("num_attention_heads", "4"),
                   {"num_attention_heads", "integer"}},
        ConfigCase{"fraction_for_int", kV3, Set("intermediate_size", 320.5), {"intermediate_size"}},
        ConfigCase{"bool_for_int", kV3, Set("n_routed_experts", true), {"n_routed_experts"}},
        ConfigCase{"string_for_float", kV3, Set("rms_norm_eps", "1e-6"), {"rms_norm_eps"}},
        ConfigCase{"string_for_bool", kV3, Set("norm_topk_prob", "true"), {"norm_topk_prob"}},
        ConfigCase{"negative_head_dim", kV3, Set("qk_nope_head_dim", -32), {"qk_nope_head_dim"}},
        ConfigCase{"zero_hidden_size", kV3, Set("hidden_size", 0), {"hidden_size"}},
        ConfigCase{"zero_layers", kV2, Set("num_hidden_layers", 0), {"num_hidden_layers"}},
        ConfigCase{"negative_q_lora_rank", kV3, Set("q_lora_rank", -1), {"q_lora_rank"}},
        ConfigCase{"huge_vocab", kV3, Set("vocab_size", int64_t{1} << 40), {"vocab_size"}},
        ConfigCase{"odd_rope_dim", kV3, Set("qk_rope_head_dim", 15), {"qk_rope_head_dim"}},
        ConfigCase{"experts_not_divisible_by_groups",
                   kV3,
                   Set("n_group", 5),
                   {"n_routed_experts", "n_group"}},
        ConfigCase{"topk_group_above_n_group", kV3, Set("topk_group", 5), {"topk_group"}},
        ConfigCase{"experts_per_token_above_experts",
                   kV2,
                   Set("num_experts_per_tok", 11),
                   {"num_experts_per_tok"}},
        ConfigCase{
            "zero_experts_per_token", kV3, Set("num_experts_per_tok", 0), {"num_experts_per_tok"}},
        ConfigCase{
            "unknown_scoring_func", kV3, Set("scoring_func", "tanh"), {"scoring_func", "tanh"}},
        ConfigCase{
            "unknown_topk_method", kV2, Set("topk_method", "random"), {"topk_method", "random"}},
        ConfigCase{"unknown_rope_scaling_type",
                   kV3,
                   [](Json& j) { j["rope_scaling"]["type"] = "linear"; },
                   {"rope_scaling", "linear"}},
        ConfigCase{
            "rope_scaling_not_an_object", kV3, Set("rope_scaling", "yarn"), {"rope_scaling"}},
        ConfigCase{"rope_scaling_factor_string",
                   kV3,
                   [](Json& j) { j["rope_scaling"]["factor"] = "4"; },
                   {"factor"}},
        ConfigCase{"quantization_not_fp8",
                   kFp8,
                   [](Json& j) { j["quantization_config"]["quant_method"] = "awq"; },
                   {"quantization", "awq"}},
        ConfigCase{"fp8_format_not_e4m3",
                   kFp8,
                   [](Json& j) { j["quantization_config"]["fmt"] = "e5m2"; },
                   {"e5m2"}},
        ConfigCase{"fp8_block_size_not_128",
                   kFp8,
                   [](Json& j) {
                     j["quantization_config"]["weight_block_size"] = {64, 64};
                   },
                   {"weight_block_size"}},
        ConfigCase{"quantization_config_on_f32_weights_not_fp8",
                   kV3,
                   Set("quantization_config", {{"quant_method", "gptq"}, {"bits", 4}}),
                   {"quantization", "gptq"}},
        // Fields that parse but disagree with the tensors: the tensor is named.
        ConfigCase{"q_lora_rank_disagrees_with_tensors",
                   kV3,
                   Set("q_lora_rank", 128),
                   {"model.layers.0.self_attn.q_a_proj.weight", "shape"}},
        ConfigCase{
            "more_layers_than_tensors", kV2, Set("num_hidden_layers", 4), {"model.layers.3."}},
        ConfigCase{"vocab_disagrees_with_embedding",
                   kV2,
                   Set("vocab_size", 999),
                   {"model.embed_tokens.weight"}},
        ConfigCase{"experts_disagree_with_router",
                   kV3,
                   Set("n_routed_experts", 16),
                   {"model.layers.1.mlp.gate.weight"}}),
    [](const auto& info) { return info.param.name; });

TEST(DeepSeekConfigFileTest, ConfigNotAnObjectOrNotJson) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/config.json");
  FolderCopy dir(kV3);
  std::ofstream(dir.path() + "/config.json", std::ios::trunc) << "[1, 2]";
  ExpectLoadError(dir.path(), {"config.json"});
  std::ofstream(dir.path() + "/config.json", std::ios::trunc) << "{\"model_type\": ";
  ExpectLoadError(dir.path(), {"config.json"});
  std::filesystem::remove(dir.path() + "/config.json");
  ExpectLoadError(dir.path(), {"config.json"});
}

// ---- model.safetensors ------------------------------------------------------------------------

struct TensorCase {
  std::string name;
  std::string fixture;
  std::function<void(TensorMap&)> edit;
  std::vector<std::string> needles;
};

void PrintTo(const TensorCase& c, std::ostream* os) { *os << c.name; }

class DeepSeekTensorTest : public ::testing::TestWithParam<TensorCase> {};

TEST_P(DeepSeekTensorTest, LoadFailsNamingTheTensor) {
  const TensorCase& c = GetParam();
  FATHOM_REQUIRE_FIXTURE(c.fixture + "/model.safetensors");
  FolderCopy dir(c.fixture);
  dir.EditTensors([](TensorMap&) {});
  ASSERT_TRUE(Model::Load(dir.path()).ok()) << "the rewritten, unedited copy must load";
  dir.EditTensors(c.edit);
  ExpectLoadError(dir.path(), c.needles);
}

std::function<void(TensorMap&)> Drop(const std::string& name) {
  return [name](TensorMap& m) { ASSERT_EQ(m.erase(name), 1u) << name; };
}
std::function<void(TensorMap&)> Reshape(const std::string& name, std::vector<int64_t> shape) {
  return [name, shape](TensorMap& m) {
    ASSERT_TRUE(m.count(name)) << name;
    m[name].shape = shape;
  };
}

const std::string kQbScale = "model.layers.0.self_attn.q_b_proj.weight_scale_inv";

INSTANTIATE_TEST_SUITE_P(
    Hostile, DeepSeekTensorTest,
    ::testing::Values(
        TensorCase{"missing_expert",
                   kV3,
                   Drop("model.layers.2.mlp.experts.7.up_proj.weight"),
                   {"model.layers.2.mlp.experts.7.up_proj.weight"}},
        TensorCase{"missing_kv_b",
                   kV2,
                   Drop("model.layers.1.self_attn.kv_b_proj.weight"),
                   {"model.layers.1.self_attn.kv_b_proj.weight"}},
        TensorCase{"missing_score_bias",
                   kV3,
                   Drop("model.layers.3.mlp.gate.e_score_correction_bias"),
                   {"model.layers.3.mlp.gate.e_score_correction_bias"}},
        TensorCase{"missing_lm_head", kV2, Drop("lm_head.weight"), {"lm_head.weight"}},
        TensorCase{"kv_b_wrong_shape",
                   kV3,
                   Reshape("model.layers.1.self_attn.kv_b_proj.weight", {128, 128}),
                   {"model.layers.1.self_attn.kv_b_proj.weight", "[128, 128]"}},
        TensorCase{"transposed_down_proj",
                   kV2,
                   Reshape("model.layers.0.mlp.down_proj.weight", {288, 128}),
                   {"model.layers.0.mlp.down_proj.weight", "[288, 128]", "[128, 288]"}},
        TensorCase{"norm_wrong_rank",
                   kV3,
                   Reshape("model.layers.0.input_layernorm.weight", {64, 2}),
                   {"model.layers.0.input_layernorm.weight", "shape"}},
        TensorCase{"norm_integer_dtype",
                   kV3,
                   [](TensorMap& m) { m["model.norm.weight"].dtype = "I32"; },
                   {"model.norm.weight", "I32"}},
        TensorCase{"weight_integer_dtype",
                   kV2,
                   [](TensorMap& m) {
                     m["model.layers.2.mlp.shared_experts.down_proj.weight"].dtype = "I32";
                   },
                   {"model.layers.2.mlp.shared_experts.down_proj.weight", "I32"}},
        TensorCase{"fp8_without_scale_inv", kFp8, Drop(kQbScale), {kQbScale}},
        TensorCase{
            "scale_inv_wrong_grid", kFp8, Reshape(kQbScale, {4, 1}), {kQbScale, "[4, 1]", "2, 2"}},
        TensorCase{"scale_inv_grid_too_large",
                   kFp8,
                   [](TensorMap& m) {
                     const std::string n =
                         "model.layers.1.mlp.experts.0.gate_proj.weight_scale_inv";
                     ASSERT_TRUE(m.count(n));
                     m[n].shape = {1, 2};
                     m[n].bytes += m[n].bytes;
                   },
                   {"model.layers.1.mlp.experts.0.gate_proj.weight_scale_inv", "[1, 2]"}},
        TensorCase{"scale_inv_not_finite",
                   kFp8,
                   [](TensorMap& m) {
                     const float nan = std::numeric_limits<float>::quiet_NaN();
                     ASSERT_TRUE(m.count(kQbScale));
                     m[kQbScale].bytes.replace(0, 4, reinterpret_cast<const char*>(&nan), 4);
                   },
                   {kQbScale, "non-finite"}}),
    [](const auto& info) { return info.param.name; });

// ---- GGUF deepseek2 ---------------------------------------------------------------------------

// Rewrites `fixture` (a GGUF) into a temp file after `edit` changed its metadata and tensors.
struct GgufEdit {
  std::vector<std::string> drop_keys = {};
  std::vector<GgufKeyValue> set_keys = {};
  std::vector<std::string> drop_tensors = {};
};

std::string RewriteGguf(const std::string& fixture, const GgufEdit& e, const std::string& tag) {
  auto src = GgufFile::Open(FixturePath(fixture));
  EXPECT_TRUE(src.ok()) << src.status();
  if (!src.ok()) return "";
  GgufWriter w((*src)->alignment());
  auto listed = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (const GgufKeyValue& kv : (*src)->metadata()) {
    if (!listed(e.drop_keys, kv.key)) w.SetValue(kv.key, kv.value);
  }
  for (const GgufKeyValue& kv : e.set_keys) w.SetValue(kv.key, kv.value);
  for (const GgufTensorInfo& info : (*src)->tensor_infos()) {
    if (listed(e.drop_tensors, info.name)) continue;
    auto t = (*src)->GetTensor(info.name);
    EXPECT_TRUE(t.ok());
    EXPECT_TRUE(w.AddTensor(t->name, t->type, t->dims, t->data, t->n_bytes).ok());
  }
  const std::string path =
      ::testing::TempDir() + "/fathom_config_" + std::to_string(::getpid()) + "_" + tag + ".gguf";
  const absl::Status s = w.WriteFile(path);
  EXPECT_TRUE(s.ok()) << s;
  return path;
}

GgufKeyValue U32(const std::string& key, uint32_t v) {
  return {key, GgufValue{GgufType::kUint32, uint64_t{v}}};
}
GgufKeyValue Str(const std::string& key, const std::string& v) {
  return {key, GgufValue{GgufType::kString, v}};
}

struct GgufCase {
  std::string name;
  std::string fixture;
  GgufEdit edit;
  std::vector<std::string> needles;
};

void PrintTo(const GgufCase& c, std::ostream* os) { *os << c.name; }

class DeepSeekGgufTest : public ::testing::TestWithParam<GgufCase> {};

TEST_P(DeepSeekGgufTest, LoadFailsNamingTheKey) {
  const GgufCase& c = GetParam();
  FATHOM_REQUIRE_FIXTURE(c.fixture);
  const std::string unedited = RewriteGguf(c.fixture, {}, c.name + "_orig");
  ASSERT_TRUE(Model::Load(unedited).ok()) << "the rewritten, unedited copy must load";
  std::filesystem::remove(unedited);
  const std::string path = RewriteGguf(c.fixture, c.edit, c.name);
  ASSERT_FALSE(path.empty());
  ExpectLoadError(path, c.needles);
  std::filesystem::remove(path);
}

const char kV3Gguf[] = "deepseek/v3-tiny/model.gguf";
const char kV2Gguf[] = "deepseek/v2-lite-tiny/model.gguf";

GgufCase MissingKey(const std::string& key, const std::string& fixture = kV3Gguf) {
  std::string name = "missing_" + key.substr(key.find('.') + 1);
  for (char& ch : name) {
    if (ch == '.') ch = '_';
  }
  return {name, fixture, {.drop_keys = {key}}, {key}};
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, DeepSeekGgufTest,
    ::testing::Values(MissingKey("general.architecture"), MissingKey("deepseek2.block_count"),
                      MissingKey("deepseek2.embedding_length"),
                      MissingKey("deepseek2.feed_forward_length"),
                      MissingKey("deepseek2.attention.head_count"),
                      MissingKey("deepseek2.attention.kv_lora_rank", kV2Gguf),
                      MissingKey("deepseek2.rope.dimension_count"),
                      MissingKey("deepseek2.attention.key_length"),
                      MissingKey("deepseek2.attention.value_length", kV2Gguf),
                      GgufCase{"block_count_string",
                               kV3Gguf,
                               {.set_keys = {Str("deepseek2.block_count", "4")}},
                               {"deepseek2.block_count"}},
                      GgufCase{"unknown_gating_func",
                               kV3Gguf,
                               {.set_keys = {U32("deepseek2.expert_gating_func", 7)}},
                               {"expert_gating_func"}},
                      GgufCase{"unknown_rope_scaling",
                               kV2Gguf,
                               {.set_keys = {Str("deepseek2.rope.scaling.type", "longrope")}},
                               {"longrope"}},
                      GgufCase{"expert_count_disagrees_with_tensors",
                               kV3Gguf,
                               {.set_keys = {U32("deepseek2.expert_count", 16)}},
                               {"blk.1.ffn_gate_inp.weight"}},
                      GgufCase{"group_count_not_dividing_experts",
                               kV3Gguf,
                               {.set_keys = {U32("deepseek2.expert_group_count", 5)}},
                               {"n_group"}},
                      GgufCase{"nextn_layer_without_tensors",
                               kV3Gguf,
                               {.set_keys = {U32("deepseek2.nextn_predict_layers", 1)}},
                               {"blk.3.nextn."}},
                      GgufCase{"missing_attn_k_b",
                               kV3Gguf,
                               {.drop_tensors = {"blk.2.attn_k_b.weight"}},
                               {"blk.2.attn_k_b.weight"}},
                      GgufCase{"missing_exp_probs_b",
                               kV3Gguf,
                               {.drop_tensors = {"blk.1.exp_probs_b.bias"}},
                               {"blk.1.exp_probs_b.bias"}}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace fathom
