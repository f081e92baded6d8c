// AddedTokenMatcher: a byte trie scanned from each position for the longest match.
#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/unicode_text.h"
#include "unicode/uchar.h"

namespace fathom::internal {
namespace {

// The code point ending just before byte `end`, or 0xFFFFFFFF at the start.
uint32_t CodepointBefore(std::string_view s, size_t end) {
  if (end == 0) return 0xFFFFFFFFu;
  size_t b = end - 1;
  while (b > 0 && (static_cast<uint8_t>(s[b]) & 0xC0) == 0x80 && end - b < 4) --b;
  const size_t n = WellFormedUtf8Length(s, b);
  return n == end - b ? DecodeUtf8At(s, b, n) : 0xFFFDu;
}

uint32_t CodepointAt(std::string_view s, size_t i, size_t* len) {
  if (i >= s.size()) {
    *len = 0;
    return 0xFFFFFFFFu;
  }
  size_t n = WellFormedUtf8Length(s, i);
  if (n == 0) {
    *len = 1;
    return 0xFFFDu;
  }
  *len = n;
  return DecodeUtf8At(s, i, n);
}

bool IsWordChar(uint32_t cp) {
  return cp != 0xFFFFFFFFu && (u_isalnum(static_cast<UChar32>(cp)) || cp == '_');
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  nodes_.emplace_back();
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& c = tokens_[t].content;
    if (c.empty()) continue;
    int32_t node = 0;
    for (char ch : c) {
      const uint8_t b = static_cast<uint8_t>(ch);
      const auto& siblings = nodes_[node].next;
      auto found =
          std::lower_bound(siblings.begin(), siblings.end(), std::make_pair(b, int32_t{-1}));
      int32_t child = found != siblings.end() && found->first == b ? found->second : -1;
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        auto& next = nodes_[node].next;
        next.insert(std::lower_bound(next.begin(), next.end(), std::make_pair(b, int32_t{-1})),
                    {b, child});
      }
      node = child;
    }
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(t);
  }
  for (const auto& [b, child] : nodes_[0].next) root_[b] = child;
}

int32_t AddedTokenMatcher::Child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_[byte];
  const auto& next = nodes_[node].next;
  auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(byte, int32_t{-1}));
  return it != next.end() && it->first == byte ? it->second : -1;
}

std::vector<AddedSplit> AddedTokenMatcher::Split(std::string_view text, bool skip_special) const {
  std::vector<AddedSplit> out;
  size_t text_begin = 0;  // start of the pending text piece
  size_t i = 0;
  while (i < text.size()) {
    int32_t node = 0, found = -1;
    size_t found_end = 0;
    for (size_t k = i; k < text.size(); ++k) {
      node = Child(node, static_cast<uint8_t>(text[k]));
      if (node < 0) break;
      if (nodes_[node].token >= 0) {
        found = nodes_[node].token;
        found_end = k + 1;
      }
    }
    if (found < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[found];
    if (tok.single_word) {
      size_t len;
      if (IsWordChar(CodepointBefore(text, i)) || IsWordChar(CodepointAt(text, found_end, &len))) {
        ++i;
        continue;
      }
    }
    if (skip_special && tok.special) {
      i = found_end;
      continue;
    }
    size_t begin = i, end = found_end;
    if (tok.lstrip) {
      while (begin > text_begin) {
        const uint32_t cp = CodepointBefore(text, begin);
        if (!IsUnicodeWhiteSpace(cp)) break;
        size_t n = 1;
        while (n < begin && (static_cast<uint8_t>(text[begin - n]) & 0xC0) == 0x80) ++n;
        begin -= n;
      }
    }
    if (tok.rstrip) {
      size_t len;
      while (end < text.size()) {
        const uint32_t cp = CodepointAt(text, end, &len);
        if (!IsUnicodeWhiteSpace(cp)) break;
        end += len;
      }
    }
    if (begin > text_begin) out.push_back({-1, text_begin, begin});
    out.push_back({tok.id, begin, end});
    text_begin = i = end;
  }
  if (text_begin < text.size()) out.push_back({-1, text_begin, text.size()});
  return out;
}

}  // namespace fathom::internal
