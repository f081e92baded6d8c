// Tests of the `fathom` command-line program, run as a child process: golden greedy outputs on
// stories260K, `fathom eval` logits against llama.cpp's and a float64 reference on the
// quantization fixtures, and command-line error handling.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;
using ::fathom::testing::ReadSafetensors;

using ::fathom::testing::CliResult;
using ::fathom::testing::RunCli;
using ::fathom::testing::TempPath;

std::string Join(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(id);
  }
  return s;
}

// Reads a logits file written by `fathom eval` (little-endian float32).
std::vector<float> ReadLogits(const std::string& path) {
  const std::string bytes = ReadFile(path);
  std::vector<float> out(bytes.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

int64_t ArgMax(const float* row, int64_t n) { return std::max_element(row, row + n) - row; }

// ---- stories260K: llama.cpp's greedy continuations ------------------------------------------

constexpr char kStoriesModel[] = "stories260K/stories260K.gguf";
constexpr char kStoriesExpected[] = "stories260K/expected.json";

nlohmann::json StoriesCase(int index) {
  return nlohmann::json::parse(ReadFile(FixturePath(kStoriesExpected))).at("cases").at(index);
}

class CliStoriesGolden : public ::testing::TestWithParam<int> {};

TEST_P(CliStoriesGolden, GreedyJsonMatchesLlamaCpp) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesModel);
  FATHOM_REQUIRE_FIXTURE(kStoriesExpected);
  const nlohmann::json expected = StoriesCase(GetParam());
  const std::string prompt = expected.at("prompt");
  const CliResult r = RunCli(
      {"run", "-m", FixturePath(kStoriesModel), "-p", prompt, "-n", "64", "--temp", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json got = nlohmann::json::parse(r.out);
  EXPECT_EQ(got.at("prompt_ids"), expected.at("prompt_ids")) << "prompt: '" << prompt << "'";
  EXPECT_EQ(got.at("output_ids"), expected.at("output_ids")) << "prompt: '" << prompt << "'";
  EXPECT_EQ(got.at("text"), expected.at("output_text")) << "prompt: '" << prompt << "'";
}

INSTANTIATE_TEST_SUITE_P(AllCases, CliStoriesGolden, ::testing::Range(0, 5));

TEST(CliRun, StreamsTheSameText) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesModel);
  FATHOM_REQUIRE_FIXTURE(kStoriesExpected);
  const nlohmann::json expected = StoriesCase(0);
  const CliResult r = RunCli({"run", "-m", FixturePath(kStoriesModel), "-p",
                              expected.at("prompt").get<std::string>(), "-n", "64", "--temp", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected.at("output_text").get<std::string>() + "\n");
}

TEST(CliRun, PromptIdsGiveTheSameTokens) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesModel);
  FATHOM_REQUIRE_FIXTURE(kStoriesExpected);
  const nlohmann::json expected = StoriesCase(1);
  const CliResult r = RunCli({"run", "-m", FixturePath(kStoriesModel), "--prompt-ids",
                              Join(expected.at("prompt_ids").get<std::vector<int64_t>>()), "-n",
                              "64", "--temp", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("output_ids"), expected.at("output_ids"));
}

TEST(CliRun, SeededSamplingIsReproducible) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesModel);
  const std::vector<std::string> args = {"run",    "-m",      FixturePath(kStoriesModel),
                                         "-p",     "One day", "-n",
                                         "32",     "--seed",  "42",
                                         "--temp", "1.0",     "--json"};
  const CliResult a = RunCli(args);
  const CliResult b = RunCli(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(nlohmann::json::parse(a.out).at("output_ids").size(), 32u);
}

