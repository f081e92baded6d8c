// Added tokens of a tokenizer.json and their leftmost-longest matching in text, as the
// tokenizers crate's AddedVocabulary splits input before normalisation and pre-tokenisation.
#ifndef FATHOM_LIB_TOKENIZER_ADDED_TOKENS_H_
#define FATHOM_LIB_TOKENIZER_ADDED_TOKENS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fathom::internal {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// A piece of input: an added token, or a byte range of the text.
struct AddedSplit {
  int32_t token = -1;  // >= 0: this added token
  size_t begin = 0;
  size_t end = 0;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  // Splits `text` at the matches of the tokens (leftmost, then longest). With `skip_special`
  // a special token that matches stays text (HF's encode_special_tokens): the match still
  // consumes its span, so no other token is found inside it.
  std::vector<AddedSplit> Split(std::string_view text, bool skip_special) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
    int32_t token = -1;                             // index into tokens_
  };
  int32_t Child(int32_t node, uint8_t byte) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;
  // Children of the root (every scan position starts there); filled after construction.
  std::array<int32_t, 256> root_ = [] {
    std::array<int32_t, 256> a;
    a.fill(-1);
    return a;
  }();
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_ADDED_TOKENS_H_
