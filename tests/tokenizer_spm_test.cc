// Tokenizer tests: llama.cpp's SentencePiece ("llama") tokenizer against stories260K and
// llama.cpp's vocab test vectors, byte-level ("gpt2") decoding, and hostile metadata.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "format/gguf.h"
#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "format/mapped_file.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"
#include "tokenizer/byte_level_bpe_vocab.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {
namespace {

using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;

absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadFile(const std::string& path) {
  absl::StatusOr<std::unique_ptr<GgufFile>> gguf = GgufFile::Open(path);
  if (!gguf.ok()) return gguf.status();
  return LoadTokenizerFromGguf(**gguf);
}

absl::StatusOr<std::unique_ptr<TokenizerImpl>> LoadWriter(const GgufWriter& writer) {
  absl::StatusOr<std::vector<uint8_t>> bytes = writer.Serialize();
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::unique_ptr<GgufFile>> gguf =
      GgufFile::Parse(MappedFile::FromBuffer(bytes->data(), bytes->size()));
  if (!gguf.ok()) return gguf.status();
  return LoadTokenizerFromGguf(**gguf);  // the tokenizer copies what it needs
}

std::string Decode(const TokenizerImpl& tok, const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    absl::StatusOr<std::string> piece = tok.TokenToPiece(id);
    EXPECT_TRUE(piece.ok()) << piece.status();
    if (piece.ok()) out += *piece;
  }
  return out;
}

std::string Show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) absl::StrAppend(&s, " ", id);
  return s;
}

// llama.cpp's test-tokenizer-0 vectors: NAME.gguf.inp (strings separated by
// "\n__ggml_vocab_test__\n") and NAME.gguf.out (one line of ids per string).
struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};
std::vector<VocabCase> ReadVocabCases(const std::string& name) {
  const std::string inp = ReadFile(FixturePath("vocab/ggml-vocab-" + name + ".gguf.inp"));
  const std::string out = ReadFile(FixturePath("vocab/ggml-vocab-" + name + ".gguf.out"));
  std::vector<std::string> texts = absl::StrSplit(inp, "\n__ggml_vocab_test__\n");
  if (!texts.empty() && texts.back().empty()) texts.pop_back();
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  EXPECT_EQ(texts.size(), lines.size()) << name;
  std::vector<VocabCase> cases;
  for (size_t i = 0; i < texts.size() && i < lines.size(); ++i) {
    VocabCase c;
    c.text = texts[i];
    for (absl::string_view w : absl::StrSplit(lines[i], ' ', absl::SkipWhitespace())) {
      c.ids.push_back(std::stoi(std::string(w)));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// stories260K: llama.cpp's prompt tokenization and rendering of its greedy outputs.

TEST(SpmTokenizerTest, Stories260KMatchesLlamaCpp) {
  FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
  FATHOM_REQUIRE_FIXTURE("stories260K/expected.json");
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok =
      LoadFile(FixturePath("stories260K/stories260K.gguf"));
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), 512);
  EXPECT_EQ((*tok)->bos(), 1);
  EXPECT_EQ((*tok)->eos(), 2);
  EXPECT_TRUE((*tok)->IsEndOfGeneration(2));
  EXPECT_FALSE((*tok)->IsEndOfGeneration(1));

  const auto expected = nlohmann::json::parse(ReadFile(FixturePath("stories260K/expected.json")));
  ASSERT_EQ(expected.at("cases").size(), 5u);
  for (const auto& c : expected.at("cases")) {
    const std::string prompt = c.at("prompt").get<std::string>();
    SCOPED_TRACE("prompt: '" + prompt + "'");
    absl::StatusOr<std::vector<int32_t>> ids =
        (*tok)->Encode(prompt, /*add_bos=*/true, /*parse_special=*/false);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, c.at("prompt_ids").get<std::vector<int32_t>>());
    const auto output_ids = c.at("output_ids").get<std::vector<int32_t>>();
    EXPECT_EQ(Decode(**tok, output_ids), c.at("output_text").get<std::string>());
    // llama-completion printed the rendered prompt followed by the output.
    EXPECT_EQ(Decode(**tok, *ids) + Decode(**tok, output_ids),
              c.at("llama_completion_stdout").get<std::string>());
  }
}

