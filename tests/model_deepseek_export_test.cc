// GGUF export of DeepSeek Hugging Face checkpoints (models/deepseek/deepseek_gguf_export.h):
// the exported file loads through the public API and the GGUF weight loader and computes what the
// Hugging Face folder computes (prefill logits, greedy tokens, MTP logits); without MTP it is
// llama.cpp's converter output (fixtures' model.gguf) bit for bit; options and refusals.
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

#include "fathom/fathom.h"
#include "format/gguf_reader.h"
#include "format/hf_checkpoint.h"
#include "gtest/gtest.h"
#include "models/deepseek/deepseek_gguf_export.h"
#include "models/deepseek/deepseek_model.h"
#include "models/deepseek/deepseek_state.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"
#include "support/hf_folder_writer.h"

namespace fathom {
namespace {

using internal::ExportDeepSeekToGguf;
using internal::ExportOptions;
using testing::ExpectedTensor;
using testing::FixturePath;

// Same weights and arithmetic on both sides: an F32 (or lossless BF16) export differs from the
// folder only in summation order (attn_k_b is read transposed). Observed <= 2e-6.
constexpr float kSameWeightsTolerance = 1e-4f;

float MaxAbsDiff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<int32_t> Ints(const ExpectedTensor& t) { return {t.ints.begin(), t.ints.end()}; }

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/fathom_export_" + std::to_string(::getpid()) + "_" + name;
}

// Exports fixture folder `folder` to a temporary GGUF; "" (and a test failure) on error.
std::string Export(const std::string& folder, const ExportOptions& opts, const std::string& tag) {
  auto ckpt = HfCheckpoint::Open(FixturePath(folder));
  EXPECT_TRUE(ckpt.ok()) << ckpt.status();
  if (!ckpt.ok()) return "";
  const std::string path = TempPath(tag + ".gguf");
  const absl::Status s = ExportDeepSeekToGguf(**ckpt, path, opts);
  EXPECT_TRUE(s.ok()) << s;
  return s.ok() ? path : "";
}

struct ModelRun {
  int64_t n_vocab = 0;
  std::vector<float> prefill;   // [prompt, vocab]
  std::vector<int32_t> greedy;  // argmax continuation through the KV cache
};

// Prefill logits at every prompt position, then `n_gen` greedy tokens one at a time.
ModelRun RunModel(const std::string& path, const std::vector<int32_t>& prompt, size_t n_gen) {
  ModelRun r;
  auto model = Model::Load(path);
  EXPECT_TRUE(model.ok()) << path << ": " << model.status().ToString();
  if (!model.ok()) return r;
  r.n_vocab = (*model)->info().n_vocab;
  auto s = Session::Create(*model, {.n_ctx = 64, .n_threads = 2});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return r;
  EXPECT_TRUE((*s)->Evaluate(prompt, true).ok());
  for (size_t i = 0; i < prompt.size(); ++i) {
    const float* row = (*s)->logits(static_cast<int32_t>(i));
    r.prefill.insert(r.prefill.end(), row, row + r.n_vocab);
  }
  for (size_t j = 0; j < n_gen; ++j) {
    const float* row = (*s)->logits();
    const int32_t tok = static_cast<int32_t>(std::max_element(row, row + r.n_vocab) - row);
    r.greedy.push_back(tok);
    EXPECT_TRUE((*s)->Evaluate({tok}).ok());
  }
  return r;
}

struct ExportCase {
  std::string name;
  std::string folder;    // exported and compared against (a Hugging Face folder)
  std::string expected;  // fixture folder holding expected.safetensors
  DType type;
  float tolerance;  // max |logit difference| GGUF vs folder, prefill
};

void PrintTo(const ExportCase& c, std::ostream* os) { *os << c.name; }

class DeepSeekExportTest : public ::testing::TestWithParam<ExportCase> {};

TEST_P(DeepSeekExportTest, GgufComputesWhatTheFolderComputes) {
  const ExportCase& c = GetParam();
  FATHOM_REQUIRE_FIXTURE(c.expected + "/expected.safetensors");
  FATHOM_REQUIRE_FIXTURE(c.folder + "/config.json");
  auto exp = testing::ReadSafetensors(FixturePath(c.expected + "/expected.safetensors"));
  const auto prompt = Ints(exp.at("prompt_tokens"));
  const auto gen = Ints(exp.at("gen_tokens"));

  const std::string gguf = Export(c.folder, {.weight_type = c.type}, c.name);
  ASSERT_FALSE(gguf.empty());
  const ModelRun hf = RunModel(FixturePath(c.folder), prompt, gen.size());
  const ModelRun out = RunModel(gguf, prompt, gen.size());
  std::filesystem::remove(gguf);
  ASSERT_EQ(hf.n_vocab, out.n_vocab);
  ASSERT_EQ(out.prefill.size(), prompt.size() * out.n_vocab);
  ASSERT_EQ(hf.prefill.size(), out.prefill.size());
  const float diff = MaxAbsDiff(hf.prefill.data(), out.prefill.data(), hf.prefill.size());
  std::printf("[ %s ] prefill max |GGUF - folder| = %.3g over %zu positions\n", c.name.c_str(),
              diff, prompt.size());
  EXPECT_LT(diff, c.tolerance);
  EXPECT_EQ(hf.greedy, gen);
  EXPECT_EQ(out.greedy, gen);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, DeepSeekExportTest,
    ::testing::Values(
        ExportCase{"v3_tiny_f32", "deepseek/v3-tiny", "deepseek/v3-tiny", DType::kF32,
                   kSameWeightsTolerance},
        ExportCase{"v2_lite_tiny_f32", "deepseek/v2-lite-tiny", "deepseek/v2-lite-tiny",
                   DType::kF32, kSameWeightsTolerance},
        ExportCase{"v2_lite_tiny_bf16_folder_f32", "deepseek/v2-lite-tiny/bf16",
                   "deepseek/v2-lite-tiny", DType::kF32, kSameWeightsTolerance},
        // Every v3-tiny weight is exactly representable in bfloat16: BF16 export is lossless.
        ExportCase{"v3_tiny_bf16", "deepseek/v3-tiny", "deepseek/v3-tiny", DType::kBF16,
                   kSameWeightsTolerance},
        // FP8 weights dequantized with their block scales, as the folder path does.
        ExportCase{"v3_tiny_fp8_f32", "deepseek/v3-tiny-fp8", "deepseek/v3-tiny-fp8", DType::kF32,
                   kSameWeightsTolerance},
        // FP8 times an F32 block scale needs up to 24 mantissa bits; F16 keeps 11 (relative
        // rounding <= 2^-12 per weight). Measured 0.0046 on logits of std ~2; bound 0.02, well
        // under the reference's smallest greedy margin (0.048), so the tokens still match.
        ExportCase{"v3_tiny_fp8_f16", "deepseek/v3-tiny-fp8", "deepseek/v3-tiny-fp8", DType::kF16,
                   0.02f}),
    [](const auto& info) { return info.param.name; });

// The MTP layer survives the export: blk.4.nextn.* plus the block, block_count 5,
// nextn_predict_layers 1, and the GGUF model's MTP logits equal the folder's.
class DeepSeekExportMtpTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DeepSeekExportMtpTest, MtpLogitsMatchTheFolder) {
  const std::string folder = GetParam();
  FATHOM_REQUIRE_FIXTURE(folder + "/expected.safetensors");
  auto exp = testing::ReadSafetensors(FixturePath(folder + "/expected.safetensors"));
  const std::string path = Export(folder, {}, "mtp");
  ASSERT_FALSE(path.empty());
  auto gguf = GgufFile::Open(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  std::filesystem::remove(path);  // the mapping stays valid
  EXPECT_EQ((*gguf)->GetInt("deepseek2.block_count").value_or(-1), 5);
  EXPECT_EQ((*gguf)->GetInt("deepseek2.nextn_predict_layers").value_or(-1), 1);
  for (const char* t :
       {"eh_proj", "enorm", "hnorm", "shared_head_head", "shared_head_norm", "embed_tokens"}) {
    EXPECT_TRUE((*gguf)->HasTensor(std::string("blk.4.nextn.") + t + ".weight")) << t;
  }
  EXPECT_TRUE((*gguf)->HasTensor("blk.4.attn_k_b.weight"));
  EXPECT_TRUE((*gguf)->HasTensor("blk.4.ffn_gate_exps.weight"));

  auto ckpt = HfCheckpoint::Open(FixturePath(folder));
  ASSERT_TRUE(ckpt.ok());
  ModelInfo hf_info, gguf_info;
  auto hf = internal::DeepSeekModel::LoadHf(**ckpt, &hf_info);
  ASSERT_TRUE(hf.ok()) << hf.status();
  auto out = internal::DeepSeekModel::LoadGguf(**gguf, &gguf_info);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE((*out)->has_mtp());
  EXPECT_EQ(gguf_info.n_layer, hf_info.n_layer);

  // Main model over prompt + 15 generated tokens, then MTP rows 0..34 in one pass.
  std::vector<int32_t> all = Ints(exp.at("prompt_tokens"));
  const auto gen = Ints(exp.at("gen_tokens"));
  all.insert(all.end(), gen.begin(), gen.end());
  const std::vector<int32_t> next(all.begin() + 1, all.end());
  const int64_t V = hf_info.n_vocab, rows = static_cast<int64_t>(next.size());
  ThreadPool pool(2);
  auto mtp_logits = [&](const internal::DeepSeekModel& m) {
    std::vector<float> logits(rows * V);
    auto st = m.NewState(64, 64);
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(m.Forward(**st, all, 0, internal::LogitsMode::kNone, nullptr, pool, nullptr).ok());
    EXPECT_TRUE(m.ForwardMtp(**st, next, 0, logits.data(), pool, nullptr).ok());
    return logits;
  };
  const std::vector<float> a = mtp_logits(**hf), b = mtp_logits(**out);
  const float diff = MaxAbsDiff(a.data(), b.data(), rows * V);
  std::printf("[ %s ] MTP max |GGUF - folder| = %.3g over %lld rows\n", folder.c_str(), diff,
              static_cast<long long>(rows));
  EXPECT_LT(diff, kSameWeightsTolerance);
  const ExpectedTensor& expected = exp.at("mtp_logits");
  EXPECT_LT(MaxAbsDiff(b.data(), expected.f32.data(), rows * V), 1e-3f);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DeepSeekExportMtpTest,
                         ::testing::Values("deepseek/v3-tiny", "deepseek/v3-tiny-fp8"),
                         [](const auto& info) {
                           std::string n = info.param.substr(9);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// Metadata values compare by type and value (arrays element by element).
bool SameValue(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type) return false;
  if (const auto* x = std::get_if<GgufArray>(&a.value)) {
    const auto* y = std::get_if<GgufArray>(&b.value);
    if (y == nullptr || x->element_type != y->element_type || x->values.size() != y->values.size())
      return false;
    for (size_t i = 0; i < x->values.size(); ++i) {
      if (!SameValue(x->values[i], y->values[i])) return false;
    }
    return true;
  }
  if (a.value.index() != b.value.index()) return false;
  if (const auto* x = std::get_if<uint64_t>(&a.value)) return *x == std::get<uint64_t>(b.value);
  if (const auto* x = std::get_if<int64_t>(&a.value)) return *x == std::get<int64_t>(b.value);
  if (const auto* x = std::get_if<double>(&a.value)) return *x == std::get<double>(b.value);
  if (const auto* x = std::get_if<bool>(&a.value)) return *x == std::get<bool>(b.value);
  return std::get<std::string>(a.value) == std::get<std::string>(b.value);
}

// Without MTP, an F32 export is what llama.cpp's convert_hf_to_gguf.py wrote for the fixtures
// (plus the same synthetic vocabulary): every key but the name and size label, every tensor's
// name, type, shape and bytes.
class DeepSeekExportLayoutTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DeepSeekExportLayoutTest, MatchesLlamaCppConverter) {
  const std::string folder = GetParam();
  FATHOM_REQUIRE_FIXTURE(folder + "/model.gguf");
  const std::string path = Export(folder, {.include_mtp = false}, "layout");
  ASSERT_FALSE(path.empty());
  auto ours = GgufFile::Open(path);
  ASSERT_TRUE(ours.ok()) << ours.status();
  std::filesystem::remove(path);
  auto ref = GgufFile::Open(FixturePath(folder + "/model.gguf"));
  ASSERT_TRUE(ref.ok()) << ref.status();