TEST(CliEval, StoriesLogitsPredictTheGreedyTokens) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesModel);
  FATHOM_REQUIRE_FIXTURE(kStoriesExpected);
  const nlohmann::json expected = StoriesCase(0);
  std::vector<int64_t> tokens = expected.at("prompt_ids").get<std::vector<int64_t>>();
  const size_t n_prompt = tokens.size();
  for (int64_t id : expected.at("output_ids").get<std::vector<int64_t>>()) tokens.push_back(id);
  const std::string logits_path = TempPath("logits");
  const CliResult r = RunCli({"eval", "-m", FixturePath(kStoriesModel), "--tokens", Join(tokens),
                              "--logits-out", logits_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<float> logits = ReadLogits(logits_path);
  unlink(logits_path.c_str());
  constexpr int64_t kVocab = 512;
  ASSERT_EQ(logits.size(), tokens.size() * kVocab);
  // Position i's logits predict token i+1; from the last prompt position on, that is the greedy
  // continuation.
  for (size_t i = n_prompt - 1; i + 1 < tokens.size(); ++i) {
    EXPECT_EQ(ArgMax(&logits[i * kVocab], kVocab), tokens[i + 1]) << "position " << i;
  }
}

// ---- llama.cpp quantization fixtures --------------------------------------------------------

// The "suggested tolerance" column of fixtures/llamacpp/README.md (2x the observed difference
// between llama.cpp, which rounds activations to the weight type's dot-product type, and an exact
// float64 forward), for every type the README lists; `shipped` = a model file is in the folder.
struct QuantFixture {
  const char* folder;
  const char* type;
  double tolerance;
  bool shipped;
};
constexpr QuantFixture kQuantFixtures[] = {
    {"qwen2-tiny", "F32", 0.0001, false},  {"qwen2-tiny", "F16", 0.0042, true},
    {"qwen2-tiny", "BF16", 0.034, true},   {"qwen2-tiny", "Q8_0", 0.16, true},
    {"qwen2-tiny", "Q4_0", 0.14, true},    {"qwen2-tiny", "Q4_1", 0.16, false},
    {"qwen2-tiny", "Q5_0", 0.14, true},    {"qwen2-tiny", "Q5_1", 0.16, false},
    {"qwen2-tiny", "Q2_K", 0.33, true},    {"qwen2-tiny", "Q3_K", 0.3, false},
    {"qwen2-tiny", "Q4_K", 0.35, true},    {"qwen2-tiny", "Q5_K", 0.33, false},
    {"qwen2-tiny", "Q6_K", 0.3, true},     {"qwen2-tiny", "IQ4_NL", 0.14, true},
    {"qwen2-tiny", "IQ4_XS", 0.44, false}, {"qwen2-tiny", "Q4_K_M", 0.35, true},
    {"llama3-tiny", "F32", 0.0001, false}, {"llama3-tiny", "F16", 0.0037, false},
    {"llama3-tiny", "BF16", 0.031, false}, {"llama3-tiny", "Q8_0", 0.12, true},
    {"llama3-tiny", "Q4_0", 0.13, false},  {"llama3-tiny", "Q4_1", 0.12, true},
    {"llama3-tiny", "Q5_0", 0.11, false},  {"llama3-tiny", "Q5_1", 0.11, true},
    {"llama3-tiny", "Q2_K", 0.27, false},  {"llama3-tiny", "Q3_K", 0.23, true},
    {"llama3-tiny", "Q4_K", 0.23, false},  {"llama3-tiny", "Q5_K", 0.24, true},
    {"llama3-tiny", "Q6_K", 0.23, false},  {"llama3-tiny", "IQ4_NL", 0.1, false},
    {"llama3-tiny", "IQ4_XS", 0.28, true}, {"llama3-tiny", "Q4_K_M", 0.25, true},
};
// Names a case in gtest's output ("qwen2-tiny/Q8_0").
void PrintTo(const QuantFixture& f, std::ostream* os) { *os << f.folder << "/" << f.type; }

// With FATHOM_MATMUL=exact fathom computes in float32 without llama.cpp's activation rounding, so
// it must match the float64 reference (over exactly dequantized weights) closely; the README
// observes ~1e-5.
constexpr double kRefF64Tolerance = 1e-3;

std::vector<QuantFixture> ShippedQuantFixtures() {
  std::vector<QuantFixture> out;
  for (const QuantFixture& f : kQuantFixtures) {
    if (f.shipped) out.push_back(f);
  }
  return out;
}

// Largest |a - b| over rows [0, rows) of two row-major [*, n_vocab] arrays.
double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b, int64_t rows,
                  int64_t n_vocab, int64_t* where) {
  double worst = 0;
  for (int64_t i = 0; i < rows * n_vocab; ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= worst)) {  // also catches NaN
      worst = std::isnan(d) ? INFINITY : d;
      *where = i;
    }
  }
  return worst;
}

