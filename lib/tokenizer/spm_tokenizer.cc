// SentencePiece-style ("llama" vocabulary) tokenizer: llama.cpp's llm_tokenizer_spm, its
// special-token partitioning and token_to_piece(special = false).
#include "tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "tokenizer/unicode_text.h"

namespace fathom::internal {
namespace {

constexpr char kSpaceMark[] = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Byte length of the UTF-8 sequence a lead byte announces, as llama.cpp's unicode_len_utf8
// (continuation and invalid bytes count as 1; nothing is validated).
size_t Utf8Len(char c) {
  static constexpr size_t kLookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLookup[static_cast<uint8_t>(c) >> 4];
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

struct Symbol {
  int prev;
  int next;
  size_t offset;
  size_t n;
};

struct Bigram {
  int left;
  int right;
  float score;
  size_t size;
};

// Highest score first; equal scores: leftmost first (llm_bigram_spm::comparator).
struct BigramLess {
  bool operator()(const Bigram& l, const Bigram& r) const {
    return (l.score < r.score) || (l.score == r.score && l.left > r.left);
  }
};

}  // namespace

std::vector<TextFragment> PartitionSpecialTokens(const VocabData& vocab, std::string_view text,
                                                 bool parse_special) {
  std::vector<TextFragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({-1, 0, text.size()});
  std::vector<TextFragment> next;
  for (const int32_t id : vocab.special_tokens) {
    const uint32_t attr = vocab.attrs[id];
    if (!parse_special && (attr & (kAttrControl | kAttrUnknown)) != 0) continue;
    const std::string_view special = vocab.texts[id];  // never empty
    next.clear();
    bool changed = false;
    for (const TextFragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t offset = f.offset;
      size_t length = f.length;
      while (true) {
        const size_t rel = text.substr(offset, length).find(special);
        if (rel == std::string_view::npos) {
          if (length > 0) next.push_back({-1, offset, length});
          break;
        }
        changed = true;
        const size_t match = offset + rel;
        size_t left_length = rel;
        if ((attr & kAttrLstrip) != 0) {
          while (left_length > 0 && IsAsciiSpace(text[offset + left_length - 1])) --left_length;
        }
        if (left_length > 0) next.push_back({-1, offset, left_length});
        next.push_back({id, 0, 0});
        size_t right_offset = match + special.size();
        size_t right_length = offset + length - right_offset;
        if ((attr & kAttrRstrip) != 0) {
          while (right_length > 0 && IsAsciiSpace(text[right_offset])) {
            ++right_offset;
            --right_length;
          }
        }
        offset = right_offset;
        length = right_length;
      }
    }
    if (changed) fragments.swap(next);
  }
  return fragments;
}

absl::StatusOr<std::unique_ptr<SpmTokenizer>> SpmTokenizer::Create(const GgufFile& gguf) {
  absl::StatusOr<VocabData> vocab = LoadVocab(gguf, VocabKind::kSpm);
  if (!vocab.ok()) return vocab.status();
  return std::make_unique<SpmTokenizer>(*std::move(vocab));
}

SpmTokenizer::SpmTokenizer(VocabData vocab) : vocab_(std::move(vocab)) {
  const int32_t n = vocab_.size();
  pieces_.resize(n);
  for (int32_t id = 0; id < n; ++id) {
    const uint32_t attr = vocab_.attrs[id];
    const std::string& text = vocab_.texts[id];
    if ((attr & (kAttrUnknown | kAttrControl)) != 0) continue;  // "" with special = false
    if ((attr & kAttrUserDefined) != 0) {
      pieces_[id] = text;
    } else if ((attr & kAttrNormal) != 0) {
      pieces_[id] = absl::StrReplaceAll(text, {{kSpaceMark, " "}});
    } else if ((attr & kAttrByte) != 0) {
      pieces_[id] = std::string(1, static_cast<char>(ParseByteToken(text)));  // validated
    }
    // UNDEFINED / UNUSED: "" as in llama.cpp.
  }
  segment_safe_ = true;
  for (const std::string& t : vocab_.texts) {
    for (size_t p = t.find(kSpaceMark, 1); p != std::string::npos; p = t.find(kSpaceMark, p + 1)) {
      if (p < 3 || t.compare(p - 3, 3, kSpaceMark) != 0) segment_safe_ = false;
    }
  }
  for (int b = 0; b < 256; ++b) {
    int32_t id = vocab_.Find(absl::StrFormat("<0x%02X>", b));
    if (id < 0) id = vocab_.Find(std::string(1, static_cast<char>(b)));
    byte_ids_[b] = id;
  }
}

absl::StatusOr<std::vector<int32_t>> SpmTokenizer::Encode(std::string_view text, bool add_bos,
                                                          bool parse_special) const {
  if (text.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max() / 4)) {
    return absl::InvalidArgumentError(
        absl::StrCat("text of ", text.size(), " bytes is too long to tokenize"));
  }
  std::vector<int32_t> out;
  const std::vector<TextFragment> fragments = PartitionSpecialTokens(vocab_, text, parse_special);
  bool is_prev_special = true;  // the space prefix goes before the first text
  if (add_bos && vocab_.add_bos) out.push_back(vocab_.bos);  // bos >= 0 checked at load
  std::string buffer;
  for (const TextFragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      is_prev_special = true;
      continue;
    }
    buffer.clear();
    if (vocab_.add_space_prefix && is_prev_special) buffer.push_back(' ');
    buffer.append(text.data() + f.offset, f.length);
    const std::string escaped = absl::StrReplaceAll(buffer, {{" ", kSpaceMark}});
    // Ill-formed UTF-8 is split into symbols by lead bytes across segment starts: whole text.
    if (absl::Status s = segment_safe_ && IsValidUtf8(escaped)
                             ? TokenizeEscapedBySegments(escaped, out)
                             : TokenizeEscaped(escaped, out);
        !s.ok()) {
      return s;
    }
    is_prev_special = false;
  }
  if (add_bos && vocab_.add_eos) out.push_back(vocab_.eos);  // eos >= 0 checked at load
  return out;
}

