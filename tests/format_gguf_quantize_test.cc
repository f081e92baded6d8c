// Tests of GGUF quantization (lib/format/gguf_quantize): llama-quantize's tensor type rules on
// the llama.cpp fixtures, byte-identical output to llama-quantize (recorded sha256 of its
// output for the same input), re-quantization of the fixtures' own blocks, streaming writes.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "format/gguf_quantize.h"
#include "format/gguf_reader.h"
#include "gtest/gtest.h"
#include "support/fixtures.h"
#include "support/sha256.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

using ::fathom::testing::FixtureExists;
using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;
using ::fathom::testing::Sha256Hex;

std::string TempFile(const std::string& stem) {
  return (std::filesystem::temp_directory_path() /
          (stem + "-" + std::to_string(::getpid()) + ".gguf"))
      .string();
}

QuantModelInfo InfoOf(const GgufFile& g) {
  QuantModelInfo info;
  info.arch = *g.GetString("general.architecture");
  info.n_layer = *g.GetInt(info.arch + ".block_count");
  info.n_head = *g.GetInt(info.arch + ".attention.head_count");
  info.n_head_kv = *g.GetInt(info.arch + ".attention.head_count_kv");
  for (const GgufTensorInfo& t : g.tensor_infos()) {
    if (t.name.find("attn_v.weight") != std::string::npos) ++info.n_attention_wv;
    if (t.name == "output.weight") info.has_output = true;
  }
  return info;
}

// The fixtures' Q4_K_M files were made by llama-quantize from an F32 master: our rules must give
// every tensor the type it has there (both architectures; llama3-tiny has a tied output, so its
// token_embd is the classifier and gets Q6_K).
TEST(GgufQuantizeTest, Q4KMTypeRulesMatchLlamaQuantize) {
  for (const char* file :
       {"llamacpp/qwen2-tiny/model-Q4_K_M.gguf", "llamacpp/llama3-tiny/model-Q4_K_M.gguf"}) {
    if (!FixtureExists(file)) GTEST_SKIP() << "fixture " << file << " missing";
    auto g = GgufFile::Open(FixturePath(file));
    ASSERT_TRUE(g.ok()) << g.status();
    QuantTypeChooser chooser(QuantFtype::kQ4_K_M, InfoOf(**g));
    int n_q6 = 0;
    // llama-quantize visits tensors by layer, then name; attn_v / ffn_down count in that order.
    std::vector<GgufTensorInfo> order = (*g)->tensor_infos();
    auto layer = [](const std::string& n) {
      int l = -1;
      std::sscanf(n.c_str(), "blk.%d.", &l);
      return l;
    };
    std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
      return layer(a.name) != layer(b.name) ? layer(a.name) < layer(b.name) : a.name < b.name;
    });
    for (const GgufTensorInfo& t : order) {
      const DType source = t.dims.size() == 1 ? t.type : DType::kF32;
      auto type = chooser.Choose(t.name, t.dims, source);
      ASSERT_TRUE(type.ok()) << type.status();
      EXPECT_EQ(*type, t.type) << file << " " << t.name << ": we chose " << Traits(*type).name
                               << ", llama-quantize " << Traits(t.type).name;
      n_q6 += t.type == DType::kQ6_K;
    }
    EXPECT_EQ(n_q6, 3) << file;
  }
}

