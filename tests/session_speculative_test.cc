// MTP self-speculative decoding (GenerateOptions::speculative = kMtp): greedy output identical
// to plain greedy for n_draft 1..3 on every model with an MTP head (HF folder, FP8 folder, a GGUF
// converted with the MTP layer), the session left exactly as plain generation leaves it after
// rejections (logits, MTP logits, continuation) with nothing re-evaluated, stop conditions, and
// a chi-square test that speculative sampling draws from the model's distribution.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "fathom/fathom.h"
#include "format/hf_checkpoint.h"
#include "gtest/gtest.h"
#include "models/deepseek/deepseek_gguf_export.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

// Batched verification and one-token decoding differ only in summation order; observed <= 2e-6
// on v3-tiny (the same bound as the GGUF export test).
constexpr float kBatchOrderTolerance = 1e-4f;

float MaxAbsDiff(const float* a, const float* b, int n) {
  float m = 0;
  for (int i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// v3-tiny converted to GGUF deepseek2 with its MTP layer (nextn tensors), once per process.
const std::string& ConvertedV3Tiny() {
  static const std::string path = [] {
    const std::string out =
        ::testing::TempDir() + "/fathom_spec_" + std::to_string(::getpid()) + "_v3-tiny.gguf";
    auto ckpt = HfCheckpoint::Open(testing::FixturePath("deepseek/v3-tiny"));
    if (!ckpt.ok()) return std::string();
    internal::ExportOptions opts;
    opts.include_mtp = true;
    return internal::ExportDeepSeekToGguf(**ckpt, out, opts).ok() ? out : std::string();
  }();
  return path;
}

// Models with an MTP head: fixture-relative folders, or "converted:" for the GGUF above.
// (The demo model with a trained MTP head goes here too once it is in the tree.)
const char* const kModels[] = {"deepseek/v3-tiny", "deepseek/v3-tiny-fp8", "converted:v3-tiny"};

std::shared_ptr<const Model> LoadModel(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  std::string path;
  if (name.rfind("converted:", 0) == 0) {
    path = ConvertedV3Tiny();
    EXPECT_FALSE(path.empty()) << "converting v3-tiny to GGUF failed";
  } else {
    path = testing::FixturePath(name);
  }
  auto m = Model::Load(path);
  EXPECT_TRUE(m.ok()) << path << ": " << m.status().ToString();
  if (!m.ok()) return nullptr;
  cache[name] = *m;
  return *m;
}

std::unique_ptr<Session> NewSession(const std::shared_ptr<const Model>& model, bool mtp = true,
                                    int32_t n_ctx = 256) {
  auto s = Session::Create(model, {.n_ctx = n_ctx, .n_threads = 1, .mtp = mtp});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

GenerateOptions Greedy(int32_t max_tokens, int32_t n_draft) {
  GenerateOptions g;
  g.max_tokens = max_tokens;
  g.sampler.temperature = 0.0f;
  g.stop_at_eos = false;
  if (n_draft > 0) {
    g.speculative = Speculative::kMtp;
    g.n_draft = n_draft;
  }
  return g;
}

const std::vector<std::vector<int32_t>> kPrompts = {
    {0,   721, 859, 350, 709, 273, 222, 191, 130, 673, 385,
     185, 772, 315, 753, 384, 423, 997, 661, 216},  // the fixture's prompt (its greedy continuation
                                                    // is in expected.safetensors)
    {0, 5, 17, 300},
    {0, 1000, 2, 2, 2, 2, 640},
    {0},
};

class SpeculativeGreedyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SpeculativeGreedyTest, SameTokensAsPlainGreedyAndNothingReevaluated) {
  const std::string name = GetParam();
  if (name.rfind("converted:", 0) != 0) FATHOM_REQUIRE_FIXTURE(name + "/config.json");
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/config.json");
  auto model = LoadModel(name);
  ASSERT_NE(model, nullptr);
  for (const auto& prompt : kPrompts) {
    auto plain = NewSession(model);
    auto want = plain->Generate(prompt, Greedy(24, 0));
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ASSERT_EQ(want->tokens.size(), 24u);
    for (int32_t n_draft = 1; n_draft <= kMaxDraftTokens; ++n_draft) {
      SCOPED_TRACE(name + " n_draft " + std::to_string(n_draft) + " prompt size " +
                   std::to_string(prompt.size()));
      auto s = NewSession(model);
      auto got = s->Generate(prompt, Greedy(24, n_draft));
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(got->tokens, want->tokens);
      const SpeculativeStats& st = got->speculative;
      EXPECT_GT(st.main_forwards, 0);
      EXPECT_GT(st.drafted, 0);
      EXPECT_LE(st.accepted, st.drafted);
      // Every generated token but the first came out of a verification step.
      EXPECT_EQ(st.tokens, 23);
      // The only tokens run through the main model: the prompt and each step's batch.
      EXPECT_EQ(s->n_evaluated(),
                static_cast<int64_t>(prompt.size()) + st.main_forwards + st.drafted);
      int64_t drafted = 0, accepted = 0;
      for (int d = 0; d < kMaxDraftTokens; ++d) {
        drafted += st.drafted_at_depth[d];
        accepted += st.accepted_at_depth[d];
        if (d >= n_draft) {
          EXPECT_EQ(st.drafted_at_depth[d], 0);
        }
      }
      EXPECT_EQ(drafted, st.drafted);
      EXPECT_EQ(accepted, st.accepted);
      // As after plain generation: every token but the last in the cache, logits predicting it.
      EXPECT_EQ(s->position(), plain->position());
      EXPECT_EQ(s->tokens(), plain->tokens());
      ASSERT_EQ(s->n_logits(), 1);
      EXPECT_LT(MaxAbsDiff(s->logits(), plain->logits(), s->n_vocab()), kBatchOrderTolerance);
    }
  }
}

// The fixture's greedy continuation (DeepSeek's reference code) comes out with speculation too.
TEST_P(SpeculativeGreedyTest, MatchesTheReferenceContinuation) {
  const std::string name = GetParam();
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/expected.safetensors");
  if (name == std::string("deepseek/v3-tiny-fp8")) GTEST_SKIP() << "FP8 weights differ";
  auto expected =
      testing::ReadSafetensors(testing::FixturePath("deepseek/v3-tiny/expected.safetensors"));
  const std::vector<int32_t> prompt(expected["prompt_tokens"].ints.begin(),
                                    expected["prompt_tokens"].ints.end());
  const std::vector<int32_t> want(expected["gen_tokens"].ints.begin(),
                                  expected["gen_tokens"].ints.end());
  auto model = LoadModel(name);
  ASSERT_NE(model, nullptr);
  for (int32_t n_draft = 1; n_draft <= kMaxDraftTokens; ++n_draft) {
    auto s = NewSession(model);
    auto got = s->Generate(prompt, Greedy(static_cast<int32_t>(want.size()), n_draft));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->tokens, want) << "n_draft " << n_draft;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, SpeculativeGreedyTest, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

// The shipped demo model (examples/demo_model, a trained MTP head): 256 greedy tokens from each of
// five prompts are the same with n_draft 1, 2 and 3 as without speculation, and the trained head's
// drafts are accepted often (docs/PERFORMANCE.md has the rates).
TEST(SpeculativeDemoModelTest, SameTokensAsPlainGreedyOnFivePrompts) {
  auto loaded = Model::Load(std::string(FATHOM_DEMO_DIR) + "/fathom-demo-v3");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::shared_ptr<const Model> model = *loaded;
  const char* const prompts[] = {"In the beginning God created", "And the LORD said unto Moses",
                                 "Blessed are the", "The kingdom of heaven is like",
                                 "And it came to pass, when"};
  int64_t drafted = 0, accepted = 0;
  for (const char* text : prompts) {
    auto prompt = model->tokenizer().Encode(text);
    ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
    auto plain = NewSession(model, true, 512);
    auto want = plain->Generate(*prompt, Greedy(256, 0));
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ASSERT_EQ(want->tokens.size(), 256u);
    for (int32_t n_draft = 1; n_draft <= kMaxDraftTokens; ++n_draft) {
      SCOPED_TRACE(std::string(text) + " n_draft " + std::to_string(n_draft));
      auto s = NewSession(model, true, 512);
      auto got = s->Generate(*prompt, Greedy(256, n_draft));
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(got->tokens, want->tokens);
      EXPECT_EQ(s->tokens(), plain->tokens());
      if (n_draft == 1) {
        drafted += got->speculative.drafted;
        accepted += got->speculative.accepted;
      }
    }
  }
  // A trained MTP head agrees with the main model far more often than chance (a random head: 0%).
  EXPECT_GT(static_cast<double>(accepted), 0.3 * static_cast<double>(drafted))
      << accepted << " of " << drafted << " drafts accepted";
}

class SpeculativeSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/config.json");
    model_ = LoadModel("deepseek/v3-tiny");
    ASSERT_NE(model_, nullptr);
  }
  std::shared_ptr<const Model> model_;
};

// After generation with rejections, the main cache, the MTP cache and the kept hidden states are
// those of a fresh evaluation of the same tokens: evaluating more tokens gives the same main and
// MTP logits as a session that evaluated everything at once.
TEST_F(SpeculativeSessionTest, StateAfterRejectionsEqualsAFreshEvaluation) {
  const std::vector<int32_t> prompt = {0, 5, 17, 300, 41};
  const std::vector<int32_t> more = {7, 99, 512};
  for (int32_t n_draft = 1; n_draft <= kMaxDraftTokens; ++n_draft) {
    SCOPED_TRACE("n_draft " + std::to_string(n_draft));
    auto s = NewSession(model_);
    GenerateOptions g = Greedy(13, n_draft);
    g.evaluate_last = true;
    auto r = s->Generate(prompt, g);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    // Random weights: the MTP head is mostly wrong, so rejections (and rollbacks) happened.
    ASSERT_LT(r->speculative.accepted, r->speculative.drafted);
    ASSERT_TRUE(s->Evaluate(more, true).ok());

    std::vector<int32_t> all = prompt;
    all.insert(all.end(), r->tokens.begin(), r->tokens.end());
    ASSERT_EQ(s->tokens().size(), all.size() + more.size());
    EXPECT_TRUE(std::equal(all.begin(), all.end(), s->tokens().begin()));
    all.insert(all.end(), more.begin(), more.end());
    auto fresh = NewSession(model_);
    ASSERT_TRUE(fresh->Evaluate(all, true).ok());
    const int n_vocab = s->n_vocab();
    for (int i = 0; i < 3; ++i) {
      EXPECT_LT(MaxAbsDiff(s->logits(i), fresh->logits(static_cast<int32_t>(all.size()) - 3 + i),
                           n_vocab),
                kBatchOrderTolerance);
    }
    // MTP rows of the new tokens: they attend to the MTP cache written during speculation.
    ASSERT_GT(s->n_mtp_logits(), 0);
    for (int32_t i = 0; i < s->n_mtp_logits(); ++i) {
      const int32_t row = s->mtp_first_position() + i - fresh->mtp_first_position();
      ASSERT_GE(row, 0);
      ASSERT_LT(row, fresh->n_mtp_logits());
      EXPECT_LT(MaxAbsDiff(s->mtp_logits(i), fresh->mtp_logits(row), n_vocab), kBatchOrderTolerance)
          << "MTP row at position " << s->mtp_first_position() + i;
    }
  }
}

// Generation split in two with evaluate_last continues exactly like one longer generation, and
// stop conditions cut the speculative token stream at the same token as plain generation.
TEST_F(SpeculativeSessionTest, ContinuationAndStops) {
  const std::vector<int32_t> prompt = {0, 721, 859, 350};
  auto plain = NewSession(model_);
  auto want = plain->Generate(prompt, Greedy(30, 0));
  ASSERT_TRUE(want.ok());
  for (int32_t n_draft = 1; n_draft <= kMaxDraftTokens; ++n_draft) {
    SCOPED_TRACE("n_draft " + std::to_string(n_draft));
    auto s = NewSession(model_);
    GenerateOptions g = Greedy(11, n_draft);
    g.evaluate_last = true;
    auto a = s->Generate(prompt, g);
    ASSERT_TRUE(a.ok());
    auto b = s->Generate({}, Greedy(19, n_draft));
    ASSERT_TRUE(b.ok());
    std::vector<int32_t> joined = a->tokens;
    joined.insert(joined.end(), b->tokens.begin(), b->tokens.end());
    EXPECT_EQ(joined, want->tokens);

    // The callback stops after 7 tokens: the session holds 6 of them, like plain generation.
    for (const int stop_after : {1, 2, 7}) {
      auto s2 = NewSession(model_);
      GenerateOptions c = Greedy(30, n_draft);
      int seen = 0;
      c.on_token = [&](int32_t, const std::string&) { return ++seen < stop_after; };
      auto r = s2->Generate(prompt, c);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->stop_reason, GenerateResult::StopReason::kCallback);
      ASSERT_EQ(r->tokens.size(), static_cast<size_t>(stop_after));
      EXPECT_TRUE(std::equal(r->tokens.begin(), r->tokens.end(), want->tokens.begin()));
      EXPECT_EQ(s2->position(), static_cast<int32_t>(prompt.size()) + stop_after - 1);
    }
  }
}

