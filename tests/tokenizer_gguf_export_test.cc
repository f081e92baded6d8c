// Tokenizer -> GGUF metadata (tokenizer/gguf_vocab_export.h): the GGUF written from a fixture
// tokenizer folder loads through the GGUF tokenizer path and encodes every public case as the
// tokenizer.json pipeline does, and llama.cpp's own vocab test vectors (qwen2, llama-bpe) as
// llama.cpp does; token types, special ids, add_* flags, chat template and padding follow
// llama.cpp's converter; unsupported tokenizers are refused with a clear error.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"
#include "tokenizer/gguf_vocab_export.h"
#include "tokenizer/hf_pipeline.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {
namespace {

using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/fathom_vocab_export_" + std::to_string(::getpid()) + "_" + name;
}

// Writes the tokenizer of `dir` (absolute) to a vocab-only GGUF and opens it.
std::unique_ptr<GgufFile> ExportVocab(const std::string& dir, int64_t vocab_size,
                                      GgufVocabSummary* summary = nullptr) {
  GgufWriter g;
  g.SetString("general.architecture", "llama");
  absl::StatusOr<GgufVocabSummary> s =
      WriteHfTokenizerToGguf(dir, vocab_size, /*prefer_sentencepiece=*/true, g);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return nullptr;
  if (summary != nullptr) *summary = *s;
  const std::string path = TempPath("vocab.gguf");
  EXPECT_TRUE(g.WriteFile(path).ok());
  absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(path);
  std::filesystem::remove(path);  // the mapping stays valid
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : nullptr;
}

std::vector<nlohmann::json> ReadCases(const std::string& rel) {
  std::vector<nlohmann::json> cases;
  for (absl::string_view line : absl::StrSplit(ReadFile(FixturePath(rel)), '\n')) {
    if (!line.empty()) cases.push_back(nlohmann::json::parse(line.begin(), line.end()));
  }
  return cases;
}

struct Folder {
  const char* dir;
  const char* pre;
  int64_t n_tokens;
  int32_t bos;  // -1: no key
  int32_t eos;
  int add_bos;  // -1: no key, else the value
  bool nfc;     // the tokenizer.json normalizes to NFC (GGUF has no normalizer)
};

class VocabExportTest : public ::testing::TestWithParam<Folder> {};

