// The sampler chain (penalties, logit bias, top-k, typical-p, top-p, min-p, temperature, order,
// RNG state) and stop strings that span token boundaries (StopStringMatcher).
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "fathom/sampler.h"
#include "gtest/gtest.h"
#include "sampling/stop_strings.h"

namespace fathom {
namespace {

SamplerOptions Plain(float temperature = 1.0f) {
  SamplerOptions o;
  o.temperature = temperature;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  return o;
}

TEST(SamplerChain, DefaultsFollowLlamaCpp) {
  const SamplerOptions o;
  EXPECT_EQ(o.top_k, 40);
  EXPECT_FLOAT_EQ(o.top_p, 0.95f);
  EXPECT_FLOAT_EQ(o.min_p, 0.05f);
  EXPECT_FLOAT_EQ(o.typical_p, 1.0f);
  EXPECT_FLOAT_EQ(o.temperature, 0.8f);
  EXPECT_EQ(o.penalty_last_n, 64);
  EXPECT_FLOAT_EQ(o.repeat_penalty, 1.0f);
  ASSERT_EQ(o.order.size(), 6u);
  EXPECT_EQ(o.order.front(), SamplerStage::kPenalties);
  EXPECT_EQ(o.order.back(), SamplerStage::kTemperature);
}

TEST(SamplerChain, LogitBiasBansAndPromotes) {
  const float logits[4] = {3.0f, 2.0f, 1.0f, 0.0f};
  SamplerOptions o = Plain(0.0f);
  o.logit_bias = {{0, -std::numeric_limits<float>::infinity()}};
  EXPECT_EQ(Sampler(o).Sample(logits, 4), 1);
  o.logit_bias = {{3, 10.0f}};
  EXPECT_EQ(Sampler(o).Sample(logits, 4), 3);
  o.logit_bias = {{99, 10.0f}, {-1, 1.0f}};  // out-of-range ids are ignored
  EXPECT_EQ(Sampler(o).Sample(logits, 4), 0);
}

TEST(SamplerChain, RepetitionFrequencyPresencePenalties) {
  const float logits[3] = {2.0f, 1.9f, -1.0f};
  SamplerOptions o = Plain(0.0f);
  o.repeat_penalty = 1.5f;  // 2.0 / 1.5 = 1.33 < 1.9
  Sampler s(o);
  EXPECT_EQ(s.Sample(logits, 3), 0);  // empty window: no penalty
  s.Accept(0);
  EXPECT_EQ(s.Sample(logits, 3), 1);
  s.Accept(1);  // 1.9 / 1.5 = 1.27 < 1.33
  EXPECT_EQ(s.Sample(logits, 3), 0);

  SamplerOptions f = Plain(0.0f);
  f.frequency_penalty = 0.1f;
  Sampler sf(f);
  sf.Accept(0);
  sf.Accept(0);
  EXPECT_EQ(sf.Sample(logits, 3), 1);  // 2.0 - 2 * 0.1 = 1.8 < 1.9
  sf.ClearHistory();
  EXPECT_EQ(sf.Sample(logits, 3), 0);

  SamplerOptions p = Plain(0.0f);
  p.presence_penalty = 0.05f;  // 1.95 > 1.9: presence is counted once
  Sampler sp(p);
  for (int i = 0; i < 5; ++i) sp.Accept(0);
  EXPECT_EQ(sp.Sample(logits, 3), 0);
}

TEST(SamplerChain, FrequencyPenaltyCountsOccurrences) {
  const float logits[2] = {2.0f, 1.9f};
  SamplerOptions o = Plain(0.0f);
  o.frequency_penalty = 0.06f;
  Sampler s(o);
  s.Accept(0);
  EXPECT_EQ(s.Sample(logits, 2), 0);  // 1.94
  s.Accept(0);
  EXPECT_EQ(s.Sample(logits, 2), 1);  // 1.88
}

TEST(SamplerChain, PenaltyWindowForgetsOldTokens) {
  const float logits[3] = {2.0f, 1.9f, 0.0f};
  SamplerOptions o = Plain(0.0f);
  o.repeat_penalty = 2.0f;
  o.penalty_last_n = 2;
  Sampler s(o);
  s.Accept(0);
  EXPECT_EQ(s.Sample(logits, 3), 1);
  s.Accept(2);
  s.Accept(2);  // token 0 left the window of 2
  EXPECT_EQ(s.Sample(logits, 3), 0);
}

TEST(SamplerChain, NegativeLogitsAreMultiplied) {
  const float logits[2] = {-1.0f, -1.2f};
  SamplerOptions o = Plain(0.0f);
  o.repeat_penalty = 1.5f;  // -1.5 < -1.2
  Sampler s(o);
  s.Accept(0);
  EXPECT_EQ(s.Sample(logits, 2), 1);
}

TEST(SamplerChain, MinPKeepsOnlyLikelyTokens) {
  const float logits[3] = {5.0f, 4.0f, 0.0f};  // p(1)/p(0) = e^-1 = 0.37, p(2)/p(0) = 0.007
  SamplerOptions o = Plain(1.0f);
  o.min_p = 0.5f;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    o.seed = seed;
    EXPECT_EQ(Sampler(o).Sample(logits, 3), 0);
  }
  o.min_p = 0.1f;
  std::set<int32_t> seen;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    o.seed = seed;
    seen.insert(Sampler(o).Sample(logits, 3));
  }
  EXPECT_EQ(seen, (std::set<int32_t>{0, 1}));
}

