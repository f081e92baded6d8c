// UnigramModel: trie construction and the single-pass Viterbi (arithmetic in the same float /
// double types as sentencepiece so ties resolve identically).
#include "tokenizer/unigram_model.h"

#include <algorithm>
#include <cfloat>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace fathom::internal {
namespace {

constexpr float kUnkPenalty = 10.0f;
constexpr int32_t kNormal = 1, kUnknown = 2, kUserDefined = 4, kUnused = 5;

// sentencepiece's OneCharLen: the length a lead byte announces (continuation bytes count 1).
size_t OneCharLen(char c) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[static_cast<uint8_t>(c) >> 4];
}

}  // namespace

absl::StatusOr<UnigramModel> UnigramModel::Create(const std::vector<Piece>& pieces) {
  UnigramModel m;
  m.scores_.resize(pieces.size());
  m.user_defined_.resize(pieces.size());
  // sentencepiece starts max_score_ at FLT_MIN (the smallest positive float), not -FLT_MAX.
  float min_score = FLT_MAX, max_score = FLT_MIN;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    const int32_t id = static_cast<int32_t>(i);
    if (p.text.empty()) return absl::InvalidArgumentError(absl::StrCat("piece ", id, " is empty"));
    m.scores_[i] = p.score;
    m.user_defined_[i] = p.type == kUserDefined;
    if (p.type == kNormal || p.type == kUserDefined || p.type == kUnused) {
      if (!m.trie_.Insert(p.text, p.type == kUnused ? -2 - id : id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("piece '", absl::CHexEscape(p.text), "' is defined twice"));
      }
    }
    if (p.type == kUnknown) {
      if (m.unk_id_ >= 0) return absl::InvalidArgumentError("the model has two UNKNOWN pieces");
      m.unk_id_ = id;
    }
    if (p.type == kNormal) {
      min_score = std::min(min_score, p.score);
      max_score = std::max(max_score, p.score);
    }
  }
  if (m.unk_id_ < 0) return absl::InvalidArgumentError("the model has no UNKNOWN piece");
  m.trie_.Freeze();
  m.min_score_ = min_score;
  m.max_score_ = max_score;
  return m;
}

void UnigramModel::Encode(std::string_view normalized, std::vector<Segment>& out) const {
  if (normalized.empty()) return;
  struct Best {
    int32_t id = -1;
    float score = 0;
    int64_t starts_at = -1;
  };
  const size_t size = normalized.size();
  const float unk_score = min_score_ - kUnkPenalty;
  std::vector<Best> best(size + 1);
  size_t starts_at = 0;
  while (starts_at < size) {
    const float score_here = best[starts_at].score;
    const size_t mblen = std::min(OneCharLen(normalized[starts_at]), size - starts_at);
    bool has_single_node = false;
    int32_t node = ByteTrie::kRoot;
    for (size_t key_pos = starts_at; key_pos < size;) {
      node = trie_.Step(node, static_cast<uint8_t>(normalized[key_pos]));
      ++key_pos;
      if (node < 0) break;
      const int32_t value = trie_.Value(node);
      if (value < 0) continue;  // no piece ends here, or an UNUSED piece (-2 - id)
      Best& target = best[key_pos];
      const size_t length = key_pos - starts_at;
      // sentencepiece's `auto score = user ? length * max_score_ - 0.1 : score(id)` is a double,
      // so the candidate is summed and compared in double and stored as float.
      const double score = user_defined_[value]
                               ? static_cast<double>(static_cast<float>(length) * max_score_) - 0.1
                               : static_cast<double>(scores_[value]);
      const double candidate = score + static_cast<double>(score_here);
      if (target.starts_at == -1 || candidate > static_cast<double>(target.score)) {
        target = {value, static_cast<float>(candidate), static_cast<int64_t>(starts_at)};
      }
      if (!has_single_node && length == mblen) has_single_node = true;
    }
    if (!has_single_node) {
      Best& target = best[starts_at + mblen];
      const float candidate = unk_score + score_here;
      if (target.starts_at == -1 || candidate > target.score) {
        target = {unk_id_, candidate, static_cast<int64_t>(starts_at)};
      }
    }
    starts_at += mblen;
  }
  const size_t first = out.size();
  for (size_t ends_at = size; ends_at > 0;) {
    const Best& b = best[ends_at];
    if (b.starts_at < 0 || static_cast<size_t>(b.starts_at) >= ends_at) break;  // unreachable
    const size_t start = static_cast<size_t>(b.starts_at);
    out.push_back({start, ends_at - start, b.id});
    ends_at = start;
  }
  std::reverse(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
}

}  // namespace fathom::internal
