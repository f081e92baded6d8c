// BpeModel: rank-ordered merges over a linked list of symbols with a min-heap of candidate pairs,
// O(n log n) per word; short words are cached.
#include "tokenizer/bpe_model.h"

#include <queue>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/vocab.h"

namespace fathom::internal {
namespace {

constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCacheEntries = 20000;

uint64_t PairKey(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(
    absl::flat_hash_map<std::string, int32_t> token_of,
    const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options) {
  std::unique_ptr<BpeModel> m(new BpeModel());
  m->token_of_ = std::move(token_of);
  m->options_ = options;
  m->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const int32_t ia = m->Find(a);
    const int32_t ib = m->Find(b);
    const int32_t im = m->Find(a + b);
    if (ia < 0 || ib < 0 || im < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("BPE merge ", rank, " ('", absl::CHexEscape(a), "' '", absl::CHexEscape(b),
                       "') uses a token that is not in the vocabulary"));
    }
    // The first (lowest-rank) occurrence of a pair wins, as in HF's merge map.
    m->merges_.try_emplace(PairKey(ia, ib), static_cast<int32_t>(rank), im);
  }
  for (int b = 0; b < 256; ++b) {
    m->byte_token_[b] = m->Find(ByteLevelChars()[b]);
    m->fallback_token_[b] = m->Find(absl::StrFormat("<0x%02X>", b));
  }
  return m;
}

int32_t BpeModel::Find(std::string_view token) const {
  auto it = token_of_.find(ToAbslView(token));
  return it == token_of_.end() ? -1 : it->second;
}

void BpeModel::InitialSymbols(std::string_view word, std::vector<int32_t>& symbols) const {
  if (options_.byte_level) {
    for (char c : word) {
      const int32_t id = byte_token_[static_cast<uint8_t>(c)];
      if (id >= 0) {
        symbols.push_back(id);
      } else if (options_.unk >= 0 &&
                 !(options_.fuse_unk && !symbols.empty() && symbols.back() == options_.unk)) {
        symbols.push_back(options_.unk);
      }
    }
    return;
  }
  size_t i = 0;
  while (i < word.size()) {
    size_t n = WellFormedUtf8Length(word, i);
    if (n == 0) n = 1;  // callers pass valid UTF-8; stay safe anyway
    const std::string_view ch = word.substr(i, n);
    i += n;
    const int32_t id = Find(ch);
    if (id >= 0) {
      symbols.push_back(id);
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && fallback_token_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        for (char c : ch) symbols.push_back(fallback_token_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (options_.unk >= 0 &&
        !(options_.fuse_unk && !symbols.empty() && symbols.back() == options_.unk)) {
      symbols.push_back(options_.unk);
    }
  }
}

void BpeModel::Merge(std::vector<int32_t>& symbols) const {
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  // (rank, left position); the smallest rank first, then the leftmost.
  using Candidate = std::pair<int32_t, int>;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  const auto push = [&](int left) {
    const int right = next[left];
    if (right < 0) return;
    auto it = merges_.find(PairKey(symbols[left], symbols[right]));
    if (it != merges_.end()) heap.emplace(it->second.first, left);
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const auto [rank, left] = heap.top();
    heap.pop();
    if (!alive[left]) continue;
    const int right = next[left];
    if (right < 0) continue;
    auto it = merges_.find(PairKey(symbols[left], symbols[right]));
    if (it == merges_.end() || it->second.first != rank) continue;  // stale candidate
    symbols[left] = it->second.second;
    alive[right] = false;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    if (prev[left] >= 0) push(prev[left]);
    push(left);
  }
  size_t w = 0;
  for (int i = 0; i >= 0 && i < n; i = next[i]) symbols[w++] = symbols[i];
  symbols.resize(w);
}

void BpeModel::EncodeWord(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(ToAbslView(word));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  bool whole = false;
  if (options_.ignore_merges) {
    int32_t id;
    if (options_.byte_level) {
      std::string mapped;
      mapped.reserve(word.size() * 2);
      for (char c : word) mapped += ByteLevelChars()[static_cast<uint8_t>(c)];
      id = Find(mapped);
    } else {
      id = Find(word);
    }
    if (id >= 0) {
      symbols.push_back(id);
      whole = true;
    }
  }
  if (!whole) {
    symbols.reserve(word.size());
    InitialSymbols(word, symbols);
    Merge(symbols);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.emplace(std::string(word), std::move(symbols));
  }
}

}  // namespace fathom::internal