  for (const GgufKeyValue& kv : (*ref)->metadata()) {
    if (kv.key == "general.name" || kv.key == "general.size_label") continue;
    const GgufValue* v = (*ours)->Find(kv.key);
    ASSERT_NE(v, nullptr) << "missing key " << kv.key;
    EXPECT_TRUE(SameValue(*v, kv.value)) << "key " << kv.key;
  }
  for (const GgufKeyValue& kv : (*ours)->metadata()) {
    if (kv.key == "general.name" || kv.key == "fathom.synthetic_vocab") continue;
    EXPECT_NE((*ref)->Find(kv.key), nullptr) << "extra key " << kv.key;
  }
  EXPECT_EQ((*ours)->GetBool("fathom.synthetic_vocab").value_or(false), true);

  ASSERT_EQ((*ours)->tensor_infos().size(), (*ref)->tensor_infos().size());
  for (const GgufTensorInfo& info : (*ref)->tensor_infos()) {
    auto a = (*ours)->GetTensor(info.name);
    ASSERT_TRUE(a.ok()) << a.status();
    auto b = (*ref)->GetTensor(info.name);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a->type, b->type) << info.name;
    ASSERT_EQ(a->dims, b->dims) << info.name;
    ASSERT_EQ(a->n_bytes, b->n_bytes) << info.name;
    EXPECT_EQ(std::memcmp(a->data, b->data, a->n_bytes), 0) << info.name << " differs";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DeepSeekExportLayoutTest,
                         ::testing::Values("deepseek/v3-tiny", "deepseek/v2-lite-tiny"),
                         [](const auto& info) {
                           std::string n = info.param.substr(9);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// Prefill logits of `m` over `prompt` at every position, and the expert set each MoE layer
// chose for each position (sorted; empty for dense layers).
struct Traced {
  std::vector<float> logits;
  std::vector<std::vector<std::vector<int32_t>>> experts;  // [layer][position]
};

Traced TracePrefill(const internal::DeepSeekModel& m, const std::vector<int32_t>& prompt) {
  Traced r;
  ThreadPool pool(2);
  auto st = m.NewState(64, 64);
  EXPECT_TRUE(st.ok());
  if (!st.ok()) return r;
  auto& s = static_cast<internal::DeepSeekState&>(**st);
  s.trace_routing = true;
  r.logits.resize(prompt.size() * m.n_vocab());
  EXPECT_TRUE(
      m.Forward(s, prompt, 0, internal::LogitsMode::kAll, r.logits.data(), pool, nullptr).ok());
  const size_t n = prompt.size();
  for (const std::vector<int32_t>& ids : s.trace_ids) {
    auto& layer = r.experts.emplace_back(n);
    const size_t k = ids.size() / n;
    for (size_t p = 0; p < n && k > 0; ++p) {
      layer[p].assign(ids.begin() + p * k, ids.begin() + (p + 1) * k);
      std::sort(layer[p].begin(), layer[p].end());
    }
  }
  return r;
}

// Q8_0 from FP8: matrices are Q8_0, norms / router / score bias stay F32. The logits move by
// Q8_0's rounding (8-bit weights in 32-element blocks with one F16 scale: error up to 1/254 of
// a block's largest weight, on top of the FP8 rounding already in the values) and, where that
// rounding flips a routing decision (this fixture's closest expert race is 0.0015 apart), by a
// different expert's output. Measured: max |Q8_0 - FP8 folder| = 0.144 over the positions routed
// identically (logit std ~2; Q8_0 of v2-lite-tiny, no flips: 0.125), 0.88 at the one position
// of 20 where a layer picks another expert set. Bounds: 0.3 where the routing agrees, at most 4
// positions with a routing change. Greedy tokens are not compared (smallest top-1/top-2 margin
// of the FP8 reference is 0.048, below that noise); the file must load and generate.
TEST(DeepSeekExportQuantizedTest, Q8_0FromFp8) {
  const std::string folder = "deepseek/v3-tiny-fp8";
  FATHOM_REQUIRE_FIXTURE(folder + "/expected.safetensors");
  auto exp = testing::ReadSafetensors(FixturePath(folder + "/expected.safetensors"));
  const auto prompt = Ints(exp.at("prompt_tokens"));
  const std::string path = Export(folder, {.weight_type = DType::kQ8_0}, "q8_0");
  ASSERT_FALSE(path.empty());
  auto gguf = GgufFile::Open(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  EXPECT_EQ((*gguf)->GetInt("general.file_type").value_or(-1), 7);
  for (const GgufTensorInfo& t : (*gguf)->tensor_infos()) {
    const bool f32 = t.dims.size() == 1 || t.name.find("ffn_gate_inp") != std::string::npos;
    EXPECT_EQ(t.type, f32 ? DType::kF32 : DType::kQ8_0) << t.name;
  }

  auto ckpt = HfCheckpoint::Open(FixturePath(folder));
  ASSERT_TRUE(ckpt.ok());
  ModelInfo hf_info, q_info;
  auto hf = internal::DeepSeekModel::LoadHf(**ckpt, &hf_info);
  ASSERT_TRUE(hf.ok()) << hf.status();
  auto q = internal::DeepSeekModel::LoadGguf(**gguf, &q_info);
  ASSERT_TRUE(q.ok()) << q.status();
  const Traced a = TracePrefill(**hf, prompt), b = TracePrefill(**q, prompt);
  ASSERT_EQ(a.experts.size(), b.experts.size());
  const int64_t V = hf_info.n_vocab;
  float same_routing = 0, rerouted = 0;
  int n_rerouted = 0;
  for (size_t p = 0; p < prompt.size(); ++p) {
    bool same = true;
    for (size_t il = 0; il < a.experts.size(); ++il) same &= a.experts[il][p] == b.experts[il][p];
    const float d = MaxAbsDiff(&a.logits[p * V], &b.logits[p * V], V);
    if (same) {
      same_routing = std::max(same_routing, d);
    } else {
      rerouted = std::max(rerouted, d);
      ++n_rerouted;
    }
  }
  std::printf(
      "[ q8_0 from fp8 ] prefill max |GGUF - folder| = %.3g where routed alike, %.3g at "
      "%d rerouted positions\n",
      same_routing, rerouted, n_rerouted);
  EXPECT_LT(same_routing, 0.3f);
  EXPECT_LE(n_rerouted, 4);

  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::filesystem::remove(path);
  auto s = Session::Create(*model, {.n_ctx = 64, .n_threads = 2});
  ASSERT_TRUE(s.ok());
  GenerateOptions g;
  g.max_tokens = 16;
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  auto out = (*s)->Generate(prompt, g);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->tokens.size(), 16u);
}

// Rows that are not a whole number of K-quant blocks (256) cannot be Q4_K: those matrices fall
// back to F16, as llama.cpp's converter does. In this tiny model that is every matrix except
// the MTP eh_proj (rows of 2 * 128).
TEST(DeepSeekExportQuantizedTest, ShortRowsFallBackToF16) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/config.json");
  const std::string path = Export("deepseek/v3-tiny", {.weight_type = DType::kQ4_K}, "q4_k");
  ASSERT_FALSE(path.empty());
  auto gguf = GgufFile::Open(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  std::filesystem::remove(path);
  EXPECT_EQ((*gguf)->GetInt("general.file_type").value_or(-1), 14);
  for (const GgufTensorInfo& t : (*gguf)->tensor_infos()) {
    const bool f32 = t.dims.size() == 1 || t.name.find("ffn_gate_inp") != std::string::npos;
    const DType want = f32 ? DType::kF32 : t.dims[0] % 256 == 0 ? DType::kQ4_K : DType::kF16;
    EXPECT_EQ(t.type, want) << t.name;
  }
  ModelInfo info;
  auto m = internal::DeepSeekModel::LoadGguf(**gguf, &info);
  EXPECT_TRUE(m.ok()) << m.status();
}

TEST(DeepSeekExportOptionsTest, WithoutMtpAndSyntheticVocab) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/config.json");
  const std::string path = Export("deepseek/v3-tiny", {.include_mtp = false}, "nomtp");
  ASSERT_FALSE(path.empty());
  auto gguf = GgufFile::Open(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  EXPECT_EQ((*gguf)->GetInt("deepseek2.block_count").value_or(-1), 4);
  EXPECT_EQ((*gguf)->Find("deepseek2.nextn_predict_layers"), nullptr);
  EXPECT_FALSE((*gguf)->HasTensor("blk.4.attn_norm.weight"));
  ModelInfo info;
  auto m = internal::DeepSeekModel::LoadGguf(**gguf, &info);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE((*m)->has_mtp());

  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::filesystem::remove(path);
  const Tokenizer& tok = (*model)->tokenizer();
  EXPECT_EQ(tok.vocab_size(), 1024);
  EXPECT_EQ(tok.bos(), 0);
  EXPECT_EQ(tok.eos(), 1);
}

// A folder with a tokenizer.json: its vocabulary goes into the GGUF as llama.cpp's converter
// writes it. The tokenizer.json here holds the vocabulary of llama.cpp's own conversion of
// v3-tiny (model.gguf), so the tokenizer metadata must equal that file's; the MTP layer stays.
TEST(DeepSeekExportTokenizerTest, TokenizerJsonGivesLlamaCppMetadata) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/model.gguf");
  auto reference = GgufFile::Open(FixturePath("deepseek/v3-tiny/model.gguf"));
  ASSERT_TRUE(reference.ok()) << reference.status();
  const GgufFile& ref = **reference;
  const std::string dir = TempPath("v3_with_tokenizer");
  std::filesystem::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"}) {
    std::filesystem::copy_file(FixturePath(std::string("deepseek/v3-tiny/") + f), dir + "/" + f,
                               std::filesystem::copy_options::overwrite_existing);
  }
  ASSERT_TRUE(
      testing::WriteByteLevelTokenizer(dir, ref.GetStringArray("tokenizer.ggml.tokens").value(),
                                       ref.GetIntArray("tokenizer.ggml.token_type").value(),
                                       ref.GetStringArray("tokenizer.ggml.merges").value(),
                                       ref.GetInt("tokenizer.ggml.bos_token_id").value(),
                                       ref.GetInt("tokenizer.ggml.eos_token_id").value(),
                                       ref.GetBool("tokenizer.ggml.add_bos_token").value()));
  auto ckpt = HfCheckpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  const std::string path = TempPath("with_tokenizer.gguf");
  ASSERT_TRUE(ExportDeepSeekToGguf(**ckpt, path, {}).ok());
  std::filesystem::remove_all(dir);
  auto got = GgufFile::Open(path);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> ours;
  for (const GgufKeyValue& kv : (*got)->metadata()) {
    if (kv.key.rfind("tokenizer.", 0) == 0) ours.push_back(kv.key);
  }
  std::vector<std::string> theirs;
  for (const GgufKeyValue& kv : ref.metadata()) {
    if (kv.key.rfind("tokenizer.", 0) == 0) theirs.push_back(kv.key);
  }
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ((*got)->Find("fathom.synthetic_vocab"), nullptr);
  EXPECT_EQ((*got)->GetStringArray("tokenizer.ggml.tokens").value(),
            ref.GetStringArray("tokenizer.ggml.tokens").value());
  EXPECT_EQ((*got)->GetIntArray("tokenizer.ggml.token_type").value(),
            ref.GetIntArray("tokenizer.ggml.token_type").value());
  EXPECT_EQ((*got)->GetStringArray("tokenizer.ggml.merges").value(),
            ref.GetStringArray("tokenizer.ggml.merges").value());
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
    EXPECT_EQ((*got)->GetInt(key).value(), ref.GetInt(key).value()) << key;
  }
  EXPECT_EQ((*got)->GetBool("tokenizer.ggml.add_bos_token").value(), true);
  // The fixture (written with a synthetic vocabulary) says "default"; the tokenizer.json's
  // ByteLevel regex is GPT-2's, which both names select.
  EXPECT_EQ((*got)->GetString("tokenizer.ggml.pre").value(), "gpt-2");
  EXPECT_EQ((*got)->GetInt("deepseek2.nextn_predict_layers").value_or(0), 1);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::filesystem::remove(path);
  EXPECT_EQ((*model)->tokenizer().vocab_size(), 1024);
  EXPECT_EQ((*model)->tokenizer().bos(), 0);
}