// ---------------------------------------------------------------------------------------------
// llama.cpp's vocab test vectors.

class LlamaSpmVocabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FATHOM_REQUIRE_FIXTURE("vocab/ggml-vocab-llama-spm.gguf");
    absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok =
        LoadFile(FixturePath("vocab/ggml-vocab-llama-spm.gguf"));
    ASSERT_TRUE(tok.ok()) << tok.status();
    tok_ = *std::move(tok);
  }
  std::unique_ptr<TokenizerImpl> tok_;
};

TEST_F(LlamaSpmVocabTest, AllTestVectors) {
  const std::vector<VocabCase> cases = ReadVocabCases("llama-spm");
  ASSERT_EQ(cases.size(), 46u);
  EXPECT_EQ(tok_->vocab_size(), 32000);
  EXPECT_EQ(tok_->bos(), 1);
  EXPECT_EQ(tok_->eos(), 2);
  for (const VocabCase& c : cases) {
    absl::StatusOr<std::vector<int32_t>> ids =
        tok_->Encode(c.text, /*add_bos=*/false, /*parse_special=*/false);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, c.ids) << "text: '" << c.text << "'\n got:" << Show(*ids)
                           << "\nwant:" << Show(c.ids);
    // SentencePiece with byte fallback is lossless up to the space prefix.
    if (!c.text.empty()) {
      EXPECT_EQ(Decode(*tok_, c.ids), " " + c.text);
    }
  }
}

TEST_F(LlamaSpmVocabTest, BosAndPieces) {
  absl::StatusOr<std::vector<int32_t>> ids = tok_->Encode("Hello world", true, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{1, 15043, 3186}));
  ids = tok_->Encode("", true, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{1}));
  ids = tok_->Encode("", false, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->empty());

  EXPECT_EQ(*tok_->TokenToPiece(0), "");     // <unk>: UNKNOWN renders as "" with special=false
  EXPECT_EQ(*tok_->TokenToPiece(1), "");     // <s>
  EXPECT_EQ(*tok_->TokenToPiece(2), "");     // </s>
  EXPECT_EQ(*tok_->TokenToPiece(13), "\n");  // <0x0A>
  EXPECT_EQ(*tok_->TokenToPiece(15043), " Hello");
  EXPECT_EQ(*tok_->TokenToPiece(29871), " ");
  EXPECT_FALSE(tok_->TokenToPiece(-1).ok());
  EXPECT_FALSE(tok_->TokenToPiece(32000).ok());
  EXPECT_TRUE(tok_->IsEndOfGeneration(2));
  EXPECT_FALSE(tok_->IsEndOfGeneration(1));
  EXPECT_FALSE(tok_->IsEndOfGeneration(-1));
  EXPECT_FALSE(tok_->IsEndOfGeneration(1 << 30));
}

TEST_F(LlamaSpmVocabTest, ParseSpecial) {
  absl::StatusOr<std::vector<int32_t>> plain = tok_->Encode("Hello", false, false);
  ASSERT_TRUE(plain.ok());
  // With parse_special, control token text becomes the token; text after it gets the space
  // prefix again (llama.cpp's is_prev_special).
  absl::StatusOr<std::vector<int32_t>> ids = tok_->Encode("<s>Hello</s>", false, true);
  ASSERT_TRUE(ids.ok());
  std::vector<int32_t> want = {1};
  want.insert(want.end(), plain->begin(), plain->end());
  want.push_back(2);
  EXPECT_EQ(*ids, want);
  // Without it, "<s>" is ordinary text.
  ids = tok_->Encode("<s>Hello</s>", false, false);
  ASSERT_TRUE(ids.ok());
  for (int32_t id : *ids) {
    EXPECT_NE(id, 1);
    EXPECT_NE(id, 2);
  }
  EXPECT_EQ(Decode(*tok_, *ids), " <s>Hello</s>");
}

