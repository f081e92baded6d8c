// SentencePiece unigram models: ALBERT's 30k-clean.model against sentencepiece 0.1.97 (every
// case of fixtures/tokenizers/albert-unigram-spm), the normalizer's whitespace rules, the
// precompiled charsmap, the Viterbi on small synthetic vocabularies, and hostile model files.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"
#include "tokenizer/sentencepiece_model.pb.h"
#include "tokenizer/spm_model_file.h"
#include "tokenizer/spm_normalizer.h"
#include "tokenizer/unigram_model.h"

namespace fathom::internal {
namespace {

using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;

constexpr char kAlbert[] = "tokenizers/albert-unigram-spm/tokenizer.model";

std::string Show(const std::vector<int32_t>& ids) { return absl::StrJoin(ids, ","); }

TEST(UnigramAlbertTest, AllCasesMatchSentencepiece) {
  FATHOM_REQUIRE_FIXTURE(kAlbert);
  absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> tok =
      SpmModelFileTokenizer::Create(ReadFile(FixturePath(kAlbert)));
  ASSERT_TRUE(tok.ok()) << tok.status();
  ASSERT_TRUE((*tok)->is_unigram());
  EXPECT_EQ((*tok)->vocab_size(), 30000);
  EXPECT_EQ((*tok)->bos(), -1);  // bos_id = -1 in the model's trainer_spec
  int failures = 0, n = 0;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(FixturePath("tokenizers/albert-unigram-spm/cases.jsonl")), '\n')) {
    if (line.empty()) continue;
    const nlohmann::json c = nlohmann::json::parse(line.begin(), line.end());
    ++n;
    const std::string text = c["text"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    // sentencepiece's Python encode(add_bos=True) inserts bos_id() even when it is -1: the
    // reference is [-1] + ids. A model without BOS adds nothing here.
    std::vector<int32_t> with_special = c["ids_with_special"].get<std::vector<int32_t>>();
    ASSERT_FALSE(with_special.empty());
    ASSERT_EQ(with_special.front(), -1) << c["id"];
    with_special.erase(with_special.begin());
    ASSERT_EQ(with_special, ids) << c["id"];
    absl::StatusOr<std::vector<int32_t>> got = (*tok)->Encode(text, false, true);
    absl::StatusOr<std::vector<int32_t>> got_bos = (*tok)->Encode(text, true, true);
    absl::StatusOr<std::string> decoded = (*tok)->DecodeIds(ids);
    const bool ok = got.ok() && *got == ids && got_bos.ok() && *got_bos == with_special &&
                    decoded.ok() && *decoded == c["decoded"].get<std::string>();
    if (!ok && ++failures <= 10) {
      ADD_FAILURE() << c["id"] << " " << c["category"] << " text=" << c["text"] << "\n want "
                    << Show(ids) << "\n got  " << (got.ok() ? Show(*got) : got.status().ToString())
                    << "\n decoded " << (decoded.ok() ? nlohmann::json(*decoded).dump() : "error")
                    << " want " << c["decoded"];
    }
  }
  EXPECT_EQ(n, 363);
  EXPECT_EQ(failures, 0) << "of " << n;
}

// A small unigram ModelProto: pieces with scores and types.
std::string MakeModel(const std::vector<std::tuple<std::string, float, int>>& pieces,
                      bool byte_fallback = false, bool remove_extra_whitespaces = true) {
  spm::ModelProto m;
  for (const auto& [text, score, type] : pieces) {
    spm::ModelProto::SentencePiece* p = m.add_pieces();
    p->set_piece(text);
    p->set_score(score);
    p->set_type(static_cast<spm::ModelProto::SentencePiece::Type>(type));
  }
  m.mutable_trainer_spec()->set_model_type(spm::TrainerSpec::UNIGRAM);
  m.mutable_trainer_spec()->set_unk_id(0);
  m.mutable_trainer_spec()->set_bos_id(1);
  m.mutable_trainer_spec()->set_eos_id(2);
  m.mutable_trainer_spec()->set_byte_fallback(byte_fallback);
  m.mutable_normalizer_spec()->set_name("identity");
  m.mutable_normalizer_spec()->set_remove_extra_whitespaces(remove_extra_whitespaces);
  return m.SerializeAsString();
}

std::vector<std::tuple<std::string, float, int>> BasePieces() {
  return {{"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}};
}

TEST(UnigramSyntheticTest, ViterbiPicksTheBestPathAndMergesUnknowns) {
  auto pieces = BasePieces();
  // "▁ab" as one piece (-5) loses to "▁a" + "b" (-1 + -1); "cd" (-0.5) beats "c" + "d".
  pieces.insert(pieces.end(), {{"\xE2\x96\x81"
                                "ab",
                                -5, 1},
                               {"\xE2\x96\x81"
                                "a",
                                -1, 1},
                               {"b", -1, 1},
                               {"c", -1, 1},
                               {"d", -1, 1},
                               {"cd", -0.5, 1},
                               {"\xE2\x96\x81", -2, 1},
                               {"<x>", 0, 4}});
  absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> tok =
      SpmModelFileTokenizer::Create(MakeModel(pieces));
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(*(*tok)->Encode("ab cd", false, false), (std::vector<int32_t>{4, 5, 9, 8}));
  EXPECT_EQ(*(*tok)->Encode("ab cd", true, false), (std::vector<int32_t>{1, 4, 5, 9, 8}));
  // "zzz" is three unknown characters: one merged UNK. "<x>" is user-defined: always one piece.
  EXPECT_EQ(*(*tok)->Encode("zzzcd<x>", false, false), (std::vector<int32_t>{9, 0, 8, 10}));
  // Extra whitespace is removed; control-token text is plain text.
  EXPECT_EQ(*(*tok)->Encode("   ab    cd  ", false, false), (std::vector<int32_t>{4, 5, 9, 8}));
  EXPECT_EQ(*(*tok)->Encode("<s>", false, true), (std::vector<int32_t>{9, 0}));
  EXPECT_EQ(*(*tok)->Encode("", true, false), (std::vector<int32_t>{1}));
  EXPECT_EQ(*(*tok)->Encode("   ", false, false), (std::vector<int32_t>{}));
  EXPECT_EQ(*(*tok)->DecodeIds({4, 5, 9, 8, 0, 1, 2, 10}), "ab cd \xE2\x81\x87 <x>");
  EXPECT_EQ(*(*tok)->DecodeIds({9, 9, 4, 5}), "ab");  // every leading space goes
  // Invalid UTF-8 becomes U+FFFD (unknown here), never an error.
  EXPECT_EQ(*(*tok)->Encode("\xff\xfe", false, false), (std::vector<int32_t>{9, 0}));
  EXPECT_FALSE((*tok)->DecodeIds({11}).ok());
  EXPECT_FALSE((*tok)->DecodeIds({-1}).ok());
}

TEST(UnigramSyntheticTest, ByteFallback) {
  auto pieces = BasePieces();
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    pieces.emplace_back(name, 0, 6);
  }
  pieces.emplace_back("\xE2\x96\x81", -1, 1);
  pieces.emplace_back("a", -1, 1);
  absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> tok =
      SpmModelFileTokenizer::Create(MakeModel(pieces, /*byte_fallback=*/true, false));
  ASSERT_TRUE(tok.ok()) << tok.status();
  // "é" = C3 A9 -> two byte pieces (ids 3 + byte), not merged into UNK.
  EXPECT_EQ(*(*tok)->Encode("a\xC3\xA9", false, false),
            (std::vector<int32_t>{259, 260, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(*(*tok)->DecodeIds({259, 260, 3 + 0xC3, 3 + 0xA9}), "a\xC3\xA9");
  EXPECT_EQ(*(*tok)->DecodeIds({3 + 0xC3, 260}),
            "\xEF\xBF\xBD"
            "a");
  // Without byte_fallback, byte pieces are an error (as in sentencepiece).
  EXPECT_FALSE(SpmModelFileTokenizer::Create(MakeModel(pieces, false)).ok());
  pieces.erase(pieces.begin() + 10);  // a missing byte piece
  EXPECT_FALSE(SpmModelFileTokenizer::Create(MakeModel(pieces, true)).ok());
}

TEST(UnigramSyntheticTest, BadVocabulariesAreErrors) {
  auto no_unk = BasePieces();
  std::get<2>(no_unk[0]) = 1;
  EXPECT_FALSE(SpmModelFileTokenizer::Create(MakeModel(no_unk)).ok());
  auto two_unk = BasePieces();
  two_unk.emplace_back("<unk2>", 0, 2);
  EXPECT_FALSE(SpmModelFileTokenizer::Create(MakeModel(two_unk)).ok());
  auto dup = BasePieces();
  dup.emplace_back("a", 0, 1);
  dup.emplace_back("a", 0, 1);
  EXPECT_FALSE(SpmModelFileTokenizer::Create(MakeModel(dup)).ok());
  auto empty = BasePieces();
  empty.emplace_back("", 0, 1);
  EXPECT_FALSE(SpmModelFileTokenizer::Create(MakeModel(empty)).ok());
}

TEST(SpmNormalizerTest, WhitespaceOptions) {
  SpmNormalizerOptions o;
  o.remove_extra_whitespaces = false;
  absl::StatusOr<SpmNormalizer> keep = SpmNormalizer::Create(o);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->Normalize("  a  b "),
            "\xE2\x96\x81\xE2\x96\x81\xE2\x96\x81"
            "a"
            "\xE2\x96\x81\xE2\x96\x81"
            "b\xE2\x96\x81");
  o.remove_extra_whitespaces = true;
  o.add_dummy_prefix = false;
  o.escape_whitespaces = false;
  absl::StatusOr<SpmNormalizer> squeeze = SpmNormalizer::Create(o);
  ASSERT_TRUE(squeeze.ok());
  EXPECT_EQ(squeeze->Normalize("  a  b "), "a b");
  EXPECT_EQ(squeeze->Normalize("a\xC3"), "a\xEF\xBF\xBD");
  o.treat_whitespace_as_suffix = true;
  o.add_dummy_prefix = true;
  o.escape_whitespaces = true;
  absl::StatusOr<SpmNormalizer> suffix = SpmNormalizer::Create(o);
  ASSERT_TRUE(suffix.ok());
  EXPECT_EQ(suffix->Normalize("a b"),
            "a\xE2\x96\x81"
            "b\xE2\x96\x81");
}

std::string AlbertCharsmap() {
  spm::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(ReadFile(FixturePath(kAlbert))));
  return m.normalizer_spec().precompiled_charsmap();
}

TEST(SpmNormalizerTest, AlbertCharsmapIsNfkc) {
  FATHOM_REQUIRE_FIXTURE(kAlbert);
  SpmNormalizerOptions o;
  o.precompiled_charsmap = AlbertCharsmap();
  absl::StatusOr<SpmNormalizer> n = SpmNormalizer::Create(o);
  ASSERT_TRUE(n.ok()) << n.status();
  // Full-width letters and the "ﬁ" ligature fold (NFKC); U+3000 becomes a space.
  EXPECT_EQ(n->Normalize("\xEF\xBC\xA1\xEF\xBD\x82 \xEF\xAC\x81"),
            "\xE2\x96\x81"
            "Ab\xE2\x96\x81"
            "fi");
  EXPECT_EQ(n->Normalize("a\xE3\x80\x80"
                         "b"),
            "\xE2\x96\x81"
            "a\xE2\x96\x81"
            "b");
  // Ill-formed bytes: U+FFFD each.
  EXPECT_EQ(n->Normalize("\xC0\xAF"), "\xE2\x96\x81\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(SpmNormalizerTest, BrokenCharsmapsFailOrMatchNothing) {
  FATHOM_REQUIRE_FIXTURE(kAlbert);
  const std::string good = AlbertCharsmap();
  ASSERT_GT(good.size(), 8u);
  for (const std::string& bad : {std::string(), std::string("\x01\x00\x00", 3),
                                 std::string("\xff\xff\xff\x7f"
                                             "abcd",
                                             8),
                                 std::string("\x00\x00\x00\x00"
                                             "ab",
                                             6)}) {
    EXPECT_FALSE(PrecompiledCharsMap::Parse(bad).ok()) << bad.size();
  }
  // Truncated blobs and random bit flips: parse or fail, and normalizing never reads outside.
  std::mt19937 rng(7);
  const std::string text =
      "Hello \xEF\xBC\xA1 \xE3\x80\x80 \xEF\xAC\x81 caf\xC3\xA9 \xF0\x9F\x98\x80";
  for (int trial = 0; trial < 200; ++trial) {
    std::string blob = good;
    if (trial % 2 == 0) {
      blob.resize(4 + rng() % (blob.size() - 4));
      const uint32_t trie = static_cast<uint32_t>(blob.size() - 4);
      for (int i = 0; i < 4; ++i) blob[i] = static_cast<char>((trie >> (8 * i)) & 0xFF);
    } else {
      for (int k = 0; k < 50; ++k) blob[4 + rng() % (blob.size() - 4)] ^= 1 << (rng() % 8);
    }
    SpmNormalizerOptions o;
    o.precompiled_charsmap = blob;
    absl::StatusOr<SpmNormalizer> n = SpmNormalizer::Create(o);
    if (n.ok()) (void)n->Normalize(text);
  }
}

TEST(UnigramHostileTest, MutatedAlbertModelsNeverCrash) {
  FATHOM_REQUIRE_FIXTURE(kAlbert);
  const std::string good = ReadFile(FixturePath(kAlbert));
  std::mt19937 rng(11);
  int loaded = 0;
  for (int trial = 0; trial < 30; ++trial) {
    std::string bytes = good;
    if (trial % 3 == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      for (int k = 0; k < 20; ++k) bytes[rng() % bytes.size()] ^= 1 << (rng() % 8);
    }
    absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> tok =
        SpmModelFileTokenizer::Create(bytes);
    if (!tok.ok()) continue;
    ++loaded;
    absl::StatusOr<std::vector<int32_t>> ids =
        (*tok)->Encode("Hello, world! \xE4\xBD\xA0\xE5\xA5\xBD \xff", true, false);
    ASSERT_TRUE(ids.ok());
    (void)(*tok)->DecodeIds(*ids);
  }
  SUCCEED() << loaded << " of 30 mutated models loaded";
}

TEST(UnigramHostileTest, HugeInputs) {
  FATHOM_REQUIRE_FIXTURE(kAlbert);
  absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> tok =
      SpmModelFileTokenizer::Create(ReadFile(FixturePath(kAlbert)));
  ASSERT_TRUE(tok.ok());
  for (const std::string& huge :
       {std::string(10u << 20, 'a'), std::string(10u << 20, ' '), std::string(1u << 20, '\xff')}) {
    absl::StatusOr<std::vector<int32_t>> ids = (*tok)->Encode(huge, false, false);
    ASSERT_TRUE(ids.ok()) << ids.status();
    if (huge[0] == ' ') {
      EXPECT_TRUE(ids->empty());
    }
    if (huge[0] == 'a') {
      absl::StatusOr<std::string> back = (*tok)->DecodeIds(*ids);
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(*back, huge);
    }
  }
}

}  // namespace
}  // namespace fathom::internal
