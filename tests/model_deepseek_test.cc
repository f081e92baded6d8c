// DeepSeek V3 / V2-Lite / V3-FP8 against DeepSeek's official reference outputs
// (fixtures/deepseek): prefill logits, decode-step logits and greedy tokens through the public
// API from Hugging Face folders and GGUF files; routing decisions, MTP logits and the latent
// cache through the internal model API. Bounds: 1e-3 on logits as the fixtures README suggests
// (observed reference noise ~1e-5); tokens and routing sets exact.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "fathom/fathom.h"
#include "format/gguf_reader.h"
#include "format/hf_checkpoint.h"
#include "gtest/gtest.h"
#include "models/deepseek/deepseek_model.h"
#include "models/deepseek/deepseek_state.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

using testing::ExpectedTensor;
using testing::FixturePath;

constexpr float kLogitTolerance = 1e-3f;

float MaxAbsDiff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<int32_t> Ints(const ExpectedTensor& t) { return {t.ints.begin(), t.ints.end()}; }

struct Case {
  std::string name;      // test name
  std::string model;     // folder or .gguf, relative to fixtures
  std::string expected;  // fixture folder holding expected.safetensors
};

class DeepSeekGoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(DeepSeekGoldenTest, PrefillDecodeAndGreedy) {
  const Case& c = GetParam();
  FATHOM_REQUIRE_FIXTURE(c.expected + "/expected.safetensors");
  auto exp = testing::ReadSafetensors(FixturePath(c.expected + "/expected.safetensors"));
  const auto prompt = Ints(exp.at("prompt_tokens"));
  const auto gen = Ints(exp.at("gen_tokens"));
  const ExpectedTensor& prefill = exp.at("prefill_logits");
  const ExpectedTensor& gen_logits = exp.at("gen_logits");

  auto model = Model::Load(FixturePath(c.model));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ModelInfo& info = (*model)->info();
  const int64_t V = info.n_vocab;
  ASSERT_EQ(prefill.shape[1], V);

  auto s = Session::Create(*model, {.n_ctx = 64, .n_threads = 2});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->Evaluate(prompt, true).ok());
  float worst = 0;
  for (size_t i = 0; i < prompt.size(); ++i) {
    worst = std::max(worst, MaxAbsDiff((*s)->logits(i), &prefill.f32[i * V], V));
  }
  EXPECT_LT(worst, kLogitTolerance) << "prefill logits";

  // Greedy decode one token at a time: logits of every step and the tokens.
  worst = 0;
  std::vector<int32_t> tokens;
  for (size_t j = 0; j < gen.size(); ++j) {
    const float* row = (*s)->logits();
    worst = std::max(worst, MaxAbsDiff(row, &gen_logits.f32[j * V], V));
    tokens.push_back(static_cast<int32_t>(std::max_element(row, row + V) - row));
    ASSERT_TRUE((*s)->Evaluate({gen[j]}).ok());
  }
  EXPECT_LT(worst, kLogitTolerance) << "decode-step logits";
  EXPECT_EQ(tokens, gen);

  // The same through Generate (sampler with temperature 0).
  auto s2 = Session::Create(*model, {.n_ctx = 64, .n_threads = 1});
  ASSERT_TRUE(s2.ok());
  GenerateOptions g;
  g.max_tokens = static_cast<int32_t>(gen.size());
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  auto out = (*s2)->Generate(prompt, g);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->tokens, gen);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, DeepSeekGoldenTest,
    ::testing::Values(
        Case{"v3_tiny_hf", "deepseek/v3-tiny", "deepseek/v3-tiny"},
        Case{"v3_tiny_gguf", "deepseek/v3-tiny/model.gguf", "deepseek/v3-tiny"},
        Case{"v3_tiny_fp8_hf", "deepseek/v3-tiny-fp8", "deepseek/v3-tiny-fp8"},
        Case{"v2_lite_tiny_hf", "deepseek/v2-lite-tiny", "deepseek/v2-lite-tiny"},
        Case{"v2_lite_tiny_bf16_hf", "deepseek/v2-lite-tiny/bf16", "deepseek/v2-lite-tiny"},
        Case{"v2_lite_tiny_gguf", "deepseek/v2-lite-tiny/model.gguf", "deepseek/v2-lite-tiny"}),
    [](const auto& info) { return info.param.name; });

