// The shipped demo model (examples/demo_model/fathom-demo-v3, docs/DEMO_MODEL.md) against its
// training code: main logits at every prompt position and MTP logits within 1e-3 of the PyTorch
// forward on the exported bf16 weights (examples/demo_model/golden, written by train/export.py),
// greedy tokens exact; its SentencePiece tokenizer.model against spm_encode (committed ids of a
// held-out sample, and the whole corpus when the `bible` and `spm_encode` programs are
// installed); `fathom run` without -m.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fathom/fathom.h"
#include "gtest/gtest.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

using testing::ExpectedTensor;

constexpr float kLogitTolerance = 1e-3f;
// train/export.py's PROMPTS, in order.
const char* const kPrompts[] = {"In the beginning God created", "And the LORD said unto Moses,",
                                "Blessed are the meek: for they"};

std::string DemoDir() { return FATHOM_DEMO_DIR; }
std::string ModelDir() { return DemoDir() + "/fathom-demo-v3"; }

float MaxAbsDiff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<int32_t> Ints(const ExpectedTensor& t) { return {t.ints.begin(), t.ints.end()}; }

std::vector<int32_t> ParseIds(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream in(line);
  int32_t v;
  while (in >> v) ids.push_back(v);
  return ids;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::shared_ptr<const Model> LoadDemo() {
  auto model = Model::Load(ModelDir());
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? *model : nullptr;
}

TEST(DemoModel, LoadsAsDeepSeekV3WithMtpAndTokenizer) {
  auto model = LoadDemo();
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->info().n_vocab, 2048);
  EXPECT_TRUE(model->tokenizer().has_text());
  EXPECT_EQ(model->tokenizer().bos(), 1);
  EXPECT_EQ(model->tokenizer().eos(), 2);
  auto ids = model->tokenizer().Encode("In the beginning");
  ASSERT_TRUE(ids.ok());
  ASSERT_FALSE(ids->empty());
  EXPECT_EQ((*ids)[0], 1) << "tokenizer_config.json add_bos_token";
  EXPECT_TRUE(Session::Create(model, {.n_ctx = 64, .mtp = true}).ok());
}

TEST(DemoModel, LogitsMtpAndGreedyMatchTrainingCode) {
  auto exp = testing::ReadSafetensors(DemoDir() + "/golden/demo_golden.safetensors");
  auto model = LoadDemo();
  ASSERT_NE(model, nullptr);
  const int64_t V = model->info().n_vocab;
  for (size_t i = 0; i < std::size(kPrompts); ++i) {
    SCOPED_TRACE(kPrompts[i]);
    std::string k(1, '.');
    k += std::to_string(i);
    const auto prompt = Ints(exp.at("prompt_tokens" + k));
    const auto gen = Ints(exp.at("gen_tokens" + k));
    const ExpectedTensor& logits = exp.at("logits" + k);
    const ExpectedTensor& mtp = exp.at("mtp_logits" + k);
    ASSERT_EQ(logits.shape[1], V);
    auto ids = model->tokenizer().Encode(kPrompts[i]);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, prompt) << "the tokenizer disagrees with sentencepiece";

    auto s = Session::Create(model, {.n_ctx = 128, .n_threads = 2, .mtp = true});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->Evaluate(prompt, true).ok());
    float worst = 0;
    for (size_t p = 0; p < prompt.size(); ++p) {
      worst =
          std::max(worst, MaxAbsDiff((*s)->logits(static_cast<int32_t>(p)), &logits.f32[p * V], V));
    }
    EXPECT_LT(worst, kLogitTolerance) << "main logits";
    std::printf("prompt %zu: main logits max |diff| %.3g\n", i, worst);
    // MTP rows 0..n-2 come with the prompt; row n-1 needs the first generated token.
    ASSERT_EQ((*s)->n_mtp_logits(), static_cast<int32_t>(prompt.size() - 1));
    worst = 0;
    for (int32_t r = 0; r < (*s)->n_mtp_logits(); ++r) {
      const int64_t p = (*s)->mtp_first_position() + r;
      worst = std::max(worst, MaxAbsDiff((*s)->mtp_logits(r), &mtp.f32[p * V], V));
    }
    ASSERT_TRUE((*s)->Evaluate({gen[0]}).ok());
    ASSERT_EQ((*s)->n_mtp_logits(), 1);
    ASSERT_EQ((*s)->mtp_first_position(), static_cast<int32_t>(prompt.size() - 1));
    worst = std::max(worst, MaxAbsDiff((*s)->mtp_logits(0), &mtp.f32[(prompt.size() - 1) * V], V));
    EXPECT_LT(worst, kLogitTolerance) << "MTP logits";
    std::printf("prompt %zu: MTP logits max |diff| %.3g\n", i, worst);

    auto g = Session::Create(model, {.n_ctx = 128, .n_threads = 1});
    ASSERT_TRUE(g.ok());
    GenerateOptions opt;
    opt.max_tokens = static_cast<int32_t>(gen.size());
    opt.sampler.temperature = 0;
    opt.stop_at_eos = false;
    auto out = (*g)->Generate(prompt, opt);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->tokens, gen);
  }
}

// Ids written by `spm_encode --output_format=id` at export time, one line per verse.
TEST(DemoTokenizer, HeldOutSampleMatchesSpmEncode) {
  auto model = LoadDemo();
  ASSERT_NE(model, nullptr);
  const auto text = Lines(testing::ReadFile(DemoDir() + "/golden/heldout_sample.txt"));
  const auto ids = Lines(testing::ReadFile(DemoDir() + "/golden/heldout_sample.ids"));
  ASSERT_EQ(text.size(), ids.size());
  ASSERT_GE(text.size(), 100u);
  for (size_t i = 0; i < text.size(); ++i) {
    auto got = model->tokenizer().Encode(text[i], {.add_bos = false});
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, ParseIds(ids[i])) << "line " << i + 1 << ": " << text[i];
  }
}

