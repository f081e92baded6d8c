// SentencePiece unigram segmentation: the optimized Viterbi of sentencepiece 0.1.97
// (unigram_model.cc, EncodeOptimized) over already normalized text. Each position keeps the best
// path ending there; every vocabulary piece starting at a character boundary (found by walking a
// byte trie) extends it by its score, user-defined pieces get length * max_score - 0.1 so they
// always win, and a character no piece covers becomes UNK with min_score - 10.
#ifndef FATHOM_LIB_TOKENIZER_UNIGRAM_MODEL_H_
#define FATHOM_LIB_TOKENIZER_UNIGRAM_MODEL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/byte_trie.h"

namespace fathom::internal {

class UnigramModel {
 public:
  struct Piece {
    std::string text;
    float score = 0;
    int32_t type =
        1;  // SentencePiece type: 1 normal, 2 unknown, 3 control, 4 user, 5 unused, 6 byte
  };
  // Validates like sentencepiece's ModelInterface::InitializePieces: non-empty pieces, no
  // duplicates among normal/user-defined/unused pieces, exactly one UNKNOWN piece.
  static absl::StatusOr<UnigramModel> Create(const std::vector<Piece>& pieces);

  // Best segmentation of `normalized` as (byte offset, byte length, id) triples in text order.
  struct Segment {
    size_t offset;
    size_t length;
    int32_t id;
  };
  void Encode(std::string_view normalized, std::vector<Segment>& out) const;

  int32_t unk_id() const { return unk_id_; }

 private:
  ByteTrie trie_;
  std::vector<float> scores_;
  std::vector<uint8_t> user_defined_;  // per id
  int32_t unk_id_ = -1;
  float min_score_ = 0;
  float max_score_ = 0;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_UNIGRAM_MODEL_H_
