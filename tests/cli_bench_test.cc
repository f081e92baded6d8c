// `fathom bench` end to end (JSON fields present and positive, usage errors, the llama-bench
// comparison through a fake LLAMA_BENCH script: ratio arithmetic, its parser, failures reported
// but not fatal) and its helpers (examples/cli: statistics, llama-bench JSON parser, active
// weight bytes per token). No test asserts on a speed.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "bench_weights.h"
#include "format/gguf_reader.h"
#include "gtest/gtest.h"
#include "llama_bench.h"
#include "nlohmann/json.hpp"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

using cli::ActiveWeights;
using cli::ActiveWeightsInput;
using cli::CountActiveWeights;
using cli::LlamaBenchTest;
using cli::ParseLlamaBenchJson;
using cli::Summarize;
using cli::TensorNaming;
using testing::CliResult;
using testing::FixturePath;
using testing::RunCli;
using Json = nlohmann::json;

// ---- helpers of the command ----------------------------------------------------------------

TEST(BenchStatsTest, MedianSpreadAndStddev) {
  const cli::Summary odd = Summarize({5, 1, 3});
  EXPECT_EQ(odd.n, 3);
  EXPECT_DOUBLE_EQ(odd.median, 3);
  EXPECT_DOUBLE_EQ(odd.min, 1);
  EXPECT_DOUBLE_EQ(odd.max, 5);
  EXPECT_DOUBLE_EQ(odd.mean, 3);
  EXPECT_DOUBLE_EQ(odd.stddev, 2);  // sqrt((4 + 0 + 4) / 2)
  const cli::Summary even = Summarize({10, 40, 20, 30});
  EXPECT_DOUBLE_EQ(even.median, 25);
  EXPECT_DOUBLE_EQ(Summarize({7}).stddev, 0);
  EXPECT_EQ(Summarize({}).n, 0);
}

constexpr char kCannedLlamaBench[] = R"([
  {"build_commit": "abc1234", "n_threads": 1, "n_prompt": 16, "n_gen": 0,
   "avg_ts": 210.0, "stddev_ts": 100.0, "samples_ts": [100.0, 330.0, 200.0]},
  {"build_commit": "abc1234", "n_threads": 1, "n_prompt": 0, "n_gen": 8,
   "avg_ts": 21.0, "stddev_ts": 14.1, "samples_ts": [10.0, 30.0]},
  {"build_commit": "abc1234", "n_threads": 1, "n_prompt": 16, "n_gen": 8,
   "avg_ts": 50.0, "stddev_ts": 1.0, "samples_ts": [50.0]}
])";

TEST(LlamaBenchParserTest, ReadsPromptAndGenerationTests) {
  absl::StatusOr<std::vector<LlamaBenchTest>> tests = ParseLlamaBenchJson(kCannedLlamaBench);
  ASSERT_TRUE(tests.ok()) << tests.status();
  ASSERT_EQ(tests->size(), 2u);  // the -pg test (prompt and generation) is not compared
  const LlamaBenchTest* pp = cli::FindLlamaBenchTest(*tests, 16, 0);
  const LlamaBenchTest* tg = cli::FindLlamaBenchTest(*tests, 0, 8);
  ASSERT_NE(pp, nullptr);
  ASSERT_NE(tg, nullptr);
  EXPECT_DOUBLE_EQ(pp->avg_ts, 210.0);
  EXPECT_EQ(pp->samples_ts, (std::vector<double>{100.0, 330.0, 200.0}));
  EXPECT_EQ(pp->n_threads, 1);
  EXPECT_EQ(pp->build_commit, "abc1234");
  EXPECT_DOUBLE_EQ(tg->stddev_ts, 14.1);
  EXPECT_EQ(cli::FindLlamaBenchTest(*tests, 512, 0), nullptr);
}

TEST(LlamaBenchParserTest, RejectsMalformedOutput) {
  for (const char* bad :
       {"", "not json", "{\"n_prompt\": 1}", "[1]", "[{\"n_gen\": 8}]",
        "[{\"n_prompt\": 0, \"n_gen\": 8}]",
        "[{\"n_prompt\": 0, \"n_gen\": 8, \"avg_ts\": \"fast\"}]",
        "[{\"n_prompt\": -1, \"n_gen\": 8, \"avg_ts\": 1}]",
        "[{\"n_prompt\": 0, \"n_gen\": 8, \"avg_ts\": 1, \"samples_ts\": 3}]",
        "[{\"n_prompt\": 0, \"n_gen\": 8, \"avg_ts\": 1, \"samples_ts\": [-2]}]"}) {
    EXPECT_FALSE(ParseLlamaBenchJson(bad).ok()) << bad;
  }
  EXPECT_TRUE(ParseLlamaBenchJson("[]").ok());
}

