// Session features for long-running apps: prefix reuse (a counter proves only the suffix is
// evaluated), rewind, context-full status, context shift, stop strings through Generate,
// seeded sampling across thread counts, the RNG carrying over between Generate calls, and
// reasoning separated from the answer by Generate.
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

// Four bytes of text made of the end of token i's piece and the start of the next token's, so
// that a tag built from it spans tokens ("" when those pieces are too short).
std::string SpanningText(const Tokenizer& tok, const std::vector<int32_t>& tokens, size_t i) {
  const std::string a = tok.TokenToPiece(tokens[i]).value();
  const std::string b = tok.TokenToPiece(tokens[i + 1]).value();
  if (a.size() < 2 || b.size() < 2) return "";
  return a.substr(a.size() - 2) + b.substr(0, 2);
}

// Collects what Generate streams: answer and reasoning text, and the calls per kind.
struct Streamed {
  std::string content, reasoning;
  int token_calls = 0;
  void Attach(GenerateOptions& g) {
    g.on_token = [this](int32_t token, const std::string& piece) {
      if (token >= 0) ++token_calls;
      content += piece;
      return true;
    };
    g.on_reasoning = [this](int32_t, const std::string& piece) {
      EXPECT_FALSE(piece.empty());
      reasoning += piece;
      return true;
    };
  }
};

TEST_F(SessionGenerateTest, ReasoningIsSeparatedWithTagsSpanningTokens) {
  GenerateOptions g;
  g.max_tokens = 64;
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378};
  auto ref = NewSession()->Generate(prompt, g);
  ASSERT_TRUE(ref.ok());
  ASSERT_EQ(ref->tokens.size(), 64u);
  // Tags that the greedy text contains, each spanning two tokens: an open tag early, a close
  // tag later.
  const Tokenizer& tok = model_->tokenizer();
  std::string open, close;
  size_t i = 2;
  for (; i + 1 < 20 && open.empty(); ++i) open = SpanningText(tok, ref->tokens, i);
  for (i += 3; i + 1 < ref->tokens.size() && close.empty(); ++i) {
    close = SpanningText(tok, ref->tokens, i);
    if (close == open) close.clear();
  }
  ASSERT_FALSE(open.empty());
  ASSERT_FALSE(close.empty());
  const size_t a = ref->text.find(open);
  ASSERT_NE(a, std::string::npos);
  const size_t b = ref->text.find(close, a + open.size());
  ASSERT_NE(b, std::string::npos);

  g.reasoning = ReasoningMode::kSplit;
  g.reasoning_open_tag = open;
  g.reasoning_close_tag = close;
  Streamed streamed;
  streamed.Attach(g);
  auto out = NewSession()->Generate(prompt, g);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->tokens, ref->tokens);
  EXPECT_EQ(out->reasoning, ref->text.substr(a + open.size(), b - a - open.size()));
  EXPECT_EQ(out->text, ref->text.substr(0, a) + ref->text.substr(b + close.size()));
  EXPECT_EQ(streamed.content, out->text);
  EXPECT_EQ(streamed.reasoning, out->reasoning);
  EXPECT_EQ(streamed.token_calls, 64);  // on_token still sees every token

  // Without separation the tags and the reasoning stay in the text.
  g.reasoning = ReasoningMode::kNone;
  auto plain = NewSession()->Generate(prompt, g);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->text, ref->text);
  EXPECT_EQ(plain->reasoning, "");
}

TEST_F(SessionGenerateTest, ReasoningStartsInsideWhenThePromptOpensTheBlock) {
  const Tokenizer& tok = model_->tokenizer();
  // An R1-style generation prompt: the text ends with "<think>\n", so the model is reasoning
  // from its first token; with the default tags nothing closes the block here.
  const std::vector<int32_t> prompt = tok.Encode("Once upon a time<think>\n").value();
  GenerateOptions g;
  g.max_tokens = 24;
  g.sampler.temperature = 0;
  g.stop_at_eos = false;
  auto ref = NewSession()->Generate(prompt, g);
  ASSERT_TRUE(ref.ok());
  ASSERT_FALSE(ref->text.empty());
  ASSERT_EQ(ref->text.find("</think>"), std::string::npos);

  g.reasoning = ReasoningMode::kSplit;
  Streamed streamed;
  streamed.Attach(g);
  auto out = NewSession()->Generate(prompt, g);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->tokens, ref->tokens);
  EXPECT_EQ(out->reasoning, ref->text);
  EXPECT_EQ(out->text, "");
  EXPECT_EQ(streamed.reasoning, ref->text);
  EXPECT_EQ(streamed.content, "");
  EXPECT_EQ(streamed.token_calls, 24);

  // A prompt that does not open the block: kSplit finds no reasoning, kSplitStartInside treats
  // the text up to the close tag as reasoning.
  const std::vector<int32_t> story = {1, 403, 407, 261, 378};
  g.reasoning = ReasoningMode::kNone;
  g.on_token = nullptr;
  g.on_reasoning = nullptr;
  auto story_ref = NewSession()->Generate(story, g);
  ASSERT_TRUE(story_ref.ok());
  g.reasoning = ReasoningMode::kSplit;
  auto not_open = NewSession()->Generate(story, g);
  ASSERT_TRUE(not_open.ok());
  EXPECT_EQ(not_open->text, story_ref->text);
  EXPECT_EQ(not_open->reasoning, "");
  std::string close;
  for (size_t i = 4; i + 1 < story_ref->tokens.size() && close.empty(); ++i) {
    close = SpanningText(tok, story_ref->tokens, i);
  }
  ASSERT_FALSE(close.empty());
  const size_t b = story_ref->text.find(close);
  ASSERT_NE(b, std::string::npos);
  g.reasoning = ReasoningMode::kSplitStartInside;
  g.reasoning_close_tag = close;
  auto inside = NewSession()->Generate(story, g);
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(inside->reasoning, story_ref->text.substr(0, b));
  EXPECT_EQ(inside->text, story_ref->text.substr(b + close.size()));

  // The reasoning callback can stop the generation.
  g.on_reasoning = [](int32_t, const std::string&) { return false; };
  auto stopped = NewSession()->Generate(story, g);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->stop_reason, GenerateResult::StopReason::kCallback);
  EXPECT_LT(stopped->tokens.size(), story_ref->tokens.size());

  g.reasoning_close_tag = "";
  EXPECT_EQ(NewSession()->Generate(story, g).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fathom
