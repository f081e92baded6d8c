// ByteTrie: insertion into ordered maps, then a compact frozen form.
#include "tokenizer/byte_trie.h"

namespace fathom::internal {

ByteTrie::ByteTrie() : values_(1, -1), building_(1) { root_.fill(-1); }

bool ByteTrie::Insert(std::string_view key, int32_t value) {
  int32_t node = kRoot;
  for (const char c : key) {
    const uint8_t b = static_cast<uint8_t>(c);
    auto it = building_[node].find(b);
    if (it == building_[node].end()) {
      const int32_t child = static_cast<int32_t>(values_.size());
      values_.push_back(-1);
      building_[node].emplace(b, child);
      building_.emplace_back();
      node = child;
    } else {
      node = it->second;
    }
  }
  if (node == kRoot || values_[node] >= 0) return false;
  values_[node] = value;
  return true;
}

void ByteTrie::Freeze() {
  const size_t n = values_.size();
  first_child_.assign(n + 1, 0);
  labels_.clear();
  children_.clear();
  for (size_t node = 0; node < n; ++node) {
    first_child_[node] = static_cast<uint32_t>(labels_.size());
    for (const auto& [label, child] : building_[node]) {
      labels_.push_back(label);
      children_.push_back(child);
      if (node == kRoot) root_[label] = child;
    }
  }
  first_child_[n] = static_cast<uint32_t>(labels_.size());
  building_.clear();
  building_.shrink_to_fit();
}

std::pair<size_t, int32_t> ByteTrie::LongestPrefix(std::string_view s) const {
  std::pair<size_t, int32_t> best{0, -1};
  int32_t node = kRoot;
  for (size_t i = 0; i < s.size(); ++i) {
    node = Step(node, static_cast<uint8_t>(s[i]));
    if (node < 0) break;
    if (values_[node] >= 0) best = {i + 1, values_[node]};
  }
  return best;
}

}  // namespace fathom::internal
