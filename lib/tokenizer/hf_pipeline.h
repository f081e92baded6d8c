// The text stages of a Hugging Face tokenizer.json around the model: normalizers, pre-tokenizers
// and decoders, each built from its JSON description (and pre-tokenizer presets for GGUF's
// tokenizer.ggml.pre names).
#ifndef FATHOM_LIB_TOKENIZER_HF_PIPELINE_H_
#define FATHOM_LIB_TOKENIZER_HF_PIPELINE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/json_util.h"
#include "tokenizer/regex_split.h"

namespace fathom::internal {

// A normalizer (HF `normalizer`): NFC/NFD/NFKC/NFKD, Lowercase, Prepend, Replace, Strip, Sequence.
class Normalizer {
 public:
  // `j` null gives an identity normalizer.
  static absl::StatusOr<std::unique_ptr<Normalizer>> FromJson(const Json& j);
  // `text` is valid UTF-8 and stays so.
  absl::Status Apply(std::string& text) const;
  bool identity() const { return kind_ == Kind::kSequence && children_.empty(); }

 private:
  static absl::StatusOr<std::unique_ptr<Normalizer>> Build(const Json& j, int depth);
  enum class Kind { kSequence, kNfc, kNfd, kNfkc, kNfkd, kLowercase, kPrepend, kReplace, kStrip };
  Kind kind_ = Kind::kSequence;
  std::string text_;  // Prepend text, Replace content
  std::unique_ptr<SplitRegex> pattern_;
  bool strip_left_ = false, strip_right_ = false;
  std::vector<std::unique_ptr<Normalizer>> children_;
};

// How a Split pre-tokenizer treats matches (HF SplitDelimiterBehavior).
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

// A pre-tokenizer (HF `pre_tokenizer`): Split, ByteLevel, Digits, Metaspace, Whitespace,
// WhitespaceSplit, Sequence.
class PreTokenizer {
 public:
  // `j` null gives a pre-tokenizer that keeps the text whole.
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> FromJson(const Json& j);
  // llama.cpp's preset for a GGUF tokenizer.ggml.pre value (byte-level models): the Split
  // regexes of the corresponding Hugging Face tokenizer, then the byte-level mapping.
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> ForGgufPre(std::string_view pre);
  // The Split regexes of that preset, in order (ICU syntax; a few characters written as
  // \x{HHHH} escapes).
  static absl::StatusOr<std::vector<std::string>> GgufPreRegexes(std::string_view pre);

  // Splits `pieces` in place. `first_chunk`: the text starts at the beginning of the input
  // (Metaspace's prepend_scheme "first").
  absl::Status Apply(std::vector<std::string>& pieces, bool first_chunk) const;
  // Whether a ByteLevel step is present: the model then sees bytes as GPT-2 characters.
  bool byte_level() const;

 private:
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> Build(const Json& j, int depth);
  enum class Kind { kSequence, kSplit, kByteLevel, kDigits, kMetaspace, kWhitespace, kWsSplit };
  Kind kind_ = Kind::kSequence;
  std::unique_ptr<SplitRegex> regex_;
  SplitBehavior behavior_ = SplitBehavior::kIsolated;
  bool invert_ = false;
  bool add_prefix_space_ = false;
  bool flag_ = false;  // Digits: individual_digits; Metaspace: split
  std::string replacement_;
  int prepend_scheme_ = 0;  // 0 always, 1 first, 2 never
  std::vector<std::unique_ptr<PreTokenizer>> children_;
};

// A decoder (HF `decoder`): ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence.
class Decoder {
 public:
  // `j` null: tokens are joined with spaces, as the tokenizers library does without a decoder.
  static absl::StatusOr<std::unique_ptr<Decoder>> FromJson(const Json& j);
  std::string Decode(std::vector<std::string> tokens) const;
  bool byte_level() const;
  bool byte_fallback() const;
  // The text a Replace/Metaspace step turns into a space ("" if none).
  std::string space_replacement() const;

 private:
  static absl::StatusOr<std::unique_ptr<Decoder>> Build(const Json& j, int depth);
  enum class Kind {
    kNone,
    kSequence,
    kByteLevel,
    kReplace,
    kByteFallback,
    kFuse,
    kStrip,
    kMetaspace
  };
  void Run(std::vector<std::string>& tokens) const;
  Kind kind_ = Kind::kNone;
  std::string from_, to_;
  size_t start_ = 0, stop_ = 0;
  bool prepend_ = true;
  std::vector<std::unique_ptr<Decoder>> children_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_HF_PIPELINE_H_