TEST_F(LlamaSpmVocabTest, InvalidUtf8TakesSingleBytes) {
  // llama.cpp splits by the lead byte's announced length without validating; bytes that do
  // not form a token become <0xNN> byte tokens. No error, nothing lost.
  const std::string texts[] = {
      "\xff", "\x80\x80", "abc\xe2\x82",    "\xf0\x9f",
      "\xc3", "a\xc3(b",  "\xed\xa0\x80 z", std::string("nul\0byte", 8),
  };
  for (const std::string& text : texts) {
    absl::StatusOr<std::vector<int32_t>> ids = tok_->Encode(text, true, true);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(Decode(*tok_, *ids), " " + text);
  }
  absl::StatusOr<std::vector<int32_t>> ids = tok_->Encode("\xff", false, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{29871, 258}));  // "▁", <0xFF>
  // A lead byte announcing 2 bytes takes the first byte of the escaped space after it:
  // "▁" "\xC3\xE2" "\x96" "\x81" -> "▁", <0xC3>, <0xE2>, <0x96>, <0x81> (byte b is id b + 3).
  ids = tok_->Encode("\xC3 ", false, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{29871, 0xC3 + 3, 0xE2 + 3, 0x96 + 3, 0x81 + 3}));
}

TEST_F(LlamaSpmVocabTest, RandomBytesRoundTrip) {
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 300; ++iter) {
    std::string text(1 + rng() % 40, '\0');
    for (char& c : text) {
      // Mix ASCII, spaces and high bytes so both merges and byte fallback happen.
      const uint32_t r = rng() % 4;
      c = r == 0   ? ' '
          : r == 1 ? static_cast<char>(0x80 + rng() % 128)
                   : static_cast<char>('a' + rng() % 26);
    }
    if (text.find("\xE2\x96\x81") != std::string::npos) continue;  // literal U+2581 decodes to ' '
    absl::StatusOr<std::vector<int32_t>> ids = tok_->Encode(text, false, false);
    ASSERT_TRUE(ids.ok()) << ids.status();
    // As in llama.cpp, a truncated lead byte swallows the next bytes whole, so a space right
    // after one ends up as the three raw bytes of U+2581 instead of the "\xE2\x96\x81" token.
    EXPECT_EQ(absl::StrReplaceAll(Decode(*tok_, *ids), {{"\xE2\x96\x81", " "}}), " " + text);
  }
}

// The byte-level ("gpt2") vocabularies: loading and decoding (encoding: tokenizer_hf_test.cc).
struct BpeVocabInfo {
  const char* name;
  int32_t n_vocab;
  int32_t bos;
  int32_t eos;
};
class ByteLevelVocabTest : public ::testing::TestWithParam<BpeVocabInfo> {};

TEST_P(ByteLevelVocabTest, LoadsAndDecodesTestVectors) {
  const BpeVocabInfo& info = GetParam();
  const std::string file = std::string("vocab/ggml-vocab-") + info.name + ".gguf";
  FATHOM_REQUIRE_FIXTURE(file);
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadFile(FixturePath(file));
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_NE(dynamic_cast<ByteLevelBpeVocab*>(tok->get()), nullptr);
  EXPECT_EQ((*tok)->vocab_size(), info.n_vocab);
  EXPECT_EQ((*tok)->bos(), info.bos);
  EXPECT_EQ((*tok)->eos(), info.eos);
  EXPECT_TRUE((*tok)->IsEndOfGeneration(info.eos));
  EXPECT_EQ(*(*tok)->TokenToPiece(info.eos), "");  // control

  absl::StatusOr<std::vector<int32_t>> enc = (*tok)->Encode("hello", false, false);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(Decode(**tok, *enc), "hello");

  const std::vector<VocabCase> cases = ReadVocabCases(info.name);
  ASSERT_EQ(cases.size(), 46u);
  for (const VocabCase& c : cases) {
    EXPECT_EQ(Decode(**tok, c.ids), c.text) << "ids:" << Show(c.ids);
  }
}