TEST(LlamaBenchParserTest, CommandLineMirrorsTheRequest) {
  cli::LlamaBenchRequest r;
  r.binary = "/x/llama-bench";
  r.model = "m.gguf";
  r.threads = 2;
  r.n_prompt = {64, 512};
  r.n_gen = {128};
  r.repetitions = 3;
  EXPECT_EQ(cli::LlamaBenchArgv(r),
            (std::vector<std::string>{"/x/llama-bench", "-m", "m.gguf", "-t", "2", "-p", "64,512",
                                      "-n", "128", "-r", "3", "-o", "json"}));
  r.batch = 256;
  const std::vector<std::string> argv = cli::LlamaBenchArgv(r);
  ASSERT_EQ(argv.size(), 17u);
  EXPECT_EQ(argv[13], "-b");
  EXPECT_EQ(argv[14], "256");
  EXPECT_EQ(argv[15], "-ub");
}

TEST(ActiveWeightsTest, DenseModelCountsEveryMatrixAndOneEmbeddingRow) {
  ActiveWeightsInput in;
  in.n_layer = 2;
  in.n_vocab = 100;
  in.tensors = {{"token_embd.weight", 1000},    {"output.weight", 2000},
                {"output_norm.weight", 4},      {"blk.0.attn_q.weight", 300},
                {"blk.0.ffn_down.weight", 500}, {"blk.1.attn_q.weight", 300},
                {"blk.1.ffn_down.weight", 500}};
  absl::StatusOr<ActiveWeights> w = CountActiveWeights(in);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->tied_head);
  EXPECT_EQ(w->total_bytes, 4604u);
  EXPECT_EQ(w->embedding_active_bytes, 10u);  // one of 100 rows
  EXPECT_EQ(w->dense_bytes, 2000u + 4 + 1600);
  EXPECT_EQ(w->active_bytes, 3604u + 10);

  // Without output.weight the embedding is the head: read in full.
  in.tensors.erase(in.tensors.begin() + 1);
  w = CountActiveWeights(in);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->tied_head);
  EXPECT_EQ(w->active_bytes, 1604u + 1000);
}

TEST(ActiveWeightsTest, MoeCountsTopKOfTheRoutedExpertsAndSkipsMtpLayers) {
  ActiveWeightsInput in;
  in.n_layer = 2;  // blk.2 is an MTP (nextn) layer
  in.n_vocab = 10;
  in.n_expert = 64;
  in.n_expert_used = 6;
  in.tensors = {{"token_embd.weight", 640},           {"output.weight", 640},
                {"blk.0.ffn_gate.weight", 1000},  // dense first layer
                {"blk.0.attn_kv_b.weight", 50},       {"blk.1.attn_kv_b.weight", 50},
                {"blk.1.attn_k_b.weight", 25},  // split copy of kv_b: not read
                {"blk.1.attn_v_b.weight", 25},        {"blk.1.ffn_gate_inp.weight", 128},  // router
                {"blk.1.ffn_gate_exps.weight", 6400}, {"blk.1.ffn_up_exps.weight", 6400},
                {"blk.1.ffn_down_exps.weight", 6400}, {"blk.1.ffn_gate_shexp.weight", 200},
                {"blk.2.nextn.eh_proj.weight", 999},  {"blk.2.ffn_up_exps.weight", 6400}};
  absl::StatusOr<ActiveWeights> w = CountActiveWeights(in);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->routed_bytes, 19200u);
  EXPECT_EQ(w->routed_active_bytes, 1800u);  // 19200 x 6 / 64
  EXPECT_EQ(w->skipped_bytes, 25u + 25 + 999 + 6400);
  EXPECT_EQ(w->dense_bytes, 640u + 1000 + 50 + 50 + 128 + 200);
  EXPECT_EQ(w->embedding_active_bytes, 64u);
  EXPECT_EQ(w->active_bytes, w->dense_bytes + 1800 + 64);
  EXPECT_EQ(w->total_bytes,
            w->dense_bytes + w->routed_bytes + w->embedding_bytes + w->skipped_bytes);

  in.n_expert_used = 0;
  EXPECT_FALSE(CountActiveWeights(in).ok());
  in.n_expert_used = 65;
  EXPECT_FALSE(CountActiveWeights(in).ok());
}

