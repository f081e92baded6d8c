// Byte-level BPE ("gpt2") vocabulary: loading and llama.cpp-compatible token_to_piece.
#include "tokenizer/byte_level_bpe_vocab.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "format/gguf.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/unicode_text.h"

namespace fathom::internal {
namespace {

// GPT-2's bytes_to_unicode, inverted: code point (< 324) -> byte, or -1.
const std::array<int, 324>& UnicodeToByte() {
  static const std::array<int, 324> table = [] {
    std::array<int, 324> t;
    t.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      if (printable(b)) {
        t[b] = b;
      } else {
        t[256 + extra++] = b;
      }
    }
    return t;
  }();
  return table;
}

// llama.cpp's unicode_cpt_from_utf8: lenient (no overlong/surrogate checks); false on an
// invalid lead byte or a missing continuation byte.
bool NextCodepoint(std::string_view s, size_t& offset, uint32_t& cpt) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[offset + i]); };
  const uint8_t c = byte(0);
  const auto cont = [&](size_t i) { return offset + i < s.size() && (byte(i) & 0xC0) == 0x80; };
  if ((c & 0x80) == 0) {
    cpt = c;
    offset += 1;
    return true;
  }
  if ((c & 0x40) == 0) return false;
  if ((c & 0x20) == 0) {
    if (!cont(1)) return false;
    cpt = ((c & 0x1Fu) << 6) | (byte(1) & 0x3Fu);
    offset += 2;
    return true;
  }
  if ((c & 0x10) == 0) {
    if (!cont(1) || !cont(2)) return false;
    cpt = ((c & 0x0Fu) << 12) | ((byte(1) & 0x3Fu) << 6) | (byte(2) & 0x3Fu);
    offset += 3;
    return true;
  }
  if ((c & 0x08) == 0) {
    if (!cont(1) || !cont(2) || !cont(3)) return false;
    cpt = ((c & 0x07u) << 18) | ((byte(1) & 0x3Fu) << 12) | ((byte(2) & 0x3Fu) << 6) |
          (byte(3) & 0x3Fu);
    offset += 4;
    return true;
  }
  return false;
}