TEST_P(VocabExportTest, EncodesEveryCaseLikeTokenizerJson) {
  const Folder f = GetParam();
  const std::string rel = std::string("tokenizers/") + f.dir;
  FATHOM_REQUIRE_FIXTURE(rel + "/tokenizer.json");
  GgufVocabSummary summary;
  std::unique_ptr<GgufFile> gguf = ExportVocab(FixturePath(rel), 0, &summary);
  ASSERT_NE(gguf, nullptr);
  EXPECT_EQ(summary.pre, f.pre);
  EXPECT_EQ(gguf->GetString("tokenizer.ggml.pre").value_or(""), f.pre);
  EXPECT_EQ(summary.n_tokens, f.n_tokens);
  EXPECT_EQ(gguf->GetInt("tokenizer.ggml.bos_token_id").value_or(-1), f.bos);
  EXPECT_EQ(gguf->GetInt("tokenizer.ggml.eos_token_id").value_or(-1), f.eos);
  if (f.add_bos < 0) {
    EXPECT_EQ(gguf->Find("tokenizer.ggml.add_bos_token"), nullptr);
  } else {
    ASSERT_NE(gguf->Find("tokenizer.ggml.add_bos_token"), nullptr);
    EXPECT_EQ(gguf->GetBool("tokenizer.ggml.add_bos_token").value_or(false), f.add_bos == 1);
  }
  const nlohmann::json config =
      nlohmann::json::parse(ReadFile(FixturePath(rel + "/tokenizer_config.json")));
  EXPECT_EQ(gguf->GetString("tokenizer.chat_template").value_or(""),
            config["chat_template"].get<std::string>());

  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadTokenizerFromGguf(*gguf);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), f.n_tokens);
  absl::StatusOr<std::unique_ptr<Normalizer>> nfc =
      Normalizer::FromJson(nlohmann::json{{"type", "NFC"}});
  ASSERT_TRUE(nfc.ok());
  auto tokens = gguf->GetStringArray("tokenizer.ggml.tokens");
  auto types = gguf->GetIntArray("tokenizer.ggml.token_type");
  ASSERT_TRUE(tokens.ok() && types.ok());
  int64_t eos_text_type = -1;  // the type we wrote for a NORMAL token spelled "</s>"
  for (size_t i = 0; i < tokens->size(); ++i) {
    if ((*tokens)[i] == "</s>") eos_text_type = (*types)[i];
  }
  int n = 0, nfc_differ = 0, eog_differ = 0;
  for (const nlohmann::json& c : ReadCases(rel + "/cases.jsonl")) {
    const std::string text = c["text"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    absl::StatusOr<std::vector<int32_t>> got = (*tok)->Encode(text, false, true);
    ASSERT_TRUE(got.ok()) << got.status();
    ++n;
    if (*got == ids) continue;
    // Two documented differences of llama.cpp's GGUF tokenizer semantics, not of the export:
    // (1) it has no normalizer, so a text that NFC changes is encoded un-normalized; once
    //     normalized first it must encode like the tokenizer.json;
    std::string normalized = text;
    ASSERT_TRUE((*nfc)->Apply(normalized).ok());
    if (f.nfc && normalized != text) {
      absl::StatusOr<std::vector<int32_t>> again = (*tok)->Encode(normalized, false, true);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, ids) << c["id"];
      ++nfc_differ;
      continue;
    }
    // (2) its loader makes a vocabulary token spelled "</s>" an end-of-generation CONTROL token
    //     (Qwen's vocabulary has one; we wrote it NORMAL, as llama.cpp's converter does), which
    //     special-token parsing then matches; without special parsing the ids are the file's.
    EXPECT_NE(text.find("</s>"), std::string::npos) << c["id"] << " " << nlohmann::json(text);
    EXPECT_EQ(eos_text_type, 1);
    absl::StatusOr<std::vector<int32_t>> plain_ids = (*tok)->Encode(text, false, false);
    ASSERT_TRUE(plain_ids.ok());
    EXPECT_EQ(*plain_ids, ids) << c["id"];
    ++eog_differ;
  }
  EXPECT_EQ(n, 363);
  if (!f.nfc) {
    EXPECT_EQ(nfc_differ, 0);
  }
  RecordProperty("non_nfc_cases", nfc_differ);
  RecordProperty("eog_text_cases", eog_differ);
  std::printf("%s: %d of %d cases differ only by NFC, %d only by the \"</s>\" EOG rule\n", f.dir,
              nfc_differ, n, eog_differ);
  // With BOS: exactly one bos in front when the GGUF says (or llama.cpp's default for the pre
  // name implies) that BOS is added.
  absl::StatusOr<std::vector<int32_t>> plain = (*tok)->Encode("Hello world", false, true);
  absl::StatusOr<std::vector<int32_t>> with = (*tok)->Encode("Hello world", true, true);
  ASSERT_TRUE(plain.ok() && with.ok());
  const bool adds = f.add_bos == 1 || (f.add_bos < 0 && std::string(f.pre) == "llama-bpe");
  EXPECT_EQ(with->size(), plain->size() + (adds ? 1 : 0));
  if (adds) {
    EXPECT_EQ(with->front(), f.bos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, VocabExportTest,
    ::testing::Values(Folder{"deepseek-v3", "deepseek-v3", 128815, 0, 1, 1, false},
                      Folder{"qwen3", "qwen2", 151669, -1, 151645, 0, true},
                      // early Llama-3 revision: ByteLevel post-processor, no add_bos_token
                      Folder{"llama3", "llama-bpe", 128256, 128000, 128001, -1, false},
                      // TemplateProcessing [<|begin_of_text|>, $A]: add_bos
                      Folder{"llama3-instruct", "llama-bpe", 128256, 128000, 128009, 1, false}),
    [](const auto& info) {
      std::string n = info.param.dir;
      for (char& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

// The GGUF from the Qwen3 / Llama-3 tokenizer.json reproduces llama.cpp's own test vectors for
// its qwen2 and llama-bpe vocabularies (encoded by llama.cpp from its ggml-vocab-*.gguf).
TEST(VocabExportVectorsTest, LlamaCppVectors) {
  for (const auto& [name, dir] : {std::pair<std::string, std::string>{"qwen2", "qwen3"},
                                  std::pair<std::string, std::string>{"llama-bpe", "llama3"}}) {
    FATHOM_REQUIRE_FIXTURE("vocab/ggml-vocab-" + name + ".gguf.inp");
    std::unique_ptr<GgufFile> gguf = ExportVocab(FixturePath("tokenizers/" + dir), 0);
    ASSERT_NE(gguf, nullptr);
    absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadTokenizerFromGguf(*gguf);
    ASSERT_TRUE(tok.ok()) << tok.status();
    const std::string inp = ReadFile(FixturePath("vocab/ggml-vocab-" + name + ".gguf.inp"));
    const std::string out = ReadFile(FixturePath("vocab/ggml-vocab-" + name + ".gguf.out"));
    std::vector<std::string> texts = absl::StrSplit(inp, "\n__ggml_vocab_test__\n");
    if (!texts.empty() && texts.back().empty()) texts.pop_back();
    std::vector<std::string> lines = absl::StrSplit(out, '\n');
    ASSERT_GE(lines.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<int32_t> want;
      for (absl::string_view t : absl::StrSplit(lines[i], ' ', absl::SkipEmpty())) {
        want.push_back(std::stoi(std::string(t)));
      }
      absl::StatusOr<std::vector<int32_t>> got = (*tok)->Encode(texts[i], false, false);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, want) << name << " " << nlohmann::json(texts[i]).dump();
    }
    EXPECT_EQ(texts.size(), 46u) << name;
  }
}

// Token types as llama.cpp's converter assigns them, and padding up to config.json's vocab_size.
TEST(VocabExportTypesTest, TypesAndPadding) {
  FATHOM_REQUIRE_FIXTURE("tokenizers/qwen3/tokenizer.json");
  std::unique_ptr<GgufFile> gguf = ExportVocab(FixturePath("tokenizers/qwen3"), 151936);
  ASSERT_NE(gguf, nullptr);
  auto tokens = gguf->GetStringArray("tokenizer.ggml.tokens");
  auto types = gguf->GetIntArray("tokenizer.ggml.token_type");
  auto merges = gguf->GetStringArray("tokenizer.ggml.merges");
  ASSERT_TRUE(tokens.ok() && types.ok() && merges.ok());
  ASSERT_EQ(tokens->size(), 151936u);
  ASSERT_EQ(types->size(), 151936u);
  EXPECT_EQ(merges->size(), 151387u);
  EXPECT_EQ((*merges)[0], "\xC4\xA0 \xC4\xA0");  // ["Ġ", "Ġ"]
  auto at = [&](int64_t id) { return std::make_pair((*tokens)[id], (*types)[id]); };
  EXPECT_EQ(at(9707), std::make_pair(std::string("Hello"), int64_t{1}));
  EXPECT_EQ(at(151643), std::make_pair(std::string("<|endoftext|>"), int64_t{3}));
  EXPECT_EQ(at(151644), std::make_pair(std::string("<|im_start|>"), int64_t{3}));
  EXPECT_EQ(at(151657), std::make_pair(std::string("<tool_call>"), int64_t{4}));     // not special
  EXPECT_EQ(at(151659), std::make_pair(std::string("<|fim_prefix|>"), int64_t{3}));  // looks so
  EXPECT_EQ(at(151667), std::make_pair(std::string("<think>"), int64_t{4}));
  EXPECT_EQ(at(151669), std::make_pair(std::string("[PAD151669]"), int64_t{5}));
  EXPECT_EQ(at(151935), std::make_pair(std::string("[PAD151935]"), int64_t{5}));
  EXPECT_EQ(gguf->GetInt("tokenizer.ggml.padding_token_id").value_or(-1), 151643);

  // DeepSeek-V3's non-special added tokens look special (<｜...｜>): CONTROL.
  std::unique_ptr<GgufFile> ds = ExportVocab(FixturePath("tokenizers/deepseek-v3"), 0);
  ASSERT_NE(ds, nullptr);
  auto ds_tokens = ds->GetStringArray("tokenizer.ggml.tokens");
  auto ds_types = ds->GetIntArray("tokenizer.ggml.token_type");
  ASSERT_TRUE(ds_tokens.ok() && ds_types.ok());
  int64_t control = 0, user = 0;
  for (size_t i = 0; i < ds_types->size(); ++i) {
    control += (*ds_types)[i] == 3;
    user += (*ds_types)[i] == 4;
  }
  EXPECT_EQ(control, 818);
  EXPECT_EQ(user, 0);
  EXPECT_EQ(ds->GetInt("tokenizer.ggml.padding_token_id").value_or(-1), 1);
  EXPECT_FALSE(ds->GetBool("tokenizer.ggml.add_eos_token").value_or(true));

  // A vocab_size below the tokenizer's largest id is an error.
  GgufWriter g;
  absl::StatusOr<GgufVocabSummary> small =
      WriteHfTokenizerToGguf(FixturePath("tokenizers/qwen3"), 1000, true, g);
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument) << small.status();
}

// A SentencePiece folder (Llama-2's tokenizer.model with Llama-2-7b-hf's tokenizer_config.json
// and config.json values) gives exactly llama.cpp's ggml-vocab-llama-spm.gguf vocabulary
// (converted by llama.cpp from meta-llama/Llama-2-7b-hf), which then encodes llama.cpp's vectors.
TEST(VocabExportSpmTest, Llama2MatchesLlamaCppVocab) {
  FATHOM_REQUIRE_FIXTURE("tokenizers/llama2/tokenizer.model");
  FATHOM_REQUIRE_FIXTURE("vocab/ggml-vocab-llama-spm.gguf");
  const std::string dir = TempPath("llama2_spm");
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(FixturePath("tokenizers/llama2/tokenizer.model"),
                             dir + "/tokenizer.model",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>",
             "eos_token": "</s>", "unk_token": "<unk>", "pad_token": null,
             "tokenizer_class": "LlamaTokenizer"})";
  std::ofstream(dir + "/config.json")
      << R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 32000,
             "bos_token_id": 1, "eos_token_id": 2})";
  GgufVocabSummary summary;
  std::unique_ptr<GgufFile> got = ExportVocab(dir, 32000, &summary);
  std::filesystem::remove_all(dir);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(summary.model, "llama");
  absl::StatusOr<std::unique_ptr<GgufFile>> ref =
      GgufFile::Open(FixturePath("vocab/ggml-vocab-llama-spm.gguf"));
  ASSERT_TRUE(ref.ok()) << ref.status();
  std::vector<std::string> ours, theirs;
  for (const GgufKeyValue& kv : got->metadata()) {
    if (kv.key.rfind("tokenizer.", 0) == 0) ours.push_back(kv.key);
  }
  for (const GgufKeyValue& kv : (*ref)->metadata()) {
    if (kv.key.rfind("tokenizer.", 0) == 0) theirs.push_back(kv.key);
  }
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ(got->GetString("tokenizer.ggml.model").value(), "llama");
  EXPECT_EQ(got->GetString("tokenizer.ggml.pre").value(), "default");
  EXPECT_EQ(got->GetStringArray("tokenizer.ggml.tokens").value(),
            (*ref)->GetStringArray("tokenizer.ggml.tokens").value());
  EXPECT_EQ(got->GetFloatArray("tokenizer.ggml.scores").value(),
            (*ref)->GetFloatArray("tokenizer.ggml.scores").value());
  EXPECT_EQ(got->GetIntArray("tokenizer.ggml.token_type").value(),
            (*ref)->GetIntArray("tokenizer.ggml.token_type").value());
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id"}) {
    EXPECT_EQ(got->GetInt(key).value_or(-1), (*ref)->GetInt(key).value_or(-2)) << key;
  }
  for (const char* key : {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"}) {
    EXPECT_EQ(got->GetBool(key).value(), (*ref)->GetBool(key).value()) << key;
  }
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadTokenizerFromGguf(*got);
  ASSERT_TRUE(tok.ok()) << tok.status();
  const std::string inp = ReadFile(FixturePath("vocab/ggml-vocab-llama-spm.gguf.inp"));
  const std::string out = ReadFile(FixturePath("vocab/ggml-vocab-llama-spm.gguf.out"));
  std::vector<std::string> texts = absl::StrSplit(inp, "\n__ggml_vocab_test__\n");
  if (!texts.empty() && texts.back().empty()) texts.pop_back();
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  ASSERT_EQ(texts.size(), 46u);
  ASSERT_GE(lines.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int32_t> want;
    for (absl::string_view t : absl::StrSplit(lines[i], ' ', absl::SkipEmpty())) {
      want.push_back(std::stoi(std::string(t)));
    }
    absl::StatusOr<std::vector<int32_t>> ids = (*tok)->Encode(texts[i], false, false);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, want) << nlohmann::json(texts[i]).dump();
  }
  // sentencepiece's own ids for the public cases (no BOS; then with BOS).
  int n = 0;
  for (const nlohmann::json& c : ReadCases("tokenizers/llama2/cases.jsonl")) {
    const std::string text = c["text"].get<std::string>();
    absl::StatusOr<std::vector<int32_t>> ids = (*tok)->Encode(text, false, false);
    absl::StatusOr<std::vector<int32_t>> with = (*tok)->Encode(text, true, false);
    ASSERT_TRUE(ids.ok() && with.ok());
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>()) << c["id"];
    EXPECT_EQ(*with, c["ids_with_special"].get<std::vector<int32_t>>()) << c["id"];
    ++n;
  }
  EXPECT_EQ(n, 363);
}