INSTANTIATE_TEST_SUITE_P(LlamaCppVocabs, ByteLevelVocabTest,
                         ::testing::Values(BpeVocabInfo{"deepseek-llm", 102400, 100000, 100001},
                                           BpeVocabInfo{"deepseek-coder", 32256, 32013, 32014},
                                           BpeVocabInfo{"gpt-2", 50257, 50256, 50256}),
                         [](const ::testing::TestParamInfo<BpeVocabInfo>& p) {
                           std::string s = p.param.name;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

TEST(ByteLevelDecodeTest, AllBytesAndUnknownCodepoints) {
  // GPT-2's bytes_to_unicode, forward.
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable =
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const uint32_t cp = printable ? b : 256 + extra++;
    std::string utf8;
    if (cp < 0x80) {
      utf8.push_back(static_cast<char>(cp));
    } else {
      utf8.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      utf8.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    EXPECT_EQ(DecodeByteLevelText(utf8), std::string(1, static_cast<char>(b))) << b;
  }
  EXPECT_EQ(DecodeByteLevelText("\xC4\xA0hello\xC4\x8A"), " hello\n");                // Ġhello Ċ
  EXPECT_EQ(DecodeByteLevelText("\xE4\xB8\xAD"), "[UNK_BYTE_0xe4b8ad\xE4\xB8\xAD]");  // 中
  EXPECT_EQ(DecodeByteLevelText("\xFF"), "[UNK_BYTE_0xefbfbd\xFF]");  // invalid -> U+FFFD
}

// ---------------------------------------------------------------------------------------------
// Small synthetic vocabularies: the algorithm's corner cases and hostile metadata.

const std::string kMark = "\xE2\x96\x81";

// A tiny "llama" vocabulary:
//   0 <unk> UNKNOWN   1 <s> CONTROL   2 </s> CONTROL   3 ▁  4 a  5 b  6 ab (-4)  7 ▁a (-5)
//   8 ba (-4)   9 <0x0A> BYTE   10 <user> USER_DEFINED   11 <0x7A> BYTE   12 <ctl> CONTROL
GgufWriter TinySpm() {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens",
                   {"<unk>", "<s>", "</s>", kMark, "a", "b", "ab", kMark + "a", "ba", "<0x0A>",
                    "<user>", "<0x7A>", "<ctl>"});
  w.SetFloat32Array("tokenizer.ggml.scores", {0, 0, 0, -1, -2, -3, -4, -5, -4, 0, 0, 0, 0});
  w.SetInt32Array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 1, 1, 1, 6, 4, 6, 3});
  w.SetUint32("tokenizer.ggml.bos_token_id", 1);
  w.SetUint32("tokenizer.ggml.eos_token_id", 2);
  w.SetUint32("tokenizer.ggml.unknown_token_id", 0);
  return w;
}

std::vector<int32_t> MustEncode(const TokenizerImpl& tok, const std::string& text, bool add_bos,
                                bool parse_special) {
  absl::StatusOr<std::vector<int32_t>> ids = tok.Encode(text, add_bos, parse_special);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<int32_t>{-999};
}

TEST(SpmSyntheticTest, MergeOrderAndTies) {
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(TinySpm());
  ASSERT_TRUE(tok.ok()) << tok.status();
  // "▁aba": "ab" and "ba" tie at -4; the leftmost pair merges first.
  EXPECT_EQ(MustEncode(**tok, "aba", false, false), (std::vector<int32_t>{3, 6, 4}));
  // "▁a" only merges when nothing better is adjacent.
  EXPECT_EQ(MustEncode(**tok, "a", true, false), (std::vector<int32_t>{1, 7}));
  EXPECT_EQ(MustEncode(**tok, "a b", false, false), (std::vector<int32_t>{7, 3, 5}));
  // Byte fallback, else UNK per byte.
  EXPECT_EQ(MustEncode(**tok, "a\nz", false, false), (std::vector<int32_t>{7, 9, 11}));
  EXPECT_EQ(MustEncode(**tok, "q\xC3\xA9", false, false), (std::vector<int32_t>{3, 0, 0, 0}));
}

