// GGUF export of Llama / Qwen2 Hugging Face folders (models/llama/llama_gguf_export.h). Ground
// truth: the llama.cpp-made fixture GGUFs (llamacpp/qwen2-tiny, llamacpp/llama3-tiny). Each test
// turns a fixture GGUF back into a Hugging Face folder (tensors renamed, llama's q/k rows
// un-permuted, config.json, a tokenizer.json holding the GGUF's vocabulary), converts that folder
// and checks that every tensor equals the original bit for bit, the metadata equals llama.cpp's,
// and the logits are the original file's and llama.cpp's. Refusals name what is wrong.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "fathom/fathom.h"
#include "format/gguf_reader.h"
#include "format/hf_checkpoint.h"
#include "gtest/gtest.h"
#include "kernels/matmul.h"
#include "models/llama/llama_gguf_export.h"
#include "nlohmann/json.hpp"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/gguf_value_equal.h"
#include "support/hf_folder_writer.h"
#include "tensor/dtype.h"

namespace fathom {
namespace {

using internal::ExportLlamaToGguf;
using testing::FixturePath;
using testing::RawTensor;

std::string TempDir(const std::string& name) {
  const std::string d =
      ::testing::TempDir() + "/fathom_llama_export_" + std::to_string(::getpid()) + "/" + name;
  std::filesystem::create_directories(d);
  return d;
}

// GGUF name -> Hugging Face name (gguf-py's tensor_mapping, inverted).
std::string HfName(const std::string& gguf) {
  if (gguf == "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf == "output_norm.weight") return "model.norm.weight";
  if (gguf == "output.weight") return "lm_head.weight";
  int layer = -1;
  char rest[64] = {0};
  if (std::sscanf(gguf.c_str(), "blk.%d.%63s", &layer, rest) != 2) return "";
  static const std::map<std::string, std::string> kMap = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"}};
  auto it = kMap.find(rest);
  return it == kMap.end() ? "" : absl::StrFormat("model.layers.%d.%s", layer, it->second);
}

// The rows of a GGUF tensor as float32 (dequantized exactly as the loader does).
std::vector<float> Dequantized(const TensorView& t) {
  const int64_t cols = t.dims[0], rows = t.n_elements / cols;
  WeightMatrix w;
  w.type = t.type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = RowBytes(t.type, cols).value();
  w.data = t.data;
  std::vector<float> out(rows * cols);
  for (int64_t r = 0; r < rows; ++r) DequantizeRow(w, r, &out[r * cols]);
  return out;
}

template <typename T>
std::vector<uint8_t> Bytes(const T* p, size_t n) {
  const uint8_t* b = reinterpret_cast<const uint8_t*>(p);
  return std::vector<uint8_t>(b, b + n * sizeof(T));
}

// Undoes LlamaModel.permute on whole rows: HF row h*D + j*D/2 + i = GGUF row h*D + 2i + j.
std::vector<uint8_t> UnpermuteRows(const std::vector<uint8_t>& gguf, int64_t rows,
                                   int64_t head_dim) {
  const size_t row_bytes = gguf.size() / rows;
  std::vector<uint8_t> hf(gguf.size());
  for (int64_t h = 0; h < rows / head_dim; ++h) {
    for (int64_t i = 0; i < head_dim / 2; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        std::memcpy(&hf[(h * head_dim + j * head_dim / 2 + i) * row_bytes],
                    &gguf[(h * head_dim + 2 * i + j) * row_bytes], row_bytes);
      }
    }
  }
  return hf;
}

// Writes a Hugging Face folder holding `src`'s weights: F32/F16/BF16 tensors as they are, other
// types dequantized to F32; rope_freqs left out (config.json's rope_scaling makes it).
void WriteHfFolder(const GgufFile& src, const std::string& dir, const nlohmann::json& config,
                   bool unpermute) {
  std::vector<RawTensor> tensors;
  const int64_t head_dim =
      config.value("hidden_size", int64_t{256}) / config.value("num_attention_heads", int64_t{4});
  for (const GgufTensorInfo& info : src.tensor_infos()) {
    if (info.name == "rope_freqs.weight") continue;
    const std::string hf = HfName(info.name);
    ASSERT_FALSE(hf.empty()) << info.name;
    const TensorView t = src.GetTensor(info.name).value();
    RawTensor r;
    r.name = hf;
    for (auto it = t.dims.rbegin(); it != t.dims.rend(); ++it) r.shape.push_back(*it);
    if (t.type == DType::kF32 || t.type == DType::kF16 || t.type == DType::kBF16) {
      r.dtype = t.type == DType::kF32 ? "F32" : t.type == DType::kF16 ? "F16" : "BF16";
      r.bytes.assign(t.data, t.data + t.n_bytes);
    } else {
      r.dtype = "F32";
      const std::vector<float> f = Dequantized(t);
      r.bytes = Bytes(f.data(), f.size());
    }
    const bool qk = info.name.find("attn_q.") != std::string::npos ||
                    info.name.find("attn_k.") != std::string::npos;
    if (unpermute && qk) r.bytes = UnpermuteRows(r.bytes, r.shape[0], head_dim);
    tensors.push_back(std::move(r));
  }
  ASSERT_TRUE(testing::WriteSafetensors(dir + "/model.safetensors", tensors));
  std::ofstream(dir + "/config.json", std::ios::trunc) << config.dump(2);
  const auto tokens = src.GetStringArray("tokenizer.ggml.tokens").value();
  const auto types = src.GetIntArray("tokenizer.ggml.token_type").value();
  const auto merges = src.GetStringArray("tokenizer.ggml.merges").value();
  ASSERT_TRUE(testing::WriteByteLevelTokenizer(
      dir, tokens, types, merges, src.GetInt("tokenizer.ggml.bos_token_id").value(),
      src.GetInt("tokenizer.ggml.eos_token_id").value(),
      src.GetBool("tokenizer.ggml.add_bos_token").value()));
}

nlohmann::json Qwen2TinyConfig() {
  return {{"architectures", {"Qwen2ForCausalLM"}},
          {"model_type", "qwen2"},
          {"hidden_size", 256},
          {"intermediate_size", 768},
          {"num_hidden_layers", 3},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"max_position_embeddings", 32768},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 1000000.0},
          {"vocab_size", 512},
          {"tie_word_embeddings", false},
          {"bos_token_id", 510},
          {"eos_token_id", 511},
          {"torch_dtype", "float32"}};
}

