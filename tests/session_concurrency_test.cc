// One model, many sessions on many threads: 8 threads each run their own session (greedy) and
// must produce exactly the tokens of a sequential run; per-session memory is reported; Cancel
// from another thread stops a running prefill. Built with -DFATHOM_SANITIZE=thread this is the
// ThreadSanitizer check of sessions sharing a model.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "fathom/fathom.h"
#include "gtest/gtest.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

constexpr int kSessions = 8;

std::vector<int32_t> PromptFor(int i) {
  return {1, static_cast<int32_t>(300 + 7 * i), static_cast<int32_t>(400 + 3 * i), 261};
}

void RunConcurrently(const std::string& model_rel, int32_t n_tokens) {
  FATHOM_REQUIRE_FIXTURE(model_rel);
  auto m = Model::Load(testing::FixturePath(model_rel));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::shared_ptr<const Model> model = *m;
  GenerateOptions g;
  g.max_tokens = n_tokens;
  g.stop_at_eos = false;
  g.sampler.temperature = 0;
  std::vector<std::vector<int32_t>> expected(kSessions);
  for (int i = 0; i < kSessions; ++i) {
    auto s = Session::Create(model, {.n_ctx = 128, .n_threads = 1});
    ASSERT_TRUE(s.ok());
    auto out = (*s)->Generate(PromptFor(i), g);
    ASSERT_TRUE(out.ok());
    expected[i] = out->tokens;
  }
  std::vector<std::vector<int32_t>> got(kSessions);
  std::vector<int64_t> kv(kSessions), total(kSessions);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back([&, i] {
      // Half the sessions parallelise inside too.
      auto s = Session::Create(model, {.n_ctx = 128, .n_threads = 1 + i % 2});
      if (!s.ok()) return;
      auto out = (*s)->Generate(PromptFor(i), g);
      if (out.ok()) got[i] = out->tokens;
      kv[i] = (*s)->kv_cache_bytes();
      total[i] = (*s)->memory_bytes();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kSessions; ++i) {
    EXPECT_EQ(got[i], expected[i]) << "session " << i;
    EXPECT_EQ(kv[i], model->info().kv_bytes_per_token * 128) << "session " << i;
    EXPECT_GT(total[i], kv[i]);
  }
  std::printf("[ memory ] %s: per session %lld bytes KV + %lld bytes scratch/logits (n_ctx 128)\n",
              model_rel.c_str(), static_cast<long long>(kv[0]),
              static_cast<long long>(total[0] - kv[0]));
}

TEST(SessionConcurrency, EightSessionsOnOneModelMatchSequential) {
  RunConcurrently("stories260K/stories260K.gguf", 24);
}

TEST(SessionConcurrency, EightDeepSeekSessionsMatchSequential) {
  RunConcurrently("deepseek/v3-tiny/model.gguf", 12);
}

TEST(SessionConcurrency, CancelStopsAPrefill) {
  FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
  auto m = Model::Load(testing::FixturePath("stories260K/stories260K.gguf"));
  ASSERT_TRUE(m.ok());
  auto s = Session::Create(*m, {.n_ctx = 2048, .n_threads = 1, .n_batch = 256});
  ASSERT_TRUE(s.ok());
  std::vector<int32_t> prompt(2048);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = 1 + (i * 13) % 500;
  std::atomic<bool> started{false};
  Session* raw = s->get();
  std::thread canceller([&] {
    while (!started.load()) std::this_thread::yield();
    // Evaluate clears an earlier Cancel() when it starts: give it a moment to begin.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    raw->Cancel();
  });
  started = true;
  const Status st = raw->Evaluate(prompt);
  canceller.join();
  // The cancel may land before the prefill starts checking or while it runs: either way the
  // whole prefill must not have been taken (batches finished before the cancel stay).
  if (st.ok()) {
    GTEST_SKIP() << "the prefill finished before the cancel arrived";
  }
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_LT(raw->position(), 2048);
  EXPECT_EQ(raw->position() % 256, 0);
}

}  // namespace
}  // namespace fathom