TEST(SpmSyntheticTest, SpecialTokens) {
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(TinySpm());
  ASSERT_TRUE(tok.ok()) << tok.status();
  // USER_DEFINED tokens are split out even without parse_special (as in llama.cpp).
  EXPECT_EQ(MustEncode(**tok, "a<user>a", false, false), (std::vector<int32_t>{7, 10, 7}));
  // CONTROL tokens only with parse_special.
  EXPECT_EQ(MustEncode(**tok, "a</s>a", false, true), (std::vector<int32_t>{7, 2, 7}));
  EXPECT_EQ(MustEncode(**tok, "a<ctl><ctl>", true, true), (std::vector<int32_t>{1, 7, 12, 12}));
  EXPECT_EQ(MustEncode(**tok, "a</s>a", false, false), (std::vector<int32_t>{7, 0, 0, 0, 0, 4}));
  EXPECT_EQ(MustEncode(**tok, "<unk>", false, true), (std::vector<int32_t>{0}));

  EXPECT_EQ(*(*tok)->TokenToPiece(0), "");
  EXPECT_EQ(*(*tok)->TokenToPiece(1), "");
  EXPECT_EQ(*(*tok)->TokenToPiece(3), " ");
  EXPECT_EQ(*(*tok)->TokenToPiece(7), " a");
  EXPECT_EQ(*(*tok)->TokenToPiece(9), "\n");
  EXPECT_EQ(*(*tok)->TokenToPiece(10), "<user>");
  EXPECT_EQ(*(*tok)->TokenToPiece(12), "");
  EXPECT_TRUE((*tok)->IsEndOfGeneration(2));
  EXPECT_FALSE((*tok)->IsEndOfGeneration(12));
}

TEST(SpmSyntheticTest, FlagsAndOptionalArrays) {
  {
    GgufWriter w = TinySpm();
    w.SetBool("tokenizer.ggml.add_space_prefix", false);
    w.SetBool("tokenizer.ggml.add_bos_token", false);
    w.SetBool("tokenizer.ggml.add_eos_token", true);
    w.SetUint32("tokenizer.ggml.eot_token_id", 5);
    absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(w);
    ASSERT_TRUE(tok.ok()) << tok.status();
    EXPECT_EQ(MustEncode(**tok, "ab", true, false), (std::vector<int32_t>{6, 2}));
    EXPECT_EQ(MustEncode(**tok, "ab", false, false), (std::vector<int32_t>{6}));
    EXPECT_TRUE((*tok)->IsEndOfGeneration(5));
  }
  {
    // No scores, no types: all NORMAL with score 0; no UNK and no byte token -> clear error.
    GgufWriter w;
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetStringArray("tokenizer.ggml.tokens", {"x", "y", kMark});
    w.SetInt32("tokenizer.ggml.unknown_token_id", -1);
    absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(w);
    ASSERT_TRUE(tok.ok()) << tok.status();
    EXPECT_EQ((*tok)->bos(), 1);
    EXPECT_EQ((*tok)->eos(), 2);  // llama defaults, inside this vocabulary
    EXPECT_EQ(MustEncode(**tok, "xy", false, false), (std::vector<int32_t>{2, 0, 1}));
    absl::StatusOr<std::vector<int32_t>> bad = (*tok)->Encode("z", false, false);
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  }
  {
    // 0xFFFFFFFF means "none".
    GgufWriter w = TinySpm();
    w.SetUint32("tokenizer.ggml.bos_token_id", 0xFFFFFFFFu);
    w.SetBool("tokenizer.ggml.add_bos_token", false);
    absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(w);
    ASSERT_TRUE(tok.ok()) << tok.status();
    EXPECT_EQ((*tok)->bos(), -1);
    EXPECT_EQ(MustEncode(**tok, "a", true, false), (std::vector<int32_t>{7}));
  }
}