// A token decoded alone over a long context on several threads attends in key pieces spread
// over the threads (mla.cc); its logits equal those of a one-thread session bit for bit, and
// those of the same position inside a batch within the golden tolerance. A batch on several
// threads splits its tokens over them (all heads per call), on one thread it runs all heads of
// each token in turn: the same bits too.
TEST(DeepSeekSessionTest, LongContextDecodeOnThreadsMatchesBatch) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v2-lite-tiny/model.gguf");
  auto model = Model::Load(FixturePath("deepseek/v2-lite-tiny/model.gguf"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const int64_t V = (*model)->info().n_vocab;
  std::vector<int32_t> tokens(1000);
  uint32_t x = 12345;
  for (int32_t& t : tokens) {
    x = x * 1664525u + 1013904223u;
    t = static_cast<int32_t>((x >> 8) % static_cast<uint32_t>(V));
  }
  const std::vector<int32_t> head(tokens.begin(), tokens.end() - 1);
  std::vector<std::vector<float>> last;
  for (int threads : {2, 1}) {
    auto batch = Session::Create(*model, {.n_ctx = 1024, .n_threads = threads});
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    ASSERT_TRUE((*batch)->Evaluate(tokens).ok());
    last.emplace_back((*batch)->logits(), (*batch)->logits() + V);
    auto decode = Session::Create(*model, {.n_ctx = 1024, .n_threads = threads});
    ASSERT_TRUE(decode.ok());
    ASSERT_TRUE((*decode)->Evaluate(head).ok());
    ASSERT_TRUE((*decode)->Evaluate({tokens.back()}).ok());
    last.emplace_back((*decode)->logits(), (*decode)->logits() + V);
  }
  EXPECT_EQ(last[1], last[3]) << "decode: 2 threads (key pieces on threads) vs 1";
  EXPECT_EQ(last[0], last[2]) << "batch: 2 threads (tokens on threads) vs 1";
  // A batch and a single token take different matrix kernels (rounding differs, not the math).
  EXPECT_LT(MaxAbsDiff(last[0].data(), last[1].data(), V), kLogitTolerance) << "decode vs batch";
}

// MTP through the public Session API: one pass, incremental, and after a rewind.
TEST(DeepSeekSessionTest, MtpLogitsThroughSessions) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/expected.safetensors");
  auto exp = testing::ReadSafetensors(FixturePath("deepseek/v3-tiny/expected.safetensors"));
  std::vector<int32_t> all = Ints(exp.at("prompt_tokens"));
  const auto gen = Ints(exp.at("gen_tokens"));
  const size_t n_prompt = all.size();
  all.insert(all.end(), gen.begin(), gen.end());
  const ExpectedTensor& mtp = exp.at("mtp_logits");
  auto model = Model::Load(FixturePath("deepseek/v3-tiny"));
  ASSERT_TRUE(model.ok());
  const int64_t V = (*model)->info().n_vocab;
  auto check_rows = [&](const Session& s) {
    float worst = 0;
    for (int32_t i = 0; i < s.n_mtp_logits(); ++i) {
      const int64_t p = s.mtp_first_position() + i;
      worst = std::max(worst, MaxAbsDiff(s.mtp_logits(i), &mtp.f32[p * V], V));
    }
    return worst;
  };
  // Without MTP enabled there are no MTP rows.
  auto plain = Session::Create(*model, {.n_ctx = 64});
  ASSERT_TRUE((*plain)->Evaluate(all).ok());
  EXPECT_EQ((*plain)->n_mtp_logits(), 0);

  auto one = Session::Create(*model, {.n_ctx = 64, .mtp = true});
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE((*one)->Evaluate(all).ok());
  EXPECT_EQ((*one)->mtp_first_position(), 0);
  EXPECT_EQ((*one)->n_mtp_logits(), static_cast<int32_t>(all.size() - 1));
  EXPECT_LT(check_rows(**one), kLogitTolerance);

  auto inc = Session::Create(*model, {.n_ctx = 64, .mtp = true});
  ASSERT_TRUE((*inc)->Evaluate(std::vector<int32_t>(all.begin(), all.begin() + n_prompt)).ok());
  EXPECT_EQ((*inc)->n_mtp_logits(), static_cast<int32_t>(n_prompt - 1));
  float worst = check_rows(**inc);
  for (size_t p = n_prompt; p < all.size(); ++p) {
    ASSERT_TRUE((*inc)->Evaluate({all[p]}).ok());
    ASSERT_EQ((*inc)->n_mtp_logits(), 1);
    EXPECT_EQ((*inc)->mtp_first_position(), static_cast<int32_t>(p - 1));
    worst = std::max(worst, check_rows(**inc));
  }
  EXPECT_LT(worst, kLogitTolerance);

  // Rewind to 25 tokens with a wrong continuation in between, then the right one again.
  ASSERT_TRUE((*inc)->Truncate(25).ok());
  ASSERT_TRUE((*inc)->Evaluate({5, 6, 7}).ok());
  ASSERT_TRUE((*inc)->Truncate(25).ok());
  ASSERT_TRUE((*inc)->Evaluate(std::vector<int32_t>(all.begin() + 25, all.end())).ok());
  EXPECT_EQ((*inc)->mtp_first_position(), 24);
  EXPECT_LT(check_rows(**inc), kLogitTolerance);

  auto none = Model::Load(FixturePath("deepseek/v2-lite-tiny"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(Session::Create(*none, {.mtp = true}).status().code(), StatusCode::kFailedPrecondition);
}

// Internal model API: routing, MTP, cache accounting.
class DeepSeekInternalsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DeepSeekInternalsTest, RoutingMtpAndLatentCache) {
  const std::string folder = GetParam();
  FATHOM_REQUIRE_FIXTURE(folder + "/expected.safetensors");
  auto exp = testing::ReadSafetensors(FixturePath(folder + "/expected.safetensors"));
  auto ckpt = HfCheckpoint::Open(FixturePath(folder));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  ModelInfo info;
  auto model = internal::DeepSeekModel::LoadHf(**ckpt, &info);
  ASSERT_TRUE(model.ok()) << model.status();
  const internal::DeepSeekConfig& cfg = (*model)->config();
  EXPECT_EQ(info.kv_bytes_per_token,
            (cfg.kv_lora_rank + cfg.qk_rope_head_dim) * cfg.num_hidden_layers * 4);

  auto state_or = (*model)->NewState(64, 64);
  ASSERT_TRUE(state_or.ok());
  auto& st = static_cast<internal::DeepSeekState&>(**state_or);
  st.trace_routing = true;
  ThreadPool pool(2);
  const auto prompt = Ints(exp.at("prompt_tokens"));
  const auto gen = Ints(exp.at("gen_tokens"));
  const int64_t V = info.n_vocab, k = cfg.num_experts_per_tok;
  std::vector<float> logits(64 * V);
  ASSERT_TRUE((*model)
                  ->Forward(st, prompt, 0, internal::LogitsMode::kAll, logits.data(), pool, nullptr)
                  .ok());
  EXPECT_EQ(st.latent_attention_tokens,
            cfg.num_hidden_layers * static_cast<int64_t>(prompt.size()));
  for (int64_t il = 0; il < cfg.num_hidden_layers; ++il) {
    const std::string key = "prefill_route_idx." + std::to_string(il);
    if (!exp.count(key)) {
      EXPECT_TRUE(st.trace_ids[il].empty()) << "layer " << il << " should be dense";
      continue;
    }
    const ExpectedTensor& ids = exp.at(key);
    const ExpectedTensor& w = exp.at("prefill_route_w." + std::to_string(il));
    ASSERT_EQ(st.trace_ids[il].size(), ids.ints.size());
    for (size_t i = 0; i < ids.ints.size(); ++i) {
      EXPECT_EQ(st.trace_ids[il][i], ids.ints[i]) << "layer " << il << " slot " << i;
      EXPECT_NEAR(st.trace_weights[il][i], w.f32[i], 1e-5) << "layer " << il << " slot " << i;
    }
  }
  // Final hidden states after model.norm (the MTP input).
  const ExpectedTensor& hidden = exp.at("prefill_final_hidden");
  EXPECT_LT(MaxAbsDiff(st.hidden.data(), hidden.f32.data(), hidden.f32.size()), 1e-4);

  if (!exp.count("mtp_logits")) {
    EXPECT_FALSE((*model)->has_mtp());
    return;
  }
  ASSERT_TRUE((*model)->has_mtp());
  // Main model over prompt + 15 generated tokens, then MTP rows 0..34 in one pass.
  auto st2_or = (*model)->NewState(64, 64);
  auto& st2 = static_cast<internal::DeepSeekState&>(**st2_or);
  st2.trace_routing = true;
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), gen.begin(), gen.end());  // 36 tokens: MTP rows need token p+1
  ASSERT_TRUE(
      (*model)->Forward(st2, all, 0, internal::LogitsMode::kNone, nullptr, pool, nullptr).ok());
  const auto mtp_in = Ints(exp.at("mtp_input_tokens"));
  ASSERT_EQ(std::vector<int32_t>(all.begin() + 1, all.end()), mtp_in);
  const int64_t rows = static_cast<int64_t>(mtp_in.size());
  ASSERT_TRUE((*model)->ForwardMtp(st2, mtp_in, 0, logits.data(), pool, nullptr).ok());
  const ExpectedTensor& mtp = exp.at("mtp_logits");
  EXPECT_LT(MaxAbsDiff(logits.data(), mtp.f32.data(), rows * V), kLogitTolerance);
  const ExpectedTensor& mtp_ids = exp.at("mtp_route_idx");
  ASSERT_EQ(st2.mtp_trace_ids.size(), static_cast<size_t>(rows * k));
  EXPECT_EQ(std::vector<int64_t>(st2.mtp_trace_ids.begin(), st2.mtp_trace_ids.end()), mtp_ids.ints);

  // Incremental MTP (prefill rows 0..18, then one row per decode step) equals the single pass.
  auto st3_or = (*model)->NewState(64, 64);
  auto& st3 = static_cast<internal::DeepSeekState&>(**st3_or);
  std::vector<float> row(V);
  ASSERT_TRUE(
      (*model)->Forward(st3, prompt, 0, internal::LogitsMode::kNone, nullptr, pool, nullptr).ok());
  ASSERT_TRUE((*model)
                  ->ForwardMtp(st3, absl::MakeConstSpan(all.data() + 1, prompt.size() - 1), 0,
                               logits.data(), pool, nullptr)
                  .ok());
  float worst = MaxAbsDiff(logits.data(), mtp.f32.data(), (prompt.size() - 1) * V);
  for (size_t p = prompt.size() - 1; p < static_cast<size_t>(rows); ++p) {
    ASSERT_TRUE((*model)
                    ->Forward(st3, absl::MakeConstSpan(&all[p + 1], 1), p + 1,
                              internal::LogitsMode::kNone, nullptr, pool, nullptr)
                    .ok());
    ASSERT_TRUE(
        (*model)
            ->ForwardMtp(st3, absl::MakeConstSpan(&all[p + 1], 1), p, row.data(), pool, nullptr)
            .ok());
    worst = std::max(worst, MaxAbsDiff(row.data(), &mtp.f32[p * V], V));
  }
  EXPECT_LT(worst, kLogitTolerance) << "incremental MTP";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DeepSeekInternalsTest,
                         ::testing::Values("deepseek/v3-tiny", "deepseek/v3-tiny-fp8",
                                           "deepseek/v2-lite-tiny"),
                         [](const auto& info) {
                           std::string n = info.param.substr(9);
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace fathom