absl::Status SpmTokenizer::TokenizeEscapedBySegments(std::string_view text,
                                                     std::vector<int32_t>& out) const {
  constexpr size_t kMaxCachedBytes = 64;
  constexpr size_t kMaxCacheEntries = 20000;
  const std::string_view mark = kSpaceMark;
  size_t begin = 0;
  while (begin < text.size()) {
    // The segment ends where a U+2581 follows a character that is not U+2581.
    size_t end = begin;
    bool prev_mark = false;
    while (end < text.size()) {
      const bool is_mark = text.compare(end, mark.size(), mark) == 0;
      if (is_mark && end > begin && !prev_mark) break;
      prev_mark = is_mark;
      end += is_mark ? mark.size() : 1;
    }
    const std::string_view segment = text.substr(begin, end - begin);
    begin = end;
    if (segment.size() <= kMaxCachedBytes) {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = cache_.find(ToAbslView(segment));
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        continue;
      }
    }
    std::vector<int32_t> ids;
    if (absl::Status s = TokenizeEscaped(segment, ids); !s.ok()) return s;
    out.insert(out.end(), ids.begin(), ids.end());
    if (segment.size() <= kMaxCachedBytes) {
      std::lock_guard<std::mutex> lock(cache_mu_);
      if (cache_.size() >= kMaxCacheEntries) cache_.clear();
      cache_.emplace(std::string(segment), std::move(ids));
    }
  }
  return absl::OkStatus();
}

absl::Status SpmTokenizer::TokenizeEscaped(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return absl::OkStatus();
  // Split into UTF-8 characters.
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t offs = 0; offs < text.size();) {
    const size_t n = std::min(Utf8Len(text[offs]), text.size() - offs);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, offs + n == text.size() ? -1 : index + 1, offs, n});
    offs += n;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramLess> queue;
  auto try_add_bigram = [&](int left, int right) {
    if (left == -1 || right == -1) return;
    const size_t size = symbols[left].n + symbols[right].n;
    const int32_t id = vocab_.Find(text.substr(symbols[left].offset, size));
    if (id < 0) return;
    queue.push({left, right, vocab_.scores[id], size});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add_bigram(i - 1, i);

  // Keep merging the best-scoring adjacent pair.
  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;  // stale
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add_bigram(left.prev, bigram.left);
    try_add_bigram(bigram.left, left.next);
  }

  // Emit: every merged symbol is a vocabulary token by construction; unmerged characters that
  // are not tokens fall back to byte tokens (llama.cpp's resegment; its rev_merge lookup can
  // never succeed for such a symbol, so it is not needed).
  for (int i = 0; i != -1; i = symbols[i].next) {
    const Symbol& sym = symbols[i];
    const std::string_view piece = text.substr(sym.offset, sym.n);
    const int32_t id = vocab_.Find(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (const char c : piece) {
      int32_t byte_id = byte_ids_[static_cast<uint8_t>(c)];
      if (byte_id < 0) byte_id = vocab_.unk;
      if (byte_id < 0) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "cannot tokenize byte 0x%02X: the vocabulary has no <0x%02X> token and no UNK token",
            static_cast<uint8_t>(c), static_cast<uint8_t>(c)));
      }
      out.push_back(byte_id);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SpmTokenizer::TokenToPiece(int32_t token) const {
  if (token < 0 || token >= vocab_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token id ", token, " is out of range [0, ", vocab_.size(), ")"));
  }
  return pieces_[token];
}

bool SpmTokenizer::IsEndOfGeneration(int32_t token) const {
  return token >= 0 && vocab_.eog_ids.contains(token);
}

}  // namespace fathom::internal