TEST_F(SpeculativeSessionTest, ContextFullStopsAtTheSameTokenAsPlain) {
  const std::vector<int32_t> prompt = {0, 721, 859, 350};
  auto plain = NewSession(model_, true, 12);
  auto want = plain->Generate(prompt, Greedy(30, 0));
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(want->stop_reason, GenerateResult::StopReason::kContextFull);
  for (int32_t n_draft = 1; n_draft <= kMaxDraftTokens; ++n_draft) {
    auto s = NewSession(model_, true, 12);
    auto got = s->Generate(prompt, Greedy(30, n_draft));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->stop_reason, GenerateResult::StopReason::kContextFull);
    EXPECT_EQ(got->tokens, want->tokens) << "n_draft " << n_draft;
    EXPECT_EQ(s->position(), plain->position());
  }
}

TEST_F(SpeculativeSessionTest, RefusesWhatCannotWork) {
  auto no_mtp = NewSession(model_, false);
  auto r = no_mtp->Generate({0, 5}, Greedy(4, 1));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  auto s = NewSession(model_);
  GenerateOptions g = Greedy(4, 1);
  for (int32_t bad : {0, -1, kMaxDraftTokens + 1}) {
    g.n_draft = bad;
    EXPECT_EQ(s->Generate({0, 5}, g).status().code(), StatusCode::kInvalidArgument);
  }
  g.n_draft = 3;
  auto small = Session::Create(model_, {.n_ctx = 64, .n_threads = 1, .n_batch = 2, .mtp = true});
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)->Generate({0, 5}, g).status().code(), StatusCode::kInvalidArgument);
}