nlohmann::json Llama3TinyConfig() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", 256},
          {"intermediate_size", 768},
          {"num_hidden_layers", 3},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"max_position_embeddings", 131072},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 500000.0},
          {"rope_scaling",
           {{"rope_type", "llama3"},
            {"factor", 8.0},
            {"low_freq_factor", 1.0},
            {"high_freq_factor", 4.0},
            {"original_max_position_embeddings", 256}}},
          {"vocab_size", 512},
          {"tie_word_embeddings", true},
          {"bos_token_id", 510},
          {"eos_token_id", 511},
          {"torch_dtype", "float32"}};
}

// Every key of llama.cpp's file has the same type and value in ours, except `differ` (checked by
// the caller); ours adds only general.type.
void ExpectSameMetadata(const GgufFile& want, const GgufFile& got,
                        const std::vector<std::string>& differ) {
  for (const GgufKeyValue& kv : want.metadata()) {
    if (std::find(differ.begin(), differ.end(), kv.key) != differ.end()) continue;
    const GgufValue* v = got.Find(kv.key);
    ASSERT_NE(v, nullptr) << "missing key " << kv.key;
    EXPECT_TRUE(testing::SameGgufValue(kv.value, *v)) << kv.key;
  }
  for (const GgufKeyValue& kv : got.metadata()) {
    if (want.Find(kv.key) == nullptr) {
      EXPECT_EQ(kv.key, "general.type") << "extra key";
    }
  }
  // Both files' tokenizer.ggml.pre select GPT-2's split regex: the fixtures (written with
  // gguf-py, not by the converter) say "default", ours names the tokenizer.json's regex.
  EXPECT_EQ(want.GetString("tokenizer.ggml.pre").value_or(""), "default");
  EXPECT_EQ(got.GetString("tokenizer.ggml.pre").value_or(""), "gpt-2");
}

