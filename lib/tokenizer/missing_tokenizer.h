// The tokenizer of a model folder that ships no tokenizer files: token ids work (evaluation,
// generation by ids, end-of-generation by id), every text operation is a clear error.
#ifndef FATHOM_LIB_TOKENIZER_MISSING_TOKENIZER_H_
#define FATHOM_LIB_TOKENIZER_MISSING_TOKENIZER_H_

#include <string>

#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {

class MissingTokenizer final : public TokenizerImpl {
 public:
  // `reason` says why text is unavailable (it ends every error message).
  MissingTokenizer(std::string reason, int32_t vocab_size, int32_t bos, int32_t eos)
      : reason_(std::move(reason)), vocab_size_(vocab_size), bos_(bos), eos_(eos) {}

  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view, bool, bool) const override;
  absl::StatusOr<std::string> TokenToPiece(int32_t token) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  bool has_text() const override { return false; }
  int32_t bos() const override { return bos_; }
  int32_t eos() const override { return eos_; }
  bool IsEndOfGeneration(int32_t token) const override { return token >= 0 && token == eos_; }

 private:
  absl::Status Error() const;
  std::string reason_;
  int32_t vocab_size_, bos_, eos_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_MISSING_TOKENIZER_H_
