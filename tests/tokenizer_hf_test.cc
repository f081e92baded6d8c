// Tokenizer tests against Hugging Face references: every cases.jsonl in fixtures/tokenizers
// (tokenizer.json alone = the tokenizers library; with tokenizer_config.json = transformers),
// and llama.cpp's byte-level vocab vectors through GGUF or the matching tokenizer.json.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "format/gguf_reader.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/spm_model_file.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {
namespace {

using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;

std::unique_ptr<HfTokenizer> LoadHf(const std::string& dir, bool with_config) {
  const std::string json = ReadFile(FixturePath("tokenizers/" + dir + "/tokenizer.json"));
  const std::string config =
      with_config ? ReadFile(FixturePath("tokenizers/" + dir + "/tokenizer_config.json")) : "";
  absl::StatusOr<std::unique_ptr<HfTokenizer>> tok = HfTokenizer::Create(json, config);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? *std::move(tok) : nullptr;
}

std::vector<nlohmann::json> ReadCases(const std::string& rel) {
  std::vector<nlohmann::json> cases;
  for (absl::string_view line : absl::StrSplit(ReadFile(FixturePath(rel)), '\n')) {
    if (line.empty()) continue;
    cases.push_back(nlohmann::json::parse(line.begin(), line.end()));
  }
  return cases;
}

std::string Show(const std::vector<int32_t>& ids) { return absl::StrJoin(ids, ","); }

class HfCasesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HfCasesTest, AllCasesMatch) {
  const std::string dir = GetParam();
  FATHOM_REQUIRE_FIXTURE("tokenizers/" + dir + "/tokenizer.json");
  std::unique_ptr<HfTokenizer> tok = LoadHf(dir, /*with_config=*/false);
  ASSERT_NE(tok, nullptr);
  const std::vector<nlohmann::json> cases = ReadCases("tokenizers/" + dir + "/cases.jsonl");
  ASSERT_GT(cases.size(), 300u);
  int failures = 0;
  for (const nlohmann::json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    const auto ids_special = c["ids_with_special"].get<std::vector<int32_t>>();
    absl::StatusOr<std::vector<int32_t>> got = tok->EncodeWithFileRules(text, false, true);
    absl::StatusOr<std::vector<int32_t>> got_special = tok->EncodeWithFileRules(text, true, true);
    absl::StatusOr<std::string> decoded = tok->DecodeIds(ids, false);
    absl::StatusOr<std::string> decoded_skip = tok->DecodeIds(ids, true);
    const bool ok = got.ok() && *got == ids && got_special.ok() && *got_special == ids_special &&
                    decoded.ok() && *decoded == c["decoded"].get<std::string>() &&
                    decoded_skip.ok() &&
                    *decoded_skip == c["decoded_skip_special"].get<std::string>();
    if (!ok && ++failures <= 10) {
      ADD_FAILURE() << dir << " " << c["id"] << " " << c["category"] << " text=" << c["text"]
                    << "\n want " << Show(ids) << "\n got  "
                    << (got.ok() ? Show(*got) : got.status().ToString()) << "\n special want "
                    << Show(ids_special) << " got "
                    << (got_special.ok() ? Show(*got_special) : "error") << "\n decoded "
                    << (decoded.ok() ? nlohmann::json(*decoded).dump() : "error") << " skip "
                    << (decoded_skip.ok() ? nlohmann::json(*decoded_skip).dump() : "error");
    }
  }
  EXPECT_EQ(failures, 0) << "of " << cases.size();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfCasesTest,
                         ::testing::Values("deepseek-v3", "qwen3", "llama3", "llama3-instruct",
                                           "mistral-7b-v0.1"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) {
                             if (ch == '-' || ch == '.') ch = '_';
                           }
                           return n;
                         });

