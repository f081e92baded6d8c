// MissingTokenizer: see the header.
#include "tokenizer/missing_tokenizer.h"

#include "absl/strings/str_format.h"

namespace fathom::internal {

absl::Status MissingTokenizer::Error() const {
  return absl::FailedPreconditionError(absl::StrFormat("no text tokenizer: %s", reason_));
}

absl::StatusOr<std::vector<int32_t>> MissingTokenizer::Encode(std::string_view, bool, bool) const {
  return Error();
}

absl::StatusOr<std::string> MissingTokenizer::TokenToPiece(int32_t) const { return Error(); }

}  // namespace fathom::internal