class CliLlamaCpp : public ::testing::TestWithParam<QuantFixture> {};

TEST_P(CliLlamaCpp, EvalLogitsAndGreedyTokens) {
  FATHOM_REQUIRE_CLI();
  const QuantFixture& f = GetParam();
  const std::string dir = std::string("llamacpp/") + f.folder + "/";
  const std::string model = dir + "model-" + f.type + ".gguf";
  const std::string expected_file = dir + "expected-" + f.type + ".safetensors";
  FATHOM_REQUIRE_FIXTURE(model);
  FATHOM_REQUIRE_FIXTURE(expected_file);
  auto expected = ReadSafetensors(FixturePath(expected_file));
  ASSERT_TRUE(expected.count("prompt_tokens") && expected.count("prefill_logits") &&
              expected.count("gen_tokens") && expected.count("ref_f64_logits"));
  const std::vector<int64_t>& prompt = expected["prompt_tokens"].ints;
  const auto& prefill = expected["prefill_logits"];
  const auto& ref = expected["ref_f64_logits"];
  const int64_t n = static_cast<int64_t>(prompt.size());
  ASSERT_EQ(prefill.shape.size(), 2u);
  ASSERT_EQ(prefill.shape[0], n);
  const int64_t n_vocab = prefill.shape[1];

  // One batched prefill, all positions' logits, in both matmul modes: FATHOM_MATMUL=exact
  // (dequantized weights, float activations) must match the float64 reference; the default int8
  // mode rounds activations as llama.cpp does and must match llama.cpp's logits.
  for (const bool exact : {true, false}) {
    SCOPED_TRACE(exact ? "FATHOM_MATMUL=exact" : "default (int8) matmul");
    if (exact) {
      setenv("FATHOM_MATMUL", "exact", 1);
    } else {
      unsetenv("FATHOM_MATMUL");
    }
    const std::string logits_path = TempPath("logits");
    const CliResult r = RunCli(
        {"eval", "-m", FixturePath(model), "--tokens", Join(prompt), "--logits-out", logits_path});
    unsetenv("FATHOM_MATMUL");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<float> logits = ReadLogits(logits_path);
    unlink(logits_path.c_str());
    ASSERT_EQ(static_cast<int64_t>(logits.size()), n * n_vocab);
    int64_t where = 0;
    const double vs_llama = MaxAbsDiff(logits, prefill.f32, n, n_vocab, &where);
    EXPECT_LE(vs_llama, f.tolerance) << "vs llama.cpp's prefill_logits, worst at position "
                                     << where / n_vocab << " token " << where % n_vocab;
    if (exact) {
      const double vs_ref = MaxAbsDiff(logits, ref.f32, n, n_vocab, &where);
      EXPECT_LE(vs_ref, kRefF64Tolerance) << "vs ref_f64_logits, worst at position "
                                          << where / n_vocab << " token " << where % n_vocab;
    }
  }

  // 16 greedy tokens; llama.cpp's loop does not stop at end-of-generation tokens.
  const CliResult g = RunCli({"run", "-m", FixturePath(model), "--prompt-ids", Join(prompt), "-n",
                              "16", "--temp", "0", "--ignore-eos", "--json"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(nlohmann::json::parse(g.out).at("output_ids").get<std::vector<int64_t>>(),
            expected["gen_tokens"].ints);
}

INSTANTIATE_TEST_SUITE_P(Shipped, CliLlamaCpp, ::testing::ValuesIn(ShippedQuantFixtures()),
                         [](const ::testing::TestParamInfo<QuantFixture>& info) {
                           std::string name =
                               std::string(info.param.folder) + "_" + info.param.type;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Every model file in the fixture folders is one of the cases above.
TEST(CliLlamaCppFixtures, EveryModelFileIsTested) {
  FATHOM_REQUIRE_FIXTURE("llamacpp/README.md");
  for (const char* folder : {"qwen2-tiny", "llama3-tiny"}) {
    const std::string dir = std::string("llamacpp/") + folder;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(FixturePath(dir), ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with("model-") || !name.ends_with(".gguf")) continue;
      const std::string type = name.substr(6, name.size() - 6 - 5);
      const bool listed = std::any_of(
          std::begin(kQuantFixtures), std::end(kQuantFixtures), [&](const QuantFixture& f) {
            return f.shipped && folder == std::string(f.folder) && type == f.type;
          });
      EXPECT_TRUE(listed) << dir << "/" << name << " is not in kQuantFixtures";
    }
    EXPECT_FALSE(ec) << "cannot list " << FixturePath(dir) << ": " << ec.message();
  }
}

// ---- other subcommands ----------------------------------------------------------------------

// ---- DeepSeek: Hugging Face folders and GGUF, against DeepSeek's reference outputs ----------

class CliDeepSeek : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(CliDeepSeek, EvalRunAndMtp) {
  FATHOM_REQUIRE_CLI();
  const auto& [model_rel, fixture] = GetParam();
  FATHOM_REQUIRE_FIXTURE(fixture + "/expected.safetensors");
  auto expected = ReadSafetensors(FixturePath(fixture + "/expected.safetensors"));
  const std::vector<int64_t>& prompt = expected["prompt_tokens"].ints;
  const std::vector<int64_t>& gen = expected["gen_tokens"].ints;
  const auto& prefill = expected["prefill_logits"];
  const int64_t n = static_cast<int64_t>(prompt.size()), n_vocab = prefill.shape[1];
  const bool has_mtp =
      expected.count("mtp_logits") > 0 && model_rel.find(".gguf") == std::string::npos;

  // Prompt + all generated tokens, so that every MTP row of the fixture has its next token.
  std::vector<int64_t> all = prompt;
  all.insert(all.end(), gen.begin(), gen.end());
  const std::string logits_path = TempPath("ds_logits"), mtp_path = TempPath("ds_mtp");
  std::vector<std::string> args = {
      "eval", "-m", FixturePath(model_rel), "--tokens", Join(all), "--logits-out", logits_path};
  if (has_mtp) {
    args.push_back("--mtp-logits-out");
    args.push_back(mtp_path);
  }
  const CliResult r = RunCli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<float> logits = ReadLogits(logits_path);
  const std::vector<float> mtp = ReadLogits(mtp_path);
  unlink(logits_path.c_str());
  unlink(mtp_path.c_str());
  ASSERT_EQ(static_cast<int64_t>(logits.size()), static_cast<int64_t>(all.size()) * n_vocab);
  int64_t where = 0;
  EXPECT_LE(MaxAbsDiff(logits, prefill.f32, n, n_vocab, &where), 1e-3) << "prefill, at " << where;
  // Rows n-1 .. n+14 are the logits that chose the generated tokens.
  const std::vector<float> tail(logits.begin() + (n - 1) * n_vocab, logits.end() - n_vocab);
  EXPECT_LE(MaxAbsDiff(tail, expected["gen_logits"].f32, static_cast<int64_t>(gen.size()), n_vocab,
                       &where),
            1e-3)
      << "decode rows, at " << where;
  if (has_mtp) {
    const auto& want = expected["mtp_logits"];
    ASSERT_EQ(static_cast<int64_t>(mtp.size()), want.shape[0] * n_vocab);
    EXPECT_LE(MaxAbsDiff(mtp, want.f32, want.shape[0], n_vocab, &where), 1e-3)
        << "MTP, at " << where;
  }

  const CliResult g = RunCli({"run", "-m", FixturePath(model_rel), "--prompt-ids", Join(prompt),
                              "-n", "16", "--temp", "0", "--ignore-eos", "--json"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(nlohmann::json::parse(g.out).at("output_ids").get<std::vector<int64_t>>(), gen);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, CliDeepSeek,
    ::testing::Values(std::make_pair("deepseek/v3-tiny", "deepseek/v3-tiny"),
                      std::make_pair("deepseek/v3-tiny/model.gguf", "deepseek/v3-tiny"),
                      std::make_pair("deepseek/v3-tiny-fp8", "deepseek/v3-tiny-fp8"),
                      std::make_pair("deepseek/v2-lite-tiny", "deepseek/v2-lite-tiny"),
                      std::make_pair("deepseek/v2-lite-tiny/bf16", "deepseek/v2-lite-tiny"),
                      std::make_pair("deepseek/v2-lite-tiny/model.gguf", "deepseek/v2-lite-tiny")),
    [](const auto& info) {
      std::string name = info.param.first.substr(9);
      for (char& c : name) {
        if (c == '-' || c == '/' || c == '.') c = '_';
      }
      return name;
    });

TEST(CliTokenize, Json) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesModel);
  const CliResult r =
      RunCli({"tokenize", "-m", FixturePath(kStoriesModel), "-p", "Once upon a time", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out),
            nlohmann::json::parse(R"({"ids": [1, 403, 407, 261, 378]})"));
  const CliResult plain =
      RunCli({"tokenize", "-m", FixturePath(kStoriesModel), "-p", "Once upon a time", "--no-bos"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "403 407 261 378\n");
}

TEST(CliInfo, PrintsModelInfo) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesModel);
  const CliResult r = RunCli({"info", "-m", FixturePath(kStoriesModel), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info.at("architecture"), "llama");
  EXPECT_EQ(info.at("n_vocab"), 512);
  EXPECT_EQ(info.at("n_layer"), 5);
  EXPECT_EQ(info.at("n_embd"), 64);
  EXPECT_EQ(info.at("bos"), 1);
  EXPECT_EQ(info.at("eos"), 2);
  const CliResult text = RunCli({"info", "-m", FixturePath(kStoriesModel)});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("architecture"), std::string::npos);
}

TEST(CliHelp, TopLevelAndPerCommand) {
  FATHOM_REQUIRE_CLI();
  const CliResult top = RunCli({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* command : {"run", "eval", "tokenize", "info"}) {
    EXPECT_NE(top.out.find(command), std::string::npos) << command;
    const CliResult r = RunCli({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find(std::string("usage: fathom ") + command), std::string::npos) << r.out;
  }
  EXPECT_NE(RunCli({"run", "--help"}).out.find("--prompt-ids"), std::string::npos);
  const CliResult version = RunCli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_FALSE(version.out.empty());
}

// ---- errors: non-zero exit and a message on stderr --------------------------------------------

void ExpectFailure(const std::vector<std::string>& args, int exit_code,
                   const std::string& message) {
  const CliResult r = RunCli(args);
  std::string command;
  for (const std::string& a : args) command += " " + a;
  EXPECT_EQ(r.exit_code, exit_code) << "fathom" << command << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos)
      << "fathom" << command << "\nstderr: " << r.err << "\nexpected to contain: " << message;
}

TEST(CliErrors, MissingModelFile) {
  FATHOM_REQUIRE_CLI();
  ExpectFailure({"run", "-m", "/nonexistent/model.gguf", "-p", "hi"}, 1, "cannot load model");
  ExpectFailure({"info", "-m", "/nonexistent/model.gguf"}, 1, "cannot load model");
  ExpectFailure(
      {"eval", "-m", "/nonexistent/model.gguf", "--tokens", "1", "--logits-out", "/dev/null"}, 1,
      "cannot load model");
}

TEST(CliErrors, NotAModelFile) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesExpected);
  ExpectFailure({"info", "-m", FixturePath(kStoriesExpected)}, 1, "cannot load model");
}

TEST(CliErrors, BadCommandLines) {
  FATHOM_REQUIRE_CLI();
  const std::string m = "/nonexistent/model.gguf";  // never loaded: arguments are checked first
  ExpectFailure({}, 2, "usage: fathom");
  ExpectFailure({"frobnicate"}, 2, "unknown command 'frobnicate'");
  ExpectFailure({"info"}, 2, "missing required option --model");
  ExpectFailure({"run", "-m", m}, 2, "give -p/--prompt or --prompt-ids");
  ExpectFailure({"run", "-m", m, "-p", "hi", "--prompt-ids", "1"}, 2, "give only one of");
  ExpectFailure({"run", "-m", m, "-p", "hi", "--bogus"}, 2, "unknown option '--bogus'");
  ExpectFailure({"run", "-m", m, "-p", "hi", "stray"}, 2, "unexpected argument 'stray'");
  ExpectFailure({"run", "-m", m, "-p"}, 2, "needs a value");
  ExpectFailure({"run", "-m", m, "-p", "hi", "-n", "abc"}, 2, "invalid value 'abc'");
  ExpectFailure({"run", "-m", m, "-p", "hi", "-n", "12x"}, 2, "invalid value '12x'");
  ExpectFailure({"run", "-m", m, "-p", "hi", "-n", ""}, 2, "invalid value ''");
  ExpectFailure({"run", "-m", m, "-p", "hi", "-n", "99999999999"}, 2, "invalid value");
  ExpectFailure({"run", "-m", m, "-p", "hi", "-n", "-3"}, 2, "-n must be >= 0");
  ExpectFailure({"run", "-m", m, "-p", "hi", "--temp", "warm"}, 2, "invalid value 'warm'");
  ExpectFailure({"run", "-m", m, "-p", "hi", "--temp", "nan"}, 2, "invalid value 'nan'");
  ExpectFailure({"run", "-m", m, "-p", "hi", "--top-p", "0.9.5"}, 2, "invalid value '0.9.5'");
  ExpectFailure({"run", "-m", m, "-p", "hi", "--seed", "-1"}, 2, "invalid value '-1'");
  ExpectFailure({"run", "-m", m, "-p", "hi", "-t", "2.5"}, 2, "invalid value '2.5'");
  ExpectFailure({"run", "-m", m, "--prompt-ids", "1,,2"}, 2, "invalid value '1,,2'");
  ExpectFailure({"run", "-m", m, "--prompt-ids", "1,-2"}, 2, "invalid value '1,-2'");
  ExpectFailure({"run", "-m", m, "--json=yes", "-p", "hi"}, 2, "takes no value");
  ExpectFailure({"eval", "-m", m, "--tokens", "1,2"}, 2, "missing required option --logits-out");
  ExpectFailure({"eval", "-m", m, "--logits-out", "x.bin"}, 2, "missing required option --tokens");
  ExpectFailure({"tokenize", "-m", m}, 2, "give exactly one of -p/--prompt and --jsonl");
}

TEST(CliErrors, RuntimeFailures) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kStoriesModel);
  const std::string m = FixturePath(kStoriesModel);
  ExpectFailure({"eval", "-m", m, "--tokens", "1,600", "--logits-out", "/dev/null"}, 1, "600");
  ExpectFailure({"run", "-m", m, "--prompt-ids", "1,512", "-n", "4"}, 1, "512");
  ExpectFailure({"eval", "-m", m, "--tokens", "1,2", "--logits-out", "/nonexistent/dir/x.bin"}, 1,
                "cannot write");
  ExpectFailure({"eval", "-m", m, "--tokens", "1,2,3", "-c", "2", "--logits-out", "/dev/null"}, 1,
                "context");
}

}  // namespace
}  // namespace fathom