// Speculative sampling draws exactly from the model's distribution. A logit bias of -infinity
// on all but three tokens (applied to target and draft alike, as the whole chain is) leaves
// distributions over those three at temperature 2.5, so the first three generated tokens take 27
// values whose exact probabilities come from the main model (product of the chain's
// distributions along each prefix), and the random MTP head's drafts are accepted often enough
// (about half the time) to exercise both branches of the rule. N generations with distinct seeds
// and n_draft 2 (the 2nd token is a depth-1 draft or its correction, the 3rd a depth-2 draft or a
// correction) are compared with them by Pearson's chi-square. The threshold is the 1 - 1e-6
// quantile (Wilson-Hilferty), so a correct implementation fails with probability about 1e-6 (the
// seeds are fixed, so the outcome is deterministic). Accepting every draft that the target could
// produce, or drawing the correction from p instead of max(0, p - q), moves chi-square to 560 and
// 8392 (docs/SESSIONS.md, Speculative decoding).
TEST_F(SpeculativeSessionTest, SamplingMatchesTheModelDistribution) {
  const std::vector<int32_t> prompt = {0, 721, 859, 350, 709};
  SamplerOptions so;
  so.temperature = 2.5f;
  so.top_k = 0;
  so.top_p = 1.0f;
  so.min_p = 0.0f;
  so.penalty_last_n = 0;
  const int32_t kKept[3] = {10, 531, 382};
  for (int32_t id = 0; id < model_->info().n_vocab; ++id) {
    if (std::find(std::begin(kKept), std::end(kKept), id) == std::end(kKept)) {
      so.logit_bias.push_back({id, -INFINITY});
    }
  }
  constexpr int kDepth = 3;

  // Exact distribution over the first kDepth tokens.
  std::map<std::vector<int32_t>, double> exact;
  {
    auto s = NewSession(model_, false);
    Sampler chain(so);
    std::vector<int32_t> ids;
    std::vector<float> probs;
    std::vector<std::pair<std::vector<int32_t>, double>> frontier = {{{}, 1.0}};
    for (int d = 0; d < kDepth; ++d) {
      std::vector<std::pair<std::vector<int32_t>, double>> next;
      for (const auto& [seq, pr] : frontier) {
        std::vector<int32_t> all = prompt;
        all.insert(all.end(), seq.begin(), seq.end());
        ASSERT_TRUE(s->EvaluateReusingPrefix(all).ok());
        chain.Distribution(s->logits(), s->n_vocab(), &ids, &probs);
        for (size_t i = 0; i < ids.size(); ++i) {
          if (probs[i] == 0.0f) continue;  // a banned token
          std::vector<int32_t> longer = seq;
          longer.push_back(ids[i]);
          next.push_back({longer, pr * probs[i]});
        }
      }
      frontier = std::move(next);
    }
    for (const auto& [seq, pr] : frontier) exact[seq] = pr;
  }

  constexpr int kSamples = 2000;
  std::map<std::vector<int32_t>, int> counts;
  SpeculativeStats total;
  auto s = NewSession(model_);
  ASSERT_TRUE(s->Evaluate(prompt).ok());
  for (int i = 0; i < kSamples; ++i) {
    GenerateOptions g;
    g.max_tokens = kDepth + 1;  // so that the first step drafts 2 tokens
    g.stop_at_eos = false;
    g.sampler = so;
    g.sampler.seed = 1000 + static_cast<uint64_t>(i);
    g.speculative = Speculative::kMtp;
    g.n_draft = 2;
    // Truncate left logits() empty: re-evaluate the last prompt token.
    ASSERT_TRUE(s->Truncate(static_cast<int32_t>(prompt.size()) - 1).ok());
    auto r = s->Generate({prompt.back()}, g);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->tokens.size(), static_cast<size_t>(kDepth + 1));
    ++counts[std::vector<int32_t>(r->tokens.begin(), r->tokens.begin() + kDepth)];
    total.drafted += r->speculative.drafted;
    total.accepted += r->speculative.accepted;
    total.accepted_at_depth[1] += r->speculative.accepted_at_depth[1];
  }
  // Both branches of the rule ran often.
  EXPECT_GT(total.accepted, total.drafted / 10);
  EXPECT_LT(total.accepted, total.drafted * 9 / 10);
  EXPECT_GT(total.accepted_at_depth[1], 50);

  double chi2 = 0;
  int cells = 0;
  double min_p = 1;
  for (const auto& [seq, pr] : exact) min_p = std::min(min_p, pr);
  std::printf("smallest cell probability %.5f\n", min_p);
  for (const auto& [seq, pr] : exact) {
    const double e = pr * kSamples;
    ASSERT_GE(e, 5.0) << "a cell too small for the chi-square approximation";
    const double o = counts.count(seq) ? counts[seq] : 0;
    chi2 += (o - e) * (o - e) / e;
    ++cells;
  }
  for (const auto& [seq, n] : counts) {
    EXPECT_TRUE(exact.count(seq)) << "sampled a sequence the model cannot produce";
  }
  const double df = cells - 1;
  constexpr double kZ = 4.753;  // standard normal 1 - 1e-6 quantile
  const double h = 2.0 / (9.0 * df);
  const double threshold = df * std::pow(1.0 - h + kZ * std::sqrt(h), 3.0);
  EXPECT_LT(chi2, threshold) << cells << " cells, acceptance "
                             << static_cast<double>(total.accepted) / total.drafted;
  std::printf("chi-square %.2f over %d cells (threshold %.2f), acceptance %.3f\n", chi2, cells,
              threshold, static_cast<double>(total.accepted) / total.drafted);
}

}  // namespace
}  // namespace fathom