TEST(GgufQuantizeTest, RulesForMoeAndFallbacks) {
  // DeepSeek-V2-Lite: 27 layers, 64 experts of 1408 (not a multiple of 256).
  QuantModelInfo info{"deepseek2", 27, 64, 16, 16, true, 27};
  QuantTypeChooser c(QuantFtype::kQ4_K_M, info);
  auto choose = [&](const std::string& name, std::vector<int64_t> dims) {
    auto t = c.Choose(name, dims, DType::kF32);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : DType::kF32;
  };
  EXPECT_EQ(choose("output.weight", {2048, 102400}), DType::kQ6_K);
  EXPECT_EQ(choose("token_embd.weight", {2048, 102400}), DType::kQ4_K);
  EXPECT_EQ(choose("blk.1.ffn_gate_inp.weight", {2048, 64}), DType::kF32);
  EXPECT_EQ(choose("blk.1.attn_norm.weight", {2048}), DType::kF32);
  // ffn_down_exps of layer 1 (< 27/8): Q6_K, but rows of 1408 fall back to Q8_0; layer 4 is
  // Q4_K -> Q5_0.
  EXPECT_EQ(choose("blk.1.ffn_down_exps.weight", {1408, 2048, 64}), DType::kQ8_0);
  EXPECT_EQ(choose("blk.4.ffn_down_exps.weight", {1408, 2048, 64}), DType::kQ5_0);
  EXPECT_EQ(choose("blk.5.ffn_down_exps.weight", {1408, 2048, 64}), DType::kQ8_0);  // (5-3)%3==2
  EXPECT_EQ(choose("blk.4.ffn_down_shexp.weight", {2816, 2048}), DType::kQ4_K);
  EXPECT_EQ(choose("blk.4.ffn_gate_exps.weight", {2048, 1408, 64}), DType::kQ4_K);
  EXPECT_EQ(choose("blk.4.attn_kv_b.weight", {512, 4096}), DType::kQ4_K);
  EXPECT_FALSE(c.Choose("blk.99.ffn_down_exps.weight", {1408, 2048, 64}, DType::kF32).ok());

  QuantTypeChooser q8(QuantFtype::kQ8_0, info);
  EXPECT_EQ(*q8.Choose("output.weight", {2048, 102400}, DType::kF32), DType::kQ8_0);
  QuantTypeChooser q40(QuantFtype::kQ4_0, info);
  EXPECT_EQ(*q40.Choose("output.weight", {2048, 102400}, DType::kF32), DType::kQ6_K);
  QuantTypeChooser pure(QuantFtype::kQ4_K_M, info, /*pure=*/true);
  EXPECT_EQ(*pure.Choose("output.weight", {2048, 102400}, DType::kF32), DType::kQ4_K);
  EXPECT_FALSE(pure.Choose("blk.1.ffn_down_exps.weight", {1408, 2048, 64}, DType::kF32).ok());
}

TEST(GgufQuantizeTest, FtypeNames) {
  EXPECT_EQ(QuantFtypeFromName("q4_k_m"), QuantFtype::kQ4_K_M);
  EXPECT_EQ(QuantFtypeFromName("Q4_K"), QuantFtype::kQ4_K_M);  // llama-quantize's alias
  EXPECT_EQ(QuantFtypeFromName("Q8_0"), QuantFtype::kQ8_0);
  EXPECT_FALSE(QuantFtypeFromName("Q9_9").has_value());
  EXPECT_EQ(static_cast<uint32_t>(QuantFtype::kQ5_K_M), 17u);
}

// The output of `llama-quantize [--pure] llamacpp/qwen2-tiny/model-F16.gguf OUT TYPE 1`
// (llama.cpp commit c392e50, Feb 2025, CPU build), hashed with sha256sum. Our converter must write
// the same bytes: same tensor order, types, quantized blocks and metadata.
struct LlamaQuantizeCase {
  const char* type;
  bool pure;
  const char* sha256;
};
// Recorded from llama-quantize runs (the .inc says how to regenerate them).
constexpr LlamaQuantizeCase kLlamaQuantizeCases[] = {
#include "format_gguf_quantize_hashes.inc"
};

TEST(GgufQuantizeTest, ByteIdenticalToLlamaQuantize) {
  const char* f16 = "llamacpp/qwen2-tiny/model-F16.gguf";
  if (!FixtureExists(f16)) GTEST_SKIP() << "fixture missing";
  for (const LlamaQuantizeCase& c : kLlamaQuantizeCases) {
    SCOPED_TRACE(std::string(c.type) + (c.pure ? " --pure" : ""));
    QuantizeOptions o;
    o.ftype = *QuantFtypeFromName(c.type);
    o.pure = c.pure;
    o.threads = 2;
    const std::string out = TempFile(std::string("fq-") + c.type);
    ASSERT_TRUE(QuantizeGgufFile(FixturePath(f16), out, o).ok());
    EXPECT_EQ(Sha256Hex(ReadFile(out)), c.sha256);
    std::filesystem::remove(out);
  }
}

