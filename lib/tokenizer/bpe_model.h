// The BPE model of Hugging Face tokenizers (and llama.cpp's byte-level BPE): a word's initial
// symbols are merged by merge rank with a priority queue, results cached per word.
#ifndef FATHOM_LIB_TOKENIZER_BPE_MODEL_H_
#define FATHOM_LIB_TOKENIZER_BPE_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace fathom::internal {

struct BpeOptions {
  // Words are raw bytes, each mapped to GPT-2's byte-level character for the initial symbols.
  bool byte_level = true;
  bool ignore_merges = false;  // a word that is itself a token skips the merges
  bool byte_fallback = false;  // unknown characters become <0xNN> tokens
  int32_t unk = -1;            // unknown characters become this (fused if fuse_unk); -1: dropped
  bool fuse_unk = false;
};

class BpeModel {
 public:
  // `token_of` maps token text (byte-level form when byte_level) to id; `merges` are pairs of
  // token texts in rank order. Fails on a merge whose parts or result are not tokens.
  static absl::StatusOr<std::unique_ptr<BpeModel>> Create(
      absl::flat_hash_map<std::string, int32_t> token_of,
      const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

  // Appends the tokens of one pre-tokenized word.
  void EncodeWord(std::string_view word, std::vector<int32_t>& out) const;

  int32_t Find(std::string_view token) const;
  const BpeOptions& options() const { return options_; }

 private:
  BpeModel() = default;
  void Merge(std::vector<int32_t>& symbols) const;
  void InitialSymbols(std::string_view word, std::vector<int32_t>& symbols) const;

  absl::flat_hash_map<std::string, int32_t> token_of_;
  // (left id << 32 | right id) -> (rank, merged id)
  absl::flat_hash_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  BpeOptions options_;
  std::array<int32_t, 256> byte_token_{};      // byte-level: byte -> token of its character
  std::array<int32_t, 256> fallback_token_{};  // byte_fallback: byte -> <0xNN> token

  // std::mutex, not absl::Mutex: this lock is taken per word and absl's deadlock bookkeeping
  // showed up in profiles.
  mutable std::mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::vector<int32_t>> cache_;  // under cache_mu_
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_BPE_MODEL_H_
