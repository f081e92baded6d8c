// The acceptance checks of `fathom run` for sessions: the same seeded output with -t 1 and
// -t 2, and -n 16 --save-state then --load-state -n 16 equal to one -n 32 run.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

constexpr char kStories[] = "stories260K/stories260K.gguf";

// The CLI's stdout, or "" when it failed.
std::string RunCli(const std::vector<std::string>& args) {
  const testing::CliResult r = testing::RunCli(args);
  return r.exit_code == 0 ? r.out : "";
}

std::vector<int> OutputIds(const std::string& json) {
  if (json.empty()) return {};
  return nlohmann::json::parse(json).at("output_ids").get<std::vector<int>>();
}

TEST(SessionCli, SeededRunIsTheSameWithOneAndTwoThreads) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStories);
  const std::vector<std::string> base = {"run",
                                         "-m",
                                         testing::FixturePath(kStories),
                                         "-p",
                                         "Once upon a time",
                                         "-n",
                                         "32",
                                         "--temp",
                                         "0.8",
                                         "--seed",
                                         "7",
                                         "--json"};
  std::vector<std::string> t1 = base, t2 = base;
  t1.insert(t1.end(), {"-t", "1"});
  t2.insert(t2.end(), {"-t", "2"});
  const std::string a = RunCli(t1), b = RunCli(t2);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST(SessionCli, SaveThenLoadContinuesLikeOneRun) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStories);
  const std::string model = testing::FixturePath(kStories);
  const std::string state = ::testing::TempDir() + "/fathom_cli_state";
  const std::vector<std::string> sampling = {"--temp", "0.8",          "--seed",           "7",
                                             "--json", "--ignore-eos", "--repeat-penalty", "1.1"};
  auto args = [&](std::vector<std::string> a) {
    a.insert(a.end(), sampling.begin(), sampling.end());
    return a;
  };
  const auto whole = OutputIds(RunCli(args({"run", "-m", model, "-p", "One day", "-n", "32"})));
  const auto first = OutputIds(
      RunCli(args({"run", "-m", model, "-p", "One day", "-n", "16", "--save-state", state})));
  // The second run gives no --seed: the restored RNG goes on.
  const auto second =
      OutputIds(RunCli({"run", "-m", model, "--load-state", state, "-n", "16", "--temp", "0.8",
                        "--json", "--ignore-eos", "--repeat-penalty", "1.1"}));
  std::remove(state.c_str());
  ASSERT_EQ(whole.size(), 32u);
  ASSERT_EQ(first.size(), 16u);
  std::vector<int> joined = first;
  joined.insert(joined.end(), second.begin(), second.end());
  EXPECT_EQ(joined, whole);
}

TEST(SessionCli, StopStringEndsTheText) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStories);
  const std::string model = testing::FixturePath(kStories);
  const std::string full =
      RunCli({"run", "-m", model, "-p", "One day", "-n", "48", "--temp", "0", "--json"});
  ASSERT_FALSE(full.empty());
  const std::string text = nlohmann::json::parse(full).at("text").get<std::string>();
  ASSERT_GT(text.size(), 20u);
  const std::string stop = text.substr(10, 4);
  const std::string cut = RunCli({"run", "-m", model, "-p", "One day", "-n", "48", "--temp", "0",
                                  "--json", "--stop", "zzzz", "--stop", stop});
  ASSERT_FALSE(cut.empty());
  EXPECT_EQ(nlohmann::json::parse(cut).at("text").get<std::string>(),
            text.substr(0, text.find(stop)));
}

}  // namespace
}  // namespace fathom
