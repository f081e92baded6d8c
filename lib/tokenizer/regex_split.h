// Pre-tokenizer regular expressions with the semantics of the Oniguruma engine Hugging Face
// tokenizers uses, run by ICU's regex engine over UTF-8 (Unicode categories, lookaheads, (?i:)).
#ifndef FATHOM_LIB_TOKENIZER_REGEX_SPLIT_H_
#define FATHOM_LIB_TOKENIZER_REGEX_SPLIT_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "unicode/regex.h"
#include "unicode/utext.h"

namespace fathom::internal {

class SplitRegex {
 public:
  // Compiles an Oniguruma-style pattern. `\s`/`\S` are rewritten to the White_Space property
  // (Oniguruma's definition, which unlike ICU's includes U+000B and U+0085).
  static absl::StatusOr<std::unique_ptr<SplitRegex>> Compile(std::string_view pattern);
  // A pattern matching `literal` exactly.
  static absl::StatusOr<std::unique_ptr<SplitRegex>> Literal(std::string_view literal);
  ~SplitRegex();

  // Byte ranges [begin, end) of the successive non-overlapping, non-empty matches in `text`
  // (valid UTF-8). Thread-safe.
  absl::StatusOr<std::vector<std::pair<size_t, size_t>>> FindAll(std::string_view text) const;

 private:
  SplitRegex() = default;
  // A matcher and the UText it reads, reused across calls: creating them per piece dominated
  // pre-tokenization time (a Sequence of Splits calls FindAll once per piece).
  struct MatcherSlot {
    std::unique_ptr<icu::RegexMatcher> matcher;
    UText* text = nullptr;
    ~MatcherSlot();
  };
  std::unique_ptr<MatcherSlot> Acquire() const;
  void Release(std::unique_ptr<MatcherSlot> slot) const;

  std::unique_ptr<icu::RegexPattern> pattern_;
  std::string literal_;         // used instead of the pattern when non-empty
  mutable std::mutex pool_mu_;  // per call; std::mutex is cheaper than absl::Mutex here
  mutable std::vector<std::unique_ptr<MatcherSlot>> pool_;  // under pool_mu_
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_REGEX_SPLIT_H_