// transformers' rules: DeepSeek-V3's config asks for BOS although tokenizer.json adds none.
TEST(HfModelRulesTest, DeepSeekV3AddsBos) {
  FATHOM_REQUIRE_FIXTURE("tokenizers/deepseek-v3/tokenizer_config.json");
  std::unique_ptr<HfTokenizer> tok = LoadHf("deepseek-v3", /*with_config=*/true);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->bos(), 0);
  EXPECT_EQ(tok->eos(), 1);
  for (const nlohmann::json& c : ReadCases("tokenizers/deepseek-v3/cases.jsonl")) {
    std::vector<int32_t> want = {0};
    for (int32_t id : c["ids"].get<std::vector<int32_t>>()) want.push_back(id);
    absl::StatusOr<std::vector<int32_t>> got =
        tok->Encode(c["text"].get<std::string>(), true, true);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(*got, want) << c["id"];
  }
}

TEST(HfModelRulesTest, OtherTokenizersKeepTheirRules) {
  struct Want {
    const char* dir;
    int32_t bos_added;  // -1: none
  };
  for (const Want& w : {Want{"qwen3", -1}, Want{"llama3", -1}, Want{"llama3-instruct", 128000},
                        Want{"mistral-7b-v0.1", 1}}) {
    std::unique_ptr<HfTokenizer> tok = LoadHf(w.dir, /*with_config=*/true);
    ASSERT_NE(tok, nullptr);
    absl::StatusOr<std::vector<int32_t>> with = tok->Encode("Hello world", true, true);
    absl::StatusOr<std::vector<int32_t>> without = tok->Encode("Hello world", false, true);
    ASSERT_TRUE(with.ok() && without.ok());
    std::vector<int32_t> want = *without;
    if (w.bos_added >= 0) want.insert(want.begin(), w.bos_added);
    EXPECT_EQ(*with, want) << w.dir;
  }
}

// llama.cpp's vocab vectors (.inp/.out).
std::vector<std::pair<std::string, std::vector<int32_t>>> ReadVocabVectors(
    const std::string& name) {
  const std::string inp = ReadFile(FixturePath("vocab/ggml-vocab-" + name + ".gguf.inp"));
  const std::string out = ReadFile(FixturePath("vocab/ggml-vocab-" + name + ".gguf.out"));
  std::vector<std::string> texts = absl::StrSplit(inp, "\n__ggml_vocab_test__\n");
  if (!texts.empty() && texts.back().empty()) texts.pop_back();
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  std::vector<std::pair<std::string, std::vector<int32_t>>> v;
  for (size_t i = 0; i < texts.size() && i < lines.size(); ++i) {
    std::vector<int32_t> ids;
    for (absl::string_view t : absl::StrSplit(lines[i], ' ', absl::SkipEmpty())) {
      ids.push_back(std::stoi(std::string(t)));
    }
    v.emplace_back(texts[i], ids);
  }
  EXPECT_EQ(texts.size(), lines.size() - (lines.back().empty() ? 1 : 0));
  return v;
}

class GgufBpeVectorsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufBpeVectorsTest, AllVectors) {
  const std::string name = GetParam();
  FATHOM_REQUIRE_FIXTURE("vocab/ggml-vocab-" + name + ".gguf");
  absl::StatusOr<std::unique_ptr<GgufFile>> gguf =
      GgufFile::Open(FixturePath("vocab/ggml-vocab-" + name + ".gguf"));
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadTokenizerFromGguf(**gguf);
  ASSERT_TRUE(tok.ok()) << tok.status();
  int n = 0;
  for (const auto& [text, ids] : ReadVocabVectors(name)) {
    absl::StatusOr<std::vector<int32_t>> got = (*tok)->Encode(text, false, false);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, ids) << name << " text=" << nlohmann::json(text).dump();
    ++n;
  }
  EXPECT_EQ(n, 46);
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, GgufBpeVectorsTest,
                         ::testing::Values("deepseek-llm", "deepseek-coder", "gpt-2"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

// qwen2 and llama-bpe: their GGUFs are not in the fixtures; the same BPE is in tokenizer.json.
TEST(HfVocabVectorsTest, Qwen2AndLlamaBpeThroughTokenizerJson) {
  for (const auto& [name, dir] : {std::pair<std::string, std::string>{"qwen2", "qwen3"},
                                  std::pair<std::string, std::string>{"llama-bpe", "llama3"}}) {
    FATHOM_REQUIRE_FIXTURE("vocab/ggml-vocab-" + name + ".gguf.inp");
    std::unique_ptr<HfTokenizer> tok = LoadHf(dir, /*with_config=*/false);
    ASSERT_NE(tok, nullptr);
    int n = 0;
    for (const auto& [text, ids] : ReadVocabVectors(name)) {
      absl::StatusOr<std::vector<int32_t>> got = tok->EncodeWithFileRules(text, false, false);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, ids) << name << " text=" << nlohmann::json(text).dump();
      ++n;
    }
    EXPECT_EQ(n, 46) << name;
  }
}

