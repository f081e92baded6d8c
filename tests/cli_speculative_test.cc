// `fathom convert` and `fathom run --mtp N --stats` end to end: v3-tiny's Hugging Face folder
// converted to GGUF keeps its MTP layer (the GGUF's MTP logits equal the folder's), and greedy
// generation with --mtp 1/2/3 from the folder and from the converted file prints exactly the
// tokens plain greedy prints, with the speculation statistics on stderr.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

using testing::CliResult;
using testing::FixturePath;
using testing::RunCli;

// Same weights, same arithmetic except summation order (see model_deepseek_export_test).
constexpr float kSameWeightsTolerance = 1e-4f;

std::vector<float> ReadFloats(const std::string& path) {
  const std::string bytes = testing::ReadFile(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

std::vector<int32_t> OutputIds(const CliResult& r) {
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("output_ids")) return {};
  return j["output_ids"].get<std::vector<int32_t>>();
}

class CliSpeculativeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FATHOM_REQUIRE_CLI();
    FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/config.json");
    folder_ = FixturePath("deepseek/v3-tiny");
    gguf_ = testing::TempPath("v3-tiny-mtp.gguf");
  }
  void TearDown() override {
    if (!gguf_.empty()) unlink(gguf_.c_str());
  }
  std::string folder_, gguf_;
};

TEST_F(CliSpeculativeTest, ConvertKeepsMtpAndSpeculationMatchesGreedy) {
  CliResult c = RunCli({"convert", "-i", folder_, "-o", gguf_});
  ASSERT_EQ(c.exit_code, 0) << c.err;

  // The MTP logits of the converted file are the folder's.
  const std::string ids = "0,721,859,350,709,273,222,191,130,673";
  std::vector<std::vector<float>> mtp;
  for (const std::string& model : {folder_, gguf_}) {
    const std::string logits = testing::TempPath("logits.f32"), m = testing::TempPath("mtp.f32");
    const CliResult e = RunCli(
        {"eval", "-m", model, "--tokens", ids, "--logits-out", logits, "--mtp-logits-out", m});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    mtp.push_back(ReadFloats(m));
    unlink(logits.c_str());
    unlink(m.c_str());
  }
  ASSERT_EQ(mtp[0].size(), 9u * 1024u);  // rows 0..8 of 10 tokens
  ASSERT_EQ(mtp[1].size(), mtp[0].size());
  float diff = 0;
  for (size_t i = 0; i < mtp[0].size(); ++i)
    diff = std::max(diff, std::fabs(mtp[0][i] - mtp[1][i]));
  EXPECT_LT(diff, kSameWeightsTolerance);

  // Greedy with --mtp 1/2/3 from both prints plain greedy's tokens.
  const std::vector<std::string> common = {"--prompt-ids", "0,5,17,300", "-n",     "20",
                                           "--temp",       "0",          "--json", "--ignore-eos"};
  std::vector<std::string> plain_args = {"run", "-m", folder_};
  plain_args.insert(plain_args.end(), common.begin(), common.end());
  const CliResult plain = RunCli(plain_args);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::vector<int32_t> want = OutputIds(plain);
  ASSERT_EQ(want.size(), 20u) << plain.out;
  for (const std::string& model : {folder_, gguf_}) {
    for (const char* n : {"1", "2", "3"}) {
      std::vector<std::string> args = {"run", "-m", model, "--mtp", n, "--stats"};
      args.insert(args.end(), common.begin(), common.end());
      const CliResult r = RunCli(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(OutputIds(r), want) << model << " --mtp " << n;
      EXPECT_NE(r.err.find("speculation (mtp):"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("tokens per main forward"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("depth " + std::string(n) + ":"), std::string::npos) << r.err;
    }
  }
}

TEST_F(CliSpeculativeTest, RefusalsAreClear) {
  // A model without an MTP layer (llama.cpp's converter output), a bad draft count, bad input.
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/model.gguf");
  CliResult r = RunCli({"run", "-m", FixturePath("deepseek/v3-tiny/model.gguf"), "--prompt-ids",
                        "0,5", "-n", "4", "--mtp", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("multi-token prediction"), std::string::npos) << r.err;
  r = RunCli({"run", "-m", folder_, "--prompt-ids", "0,5", "-n", "4", "--mtp", "4"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--mtp must be 1..3"), std::string::npos) << r.err;
  r = RunCli({"convert", "-i", folder_, "-o", gguf_, "--type", "Q9_9"});
  EXPECT_EQ(r.exit_code, 2);
  r = RunCli({"convert", "-i", FixturePath("deepseek/v3-tiny/config.json"), "-o", gguf_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fathom convert:"), std::string::npos) << r.err;
  r = RunCli({"convert", "-i", folder_});
  EXPECT_EQ(r.exit_code, 2);
}

// A quantized conversion keeps the MTP layer too and runs speculation.
TEST_F(CliSpeculativeTest, QuantizedConversionRunsSpeculation) {
  CliResult c = RunCli({"convert", "-i", folder_, "-o", gguf_, "--type", "Q8_0"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::vector<std::string> base = {"run", "-m",     gguf_, "--prompt-ids", "0,5,17,300",  "-n",
                                   "16",  "--temp", "0",   "--json",       "--ignore-eos"};
  const CliResult plain = RunCli(base);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  base.push_back("--mtp");
  base.push_back("2");
  const CliResult spec = RunCli(base);
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  EXPECT_EQ(OutputIds(spec), OutputIds(plain));
  EXPECT_EQ(OutputIds(plain).size(), 16u);
}

}  // namespace
}  // namespace fathom
