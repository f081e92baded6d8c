// GGUF tokenizer.ggml.pre presets against the pre-tokenizer of the matching tokenizer.json: for
// every public case text, PreTokenizer::ForGgufPre(pre) must split exactly as the file's own
// pre_tokenizer does (DeepSeek-V3, Qwen2/Qwen3, Llama 3).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"
#include "tokenizer/hf_pipeline.h"

namespace fathom::internal {
namespace {

using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;

TEST(GgufPrePresetTest, MatchesTokenizerJson) {
  struct Pair {
    const char* pre;
    const char* dir;
  };
  for (const Pair& p :
       {Pair{"deepseek-v3", "deepseek-v3"}, Pair{"qwen2", "qwen3"}, Pair{"llama-bpe", "llama3"}}) {
    SCOPED_TRACE(p.pre);
    FATHOM_REQUIRE_FIXTURE(std::string("tokenizers/") + p.dir + "/tokenizer.json");
    const nlohmann::json file = nlohmann::json::parse(
        ReadFile(FixturePath(std::string("tokenizers/") + p.dir + "/tokenizer.json")));
    absl::StatusOr<std::unique_ptr<PreTokenizer>> from_file =
        PreTokenizer::FromJson(file.at("pre_tokenizer"));
    absl::StatusOr<std::unique_ptr<PreTokenizer>> preset = PreTokenizer::ForGgufPre(p.pre);
    ASSERT_TRUE(from_file.ok()) << from_file.status();
    ASSERT_TRUE(preset.ok()) << preset.status();
    int n = 0;
    for (absl::string_view line : absl::StrSplit(
             ReadFile(FixturePath(std::string("tokenizers/") + p.dir + "/cases.jsonl")), '\n')) {
      if (line.empty()) continue;
      const nlohmann::json c = nlohmann::json::parse(line.begin(), line.end());
      std::vector<std::string> a = {c["text"].get<std::string>()}, b = a;
      ASSERT_TRUE((*from_file)->Apply(a, true).ok());
      ASSERT_TRUE((*preset)->Apply(b, true).ok());
      EXPECT_EQ(a, b) << c["id"];
      ++n;
    }
    EXPECT_EQ(n, 363);
  }
}

}  // namespace
}  // namespace fathom::internal