TEST(ActiveWeightsTest, HuggingFaceNames) {
  ActiveWeightsInput in;
  in.naming = TensorNaming::kHuggingFace;
  in.n_layer = 1;
  in.n_vocab = 4;
  in.n_expert = 4;
  in.n_expert_used = 2;
  in.tensors = {{"model.embed_tokens.weight", 400},
                {"lm_head.weight", 400},
                {"model.layers.0.mlp.experts.0.up_proj.weight", 100},
                {"model.layers.0.mlp.experts.1.up_proj.weight", 100},
                {"model.layers.0.mlp.experts.2.up_proj.weight", 100},
                {"model.layers.0.mlp.experts.3.up_proj.weight", 100},
                {"model.layers.0.mlp.shared_experts.up_proj.weight", 70},
                {"model.layers.1.eh_proj.weight", 33}};
  absl::StatusOr<ActiveWeights> w = CountActiveWeights(in);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->routed_active_bytes, 200u);
  EXPECT_EQ(w->dense_bytes, 470u);
  EXPECT_EQ(w->skipped_bytes, 33u);
  EXPECT_EQ(w->active_bytes, 470u + 200 + 100);
  in.tensors.erase(in.tensors.begin());
  EXPECT_FALSE(CountActiveWeights(in).ok());  // no embedding
}

// ---- the command ---------------------------------------------------------------------------

class CliBenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FATHOM_REQUIRE_CLI();
    FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
    model_ = FixturePath("stories260K/stories260K.gguf");
    unsetenv("LLAMA_BENCH");
  }
  void TearDown() override {
    unsetenv("LLAMA_BENCH");
    for (const std::string& f : files_) unlink(f.c_str());
  }
  // An executable shell script with this body.
  std::string Script(const std::string& body) {
    const std::string path = testing::TempPath("fake-llama-bench.sh");
    files_.push_back(path);
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
    return path;
  }
  std::string TempFile(const std::string& stem) {
    files_.push_back(testing::TempPath(stem));
    return files_.back();
  }
  static Json ParseJsonOut(const CliResult& r) {
    Json j = Json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
  std::string model_;
  std::vector<std::string> files_;
};

bool PositiveNumber(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_number() && j[key].get<double>() > 0;
}