// Blocks that ggml wrote re-quantize to themselves: dequantizing a Q8_0 / Q4_0 block and
// quantizing the values again reproduces its bytes (the scale and every code are recovered
// exactly), which checks our quantizers against ggml's output on real data.
TEST(GgufQuantizeTest, FixtureBlocksRequantizeToThemselves) {
  for (const char* file :
       {"llamacpp/qwen2-tiny/model-Q8_0.gguf", "llamacpp/qwen2-tiny/model-Q4_0.gguf"}) {
    if (!FixtureExists(file)) GTEST_SKIP() << "fixture missing";
    auto g = GgufFile::Open(FixturePath(file));
    ASSERT_TRUE(g.ok());
    for (const GgufTensorInfo& t : (*g)->tensor_infos()) {
      if (t.type == DType::kF32) continue;
      auto v = (*g)->GetTensor(t.name);
      ASSERT_TRUE(v.ok());
      std::vector<float> f(t.n_elements);
      ASSERT_TRUE(Dequantize(t.type, v->data, f.data(), t.n_elements).ok());
      std::vector<uint8_t> q(t.n_bytes);
      ASSERT_TRUE(Quantize(t.type, f.data(), q.data(), t.n_elements).ok());
      EXPECT_EQ(std::memcmp(q.data(), v->data, t.n_bytes), 0) << file << " " << t.name;
    }
  }
}

TEST(GgufQuantizeTest, KeepsMetadataAndSetsFileType) {
  const char* f16 = "llamacpp/qwen2-tiny/model-F16.gguf";
  if (!FixtureExists(f16)) GTEST_SKIP() << "fixture missing";
  QuantizeOptions o;
  o.ftype = QuantFtype::kQ5_K_M;
  const std::string out = TempFile("fq-meta");
  ASSERT_TRUE(QuantizeGgufFile(FixturePath(f16), out, o).ok());
  auto in = GgufFile::Open(FixturePath(f16));
  auto q = GgufFile::Open(out);
  ASSERT_TRUE(in.ok() && q.ok());
  EXPECT_EQ(*(*q)->GetInt("general.file_type"), 17);
  for (const GgufKeyValue& kv : (*in)->metadata()) {
    if (kv.key == "general.file_type") continue;
    EXPECT_NE((*q)->Find(kv.key), nullptr) << kv.key;
  }
  EXPECT_EQ((*q)->tensor_infos().size(), (*in)->tensor_infos().size());
  // Values survive: a Q5_K_M tensor dequantizes close to the F16 source.
  auto a = (*in)->GetTensor("blk.0.attn_q.weight");
  auto b = (*q)->GetTensor("blk.0.attn_q.weight");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b->type, DType::kQ5_K);
  std::vector<float> x(a->n_elements), y(a->n_elements);
  ASSERT_TRUE(Dequantize(a->type, a->data, x.data(), a->n_elements).ok());
  ASSERT_TRUE(Dequantize(b->type, b->data, y.data(), b->n_elements).ok());
  double err = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (x[i] - y[i]) * (x[i] - y[i]);
    norm += x[i] * x[i];
  }
  EXPECT_LT(err / norm, 2e-3);
  std::filesystem::remove(out);
}

TEST(GgufQuantizeTest, RejectsBadInput) {
  QuantizeOptions o;
  EXPECT_FALSE(QuantizeGgufFile("/nonexistent.gguf", TempFile("fq-x"), o).ok());
  // A quantized source cannot be converted to another quantized type.
  const char* q8 = "llamacpp/qwen2-tiny/model-Q8_0.gguf";
  if (!FixtureExists(q8)) GTEST_SKIP() << "fixture missing";
  o.ftype = QuantFtype::kQ4_0;
  o.pure = true;
  absl::Status s = QuantizeGgufFile(FixturePath(q8), TempFile("fq-y"), o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("only F32, F16 and BF16"), std::string_view::npos) << s;
}

}  // namespace
}  // namespace fathom