// Every tensor of `want` is in `got` with the same type, shape and bytes, and nothing else is.
void ExpectSameTensors(const GgufFile& want, const GgufFile& got) {
  EXPECT_EQ(want.tensor_infos().size(), got.tensor_infos().size());
  for (const GgufTensorInfo& info : want.tensor_infos()) {
    auto a = want.GetTensor(info.name);
    auto b = got.GetTensor(info.name);
    ASSERT_TRUE(b.ok()) << info.name;
    EXPECT_EQ(a->type, b->type) << info.name;
    EXPECT_EQ(a->dims, b->dims) << info.name;
    ASSERT_EQ(a->n_bytes, b->n_bytes) << info.name;
    EXPECT_EQ(std::memcmp(a->data, b->data, a->n_bytes), 0) << info.name << " differs";
  }
}

struct ModelRun {
  std::vector<float> logits;  // [n, vocab]
  std::vector<int32_t> greedy;
  int64_t vocab = 0;
};

// Logits for prompt + gen[0..14] in one batch (rows line up with ref_f64_logits) and the greedy
// continuation of the prompt.
ModelRun RunModel(const std::string& path, const std::vector<int32_t>& prompt,
                  const std::vector<int32_t>& gen) {
  ModelRun r;
  auto model = Model::Load(path);
  EXPECT_TRUE(model.ok()) << path << ": " << model.status().ToString();
  if (!model.ok()) return r;
  r.vocab = (*model)->info().n_vocab;
  auto s = Session::Create(*model, {.n_ctx = 64, .n_threads = 2});
  EXPECT_TRUE(s.ok());
  if (!s.ok()) return r;
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), gen.begin(), gen.end() - 1);
  EXPECT_TRUE((*s)->Evaluate(all, true).ok());
  for (size_t i = 0; i < all.size(); ++i) {
    const float* row = (*s)->logits(static_cast<int32_t>(i));
    r.logits.insert(r.logits.end(), row, row + r.vocab);
  }
  auto s2 = Session::Create(*model, {.n_ctx = 64, .n_threads = 1});
  EXPECT_TRUE(s2.ok());
  if (!s2.ok()) return r;
  GenerateOptions g;
  g.max_tokens = static_cast<int32_t>(gen.size());
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  auto out = (*s2)->Generate(prompt, g);
  EXPECT_TRUE(out.ok());
  if (out.ok()) r.greedy = out->tokens;
  return r;
}

float MaxAbsDiff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<int32_t> Ints(const testing::ExpectedTensor& t) {
  return {t.ints.begin(), t.ints.end()};
}

// qwen2-tiny in F16 and BF16: the folder holds the GGUF's own F16/BF16 values, so converting to
// the same type must reproduce llama.cpp's file exactly, and the logits with it.
TEST(LlamaExportTest, Qwen2ReproducesTheFixtureBitForBit) {
  struct Case {
    const char* type;
    DType dtype;
    float llamacpp_tolerance;  // fixtures/llamacpp/README.md, as in model_llama_test
  };
  for (const Case& c : {Case{"F16", DType::kF16, 0.0042f}, Case{"BF16", DType::kBF16, 0.034f}}) {
    SCOPED_TRACE(c.type);
    const std::string rel = std::string("llamacpp/qwen2-tiny/model-") + c.type + ".gguf";
    FATHOM_REQUIRE_FIXTURE(rel);
    auto src = GgufFile::Open(FixturePath(rel));
    ASSERT_TRUE(src.ok()) << src.status();
    const std::string dir = TempDir(std::string("qwen2-tiny"));
    WriteHfFolder(**src, dir, Qwen2TinyConfig(), /*unpermute=*/false);
    auto ckpt = HfCheckpoint::Open(dir);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    const std::string out = dir + "/../qwen2-" + c.type + ".gguf";
    ASSERT_TRUE(ExportLlamaToGguf(**ckpt, out, c.dtype).ok());
    auto got = GgufFile::Open(out);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameTensors(**src, **got);
    ExpectSameMetadata(**src, **got, {"tokenizer.ggml.pre"});

    auto expected = testing::ReadSafetensors(
        FixturePath(std::string("llamacpp/qwen2-tiny/expected-") + c.type + ".safetensors"));
    const std::vector<int32_t> prompt = Ints(expected.at("prompt_tokens"));
    const std::vector<int32_t> gen = Ints(expected.at("gen_tokens"));
    const ModelRun a = RunModel(FixturePath(rel), prompt, gen);
    const ModelRun b = RunModel(out, prompt, gen);
    ASSERT_EQ(a.logits.size(), b.logits.size());
    ASSERT_FALSE(b.logits.empty());
    EXPECT_EQ(MaxAbsDiff(a.logits.data(), b.logits.data(), a.logits.size()), 0.0f);
    const auto& prefill = expected.at("prefill_logits").f32;
    EXPECT_LT(MaxAbsDiff(b.logits.data(), prefill.data(), prefill.size()), c.llamacpp_tolerance);
    EXPECT_EQ(b.greedy, gen);
    std::filesystem::remove(out);
    std::filesystem::remove_all(dir);
  }
}