TEST_F(CliBenchTest, JsonHasEveryFieldPositive) {
  const CliResult r =
      RunCli({"bench", "--json", "-m", model_, "-p", "16", "-n", "8", "-r", "2", "-t", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = ParseJsonOut(r);
  ASSERT_TRUE(j.is_object());
  EXPECT_TRUE(PositiveNumber(j, "pp_tokens_per_s"));
  EXPECT_TRUE(PositiveNumber(j, "tg_tokens_per_s"));
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["repetitions"], 2);
  EXPECT_EQ(j["model"], model_);
  struct stat st;
  ASSERT_EQ(stat(model_.c_str(), &st), 0);
  EXPECT_EQ(j["model_file_bytes"], static_cast<uint64_t>(st.st_size));
  ASSERT_TRUE(j["commit"].is_string());
  EXPECT_FALSE(j["commit"].get<std::string>().empty());
  EXPECT_TRUE(j["fathom_version"].is_string());
  ASSERT_TRUE(j["tests"].is_array());
  ASSERT_EQ(j["tests"].size(), 2u);
  EXPECT_EQ(j["tests"][0]["test"], "pp16");
  EXPECT_EQ(j["tests"][1]["test"], "tg8");
  for (const Json& t : j["tests"]) {
    ASSERT_EQ(t["samples_tokens_per_s"].size(), 2u);
    for (const Json& s : t["samples_tokens_per_s"]) EXPECT_GT(s.get<double>(), 0);
    EXPECT_LE(t["min_tokens_per_s"].get<double>(), t["tokens_per_s"].get<double>());
    EXPECT_GE(t["max_tokens_per_s"].get<double>(), t["tokens_per_s"].get<double>());
    EXPECT_FALSE(t.contains("ratio"));
  }
  EXPECT_EQ(j["pp_tokens_per_s"], j["tests"][0]["tokens_per_s"]);
  EXPECT_EQ(j["tg_tokens_per_s"], j["tests"][1]["tokens_per_s"]);
  EXPECT_TRUE(PositiveNumber(j, "bandwidth_gb_per_s"));
  ASSERT_TRUE(j["bandwidth"].is_object());
  EXPECT_EQ(j["bandwidth"]["samples_gb_per_s"].size(), 5u);
  EXPECT_GE(j["bandwidth"]["buffer_bytes"].get<uint64_t>(), uint64_t{1} << 30);
  EXPECT_TRUE(PositiveNumber(j, "active_weight_bytes_per_token"));
  EXPECT_LT(j["active_weight_bytes_per_token"].get<uint64_t>(),
            j["model_file_bytes"].get<uint64_t>());
  EXPECT_TRUE(PositiveNumber(j, "tg_limit_tokens_per_s"));
  EXPECT_TRUE(PositiveNumber(j, "tg_fraction_of_limit"));
  EXPECT_EQ(j["llama_bench"]["status"], "not_requested");
  EXPECT_TRUE(j["llama_pp_tokens_per_s"].is_null());
  EXPECT_TRUE(j["pp_ratio"].is_null());
  EXPECT_TRUE(j["tg_ratio"].is_null());
}

// --base-depth: every test also at a second context length, in alternating repetitions, with the
// per-repetition ratios.
TEST_F(CliBenchTest, BaseDepthPairsEveryTestWithItsRatios) {
  const CliResult r = RunCli({"bench", "--json", "-m", model_, "-p", "4", "-n", "3", "-r", "3",
                              "-t", "1", "-d", "24", "--base-depth", "2", "--no-bandwidth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = ParseJsonOut(r);
  EXPECT_EQ(j["depth"], 24);
  EXPECT_EQ(j["base_depth"], 2);
  ASSERT_EQ(j["tests"].size(), 4u) << r.out;
  const char* names[] = {"pp4 @ d24", "pp4 @ d2", "tg3 @ d24", "tg3 @ d2"};
  for (int i = 0; i < 4; ++i) {
    const Json& t = j["tests"][i];
    EXPECT_EQ(t["test"], names[i]);
    EXPECT_EQ(t["n_depth"], i % 2 == 0 ? 24 : 2);
    ASSERT_EQ(t["samples_tokens_per_s"].size(), 3u);
    if (i % 2 == 1) {
      EXPECT_FALSE(t.contains("depth_ratio"));
      continue;
    }
    const Json& base = j["tests"][i + 1];
    EXPECT_EQ(t["base_depth_test"], names[i + 1]);
    ASSERT_EQ(t["depth_ratio_samples"].size(), 3u);
    std::vector<double> ratios;
    for (int k = 0; k < 3; ++k) {
      const double want = t["samples_tokens_per_s"][k].get<double>() /
                          base["samples_tokens_per_s"][k].get<double>();
      EXPECT_DOUBLE_EQ(t["depth_ratio_samples"][k].get<double>(), want);
      ratios.push_back(want);
    }
    std::sort(ratios.begin(), ratios.end());
    EXPECT_DOUBLE_EQ(t["depth_ratio"].get<double>(), ratios[1]);
  }
  // The headline numbers are the -d tests'.
  EXPECT_EQ(j["pp_tokens_per_s"], j["tests"][0]["tokens_per_s"]);
  EXPECT_EQ(j["tg_tokens_per_s"], j["tests"][2]["tokens_per_s"]);
}

// The weight breakdown of a MoE file against the file's own tensor list and expert counts.
TEST_F(CliBenchTest, MoeActiveWeightsMatchTheFile) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v2-lite-tiny/model.gguf");
  const std::string path = FixturePath("deepseek/v2-lite-tiny/model.gguf");
  const CliResult r = RunCli({"bench", "--json", "-m", path, "-p", "4", "-n", "2", "-r", "1", "-t",
                              "1", "--no-bandwidth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = ParseJsonOut(r);
  EXPECT_TRUE(j["bandwidth"].is_null());
  EXPECT_TRUE(j["tg_limit_tokens_per_s"].is_null());
  const Json& w = j["weights"];
  ASSERT_TRUE(w.is_object()) << r.out;

  absl::StatusOr<std::unique_ptr<GgufFile>> g = GgufFile::Open(path);
  ASSERT_TRUE(g.ok());
  uint64_t total = 0, routed = 0;
  for (const GgufTensorInfo& t : (*g)->tensor_infos()) {
    total += t.n_bytes;
    if (t.name.find("_exps.") != std::string::npos) routed += t.n_bytes;
  }
  const int64_t n_expert = *(*g)->GetInt("deepseek2.expert_count");
  const int64_t n_used = *(*g)->GetInt("deepseek2.expert_used_count");
  ASSERT_GT(routed, 0u);
  EXPECT_EQ(w["total_bytes"].get<uint64_t>(), total);
  EXPECT_EQ(w["routed_expert_bytes"].get<uint64_t>(), routed);
  EXPECT_NEAR(
      w["routed_expert_active_bytes"].get<double>(),
      static_cast<double>(routed) * static_cast<double>(n_used) / static_cast<double>(n_expert),
      1.0);
  EXPECT_EQ(w["dense_bytes"].get<uint64_t>() + w["routed_expert_bytes"].get<uint64_t>() +
                w["embedding_bytes"].get<uint64_t>() + w["not_counted_bytes"].get<uint64_t>(),
            total);
  EXPECT_EQ(j["active_weight_bytes_per_token"].get<uint64_t>(),
            w["dense_bytes"].get<uint64_t>() + w["routed_expert_active_bytes"].get<uint64_t>() +
                w["embedding_active_bytes"].get<uint64_t>());
}

TEST_F(CliBenchTest, BadArgumentsAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {{"-r", "0"},
                                                       {"-p", "abc"},
                                                       {"-p", "0", "-n", "0"},
                                                       {"-t", "-1"},
                                                       {"-b", "0"},
                                                       {"--frobnicate"},
                                                       {"stray"},
                                                       {"--bandwidth-mib", "0"},
                                                       {"-n", "4,-2"},
                                                       {"-d", "2000000000"},
                                                       {"--base-depth", "-1"},
                                                       {"-d", "4", "--base-depth", "4"},
                                                       {"-n", "16777216"}};
  for (const std::vector<std::string>& extra : cases) {
    std::vector<std::string> args = {"bench", "-m", model_};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << extra[0];
    EXPECT_NE(r.err.find("fathom bench:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
  }
  const CliResult help = RunCli({"bench", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("LLAMA_BENCH"), std::string::npos);
  const CliResult missing = RunCli({"bench", "-m", "/nonexistent/model.gguf", "--no-bandwidth"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot load model"), std::string::npos) << missing.err;
}

// A fake llama-bench: records its arguments, prints canned JSON. The ratios are fathom's medians
// over the medians of llama-bench's samples.
TEST_F(CliBenchTest, FakeLlamaBenchGivesRatios) {
  const std::string args_file = TempFile("llama-bench-args.txt");
  const std::string json_file = TempFile("llama-bench.json");
  std::ofstream(json_file) << kCannedLlamaBench;
  setenv("LLAMA_BENCH",
         Script("echo \"$@\" > '" + args_file + "'\necho 'log line' >&2\ncat '" + json_file + "'\n")
             .c_str(),
         1);
  const CliResult r = RunCli({"bench", "--json", "-m", model_, "-p", "16", "-n", "8", "-r", "2",
                              "-t", "1", "--no-bandwidth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::ReadFile(args_file), "-m " + model_ + " -t 1 -p 16 -n 8 -r 2 -o json\n");
  const Json j = ParseJsonOut(r);
  EXPECT_EQ(j["llama_bench"]["status"], "ok");
  EXPECT_EQ(j["llama_bench"]["build_commit"], "abc1234");
  EXPECT_DOUBLE_EQ(j["llama_pp_tokens_per_s"].get<double>(), 200.0);  // median of 100, 330, 200
  EXPECT_DOUBLE_EQ(j["llama_tg_tokens_per_s"].get<double>(), 20.0);   // median of 10, 30
  const double pp = j["pp_tokens_per_s"].get<double>(), tg = j["tg_tokens_per_s"].get<double>();
  EXPECT_DOUBLE_EQ(j["pp_ratio"].get<double>(), pp / 200.0);
  EXPECT_DOUBLE_EQ(j["tg_ratio"].get<double>(), tg / 20.0);
  EXPECT_DOUBLE_EQ(j["tests"][0]["ratio"].get<double>(), pp / 200.0);
  EXPECT_DOUBLE_EQ(j["tests"][1]["llama_avg_ts"].get<double>(), 21.0);
  EXPECT_EQ(j["tests"][1]["llama_samples_ts"], Json::array({10.0, 30.0}));

  // The table shows llama.cpp's columns and the ratio.
  const CliResult t = RunCli({"bench", "-m", model_, "-p", "16", "-n", "8", "-r", "1", "-t", "1",
                              "-b", "8", "--no-bandwidth"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("fathom / llama.cpp"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("| 200.00 | 100.00 - 330.00 |"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("(build abc1234)"), std::string::npos) << t.out;
  EXPECT_EQ(testing::ReadFile(args_file),
            "-m " + model_ + " -t 1 -p 16 -n 8 -r 1 -o json -b 8 -ub 8\n");
}

// -d: the tests run after that many cached tokens; llama-bench gets -d too.
TEST_F(CliBenchTest, DepthRunsTheTestsAfterACachedContext) {
  const std::string args_file = TempFile("llama-bench-args.txt");
  const std::string json_file = TempFile("llama-bench.json");
  std::ofstream(json_file) << kCannedLlamaBench;
  setenv("LLAMA_BENCH",
         Script("echo \"$@\" > '" + args_file + "'\ncat '" + json_file + "'\n").c_str(), 1);
  const CliResult r = RunCli({"bench", "--json", "-m", model_, "-p", "16", "-n", "8", "-r", "2",
                              "-t", "1", "-d", "100", "--no-bandwidth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::ReadFile(args_file),
            "-m " + model_ + " -t 1 -p 16 -n 8 -r 2 -o json -d 100\n");
  const Json j = ParseJsonOut(r);
  EXPECT_EQ(j["depth"], 100);
  EXPECT_EQ(j["tests"][0]["test"], "pp16 @ d100");
  EXPECT_EQ(j["tests"][1]["n_depth"], 100);
  EXPECT_TRUE(PositiveNumber(j, "pp_tokens_per_s"));
  EXPECT_TRUE(PositiveNumber(j, "tg_tokens_per_s"));
  // A negative depth is a usage error.
  const CliResult bad = RunCli({"bench", "-m", model_, "-d", "-1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("-d must be >= 0"), std::string::npos) << bad.err;
}

TEST_F(CliBenchTest, BrokenLlamaBenchIsReportedNotFatal) {
  struct Case {
    std::string binary;
    std::string expected;  // in the reported error
  };
  const std::vector<Case> cases = {
      {"/nonexistent/llama-bench", "/nonexistent/llama-bench"},
      {Script("echo 'error: failed to load model' >&2\nexit 3\n"), "status 3"},
      {Script("echo 'error: failed to load model' >&2\nexit 3\n"), "failed to load model"},
      {Script("echo 'this is not json'\n"), "not valid JSON"},
      {Script("kill -9 $$\n"), "signal 9"},
  };
  for (const Case& c : cases) {
    setenv("LLAMA_BENCH", c.binary.c_str(), 1);
    const CliResult r = RunCli({"bench", "--json", "-m", model_, "-p", "4", "-n", "2", "-r", "1",
                                "-t", "1", "--no-bandwidth"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Json j = ParseJsonOut(r);
    EXPECT_TRUE(PositiveNumber(j, "pp_tokens_per_s"));
    EXPECT_EQ(j["llama_bench"]["status"], "failed");
    const std::string error = j["llama_bench"].value("error", "");
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
    EXPECT_NE(r.err.find("LLAMA_BENCH=" + c.binary), std::string::npos) << r.err;
    EXPECT_TRUE(j["tg_ratio"].is_null());
  }
  // The table says so too.
  setenv("LLAMA_BENCH", "/nonexistent/llama-bench", 1);
  const CliResult t =
      RunCli({"bench", "-m", model_, "-p", "4", "-n", "2", "-r", "1", "-t", "1", "--no-bandwidth"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("llama.cpp: LLAMA_BENCH=/nonexistent/llama-bench failed"), std::string::npos)
      << t.out;
}

// A Hugging Face folder: measured, MTP layer not counted, llama-bench not run on it.
TEST_F(CliBenchTest, HuggingFaceFolder) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/config.json");
  setenv("LLAMA_BENCH", Script("exit 0\n").c_str(), 1);
  const CliResult r = RunCli({"bench", "--json", "-m", FixturePath("deepseek/v3-tiny"), "-p", "4",
                              "-n", "2", "-r", "1", "-t", "1", "--no-bandwidth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = ParseJsonOut(r);
  EXPECT_TRUE(PositiveNumber(j, "tg_tokens_per_s"));
  EXPECT_GT(j["weights"]["not_counted_bytes"].get<uint64_t>(), 0u);  // the MTP layer
  EXPECT_GT(j["weights"]["routed_expert_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["llama_bench"]["status"], "failed");
  EXPECT_NE(j["llama_bench"].value("error", "").find("GGUF"), std::string::npos);
}

}  // namespace
}  // namespace fathom