TEST(HfRobustnessTest, InvalidUtf8AndHugeInputs) {
  FATHOM_REQUIRE_FIXTURE("tokenizers/deepseek-v3/tokenizer.json");
  for (const char* dir : {"deepseek-v3", "qwen3", "mistral-7b-v0.1"}) {
    std::unique_ptr<HfTokenizer> tok = LoadHf(dir, /*with_config=*/false);
    ASSERT_NE(tok, nullptr);
    for (const std::string& bad : {std::string("\xff"), std::string("ab\xc3"),
                                   std::string("\xed\xa0\x80"), std::string("\xc0\xaf")}) {
      EXPECT_EQ(tok->EncodeWithFileRules(bad, true, true).status().code(),
                absl::StatusCode::kInvalidArgument);
    }
    // 10 MB of one character (deepseek-v3), 1 MB otherwise.
    const size_t n = std::string(dir) == "deepseek-v3" ? (10u << 20) : (1u << 20);
    for (const std::string& huge : {std::string(n, 'a'), std::string(1u << 20, ' '),
                                    std::string(1u << 18, '1'), std::string(1u << 18, '!')}) {
      absl::StatusOr<std::vector<int32_t>> ids = tok->EncodeWithFileRules(huge, false, true);
      ASSERT_TRUE(ids.ok()) << dir << " " << ids.status();
      absl::StatusOr<std::string> back = tok->DecodeIds(*ids, false);
      ASSERT_TRUE(back.ok());
      if (std::string(dir) != "mistral-7b-v0.1") {
        EXPECT_TRUE(*back == huge) << dir;
      }
    }
  }
}

TEST(HfRobustnessTest, MalformedTokenizerJsonIsAnError) {
  FATHOM_REQUIRE_FIXTURE("tokenizers/qwen3/tokenizer.json");
  const std::string good = ReadFile(FixturePath("tokenizers/qwen3/tokenizer.json"));
  for (size_t cut : {size_t{0}, size_t{1}, size_t{100}, good.size() / 2, good.size() - 2}) {
    EXPECT_FALSE(HfTokenizer::Create(good.substr(0, cut), "").ok()) << cut;
  }
  const nlohmann::json base = nlohmann::json::parse(good);
  const std::vector<std::pair<std::string, nlohmann::json>> edits = {
      {"/model", nullptr},
      {"/model/vocab", 5},
      {"/model/vocab/a", "x"},
      {"/model/vocab/a", -3},
      {"/model/vocab/a", 1ll << 40},
      {"/model/merges", "x"},
      {"/model/merges/0", 7},
      {"/model/merges/0", nlohmann::json::array({"zzz", "qqq"})},
      {"/model/type", "Unigram"},
      {"/added_tokens/0/id", "x"},
      {"/added_tokens/0/content", ""},
      {"/pre_tokenizer/pretokenizers/0/pattern/Regex", "(unclosed"},
      {"/pre_tokenizer/pretokenizers/0/behavior", "Sideways"},
      {"/pre_tokenizer/type", "Nope"},
      {"/normalizer/type", "Precompiled"},
      {"/decoder/type", "WordPiece"},
      {"/post_processor", nlohmann::json::object({{"type", "TemplateProcessing"}})},
  };
  for (const auto& [path, value] : edits) {
    nlohmann::json j = base;
    j[nlohmann::json::json_pointer(path)] = value;
    EXPECT_FALSE(HfTokenizer::Create(j.dump(), "").ok()) << path;
  }
  // A deeply nested normalizer.
  nlohmann::json j = base;
  nlohmann::json deep = {{"type", "NFC"}};
  for (int i = 0; i < 100; ++i) deep = {{"type", "Sequence"}, {"normalizers", {deep}}};
  j["normalizer"] = deep;
  EXPECT_FALSE(HfTokenizer::Create(j.dump(), "").ok());
  EXPECT_FALSE(HfTokenizer::Create(good, "{not json").ok());
  EXPECT_TRUE(HfTokenizer::Create(good, "{\"bos_token\": 5, \"add_bos_token\": \"yes\"}").ok());
}