// The shipped demo model (DeepSeek-V3 architecture, SentencePiece BPE tokenizer.model, MTP
// layer): its GGUF carries the tokenizer (same ids for held-out text), the chat template and the
// MTP layer, and generates the folder's greedy tokens, with and without MTP speculation.
TEST(DeepSeekExportTokenizerTest, DemoModelWithSentencePieceAndMtp) {
  const std::string demo = std::string(FATHOM_DEMO_DIR) + "/fathom-demo-v3";
  auto ckpt = HfCheckpoint::Open(demo);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  const std::string path = TempPath("demo.gguf");
  ASSERT_TRUE(ExportDeepSeekToGguf(**ckpt, path, {}).ok());
  auto gguf = GgufFile::Open(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  EXPECT_EQ((*gguf)->GetString("tokenizer.ggml.model").value(), "llama");
  EXPECT_EQ((*gguf)->GetInt("deepseek2.nextn_predict_layers").value_or(0), 1);
  auto folder_model = Model::Load(demo);
  auto gguf_model = Model::Load(path);
  ASSERT_TRUE(folder_model.ok() && gguf_model.ok()) << gguf_model.status().ToString();
  std::filesystem::remove(path);
  const Tokenizer& a = (*folder_model)->tokenizer();
  const Tokenizer& b = (*gguf_model)->tokenizer();
  EXPECT_EQ(a.vocab_size(), b.vocab_size());
  EXPECT_EQ(a.bos(), b.bos());
  EXPECT_EQ(a.eos(), b.eos());
  EXPECT_EQ(a.chat_template(), b.chat_template());
  int lines = 0;
  std::ifstream held(std::string(FATHOM_DEMO_DIR) + "/golden/heldout_sample.txt");
  for (std::string line; std::getline(held, line) && lines < 200; ++lines) {
    auto x = a.Encode(line);
    auto y = b.Encode(line);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(*x, *y) << line;
  }
  EXPECT_GT(lines, 50);
  auto prompt = a.Encode("And God said, Let there be light");
  ASSERT_TRUE(prompt.ok());
  std::vector<int32_t> want;
  for (int n_draft : {0, 1, 3}) {
    const std::shared_ptr<const Model>& m = n_draft == 0 ? *folder_model : *gguf_model;
    auto s = Session::Create(m, {.n_ctx = 128, .n_threads = 2, .mtp = n_draft > 0});
    ASSERT_TRUE(s.ok());
    GenerateOptions g;
    g.max_tokens = 48;
    g.sampler.temperature = 0;
    g.stop_at_eos = false;
    if (n_draft > 0) {
      g.speculative = Speculative::kMtp;
      g.n_draft = n_draft;
    }
    auto out = (*s)->Generate(*prompt, g);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    if (n_draft == 0) {
      want = out->tokens;
      ASSERT_EQ(want.size(), 48u);
    } else {
      EXPECT_EQ(out->tokens, want) << "n_draft " << n_draft;
      EXPECT_GT(out->speculative.accepted, 0);
    }
  }
}

TEST(DeepSeekExportOptionsTest, Refusals) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/config.json");
  auto ckpt = HfCheckpoint::Open(FixturePath("deepseek/v3-tiny"));
  ASSERT_TRUE(ckpt.ok());
  const std::string path = TempPath("refused.gguf");
  for (DType t : {DType::kF8_E4M3, DType::kQ8_K, DType::kI32, DType::kIQ2_XXS}) {
    const absl::Status s = ExportDeepSeekToGguf(**ckpt, path, {.weight_type = t});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find("weight type"), std::string::npos) << s;
  }
  EXPECT_FALSE(std::filesystem::exists(path));

  // A folder whose tokenizer.json is not a byte-level BPE.
  std::string dir = TempPath("with_tokenizer");
  std::filesystem::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"}) {
    std::filesystem::copy_file(FixturePath(std::string("deepseek/v3-tiny/") + f), dir + "/" + f,
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::ofstream(dir + "/tokenizer.json") << "{}";
  auto tk = HfCheckpoint::Open(dir);
  ASSERT_TRUE(tk.ok()) << tk.status();
  absl::Status s = ExportDeepSeekToGguf(**tk, path, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_NE(s.message().find("tokenizer"), std::string::npos) << s;

  // A config that GGUF deepseek2 cannot express.
  std::filesystem::remove(dir + "/tokenizer.json");
  auto config = nlohmann::json::parse(testing::ReadFile(dir + "/config.json"));
  config["scoring_func"] = "softmax";  // with topk_method noaux_tc
  std::ofstream(dir + "/config.json") << config.dump();
  auto odd = HfCheckpoint::Open(dir);
  ASSERT_TRUE(odd.ok()) << odd.status();
  s = ExportDeepSeekToGguf(**odd, path, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_NE(s.message().find("topk_method"), std::string::npos) << s;

  // A checkpoint the loader rejects is not exported: the same error, naming the tensor.
  config["scoring_func"] = "sigmoid";
  config["num_hidden_layers"] = 6;  // layer 4 is the MTP block, 5 does not exist
  std::ofstream(dir + "/config.json", std::ios::trunc) << config.dump();
  auto short_of_layers = HfCheckpoint::Open(dir);
  ASSERT_TRUE(short_of_layers.ok()) << short_of_layers.status();
  s = ExportDeepSeekToGguf(**short_of_layers, path, {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model.layers.5."), std::string::npos) << s;
  EXPECT_FALSE(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fathom