TEST(SamplerChain, TypicalPKeepsTheTypicalSet) {
  // After normalisation p = (.565, .282, .141, .011): surprises -ln p = 0.57, 1.27, 1.96, 4.5,
  // entropy 1.01: token 1 is the most typical and alone holds more than 0.2.
  const float logits[4] = {std::log(0.5f), std::log(0.25f), std::log(0.125f), std::log(0.01f)};
  SamplerOptions o = Plain(1.0f);
  o.typical_p = 0.2f;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    o.seed = seed;
    EXPECT_EQ(Sampler(o).Sample(logits, 4), 1);
  }
}

TEST(SamplerChain, OrderIsConfigurable) {
  const float logits[2] = {1.0f, 0.0f};  // p(0) = 0.73
  SamplerOptions o = Plain(5.0f);
  o.top_p = 0.7f;
  // Default order: top-p sees the unscaled distribution and keeps token 0 only.
  std::set<int32_t> seen;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    o.seed = seed;
    seen.insert(Sampler(o).Sample(logits, 2));
  }
  EXPECT_EQ(seen, (std::set<int32_t>{0}));
  // Temperature first: p = (0.55, 0.45), top-p keeps both.
  o.order = {SamplerStage::kTemperature, SamplerStage::kTopP};
  seen.clear();
  for (uint64_t seed = 0; seed < 100; ++seed) {
    o.seed = seed;
    seen.insert(Sampler(o).Sample(logits, 2));
  }
  EXPECT_EQ(seen, (std::set<int32_t>{0, 1}));
}

TEST(SamplerChain, RngStateRoundTrips) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  SamplerOptions o = Plain(1.0f);
  o.seed = 7;
  Sampler s(o);
  for (int i = 0; i < 10; ++i) s.Sample(logits.data(), 50);
  const std::string saved = s.SaveRngState();
  std::vector<int32_t> a, b;
  for (int i = 0; i < 20; ++i) a.push_back(s.Sample(logits.data(), 50));
  Sampler r(o);
  ASSERT_TRUE(r.RestoreRngState(saved));
  for (int i = 0; i < 20; ++i) b.push_back(r.Sample(logits.data(), 50));
  EXPECT_EQ(a, b);
  EXPECT_FALSE(r.RestoreRngState("not a state"));
  EXPECT_FALSE(r.RestoreRngState(saved + " 12"));
  // SetOptions keeps the RNG position.
  Sampler c(o), d(o);
  c.Sample(logits.data(), 50);
  d.Sample(logits.data(), 50);
  c.SetOptions(o);
  EXPECT_EQ(c.Sample(logits.data(), 50), d.Sample(logits.data(), 50));
}

TEST(SamplerChain, AllBannedStillReturnsAToken) {
  const float inf = std::numeric_limits<float>::infinity();
  const float logits[2] = {-inf, -inf};
  Sampler s(Plain(1.0f));
  const int32_t t = s.Sample(logits, 2);
  EXPECT_TRUE(t == 0 || t == 1);
}

// ---- stop strings -------------------------------------------------------------------------

std::string Feed(internal::StopStringMatcher& m, const std::vector<std::string>& pieces,
                 std::string* matched, std::vector<std::string>* emitted = nullptr) {
  std::string out;
  for (const std::string& p : pieces) {
    const std::string e = m.Push(p, matched);
    if (emitted) emitted->push_back(e);
    out += e;
  }
  return out + m.Flush();
}

TEST(StopStrings, SpanTokenBoundaries) {
  internal::StopStringMatcher m({"world"});
  std::string matched;
  std::vector<std::string> emitted;
  EXPECT_EQ(Feed(m, {"Hello w", "or", "ld! more"}, &matched, &emitted), "Hello ");
  EXPECT_EQ(matched, "world");
  EXPECT_TRUE(m.stopped());
  // "w" and "or" were held back, never emitted.
  EXPECT_EQ(emitted, (std::vector<std::string>{"Hello ", "", ""}));
}

TEST(StopStrings, HeldTextIsReleasedWhenItStopsMatching) {
  internal::StopStringMatcher m({"</s>", "###"});
  std::string matched;
  std::vector<std::string> emitted;
  EXPECT_EQ(Feed(m, {"a <", "/t> ", "#", "#x"}, &matched, &emitted), "a </t> ##x");
  EXPECT_EQ(emitted, (std::vector<std::string>{"a ", "</t> ", "", "##x"}));
  EXPECT_FALSE(m.stopped());
  EXPECT_TRUE(matched.empty());
}

TEST(StopStrings, EarliestStopWinsAndEndFlushes) {
  internal::StopStringMatcher m({"cd", "b"});
  std::string matched;
  EXPECT_EQ(Feed(m, {"abcd"}, &matched), "a");
  EXPECT_EQ(matched, "b");
  internal::StopStringMatcher tail({"xyz"});
  EXPECT_EQ(Feed(tail, {"abx", "y"}, &matched), "abxy");  // held "xy" comes out at the end
  internal::StopStringMatcher none({});
  EXPECT_EQ(Feed(none, {"a", "b"}, &matched), "ab");
}

}  // namespace
}  // namespace fathom