// llama.cpp's unicode_cpt_to_utf8 (code points above U+10FFFF, which it rejects, are written
// with the 4-byte pattern so the error text still shows something).
std::string CodepointToUtf8(uint32_t cpt) {
  std::string out;
  if (cpt <= 0x7F) {
    out.push_back(static_cast<char>(cpt));
  } else if (cpt <= 0x7FF) {
    out.push_back(static_cast<char>(0xC0 | ((cpt >> 6) & 0x1F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0xFFFF) {
    out.push_back(static_cast<char>(0xE0 | ((cpt >> 12) & 0x0F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | ((cpt >> 18) & 0x07)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  }
  return out;
}

}  // namespace

std::string DecodeByteLevelText(std::string_view text) {
  const std::array<int, 324>& table = UnicodeToByte();
  std::string out;
  out.reserve(text.size());
  for (size_t offset = 0; offset < text.size();) {
    uint32_t cpt = 0;
    if (!NextCodepoint(text, offset, cpt)) {
      ++offset;
      cpt = 0xFFFD;
    }
    if (cpt < table.size() && table[cpt] >= 0) {
      out.push_back(static_cast<char>(table[cpt]));
      continue;
    }
    absl::StrAppend(&out, "[UNK_BYTE_0x");
    for (const char c : CodepointToUtf8(cpt)) {
      absl::StrAppendFormat(&out, "%02x", static_cast<uint8_t>(c));
    }
    absl::StrAppend(&out, ToAbslView(text), "]");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<ByteLevelBpeVocab>> ByteLevelBpeVocab::Create(const GgufFile& gguf) {
  absl::StatusOr<VocabData> vocab = LoadVocab(gguf, VocabKind::kByteLevelBpe);
  if (!vocab.ok()) return vocab.status();
  std::vector<std::string> merge_lines;
  if (const GgufValue* merges = gguf.Find("tokenizer.ggml.merges"); merges != nullptr) {
    const GgufArray* array = std::get_if<GgufArray>(&merges->value);
    if (merges->type != GgufType::kArray || array == nullptr ||
        array->element_type != GgufType::kString) {
      return absl::InvalidArgumentError("tokenizer.ggml.merges must be an array of strings");
    }
    absl::StatusOr<std::vector<std::string>> lines = gguf.GetStringArray("tokenizer.ggml.merges");
    if (!lines.ok()) return lines.status();
    merge_lines = *std::move(lines);
  }
  auto tok = std::make_unique<ByteLevelBpeVocab>(*std::move(vocab));
  tok->encoder_status_ = tok->BuildEncoder(merge_lines);
  return tok;
}

absl::Status ByteLevelBpeVocab::BuildEncoder(const std::vector<std::string>& merge_lines) {
  if (merge_lines.empty()) {
    return absl::UnimplementedError("this GGUF vocabulary has no merges: it can only decode");
  }
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merge_lines.size());
  for (const std::string& line : merge_lines) {
    const size_t sp = line.find(' ', 1);
    if (sp == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.ggml.merges entry '", absl::CHexEscape(line), "' has no space"));
    }
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  absl::StatusOr<std::unique_ptr<PreTokenizer>> pre = PreTokenizer::ForGgufPre(vocab_.pre);
  if (!pre.ok()) return pre.status();
  pre_tokenizer_ = *std::move(pre);
  BpeOptions options;
  options.byte_level = true;
  options.ignore_merges = vocab_.pre == "llama3" || vocab_.pre == "llama-v3" ||
                          vocab_.pre == "llama-bpe" || vocab_.pre == "falcon3";
  absl::flat_hash_map<std::string, int32_t> token_of(vocab_.text_to_id.begin(),
                                                     vocab_.text_to_id.end());
  absl::StatusOr<std::unique_ptr<BpeModel>> model =
      BpeModel::Create(std::move(token_of), merges, options);
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat("tokenizer.ggml.merges: ", model.status().message()));
  }
  model_ = *std::move(model);
  return absl::OkStatus();
}

ByteLevelBpeVocab::ByteLevelBpeVocab(VocabData vocab) : vocab_(std::move(vocab)) {
  // SentencePiece-style BPE vocabularies in GPT-2 clothing keep U+2581 for spaces.
  const bool escape_whitespaces = vocab_.pre == "gemma4" ||
                                  vocab_.pre == "granite-embed-multi-311m" ||
                                  vocab_.pre == "sarvam-moe";
  const int32_t n = vocab_.size();
  pieces_.resize(n);
  for (int32_t id = 0; id < n; ++id) {
    const uint32_t attr = vocab_.attrs[id];
    const std::string& text = vocab_.texts[id];
    if ((attr & (kAttrUnknown | kAttrControl)) != 0) continue;  // "" with special = false
    if ((attr & kAttrUserDefined) != 0) {
      pieces_[id] = text;
    } else if ((attr & kAttrNormal) != 0) {
      pieces_[id] = escape_whitespaces ? absl::StrReplaceAll(text, {{"\xE2\x96\x81", " "}})
                                       : DecodeByteLevelText(text);
    } else if ((attr & kAttrByte) != 0) {
      pieces_[id] = std::string(1, static_cast<char>(ParseByteToken(text)));  // validated
    }
  }
}

absl::StatusOr<std::vector<int32_t>> ByteLevelBpeVocab::Encode(std::string_view text, bool add_bos,
                                                               bool parse_special) const {
  if (!encoder_status_.ok()) return encoder_status_;
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("text is not valid UTF-8");
  std::vector<int32_t> out;
  if (add_bos && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  for (const TextFragment& f : PartitionSpecialTokens(vocab_, text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      continue;
    }
    std::vector<std::string> pieces;
    pieces.emplace_back(text.substr(f.offset, f.length));
    if (absl::Status s = pre_tokenizer_->Apply(pieces, f.offset == 0); !s.ok()) return s;
    for (const std::string& p : pieces) model_->EncodeWord(p, out);
  }
  if (add_bos && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

absl::StatusOr<std::string> ByteLevelBpeVocab::TokenToPiece(int32_t token) const {
  if (token < 0 || token >= vocab_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token id ", token, " is out of range [0, ", vocab_.size(), ")"));
  }
  return pieces_[token];
}

bool ByteLevelBpeVocab::IsEndOfGeneration(int32_t token) const {
  return token >= 0 && vocab_.eog_ids.contains(token);
}

}  // namespace fathom::internal
