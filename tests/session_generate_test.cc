// Session features for long-running apps: prefix reuse (a counter proves only the suffix is
// evaluated), rewind, context-full status, context shift, stop strings through Generate,
// seeded sampling across thread counts, and the RNG carrying over between Generate calls.
#include <cmath>
#include <string>
#include <vector>

#include "fathom/fathom.h"
#include "gtest/gtest.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

class SessionGenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
    auto m = Model::Load(testing::FixturePath("stories260K/stories260K.gguf"));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = *m;
  }
  std::unique_ptr<Session> NewSession(SessionOptions o = {.n_ctx = 256, .n_threads = 1}) {
    auto s = Session::Create(model_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static std::vector<int32_t> Concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  std::shared_ptr<const Model> model_;
};

float MaxAbsDiff(const float* a, const float* b, int n) {
  float m = 0;
  for (int i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST_F(SessionGenerateTest, PrefixReuseEvaluatesOnlyTheSuffix) {
  const std::vector<int32_t> turn1 = {1, 403, 407, 261, 378, 291, 376, 400, 428, 300};
  const std::vector<int32_t> turn2 = {301, 302, 303, 304, 305};
  auto s = NewSession();
  ASSERT_TRUE(s->EvaluateReusingPrefix(turn1).ok());
  EXPECT_EQ(s->n_evaluated(), 10);
  const std::vector<int32_t> conv = Concat(turn1, turn2);
  ASSERT_TRUE(s->EvaluateReusingPrefix(conv).ok());
  EXPECT_EQ(s->n_evaluated(), 15);  // only the 5 new tokens
  EXPECT_EQ(s->tokens(), conv);
  auto fresh = NewSession();
  ASSERT_TRUE(fresh->Evaluate(conv).ok());
  EXPECT_LT(MaxAbsDiff(s->logits(), fresh->logits(), s->n_vocab()), 1e-4f);

  // A different last turn: only the differing part is evaluated again.
  const std::vector<int32_t> edit = Concat(turn1, {310, 311});
  ASSERT_TRUE(s->EvaluateReusingPrefix(edit).ok());
  EXPECT_EQ(s->n_evaluated(), 17);
  EXPECT_EQ(s->tokens(), edit);
  // The same tokens again: the last one is evaluated for its logits.
  ASSERT_TRUE(s->EvaluateReusingPrefix(edit).ok());
  EXPECT_EQ(s->n_evaluated(), 18);
  auto fresh2 = NewSession();
  ASSERT_TRUE(fresh2->Evaluate(edit).ok());
  EXPECT_LT(MaxAbsDiff(s->logits(), fresh2->logits(), s->n_vocab()), 1e-4f);
  EXPECT_EQ(s->EvaluateReusingPrefix({}).code(), StatusCode::kInvalidArgument);
}

TEST_F(SessionGenerateTest, MultiTurnGenerateCostsOnlyTheNewTurn) {
  auto s = NewSession();
  GenerateOptions g;
  g.max_tokens = 12;
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  g.evaluate_last = true;
  const std::vector<int32_t> turn1 = {1, 403, 407, 261};
  auto r1 = s->Generate(turn1, g);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(s->position(), 16);
  const int64_t before = s->n_evaluated();
  // The app keeps the whole conversation and hands it over again with a new turn.
  const std::vector<int32_t> conv = Concat(Concat(turn1, r1->tokens), {378, 291});
  ASSERT_TRUE(s->EvaluateReusingPrefix(conv).ok());
  EXPECT_EQ(s->n_evaluated() - before, 2);
}

TEST_F(SessionGenerateTest, ContextFullIsAStatusByDefault) {
  auto s = NewSession({.n_ctx = 16, .n_threads = 1});
  std::vector<int32_t> prompt(17, 300);
  EXPECT_EQ(s->Evaluate(prompt).code(), StatusCode::kContextFull);
  EXPECT_EQ(s->Generate(prompt, {}).status().code(), StatusCode::kContextFull);
  GenerateOptions g;
  g.max_tokens = 100;
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  auto out = s->Generate({1, 2, 3}, g);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stop_reason, GenerateResult::StopReason::kContextFull);
  EXPECT_EQ(s->position(), 16);
}

TEST_F(SessionGenerateTest, ContextShiftKeepsGenerating) {
  auto s = NewSession(
      {.n_ctx = 32, .n_threads = 1, .context_overflow = ContextOverflow::kShift, .n_keep = 4});
  GenerateOptions g;
  g.max_tokens = 100;
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 291};
  auto out = s->Generate(prompt, g);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->stop_reason, GenerateResult::StopReason::kMaxTokens);
  EXPECT_EQ(out->tokens.size(), 100u);
  EXPECT_GT(s->n_shifted(), 0);
  EXPECT_LE(s->position(), 32);
  // The first n_keep tokens stay.
  EXPECT_EQ(std::vector<int32_t>(s->tokens().begin(), s->tokens().begin() + 4),
            std::vector<int32_t>(prompt.begin(), prompt.begin() + 4));
  // Until the first shift, generation is identical to an unlimited context.
  auto big = NewSession();
  auto ref = big->Generate(prompt, g);
  ASSERT_TRUE(ref.ok());
  const size_t before_shift = 32 - prompt.size();
  EXPECT_EQ(std::vector<int32_t>(out->tokens.begin(), out->tokens.begin() + before_shift),
            std::vector<int32_t>(ref->tokens.begin(), ref->tokens.begin() + before_shift));
  // A prompt longer than the context is shifted through too.
  auto s2 = NewSession(
      {.n_ctx = 32, .n_threads = 1, .context_overflow = ContextOverflow::kShift, .n_keep = 1});
  std::vector<int32_t> long_prompt(80);
  for (size_t i = 0; i < long_prompt.size(); ++i) long_prompt[i] = 1 + (i * 7) % 400;
  ASSERT_TRUE(s2->Evaluate(long_prompt).ok());
  EXPECT_LE(s2->position(), 32);
  for (int i = 0; i < s2->n_vocab(); ++i) ASSERT_TRUE(std::isfinite(s2->logits()[i]));
  // n_keep must leave room.
  EXPECT_FALSE(Session::Create(
                   model_, {.n_ctx = 8, .context_overflow = ContextOverflow::kShift, .n_keep = 8})
                   .ok());
}