std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

// The whole training corpus as train/corpus.py cleans it, encoded by spm_encode at test time.
TEST(DemoTokenizer, WholeCorpusMatchesSpmEncode) {
  std::error_code ec;
  if (!std::filesystem::exists("/usr/bin/bible", ec) ||
      !std::filesystem::exists("/usr/bin/spm_encode", ec)) {
    // CI installs both (cmake/install_deps.sh): there the comparison must run.
    if (testing::RunningInCi()) FAIL() << "/usr/bin/bible or /usr/bin/spm_encode missing";
    GTEST_SKIP() << "needs the bible-kjv and sentencepiece packages (cmake/install_deps.sh)";
  }
  std::vector<std::string> verses;
  for (const std::string& line : Lines(RunCommand("/usr/bin/bible -l100000 Gen1:1-Rev22:21"))) {
    // "  <n> <text>" is a verse; other non-empty lines are chapter titles.
    size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == 0 || i == line.size() || !std::isdigit(static_cast<unsigned char>(line[i]))) continue;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    std::istringstream words(line.substr(i));
    std::string w, v;
    while (words >> w) {
      if (!v.empty()) v += ' ';
      v += w;
    }
    verses.push_back(v);
  }
  ASSERT_EQ(verses.size(), 31102u);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("fathom_demo_corpus_" + std::to_string(::getpid()) + ".txt"))
                               .string();
  {
    std::ofstream f(path);
    for (const std::string& v : verses) f << v << '\n';
  }
  const auto ids = Lines(RunCommand("/usr/bin/spm_encode --model=" + ModelDir() +
                                    "/tokenizer.model --output_format=id --input=" + path));
  std::filesystem::remove(path, ec);
  ASSERT_EQ(ids.size(), verses.size());
  auto model = LoadDemo();
  ASSERT_NE(model, nullptr);
  size_t tokens = 0;
  for (size_t i = 0; i < verses.size(); ++i) {
    auto got = model->tokenizer().Encode(verses[i], {.add_bos = false});
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, ParseIds(ids[i])) << "verse " << i + 1 << ": " << verses[i];
    tokens += got->size();
  }
  EXPECT_GT(tokens, 1000000u);
}

// nmt_nfkc (the tokenizer's precompiled normalizer map) on text that it changes: full-width and
// compatibility characters, ligatures, odd spaces and controls, malformed UTF-8.
TEST(DemoTokenizer, NormalizerMatchesSpmEncode) {
  std::error_code ec;
  if (!std::filesystem::exists("/usr/bin/spm_encode", ec)) {
    if (testing::RunningInCi()) FAIL() << "/usr/bin/spm_encode missing";
    GTEST_SKIP() << "needs the sentencepiece package (cmake/install_deps.sh)";
  }
  const std::vector<std::string> lines = {
      "\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3 full width \xEF\xBC\x91\xEF\xBC\x92",
      "\xEF\xAC\x81nd the \xEF\xAC\x82ock \xE2\x91\xA0 \xE2\x85\xA2 x\xC2\xB2",
      "caf\xC3\xA9 cafe\xCC\x81 \xC3\x85ngstr\xC3\xB6m \xE2\x84\xAB",
      "tab\there  two\xC2\xA0nbsp\xE2\x80\x83" "em\xE3\x80\x80ideographic",
      "ctrl\x01\x7F mid \xE2\x80\x8B zw \xEF\xBB\xBF bom",
      "   leading and trailing   ",
      "bad \xFF\xFE utf8 \xC3 end \xEF\xBF\xBD kept",
      "\xE3\x81\x8B\xE3\x82\x99 \xEF\xBD\xB6\xEF\xBE\x9E \xE1\x84\x80\xE1\x85\xA1"};
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("fathom_demo_norm_" + std::to_string(::getpid()) + ".txt"))
                               .string();
  {
    std::ofstream f(path, std::ios::binary);
    for (const std::string& l : lines) f << l << '\n';
  }
  const auto ids = Lines(RunCommand("/usr/bin/spm_encode --model=" + ModelDir() +
                                    "/tokenizer.model --output_format=id --input=" + path));
  std::filesystem::remove(path, ec);
  ASSERT_EQ(ids.size(), lines.size());
  auto model = LoadDemo();
  ASSERT_NE(model, nullptr);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto got = model->tokenizer().Encode(lines[i], {.add_bos = false});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, ParseIds(ids[i])) << "line " << i;
  }
}

// `fathom run` with no -m generates with the demo model ($FATHOM_DEMO_MODEL first).
TEST(DemoCli, RunWithoutModelUsesTheDemoModel) {
  FATHOM_REQUIRE_CLI();
  auto exp = testing::ReadSafetensors(DemoDir() + "/golden/demo_golden.safetensors");
  auto model = LoadDemo();
  ASSERT_NE(model, nullptr);
  const auto gen = Ints(exp.at("gen_tokens.0"));
  std::string want;
  for (int32_t t : gen) want += model->tokenizer().TokenToPiece(t).value();
  ASSERT_EQ(setenv("FATHOM_DEMO_MODEL", ModelDir().c_str(), 1), 0);
  testing::CliResult r = testing::RunCli(
      {"run", "-p", kPrompts[0], "-n", std::to_string(gen.size()), "--temp", "0", "--ignore-eos"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, want + "\n");
  ASSERT_EQ(setenv("FATHOM_DEMO_MODEL", "/nonexistent/demo", 1), 0);
  r = testing::RunCli({"run", "-p", "x", "-n", "1"});
  unsetenv("FATHOM_DEMO_MODEL");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot load model '/nonexistent/demo'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fathom
