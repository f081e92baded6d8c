// Llama-family forward pass through the C++ API against ground truth:
// - llamacpp/{qwen2,llama3}-tiny: every weight type vs the exact float64 reference (1e-3) and
//   greedy tokens exactly; llama.cpp's own logits within the README's per-type tolerance;
// - stories260K: prefill logits equal one-token-at-a-time decode (1e-4); thread counts agree.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "fathom/fathom.h"
#include "gtest/gtest.h"
#include "kernels/matmul.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"

namespace fathom {
namespace {

using ::fathom::testing::ExpectedTensor;
using ::fathom::testing::FixturePath;

std::shared_ptr<const Model> LoadOrDie(const std::string& path) {
  auto m = Model::Load(path);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? m.value() : nullptr;
}

float MaxAbsDiff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// "Suggested tolerance" column of fixtures/llamacpp/README.md (2x llama.cpp's own distance from
// exact arithmetic, caused by its activation rounding): our logits vs llama.cpp's logits.
double LlamaCppTolerance(const std::string& folder, const std::string& type) {
  static const std::map<std::string, double> qwen2 = {
      {"F16", 0.0042}, {"BF16", 0.034}, {"Q8_0", 0.16}, {"Q4_0", 0.14},   {"Q5_0", 0.14},
      {"Q2_K", 0.33},  {"Q4_K", 0.35},  {"Q6_K", 0.3},  {"IQ4_NL", 0.14}, {"Q4_K_M", 0.35}};
  static const std::map<std::string, double> llama3 = {
      {"Q8_0", 0.12}, {"Q4_1", 0.12},   {"Q5_1", 0.11},  {"Q3_K", 0.23},
      {"Q5_K", 0.24}, {"IQ4_XS", 0.28}, {"Q4_K_M", 0.25}};
  const auto& table = folder == "qwen2-tiny" ? qwen2 : llama3;
  auto it = table.find(type);
  return it == table.end() ? -1.0 : it->second;
}

struct LlamaCppCase {
  std::string folder;
  std::string type;
};

std::vector<LlamaCppCase> AllLlamaCppCases() {
  return {{"qwen2-tiny", "F16"},     {"qwen2-tiny", "BF16"},   {"qwen2-tiny", "Q8_0"},
          {"qwen2-tiny", "Q4_0"},    {"qwen2-tiny", "Q5_0"},   {"qwen2-tiny", "Q2_K"},
          {"qwen2-tiny", "Q4_K"},    {"qwen2-tiny", "Q6_K"},   {"qwen2-tiny", "IQ4_NL"},
          {"qwen2-tiny", "Q4_K_M"},  {"llama3-tiny", "Q8_0"},  {"llama3-tiny", "Q4_1"},
          {"llama3-tiny", "Q5_1"},   {"llama3-tiny", "Q3_K"},  {"llama3-tiny", "Q5_K"},
          {"llama3-tiny", "IQ4_XS"}, {"llama3-tiny", "Q4_K_M"}};
}

class LlamaCppFixtureTest : public ::testing::TestWithParam<LlamaCppCase> {};

TEST_P(LlamaCppFixtureTest, LogitsAndGreedyTokens) {
  const auto& c = GetParam();
  const std::string model_rel = "llamacpp/" + c.folder + "/model-" + c.type + ".gguf";
  const std::string exp_rel = "llamacpp/" + c.folder + "/expected-" + c.type + ".safetensors";
  FATHOM_REQUIRE_FIXTURE(model_rel);
  FATHOM_REQUIRE_FIXTURE(exp_rel);
  auto expected = testing::ReadSafetensors(FixturePath(exp_rel));
  const ExpectedTensor& prompt_t = expected.at("prompt_tokens");
  const ExpectedTensor& gen_t = expected.at("gen_tokens");
  const ExpectedTensor& prefill = expected.at("prefill_logits");
  const ExpectedTensor& ref = expected.at("ref_f64_logits");
  std::vector<int32_t> prompt(prompt_t.ints.begin(), prompt_t.ints.end());
  std::vector<int32_t> gen(gen_t.ints.begin(), gen_t.ints.end());

  auto model = LoadOrDie(FixturePath(model_rel));
  ASSERT_NE(model, nullptr);
  const int64_t V = model->info().n_vocab;
  ASSERT_EQ(prefill.shape[1], V);

  // Both matmul modes: exact (dequantized weights, float activations) must match the float64
  // reference; int8 (activations rounded as llama.cpp rounds them) must match llama.cpp's logits
  // within the README's tolerance; both must reproduce the greedy tokens exactly.
  for (MatMulMode mode : {MatMulMode::kExact, MatMulMode::kInt8}) {
    SCOPED_TRACE(mode == MatMulMode::kExact ? "exact matmul" : "int8 matmul");
    SetMatMulMode(mode);
    // Prompt + the first 15 generated tokens in one batch: rows line up with ref_f64_logits.
    auto session = Session::Create(model, {.n_ctx = 64, .n_threads = 2});
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    std::vector<int32_t> all = prompt;
    all.insert(all.end(), gen.begin(), gen.end() - 1);
    ASSERT_TRUE((*session)->Evaluate(all, true).ok());
    ASSERT_EQ((*session)->n_logits(), static_cast<int32_t>(all.size()));
    float worst_ref = 0, worst_llamacpp = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      worst_ref = std::max(worst_ref, MaxAbsDiff((*session)->logits(i), &ref.f32[i * V], V));
      if (i < prompt.size()) {
        worst_llamacpp =
            std::max(worst_llamacpp, MaxAbsDiff((*session)->logits(i), &prefill.f32[i * V], V));
      }
    }
    if (mode == MatMulMode::kExact) {
      EXPECT_LT(worst_ref, 1e-3) << "vs the exact float64 reference";
    }
    EXPECT_LT(worst_llamacpp, LlamaCppTolerance(c.folder, c.type)) << "vs llama.cpp";

    // Greedy continuation, one token per step after the batched prompt.
    auto s2 = Session::Create(model, {.n_ctx = 64, .n_threads = 1});
    ASSERT_TRUE(s2.ok());
    GenerateOptions g;
    g.max_tokens = static_cast<int32_t>(gen.size());
    g.sampler.temperature = 0;
    g.stop_at_eos = false;
    auto out = (*s2)->Generate(prompt, g);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->tokens, gen);
  }
  SetMatMulMode(MatMulMode::kInt8);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, LlamaCppFixtureTest, ::testing::ValuesIn(AllLlamaCppCases()),
                         [](const auto& info) {
                           std::string n = info.param.folder + "_" + info.param.type;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

TEST(WeightLayoutTest, InterleavedWeightsGiveTheMappedFilesLogitsBitForBit) {
  // A huge-page copy has its MatMul weights rewritten into the interleaved layout (where the CPU
  // has the kernels); a file mapping keeps the row layout. Both must give the same bits, for a
  // prompt batch (the panel kernels) and one-token steps (the decode kernels).
  for (const char* type : {"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q6_K", "Q4_K_M"}) {
    SCOPED_TRACE(type);
    const std::string rel = std::string("llamacpp/qwen2-tiny/model-") + type + ".gguf";
    FATHOM_REQUIRE_FIXTURE(rel);
    std::vector<std::vector<float>> logits[2];
    std::vector<int32_t> tokens[2];
    for (int copy = 0; copy < 2; ++copy) {
      ModelLoadOptions options;
      options.placement =
          copy ? ModelLoadOptions::Placement::kHugePages : ModelLoadOptions::Placement::kMap;
      auto model = Model::Load(FixturePath(rel), options);
      ASSERT_TRUE(model.ok()) << model.status().ToString();
      auto session = Session::Create(*model, {.n_ctx = 64, .n_threads = 2});
      ASSERT_TRUE(session.ok());
      const std::vector<int32_t> prompt = {1, 17, 300, 42, 99, 7, 250, 3};
      ASSERT_TRUE((*session)->Evaluate(prompt, true).ok());
      for (int32_t i = 0; i < (*session)->n_logits(); ++i) {
        logits[copy].emplace_back((*session)->logits(i),
                                  (*session)->logits(i) + (*model)->info().n_vocab);
      }
      GenerateOptions g;
      g.max_tokens = 12;
      g.sampler.temperature = 0;
      g.stop_at_eos = false;
      auto s2 = Session::Create(*model, {.n_ctx = 64, .n_threads = 2});
      ASSERT_TRUE(s2.ok());
      auto out = (*s2)->Generate(prompt, g);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      tokens[copy] = out->tokens;
      ASSERT_TRUE((*s2)->Evaluate({out->tokens.back()}, true).ok());
      logits[copy].emplace_back((*s2)->logits(0), (*s2)->logits(0) + (*model)->info().n_vocab);
    }
    ASSERT_EQ(logits[0].size(), logits[1].size());
    for (size_t i = 0; i < logits[0].size(); ++i) {
      ASSERT_EQ(0, std::memcmp(logits[0][i].data(), logits[1][i].data(),
                               logits[0][i].size() * sizeof(float)))
          << "logits row " << i;
    }
    EXPECT_EQ(tokens[0], tokens[1]);
  }
}

TEST(StoriesTest, PrefillMatchesTokenByTokenDecode) {
  FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
  auto model = LoadOrDie(FixturePath("stories260K/stories260K.gguf"));
  ASSERT_NE(model, nullptr);
  const auto cases =
      nlohmann::json::parse(testing::ReadFile(FixturePath("stories260K/expected.json")));
  const auto& c0 = cases["cases"][0];
  std::vector<int32_t> ids = c0["prompt_ids"].get<std::vector<int32_t>>();
  const auto out_ids = c0["output_ids"].get<std::vector<int32_t>>();
  ids.insert(ids.end(), out_ids.begin(), out_ids.begin() + 40);
  const int64_t V = model->info().n_vocab;

  auto batch = Session::Create(model, {.n_ctx = 128, .n_threads = 2, .n_batch = 512});
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE((*batch)->Evaluate(ids, true).ok());
  auto single = Session::Create(model, {.n_ctx = 128, .n_threads = 1, .n_batch = 1});
  ASSERT_TRUE(single.ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE((*single)->Evaluate({ids[i]}).ok());
    EXPECT_LT(MaxAbsDiff((*batch)->logits(i), (*single)->logits(), V), 1e-4) << "position " << i;
  }
  // Greedy argmax of the prefill rows follows llama.cpp's output.
  const size_t n_prompt = c0["prompt_ids"].size();
  for (size_t i = n_prompt - 1; i + 1 < ids.size(); ++i) {
    const float* row = (*batch)->logits(i);
    EXPECT_EQ(std::max_element(row, row + V) - row, ids[i + 1]) << "position " << i;
  }
}

TEST(StoriesTest, GreedyMatchesLlamaCppForAllPrompts) {
  FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
  auto model = LoadOrDie(FixturePath("stories260K/stories260K.gguf"));
  ASSERT_NE(model, nullptr);
  const auto cases =
      nlohmann::json::parse(testing::ReadFile(FixturePath("stories260K/expected.json")));
  for (const auto& c : cases["cases"]) {
    const std::string prompt = c["prompt"];
    auto ids = model->tokenizer().Encode(prompt);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, c["prompt_ids"].get<std::vector<int32_t>>()) << prompt;
    auto session = Session::Create(model, {.n_ctx = 128});
    ASSERT_TRUE(session.ok());
    GenerateOptions g;
    g.max_tokens = 64;
    g.sampler.temperature = 0;
    auto out = (*session)->Generate(*ids, g);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->tokens, c["output_ids"].get<std::vector<int32_t>>()) << prompt;
    EXPECT_EQ(out->text, c["output_text"].get<std::string>()) << prompt;
  }
}

}  // namespace
}  // namespace fathom