// llama3-tiny (llama: q/k permuted, tied output, Llama-3.1 rope_freqs): the folder holds the
// Q8_0 file's weights dequantized to F32 in Hugging Face's row order. Converted to F32, every
// tensor is the dequantized original (q/k permuted back) and rope_freqs is llama.cpp's to the
// bit; the logits match the fixture's float64 reference, which was computed from exactly these
// dequantized weights. Converted to Q8_0, the file is llama.cpp's Q8_0 file.
TEST(LlamaExportTest, Llama3PermutationTiedOutputAndRopeFreqs) {
  const std::string rel = "llamacpp/llama3-tiny/model-Q8_0.gguf";
  FATHOM_REQUIRE_FIXTURE(rel);
  auto src = GgufFile::Open(FixturePath(rel));
  ASSERT_TRUE(src.ok()) << src.status();
  const std::string dir = TempDir("llama3-tiny");
  WriteHfFolder(**src, dir, Llama3TinyConfig(), /*unpermute=*/true);
  auto ckpt = HfCheckpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();

  const std::string f32 = dir + "/../llama3-F32.gguf";
  ASSERT_TRUE(ExportLlamaToGguf(**ckpt, f32, DType::kF32).ok());
  auto got = GgufFile::Open(f32);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE((*got)->HasTensor("output.weight"));
  ASSERT_EQ((*src)->tensor_infos().size(), (*got)->tensor_infos().size());
  for (const GgufTensorInfo& info : (*src)->tensor_infos()) {
    const TensorView a = (*src)->GetTensor(info.name).value();
    auto b = (*got)->GetTensor(info.name);
    ASSERT_TRUE(b.ok()) << info.name;
    EXPECT_EQ(b->type, DType::kF32) << info.name;
    EXPECT_EQ(a.dims, b->dims) << info.name;
    const std::vector<float> want =
        a.type == DType::kF32
            ? std::vector<float>(reinterpret_cast<const float*>(a.data),
                                 reinterpret_cast<const float*>(a.data) + a.n_elements)
            : Dequantized(a);
    ASSERT_EQ(b->n_bytes, want.size() * sizeof(float)) << info.name;
    EXPECT_EQ(std::memcmp(b->data, want.data(), b->n_bytes), 0) << info.name << " differs";
  }
  ExpectSameMetadata(**src, **got, {"tokenizer.ggml.pre", "general.file_type"});
  EXPECT_EQ((*got)->GetInt("general.file_type").value_or(-1), 0);

  auto expected =
      testing::ReadSafetensors(FixturePath("llamacpp/llama3-tiny/expected-Q8_0.safetensors"));
  const std::vector<int32_t> prompt = Ints(expected.at("prompt_tokens"));
  const std::vector<int32_t> gen = Ints(expected.at("gen_tokens"));
  const ModelRun r = RunModel(f32, prompt, gen);
  const auto& ref = expected.at("ref_f64_logits").f32;
  ASSERT_EQ(r.logits.size(), ref.size());
  EXPECT_LT(MaxAbsDiff(r.logits.data(), ref.data(), ref.size()), 1e-3f);
  EXPECT_EQ(r.greedy, gen);

  const std::string q8 = dir + "/../llama3-Q8_0.gguf";
  ASSERT_TRUE(ExportLlamaToGguf(**ckpt, q8, DType::kQ8_0).ok());
  auto got_q8 = GgufFile::Open(q8);
  ASSERT_TRUE(got_q8.ok()) << got_q8.status();
  ExpectSameTensors(**src, **got_q8);
  ExpectSameMetadata(**src, **got_q8, {"tokenizer.ggml.pre"});
  std::filesystem::remove(f32);
  std::filesystem::remove(q8);
  std::filesystem::remove_all(dir);
}