TEST_F(SessionGenerateTest, StopStringsSpanTokens) {
  GenerateOptions g;
  g.max_tokens = 64;
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378};
  auto ref = NewSession()->Generate(prompt, g);
  ASSERT_TRUE(ref.ok());
  // A stop string made of the end of one token's text and the start of the next one's.
  const Tokenizer& tok = model_->tokenizer();
  std::string stop;
  for (size_t i = 5; i + 1 < ref->tokens.size() && stop.empty(); ++i) {
    const std::string a = tok.TokenToPiece(ref->tokens[i]).value();
    const std::string b = tok.TokenToPiece(ref->tokens[i + 1]).value();
    if (a.size() >= 2 && b.size() >= 2) stop = a.substr(a.size() - 2) + b.substr(0, 2);
  }
  ASSERT_FALSE(stop.empty());
  const size_t at = ref->text.find(stop);
  ASSERT_NE(at, std::string::npos);
  g.stop = {"never appears", stop};
  std::string streamed;
  g.on_token = [&](int32_t, const std::string& piece) {
    streamed += piece;
    // Nothing emitted is ever retracted: the stream is always a prefix of the final text.
    EXPECT_EQ(ref->text.compare(0, streamed.size(), streamed), 0);
    EXPECT_LE(streamed.size(), at);
    return true;
  };
  auto out = NewSession()->Generate(prompt, g);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stop_reason, GenerateResult::StopReason::kStopString);
  EXPECT_EQ(out->stop_string, stop);
  EXPECT_EQ(out->text, ref->text.substr(0, at));
  EXPECT_EQ(streamed, out->text);
  EXPECT_LT(out->tokens.size(), ref->tokens.size());
}

TEST_F(SessionGenerateTest, SeededSamplingIsReproducibleAcrossThreads) {
  std::vector<std::vector<int32_t>> runs;
  for (int threads : {1, 2}) {
    auto s = NewSession({.n_ctx = 128, .n_threads = threads});
    GenerateOptions g;
    g.max_tokens = 32;
    g.stop_at_eos = false;
    g.sampler.temperature = 0.8f;
    g.sampler.seed = 7;
    g.sampler.repeat_penalty = 1.1f;
    g.sampler.typical_p = 0.95f;
    auto out = s->Generate({1, 403}, g);
    ASSERT_TRUE(out.ok());
    runs.push_back(out->tokens);
  }
  EXPECT_EQ(runs[0], runs[1]);
}

TEST_F(SessionGenerateTest, RngCarriesOverBetweenCalls) {
  GenerateOptions g;
  g.max_tokens = 10;
  g.stop_at_eos = false;
  g.sampler.temperature = 1.0f;
  g.sampler.seed = 5;
  g.evaluate_last = true;
  auto one = NewSession();
  GenerateOptions g20 = g;
  g20.max_tokens = 20;
  auto all = one->Generate({1, 403}, g20);
  auto two = NewSession();
  auto a = two->Generate({1, 403}, g);
  auto b = two->Generate({}, g);
  ASSERT_TRUE(all.ok() && a.ok() && b.ok());
  EXPECT_EQ(Concat(a->tokens, b->tokens), all->tokens);
}

}  // namespace
}  // namespace fathom