void ExpectLoadError(const GgufWriter& w, absl::StatusCode code, const std::string& needle) {
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(w);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), code) << tok.status();
  EXPECT_NE(tok.status().message().find(needle), std::string::npos) << tok.status();
}

TEST(SpmHostileTest, BadMetadataIsAnError) {
  {
    GgufWriter w;  // no tokenizer at all
    w.SetString("general.architecture", "llama");
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "tokenizer.ggml.model");
  }
  {
    GgufWriter w;
    w.SetString("tokenizer.ggml.model", "llama");
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "tokenizer.ggml.tokens");
  }
  {
    GgufWriter w;
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetStringArray("tokenizer.ggml.tokens", {});
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "empty");
  }
  {
    GgufWriter w = TinySpm();
    w.SetFloat32Array("tokenizer.ggml.scores", {0, 0, 0});
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "tokenizer.ggml.scores");
  }
  {
    GgufWriter w = TinySpm();
    w.SetInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>(14, 1));
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "tokenizer.ggml.token_type");
  }
  {
    GgufWriter w = TinySpm();
    w.SetUint32("tokenizer.ggml.bos_token_id", 13);
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "bos_token_id");
  }
  {
    GgufWriter w = TinySpm();
    w.SetInt32("tokenizer.ggml.eos_token_id", -7);
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "eos_token_id");
  }
  {
    GgufWriter w = TinySpm();
    w.SetUint32("tokenizer.ggml.bos_token_id", 0xFFFFFFFFu);  // none, but add_bos is on
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "add_bos_token");
  }
  {
    GgufWriter w = TinySpm();
    w.SetString("tokenizer.ggml.bos_token_id", "1");
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "bos_token_id");
  }
  {
    GgufWriter w = TinySpm();
    w.SetInt32Array("tokenizer.ggml.tokens", {1, 2, 3});
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "tokenizer.ggml.tokens");
  }
  {
    GgufWriter w = TinySpm();
    w.SetStringArray("tokenizer.ggml.tokens",
                     {"<unk>", "<s>", "</s>", kMark, "a", "b", "ab", kMark + "a", "a", "<0x0A>",
                      "<user>", "<0x7A>", "<ctl>"});
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "duplicate");
  }
  {
    GgufWriter w = TinySpm();
    w.SetInt32Array("tokenizer.ggml.token_type", {2, 3, 3, 1, 6, 1, 1, 1, 1, 6, 4, 6, 3});
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "BYTE");
  }
  {
    GgufWriter w = TinySpm();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    w.SetFloat32Array("tokenizer.ggml.scores", {0, 0, 0, nan, -2, -3, -4, -5, -4, 0, 0, 0, 0});
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "NaN");
  }
  {
    GgufWriter w = TinySpm();
    w.SetString("tokenizer.ggml.model", "bert");
    ExpectLoadError(w, absl::StatusCode::kUnimplemented, "'bert'");
  }
  {
    GgufWriter w = TinySpm();
    w.SetBool("tokenizer.ggml.add_bos_token", true);
    w.SetUint32("tokenizer.ggml.add_eos_token", 1);  // wrong type
    ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "add_eos_token");
  }
}

TEST(SpmHostileTest, EmptyTokenTextIsRenamedLikeLlamaCpp) {
  GgufWriter w = TinySpm();
  w.SetStringArray("tokenizer.ggml.tokens",
                   {"<unk>", "<s>", "</s>", kMark, "a", "b", "ab", kMark + "a", "", "<0x0A>",
                    "<user>", "<0x7A>", "<ctl>"});
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(w);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(*(*tok)->TokenToPiece(8), "[EMPTY_8]");
}