// Bad folders: the error names the architecture / tensor / key, and no file is written.
TEST(LlamaExportTest, Refusals) {
  const std::string rel = "llamacpp/qwen2-tiny/model-F16.gguf";
  FATHOM_REQUIRE_FIXTURE(rel);
  auto src = GgufFile::Open(FixturePath(rel));
  ASSERT_TRUE(src.ok());
  const std::string dir = TempDir("refusals");
  const std::string out = dir + "/../refused.gguf";
  auto expect_error = [&](const nlohmann::json& config, const std::string& needle) {
    WriteHfFolder(**src, dir, config, false);
    auto ckpt = HfCheckpoint::Open(dir);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    const absl::Status s = ExportLlamaToGguf(**ckpt, out, DType::kF16);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find(needle), std::string::npos) << s;
    EXPECT_FALSE(std::filesystem::exists(out));
  };
  nlohmann::json c = Qwen2TinyConfig();
  c["architectures"] = {"GPT2LMHeadModel"};
  expect_error(c, "architecture 'GPT2LMHeadModel' is not supported");
  c = Qwen2TinyConfig();
  c["num_hidden_layers"] = 4;  // layer 3 does not exist
  expect_error(c, "missing tensor 'model.layers.3.input_layernorm.weight'");
  c = Qwen2TinyConfig();
  c["num_hidden_layers"] = 2;  // layer 2 is left over
  expect_error(c, "tensor 'model.layers.2.");
  c = Qwen2TinyConfig();
  c["intermediate_size"] = 512;  // every FFN matrix has the wrong shape
  expect_error(c, "model.layers.0.mlp.gate_proj.weight");
  c = Qwen2TinyConfig();
  c["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  expect_error(c, "rope_scaling type 'dynamic'");
  c = Qwen2TinyConfig();
  c.erase("hidden_size");
  expect_error(c, "'hidden_size' is missing");
  // No tokenizer.
  WriteHfFolder(**src, dir, Qwen2TinyConfig(), false);
  std::filesystem::remove(dir + "/tokenizer.json");
  std::filesystem::remove(dir + "/tokenizer_config.json");
  auto ckpt = HfCheckpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok());
  const absl::Status s = ExportLlamaToGguf(**ckpt, out, DType::kF16);
  EXPECT_NE(s.message().find("tokenizer"), std::string::npos) << s;
  EXPECT_FALSE(std::filesystem::exists(out));
  std::filesystem::remove_all(dir);
}

// `fathom convert` picks the exporter from config.json's architectures.
TEST(LlamaExportCliTest, ConvertsQwen2Folder) {
  const std::string rel = "llamacpp/qwen2-tiny/model-BF16.gguf";
  FATHOM_REQUIRE_FIXTURE(rel);
  auto src = GgufFile::Open(FixturePath(rel));
  ASSERT_TRUE(src.ok());
  const std::string dir = TempDir("qwen2-tiny");
  WriteHfFolder(**src, dir, Qwen2TinyConfig(), false);
  const std::string out = dir + "/../cli.gguf";
  testing::CliResult r = testing::RunCli({"convert", "-i", dir, "-o", out, "--type", "BF16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = GgufFile::Open(out);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameTensors(**src, **got);
  nlohmann::json c = Qwen2TinyConfig();
  c["architectures"] = {"MistralForCausalLM"};
  c["model_type"] = "mistral";
  std::ofstream(dir + "/config.json", std::ios::trunc) << c.dump();
  r = testing::RunCli({"convert", "-i", dir, "-o", out + ".2"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("MistralForCausalLM"), std::string::npos) << r.err;
  std::filesystem::remove(out);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fathom