TEST(LoadTokenizerFromPathTest, EveryKind) {
  FATHOM_REQUIRE_FIXTURE("tokenizers/deepseek-v3/tokenizer.json");
  struct Want {
    std::string rel;
    int32_t first_with_bos;  // first id of Encode("Hello", add_bos=true)
  };
  for (const Want& w :
       {Want{"tokenizers/deepseek-v3/tokenizer.json", 19923}, Want{"tokenizers/deepseek-v3", 0},
        Want{"tokenizers/llama2/tokenizer.model", 1},
        Want{"vocab/ggml-vocab-deepseek-llm.gguf", 100000}}) {
    absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadTokenizerFromPath(FixturePath(w.rel));
    ASSERT_TRUE(tok.ok()) << w.rel << " " << tok.status();
    absl::StatusOr<std::vector<int32_t>> ids = (*tok)->Encode("Hello", true, false);
    ASSERT_TRUE(ids.ok() && !ids->empty()) << w.rel;
    EXPECT_EQ(ids->front(), w.first_with_bos) << w.rel;
  }
  EXPECT_FALSE(LoadTokenizerFromPath(FixturePath("no/such/file.json")).ok());
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> folder =
      LoadTokenizerFromPath(FixturePath("tokenizers/qwen3"));
  ASSERT_TRUE(folder.ok());
  EXPECT_NE((*folder)->chat_template().find("im_start"), std::string::npos);
  EXPECT_TRUE((*folder)->IsEndOfGeneration(151645));
}

// SentencePiece tokenizer.model (protobuf) against sentencepiece 0.1.97.
TEST(SpmModelFileTest, Llama2Cases) {
  FATHOM_REQUIRE_FIXTURE("tokenizers/llama2/tokenizer.model");
  absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> tok =
      SpmModelFileTokenizer::Create(ReadFile(FixturePath("tokenizers/llama2/tokenizer.model")));
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), 32000);
  int failures = 0, n = 0;
  for (const nlohmann::json& c : ReadCases("tokenizers/llama2/cases.jsonl")) {
    ++n;
    const std::string text = c["text"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    absl::StatusOr<std::vector<int32_t>> got = (*tok)->Encode(text, false, true);
    absl::StatusOr<std::vector<int32_t>> got_bos = (*tok)->Encode(text, true, true);
    absl::StatusOr<std::string> decoded = (*tok)->DecodeIds(ids);
    const bool ok = got.ok() && *got == ids && got_bos.ok() &&
                    *got_bos == c["ids_with_special"].get<std::vector<int32_t>>() && decoded.ok() &&
                    *decoded == c["decoded"].get<std::string>();
    if (!ok && ++failures <= 10) {
      ADD_FAILURE() << c["id"] << " text=" << c["text"] << "\n want " << Show(ids) << "\n got  "
                    << (got.ok() ? Show(*got) : got.status().ToString()) << "\n decoded "
                    << (decoded.ok() ? nlohmann::json(*decoded).dump() : "error") << " want "
                    << c["decoded"];
    }
  }
  EXPECT_EQ(failures, 0) << "of " << n;
}

TEST(SpmModelFileTest, MalformedFilesAreErrors) {
  for (const std::string& bytes : {std::string(), std::string("garbage"),
                                   std::string("\x0a\xff\xff"), std::string(100, '\xff')}) {
    EXPECT_FALSE(SpmModelFileTokenizer::Create(bytes).ok());
  }
  FATHOM_REQUIRE_FIXTURE("tokenizers/llama2/tokenizer.model");
  const std::string good = ReadFile(FixturePath("tokenizers/llama2/tokenizer.model"));
  for (size_t cut : {size_t{1}, size_t{100}, good.size() / 2, good.size() - 1}) {
    (void)SpmModelFileTokenizer::Create(good.substr(0, cut));  // error or a smaller model
  }
}

}  // namespace
}  // namespace fathom::internal
