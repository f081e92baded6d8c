// Tests of `fathom make-model` and `fathom quantize`: small random-weight models of the qwen2 and
// deepseek2 presets (shapes scaled down with --set) load in fathom and run a forward pass; the
// tensor layout and metadata follow llama.cpp's names; quantize keeps the model usable.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "gtest/gtest.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

using ::fathom::testing::CliResult;
using ::fathom::testing::FixtureExists;
using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;
using ::fathom::testing::RunCli;
using ::fathom::testing::TempPath;

constexpr char kVocab[] = "vocab/ggml-vocab-deepseek-coder.gguf";  // 32256 tokens

std::vector<float> Logits(const std::string& model, const std::string& ids) {
  const std::string out = TempPath("mm-logits");
  CliResult r = RunCli({"eval", "-m", model, "--tokens", ids, "--logits-out", out, "-t", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = ReadFile(out);
  std::vector<float> v(bytes.size() / 4);
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

void ExpectSane(const std::vector<float>& logits, int64_t n_tokens, int64_t n_vocab) {
  ASSERT_EQ(static_cast<int64_t>(logits.size()), n_tokens * n_vocab);
  double sum = 0, sq = 0;
  for (float x : logits) {
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    sq += static_cast<double>(x) * x;
  }
  const double mean = sum / logits.size(), sd = std::sqrt(sq / logits.size() - mean * mean);
  EXPECT_GT(sd, 1e-3);  // not constant
  EXPECT_LT(sd, 100);   // activations stay in range
}

TEST(MakeModelTest, Qwen2ShapeLoadsAndRuns) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kVocab);
  const std::string path = TempPath("mm-qwen2") + ".gguf";
  CliResult r = RunCli({"make-model", "-p", "r1-distill-qwen-1.5b", "-o", path, "--vocab",
                        FixturePath(kVocab), "--set", "hidden=128,heads=2,kv_heads=1,ffn=256",
                        "--layers", "2", "-t", "Q8_0", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto g = GgufFile::Open(path);
  ASSERT_TRUE(g.ok()) << g.status();
  // The real model's vocabulary size: the 32256 tokens are padded with [PADn] tokens.
  auto tokens = (*g)->GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->size(), 151936u);
  EXPECT_EQ(tokens->back(), "[PAD151935]");
  EXPECT_EQ(*(*g)->GetString("general.architecture"), "qwen2");
  EXPECT_EQ(*(*g)->GetInt("general.file_type"), 7);
  EXPECT_EQ(*(*g)->GetInt("qwen2.attention.head_count_kv"), 1);
  auto q = (*g)->GetTensor("blk.1.attn_q.weight");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->dims, (std::vector<int64_t>{128, 128}));
  EXPECT_EQ(q->type, DType::kQ8_0);
  auto kb = (*g)->GetTensor("blk.0.attn_k.bias");
  ASSERT_TRUE(kb.ok());
  EXPECT_EQ(kb->dims, (std::vector<int64_t>{64}));
  EXPECT_EQ(kb->type, DType::kF32);
  EXPECT_EQ((*g)->GetTensor("output.weight")->dims, (std::vector<int64_t>{128, 151936}));
  ExpectSane(Logits(path, "1,20,300,4000"), 4, 151936);

  // Same seed, same bytes; another seed, other weights.
  const std::string again = TempPath("mm-qwen2b") + ".gguf";
  r = RunCli({"make-model", "-o", again, "--vocab", FixturePath(kVocab), "--set",
              "hidden=128,heads=2,kv_heads=1,ffn=256", "--layers", "2", "-t", "Q8_0", "--threads",
              "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(path), ReadFile(again));

  // fathom quantize on an F32 file of the same shape gives a working Q4_K_M mix.
  const std::string f32 = TempPath("mm-qwen2-f32") + ".gguf";
  const std::string q4 = TempPath("mm-qwen2-q4km") + ".gguf";
  r = RunCli({"make-model", "-o", f32, "--vocab", FixturePath(kVocab), "--set",
              "hidden=256,heads=4,kv_heads=2,ffn=512,vocab=32256", "--layers", "2", "-t", "F32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCli({"quantize", "-q", f32, q4, "Q4_K_M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto g4 = GgufFile::Open(q4);
  ASSERT_TRUE(g4.ok());
  EXPECT_EQ(*(*g4)->GetInt("general.file_type"), 15);
  EXPECT_EQ((*g4)->GetTensor("output.weight")->type, DType::kQ6_K);
  // use_more_bits(i, 2) holds for layer 1 only.
  EXPECT_EQ((*g4)->GetTensor("blk.1.attn_v.weight")->type, DType::kQ6_K);
  EXPECT_EQ((*g4)->GetTensor("blk.0.attn_v.weight")->type, DType::kQ4_K);
  EXPECT_EQ((*g4)->GetTensor("blk.0.attn_q.weight")->type, DType::kQ4_K);
  const std::vector<float> a = Logits(f32, "1,20,300"), b = Logits(q4, "1,20,300");
  ExpectSane(a, 3, 32256);
  ExpectSane(b, 3, 32256);
  for (const std::string& p : {path, again, f32, q4}) std::filesystem::remove(p);
}

TEST(MakeModelTest, DeepSeekV2LiteShapeLoadsAndRuns) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kVocab);
  const std::string path = TempPath("mm-v2") + ".gguf";
  // Expert rows of 192 values: Q4_K / Q6_K fall back to Q5_0 / Q8_0 as in the real V2-Lite.
  CliResult r = RunCli({"make-model", "-p", "deepseek-v2-lite", "-o", path, "--vocab",
                        FixturePath(kVocab), "--set",
                        "hidden=256,heads=4,kv_lora=64,experts=8,experts_used=2,"
                        "expert_ffn=192,ffn=512,vocab=32256",
                        "--layers", "3", "-t", "Q4_K_M", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto g = GgufFile::Open(path);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(*(*g)->GetInt("deepseek2.leading_dense_block_count"), 1);
  EXPECT_EQ((*g)->GetTensor("blk.0.ffn_down.weight")->type, DType::kQ4_K);
  EXPECT_EQ((*g)->GetTensor("blk.1.ffn_down_exps.weight")->dims,
            (std::vector<int64_t>{192, 256, 8}));
  EXPECT_EQ((*g)->GetTensor("blk.1.ffn_down_exps.weight")->type, DType::kQ5_0);
  EXPECT_EQ((*g)->GetTensor("blk.2.ffn_down_exps.weight")->type, DType::kQ8_0);
  EXPECT_EQ((*g)->GetTensor("blk.1.ffn_gate_inp.weight")->type, DType::kF32);
  EXPECT_EQ((*g)->GetTensor("blk.1.attn_kv_b.weight")->dims, (std::vector<int64_t>{64, 4 * 256}));
  EXPECT_EQ((*g)->GetTensor("blk.1.attn_q.weight")->dims, (std::vector<int64_t>{256, 4 * 192}));
  ExpectSane(Logits(path, "1,20,300,4000,5"), 5, 32256);
  std::filesystem::remove(path);
}

TEST(MakeModelTest, DeepSeekV3SliceWithMtp) {
  FATHOM_REQUIRE_CLI();
  FATHOM_REQUIRE_FIXTURE(kVocab);
  const std::string path = TempPath("mm-v3") + ".gguf";
  CliResult r = RunCli({"make-model", "-p", "deepseek-v3", "-o", path, "--vocab",
                        FixturePath(kVocab), "--set",
                        "hidden=256,heads=4,q_lora=128,kv_lora=64,experts=16,"
                        "experts_used=4,groups=4,groups_used=2,expert_ffn=256,ffn=512,"
                        "vocab=32256,mtp=1",
                        "--layers", "2", "-t", "Q8_0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto g = GgufFile::Open(path);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(*(*g)->GetInt("deepseek2.block_count"), 3);
  EXPECT_EQ(*(*g)->GetInt("deepseek2.nextn_predict_layers"), 1);
  EXPECT_TRUE((*g)->HasTensor("blk.2.nextn.eh_proj.weight"));
  EXPECT_TRUE((*g)->HasTensor("blk.1.exp_probs_b.bias"));
  EXPECT_TRUE((*g)->HasTensor("blk.0.attn_q_a.weight"));
  ExpectSane(Logits(path, "1,20,300"), 3, 32256);
  std::filesystem::remove(path);
}

TEST(MakeModelTest, RejectsBadArguments) {
  FATHOM_REQUIRE_CLI();
  const std::string path = TempPath("mm-bad") + ".gguf";
  EXPECT_EQ(RunCli({"make-model", "-p", "nope", "-o", path, "--vocab", "x.gguf"}).exit_code, 2);
  EXPECT_EQ(RunCli({"make-model", "-o", path, "--vocab", "x.gguf", "--set", "bogus=1"}).exit_code,
            2);
  EXPECT_EQ(RunCli({"make-model", "-o", path, "--vocab", "x.gguf", "-t", "Q9"}).exit_code, 2);
  EXPECT_EQ(RunCli({"make-model", "-o", path, "--vocab", "/nonexistent.gguf"}).exit_code, 1);
  EXPECT_EQ(RunCli({"quantize", "a.gguf", "b.gguf"}).exit_code, 2);
  EXPECT_EQ(RunCli({"quantize", "/nonexistent.gguf", path, "Q4_0"}).exit_code, 1);
}

}  // namespace
}  // namespace fathom