TEST(SpmHostileTest, RandomVocabulariesNeverCrash) {
  // Random small vocabularies (random texts incl. invalid UTF-8, types incl. out-of-range
  // values, scores, special ids) and random inputs: loading may fail, but must not crash, and a
  // loaded tokenizer only returns ids inside the vocabulary.
  std::mt19937 rng(99);
  const std::string alphabet[] = {"a", "b", kMark, "<", ">", "\xC3", "\xA9", "\xFF", " ", "\n"};
  auto random_text = [&](size_t max_len) {
    std::string t;
    const size_t len = rng() % (max_len + 1);
    for (size_t i = 0; i < len; ++i) t += alphabet[rng() % std::size(alphabet)];
    return t;
  };
  int loaded = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const size_t n = 1 + rng() % 24;
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t kind = rng() % 8;
      if (kind == 0) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "<0x%02X>", static_cast<unsigned>(rng() % 256));
        tokens.push_back(buf);
        types.push_back(6);
      } else {
        tokens.push_back(random_text(4));
        types.push_back(static_cast<int32_t>(rng() % 8));
      }
      scores.push_back(static_cast<float>(static_cast<int>(rng() % 7)) - 3.0f);
    }
    GgufWriter w;
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetStringArray("tokenizer.ggml.tokens", tokens);
    if (rng() % 4 != 0) w.SetFloat32Array("tokenizer.ggml.scores", scores);
    if (rng() % 4 != 0) w.SetInt32Array("tokenizer.ggml.token_type", types);
    if (rng() % 2 != 0) w.SetUint32("tokenizer.ggml.unknown_token_id", rng() % (n + 2));
    if (rng() % 2 != 0) w.SetUint32("tokenizer.ggml.bos_token_id", rng() % (n + 2));
    if (rng() % 3 == 0) w.SetBool("tokenizer.ggml.add_space_prefix", false);
    absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(w);
    if (!tok.ok()) continue;
    ++loaded;
    for (int k = 0; k < 10; ++k) {
      absl::StatusOr<std::vector<int32_t>> ids =
          (*tok)->Encode(random_text(12), rng() % 2 == 0, rng() % 2 == 0);
      if (!ids.ok()) continue;
      for (int32_t id : *ids) {
        ASSERT_GE(id, 0);
        ASSERT_LT(id, (*tok)->vocab_size());
        EXPECT_TRUE((*tok)->TokenToPiece(id).ok());
      }
    }
  }
  EXPECT_GT(loaded, 50);
}

TEST(ByteLevelSyntheticTest, DecodeAndErrors) {
  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "gpt-2");
  w.SetStringArray("tokenizer.ggml.tokens",
                   {"\xC4\xA0hello", "<|endoftext|>", "<tool>", "<0x41>", "\xC4\x8A"});
  w.SetInt32Array("tokenizer.ggml.token_type", {1, 3, 4, 6, 1});
  w.SetStringArray("tokenizer.ggml.merges", {"\xC4\xA0 h"});
  absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok = LoadWriter(w);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->bos(), -1);  // default 11 is outside the vocabulary
  EXPECT_EQ((*tok)->eos(), -1);
  EXPECT_TRUE((*tok)->IsEndOfGeneration(1));  // <|endoftext|> is EOG by its text
  EXPECT_EQ(Decode(**tok, {0, 1, 2, 3, 4}), " hello<tool>A\n");
  // The merge uses "h", which is not a token: the vocabulary decodes but cannot encode.
  absl::StatusOr<std::vector<int32_t>> enc = (*tok)->Encode("hello", true, false);
  EXPECT_EQ(enc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(enc.status().message().find("merges"), std::string::npos);

  w.SetInt32Array("tokenizer.ggml.merges", {1});
  ExpectLoadError(w, absl::StatusCode::kInvalidArgument, "merges");
}

}  // namespace
}  // namespace fathom::internal
