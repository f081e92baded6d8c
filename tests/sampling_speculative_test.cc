// Speculative sampling's rule (sampling/speculative_sampling.h), checked exactly: for a draft
// distribution q and a target p, "propose from q, keep with min(1, p/q), else draw from the
// residual" emits each token with probability p(t), for overlapping, disjoint, equal, one-hot
// (greedy) and truncated (top-k-like) distributions. A wrong rule (keeping every draft the
// target allows, or correcting from p instead of the residual) is shown to miss p.
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "sampling/speculative_sampling.h"

namespace fathom::internal {
namespace {

TokenDistribution Dist(std::vector<std::pair<int32_t, double>> entries) {
  double sum = 0;
  for (const auto& e : entries) sum += e.second;
  TokenDistribution d;
  for (const auto& [id, w] : entries) {
    d.ids.push_back(id);
    d.probs.push_back(static_cast<float>(w / sum));
  }
  return d;
}

enum class Rule { kCorrect, kKeepAllowed, kCorrectFromP };

// The distribution of the emitted token, computed exactly.
std::map<int32_t, double> Emitted(const TokenDistribution& p, const TokenDistribution& q,
                                  Rule rule) {
  std::map<int32_t, double> out;
  std::vector<double> scratch;
  TokenDistribution residual;
  ResidualDistribution(p, q, &scratch, &residual);
  if (rule == Rule::kCorrectFromP) residual = p;
  double reject = 0;
  for (size_t i = 0; i < q.ids.size(); ++i) {
    double a = AcceptanceProbability(p, q, q.ids[i]);
    if (rule == Rule::kKeepAllowed) a = p.Prob(q.ids[i]) > 0 ? 1.0 : 0.0;
    out[q.ids[i]] += q.probs[i] * a;
    reject += q.probs[i] * (1 - a);
  }
  for (size_t i = 0; i < residual.ids.size(); ++i)
    out[residual.ids[i]] += reject * residual.probs[i];
  return out;
}

double MaxError(const std::map<int32_t, double>& got, const TokenDistribution& p) {
  double m = 0;
  for (const auto& [id, pr] : got) m = std::max(m, std::fabs(pr - p.Prob(id)));
  for (size_t i = 0; i < p.ids.size(); ++i) {
    auto it = got.find(p.ids[i]);
    m = std::max(m, std::fabs((it == got.end() ? 0.0 : it->second) - p.probs[i]));
  }
  return m;
}

TEST(SpeculativeSamplingTest, EmitsExactlyTheTargetDistribution) {
  const std::vector<std::pair<TokenDistribution, TokenDistribution>> cases = {
      {Dist({{1, 0.5}, {2, 0.3}, {3, 0.2}}), Dist({{1, 0.2}, {2, 0.2}, {3, 0.6}})},
      {Dist({{1, 0.5}, {2, 0.5}}), Dist({{3, 0.7}, {4, 0.3}})},            // disjoint
      {Dist({{1, 0.5}, {2, 0.5}}), Dist({{1, 0.5}, {2, 0.5}})},            // equal
      {Dist({{7, 1.0}}), Dist({{9, 1.0}})},                                // greedy, draft wrong
      {Dist({{7, 1.0}}), Dist({{7, 1.0}})},                                // greedy, draft right
      {Dist({{1, 0.6}, {2, 0.4}}), Dist({{2, 0.1}, {5, 0.5}, {6, 0.4}})},  // truncated supports
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    const auto& [p, q] = cases[c];
    EXPECT_LT(MaxError(Emitted(p, q, Rule::kCorrect), p), 1e-6) << "case " << c;
  }
  // Random distributions over 50 ids with partial overlap.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::pair<int32_t, double>> pe, qe;
    for (int32_t id = 0; id < 50; ++id) {
      if (u(rng) < 0.6) pe.push_back({id, u(rng)});
      if (u(rng) < 0.6) qe.push_back({id, u(rng)});
    }
    if (pe.empty() || qe.empty()) continue;
    const TokenDistribution p = Dist(pe), q = Dist(qe);
    EXPECT_LT(MaxError(Emitted(p, q, Rule::kCorrect), p), 1e-5) << "trial " << trial;
  }
}

TEST(SpeculativeSamplingTest, WrongRulesMissTheTarget) {
  const TokenDistribution p = Dist({{1, 0.5}, {2, 0.3}, {3, 0.2}});
  const TokenDistribution q = Dist({{1, 0.2}, {2, 0.2}, {3, 0.6}});
  EXPECT_GT(MaxError(Emitted(p, q, Rule::kKeepAllowed), p), 0.1);
  EXPECT_GT(MaxError(Emitted(p, q, Rule::kCorrectFromP), p), 0.05);
}

TEST(SpeculativeSamplingTest, ResidualAndDraw) {
  const TokenDistribution p = Dist({{1, 0.5}, {2, 0.5}});
  std::vector<double> scratch;
  TokenDistribution r;
  ResidualDistribution(p, p, &scratch, &r);  // no mass left: p itself
  EXPECT_EQ(r.ids, p.ids);
  for (double v : scratch) EXPECT_EQ(v, 0.0);
  ResidualDistribution(p, Dist({{1, 1.0}}), &scratch, &r);
  ASSERT_EQ(r.ids.size(), 1u);
  EXPECT_EQ(r.ids[0], 2);
  EXPECT_FLOAT_EQ(r.probs[0], 1.0f);
  EXPECT_EQ(DrawToken(p, 0.0), 1);
  EXPECT_EQ(DrawToken(p, 0.49), 1);
  EXPECT_EQ(DrawToken(p, 0.51), 2);
  EXPECT_EQ(DrawToken(p, 0.9999999999), 2);
  EXPECT_EQ(DrawToken(TokenDistribution{}, 0.5), -1);
  EXPECT_DOUBLE_EQ(AcceptanceProbability(p, Dist({{1, 0.25}, {2, 0.75}}), 1), 1.0);
  EXPECT_NEAR(AcceptanceProbability(p, Dist({{1, 0.25}, {2, 0.75}}), 2), 0.5 / 0.75, 1e-6);
  EXPECT_EQ(AcceptanceProbability(p, Dist({{3, 1.0}}), 3), 0.0);
}

}  // namespace
}  // namespace fathom::internal