TEST(VocabExportRefusalTest, UnsupportedTokenizers) {
  FATHOM_REQUIRE_FIXTURE("tokenizers/mistral-7b-v0.1/tokenizer.json");
  GgufWriter g;
  // SentencePiece-style tokenizer.json without tokenizer.model, and a unigram tokenizer.model.
  for (const char* dir : {"mistral-7b-v0.1", "albert-unigram-spm"}) {
    absl::StatusOr<GgufVocabSummary> s =
        WriteHfTokenizerToGguf(FixturePath(std::string("tokenizers/") + dir), 0, true, g);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kUnimplemented) << dir << s.status();
    EXPECT_NE(s.status().message().find("SentencePiece"), std::string::npos) << s.status();
  }
  // A pre-tokenizer regex no preset has.
  nlohmann::json tj =
      nlohmann::json::parse(ReadFile(FixturePath("tokenizers/qwen3/tokenizer.json")));
  tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{L}+|\\p{N}";
  const std::string dir = TempPath("odd_pre");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/tokenizer.json") << tj.dump();
  absl::StatusOr<GgufVocabSummary> s = WriteHfTokenizerToGguf(dir, 0, true, g);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnimplemented) << s.status();
  EXPECT_NE(s.status().message().find("tokenizer.ggml.pre"), std::string::npos) << s.status();
  EXPECT_NE(s.status().message().find("\\p{L}+|\\p{N}"), std::string::npos) << s.status();
  // Hostile ids and shapes: errors, not crashes or huge allocations.
  nlohmann::json bad =
      nlohmann::json::parse(ReadFile(FixturePath("tokenizers/qwen3/tokenizer.json")));
  bad["added_tokens"][0]["id"] = int64_t{1} << 40;
  std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << bad.dump();
  s = WriteHfTokenizerToGguf(dir, 0, true, g);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  bad["added_tokens"][0]["id"] = 151643;
  bad["model"]["vocab"]["Hello"] = "nine";
  std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << bad.dump();
  s = WriteHfTokenizerToGguf(dir, 0, true, g);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_NE(s.status().message().find("Hello"), std::string::npos) << s.status();
  bad["model"]["vocab"]["Hello"] = 9707;
  bad["model"]["merges"] = nlohmann::json::array();
  std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << bad.dump();
  s = WriteHfTokenizerToGguf(dir, 0, true, g);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  // A truncated tokenizer.model.
  std::filesystem::remove(dir + "/tokenizer.json");
  const std::string spm = ReadFile(FixturePath("tokenizers/llama2/tokenizer.model"));
  std::ofstream(dir + "/tokenizer.model", std::ios::binary) << spm.substr(0, spm.size() / 3);
  s = WriteHfTokenizerToGguf(dir, 0, true, g);
  EXPECT_FALSE(s.ok());
  std::filesystem::remove(dir + "/tokenizer.model");
  // Malformed: not JSON.
  std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << "{\"model\": ";
  s = WriteHfTokenizerToGguf(dir, 0, true, g);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fathom::internal
