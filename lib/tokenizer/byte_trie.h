// A byte trie for longest/every-prefix matching of vocabulary pieces (SentencePiece unigram
// lattice, user-defined symbols). Built once, then frozen into sorted child arrays; the root has
// a direct 256-entry table because every lookup starts there.
#ifndef FATHOM_LIB_TOKENIZER_BYTE_TRIE_H_
#define FATHOM_LIB_TOKENIZER_BYTE_TRIE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

namespace fathom::internal {

class ByteTrie {
 public:
  ByteTrie();

  // Adds `key` (non-empty) with `value` >= 0. Returns false if the key is already present (the
  // first value stays). Only before Freeze().
  bool Insert(std::string_view key, int32_t value);
  void Freeze();

  static constexpr int32_t kRoot = 0;
  // The child of `node` along byte `b`, or -1.
  int32_t Step(int32_t node, uint8_t b) const {
    if (node == kRoot) return root_[b];
    const uint32_t begin = first_child_[node];
    const uint32_t end = first_child_[node + 1];
    for (uint32_t i = begin; i < end; ++i) {  // children are few: linear beats binary search
      if (labels_[i] == b) return children_[i];
      if (labels_[i] > b) break;
    }
    return -1;
  }
  // The value stored at `node`, -1 if no key ends there.
  int32_t Value(int32_t node) const { return values_[node]; }

  // Length of the longest key that is a prefix of `s` and its value; {0, -1} if none.
  std::pair<size_t, int32_t> LongestPrefix(std::string_view s) const;

 private:
  std::vector<int32_t> values_;
  std::vector<std::map<uint8_t, int32_t>> building_;  // emptied by Freeze()
  std::array<int32_t, 256> root_;
  std::vector<uint32_t> first_child_;  // CSR over labels_/children_, size nodes + 1
  std::vector<uint8_t> labels_;
  std::vector<int32_t> children_;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_BYTE_TRIE_H_
