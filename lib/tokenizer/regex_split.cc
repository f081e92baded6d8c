// SplitRegex: Oniguruma-compatible pattern rewriting and match enumeration with ICU over UTF-8.
#include "tokenizer/regex_split.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "unicode/utext.h"

namespace fathom::internal {
namespace {

// Rewrites Oniguruma spellings ICU reads differently. Only `\s` and `\S` need it for the
// pre-tokenizer patterns in use; other escapes pass through unchanged.
std::string RewritePattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += pattern[i];
        out += next;
      }
      ++i;
      continue;
    }
    out += pattern[i];
  }
  return out;
}

}  // namespace

SplitRegex::~SplitRegex() = default;

absl::StatusOr<std::unique_ptr<SplitRegex>> SplitRegex::Compile(std::string_view pattern) {
  const std::string rewritten = RewritePattern(pattern);
  if (rewritten.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("regex too long");
  }
  UErrorCode status = U_ZERO_ERROR;
  UParseError perr;
  icu::UnicodeString upattern = icu::UnicodeString::fromUTF8(
      icu::StringPiece(rewritten.data(), static_cast<int32_t>(rewritten.size())));
  std::unique_ptr<icu::RegexPattern> compiled(
      icu::RegexPattern::compile(upattern, UREGEX_UNIX_LINES, perr, status));
  if (U_FAILURE(status) || compiled == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("invalid pre-tokenizer regex at offset ",
                                                   perr.offset, " (", u_errorName(status), ")"));
  }
  std::unique_ptr<SplitRegex> re(new SplitRegex());
  re->pattern_ = std::move(compiled);
  return re;
}

absl::StatusOr<std::unique_ptr<SplitRegex>> SplitRegex::Literal(std::string_view literal) {
  if (literal.empty()) return absl::InvalidArgumentError("empty split pattern");
  std::unique_ptr<SplitRegex> re(new SplitRegex());
  re->literal_ = std::string(literal);
  return re;
}

absl::StatusOr<std::vector<std::pair<size_t, size_t>>> SplitRegex::FindAll(
    std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  if (!literal_.empty()) {
    size_t pos = 0;
    while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
      out.emplace_back(pos, pos + literal_.size());
      pos += literal_.size();
    }
    return out;
  }
  if (text.empty()) return out;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<MatcherSlot> slot = Acquire();
  if (slot == nullptr) return absl::InternalError("regex matcher failed");
  slot->text = utext_openUTF8(slot->text, text.data(), static_cast<int64_t>(text.size()), &status);
  if (U_FAILURE(status) || slot->text == nullptr) {
    return absl::InternalError("utext_openUTF8 failed");
  }
  icu::RegexMatcher* m = slot->matcher.get();
  m->reset(slot->text);
  while (m->find(status) && U_SUCCESS(status)) {
    const int64_t b = m->start64(status);
    const int64_t e = m->end64(status);
    if (U_FAILURE(status)) break;
    if (e > b) out.emplace_back(static_cast<size_t>(b), static_cast<size_t>(e));
  }
  Release(std::move(slot));
  if (U_FAILURE(status)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("pre-tokenizer regex failed: ", u_errorName(status)));
  }
  return out;
}

SplitRegex::MatcherSlot::~MatcherSlot() {
  matcher.reset();
  if (text != nullptr) utext_close(text);
}

std::unique_ptr<SplitRegex::MatcherSlot> SplitRegex::Acquire() const {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      std::unique_ptr<MatcherSlot> slot = std::move(pool_.back());
      pool_.pop_back();
      return slot;
    }
  }
  UErrorCode status = U_ZERO_ERROR;
  auto slot = std::make_unique<MatcherSlot>();
  slot->matcher.reset(pattern_->matcher(status));
  if (U_FAILURE(status) || slot->matcher == nullptr) return nullptr;
  return slot;
}

void SplitRegex::Release(std::unique_ptr<MatcherSlot> slot) const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < 64) pool_.push_back(std::move(slot));
}

}  // namespace fathom::internal
