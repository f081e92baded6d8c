// Session behaviour through the C++ API: full context, rewind, cancellation, seeded sampling,
// several sessions sharing one model on several threads.
#include <atomic>
#include <thread>
#include <vector>

#include "fathom/fathom.h"
#include "gtest/gtest.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
    auto m = Model::Load(testing::FixturePath("stories260K/stories260K.gguf"));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = *m;
  }
  std::shared_ptr<const Model> model_;
};

TEST_F(SessionTest, ContextFullIsAClearStatus) {
  auto s = Session::Create(model_, {.n_ctx = 8});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Evaluate({1, 403, 407, 261, 378}).ok());
  Status st = (*s)->Evaluate({1, 2, 3, 4});
  EXPECT_EQ(st.code(), StatusCode::kContextFull);
  EXPECT_EQ((*s)->position(), 5);  // nothing of the rejected batch was taken
  GenerateOptions g;
  g.max_tokens = 100;
  g.sampler.temperature = 0;
  auto out = (*s)->Generate({}, g);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stop_reason, GenerateResult::StopReason::kContextFull);
  EXPECT_EQ((*s)->position(), 8);
}

TEST_F(SessionTest, TruncateRewindsToSameLogits) {
  auto s = Session::Create(model_, {.n_ctx = 32});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Evaluate({1, 403, 407}).ok());
  const std::vector<float> first((*s)->logits(), (*s)->logits() + (*s)->n_vocab());
  ASSERT_TRUE((*s)->Evaluate({261, 378}).ok());
  ASSERT_TRUE((*s)->Truncate(2).ok());
  EXPECT_EQ((*s)->position(), 2);
  ASSERT_TRUE((*s)->Evaluate({407}).ok());
  EXPECT_EQ(std::vector<float>((*s)->logits(), (*s)->logits() + (*s)->n_vocab()), first);
  EXPECT_EQ((*s)->Truncate(5).code(), StatusCode::kOutOfRange);
  EXPECT_EQ((*s)->Truncate(-1).code(), StatusCode::kOutOfRange);
}

TEST_F(SessionTest, BadTokenIdsAreRejected) {
  auto s = Session::Create(model_, {.n_ctx = 32});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Evaluate({1, 512}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*s)->Evaluate({-1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*s)->position(), 0);
}

TEST_F(SessionTest, CallbackStopsGeneration) {
  auto s = Session::Create(model_, {.n_ctx = 128});
  ASSERT_TRUE(s.ok());
  GenerateOptions g;
  g.max_tokens = 50;
  g.sampler.temperature = 0;
  int calls = 0;
  g.on_token = [&](int32_t, const std::string&) { return ++calls < 3; };
  auto out = (*s)->Generate({1, 403, 407, 261, 378}, g);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->tokens.size(), 3u);
  EXPECT_EQ(out->stop_reason, GenerateResult::StopReason::kCallback);
}

TEST_F(SessionTest, CancelFromAnotherThread) {
  auto s = Session::Create(model_, {.n_ctx = 2048});
  ASSERT_TRUE(s.ok());
  GenerateOptions g;
  g.max_tokens = 2000;
  g.stop_at_eos = false;
  std::atomic<int> produced{0};
  g.on_token = [&](int32_t, const std::string&) {
    ++produced;
    return true;
  };
  Session* raw = s->get();
  std::thread canceller([&] {
    while (produced.load() < 5) std::this_thread::yield();
    raw->Cancel();
  });
  auto out = (*s)->Generate({1}, g);
  canceller.join();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stop_reason, GenerateResult::StopReason::kCancelled);
  EXPECT_LT(out->tokens.size(), 2000u);
}

TEST_F(SessionTest, SameSeedSameTokensAcrossThreadCounts) {
  std::vector<std::vector<int32_t>> runs;
  for (int threads : {1, 2, 1}) {
    auto s = Session::Create(model_, {.n_ctx = 128, .n_threads = threads});
    ASSERT_TRUE(s.ok());
    GenerateOptions g;
    g.max_tokens = 40;
    g.stop_at_eos = false;
    g.sampler.temperature = 1.0f;
    g.sampler.seed = 1234;
    auto out = (*s)->Generate({1, 403}, g);
    ASSERT_TRUE(out.ok());
    runs.push_back(out->tokens);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
  auto s = Session::Create(model_, {.n_ctx = 128});
  GenerateOptions g;
  g.max_tokens = 40;
  g.stop_at_eos = false;
  g.sampler.temperature = 1.0f;
  g.sampler.seed = 99;
  auto other = (*s)->Generate({1, 403}, g);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->tokens, runs[0]);
}

TEST_F(SessionTest, ManySessionsShareOneModel) {
  const std::vector<int32_t> prompt = {1, 291, 376, 400, 428};
  auto ref = Session::Create(model_, {.n_ctx = 128, .n_threads = 1});
  GenerateOptions g;
  g.max_tokens = 32;
  g.sampler.temperature = 0;
  auto expected = (*ref)->Generate(prompt, g);
  ASSERT_TRUE(expected.ok());
  std::vector<std::thread> threads;
  std::vector<std::vector<int32_t>> got(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto s = Session::Create(model_, {.n_ctx = 128, .n_threads = 1});
      if (!s.ok()) return;
      auto out = (*s)->Generate(prompt, g);
      if (out.ok()) got[i] = out->tokens;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& tokens : got) EXPECT_EQ(tokens, expected->tokens);
}

TEST(SamplerTest, GreedyTopKTopP) {
  const float logits[5] = {0.1f, 3.0f, 2.9f, -1.0f, 0.0f};
  Sampler greedy(SamplerOptions{.temperature = 0});
  EXPECT_EQ(greedy.Sample(logits, 5), 1);
  Sampler top1(SamplerOptions{.temperature = 1.0f, .top_k = 1, .top_p = 1.0f, .seed = 7});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(top1.Sample(logits, 5), 1);
  Sampler top2(SamplerOptions{.temperature = 1.0f, .top_k = 2, .top_p = 1.0f, .seed = 7});
  for (int i = 0; i < 50; ++i) {
    const int32_t t = top2.Sample(logits, 5);
    EXPECT_TRUE(t == 1 || t == 2);
  }
  // top-p 0.5 keeps only the single most likely token here (p(1) ~ 0.49 + p(2) > 0.5).
  Sampler nucleus(SamplerOptions{.temperature = 1.0f, .top_k = 0, .top_p = 0.4f, .seed = 7});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(nucleus.Sample(logits, 5), 1);
}

}  // namespace
}  // namespace fathom
