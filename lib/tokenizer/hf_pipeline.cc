// Normalizers, pre-tokenizers and decoders of tokenizer.json, following the tokenizers crate.
#include "tokenizer/hf_pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/vocab.h"

namespace fathom::internal {
namespace {

constexpr int kMaxDepth = 16;

absl::Status TooDeep(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(ToAbslView(what), " nesting is too deep"));
}

absl::Status Unsupported(std::string_view what, std::string_view type) {
  return absl::UnimplementedError(absl::StrCat(
      ToAbslView(what), " type '", absl::CHexEscape(ToAbslView(type)), "' is not supported"));
}

// A {"String": s} or {"Regex": r} pattern.
absl::StatusOr<std::unique_ptr<SplitRegex>> PatternFromJson(const Json* p) {
  if (p == nullptr) return absl::InvalidArgumentError("pattern is missing");
  if (const Json* s = JsonField(*p, "String"); s != nullptr && s->is_string()) {
    return SplitRegex::Literal(s->get<std::string>());
  }
  if (const Json* r = JsonField(*p, "Regex"); r != nullptr && r->is_string()) {
    return SplitRegex::Compile(r->get<std::string>());
  }
  return absl::InvalidArgumentError("pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

// Cuts `s` at `matches` and groups the segments as the tokenizers crate's
// NormalizedString::split does for `behavior`.
void SplitWithBehavior(const std::string& s, const std::vector<std::pair<size_t, size_t>>& matches,
                       SplitBehavior behavior, bool invert, std::vector<std::string>& out) {
  struct Segment {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Segment> segs;
  size_t pos = 0;
  for (const auto& [b, e] : matches) {
    if (b > pos) segs.push_back({pos, b, invert});
    segs.push_back({b, e, !invert});
    pos = e;
  }
  if (pos < s.size()) segs.push_back({pos, s.size(), invert});

  std::vector<std::pair<size_t, size_t>> groups;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Segment& g : segs) groups.emplace_back(g.begin, g.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Segment& g : segs) {
        if (!g.is_match) groups.emplace_back(g.begin, g.end);
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Segment& g : segs) {
        if (g.is_match && !previous_match && !groups.empty()) {
          groups.back().second = g.end;
        } else {
          groups.emplace_back(g.begin, g.end);
        }
        previous_match = g.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (size_t k = segs.size(); k-- > 0;) {
        const Segment& g = segs[k];
        if (g.is_match && !previous_match && !groups.empty()) {
          groups.back().first = g.begin;
        } else {
          groups.emplace_back(g.begin, g.end);
        }
        previous_match = g.is_match;
      }
      std::reverse(groups.begin(), groups.end());
      break;
    case SplitBehavior::kContiguous:
      for (size_t k = 0; k < segs.size(); ++k) {
        const Segment& g = segs[k];
        if (k > 0 && g.is_match == previous_match) {
          groups.back().second = g.end;
        } else {
          groups.emplace_back(g.begin, g.end);
        }
        previous_match = g.is_match;
      }
      break;
  }
  for (const auto& [b, e] : groups) {
    if (e > b) out.emplace_back(s, b, e - b);
  }
}

}  // namespace

// ---- Normalizer --------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Normalizer>> Normalizer::FromJson(const Json& j) {
  return Build(j, 0);
}

absl::StatusOr<std::unique_ptr<Normalizer>> Normalizer::Build(const Json& j, int depth) {
  if (depth > kMaxDepth) return TooDeep("normalizer");
  std::unique_ptr<Normalizer> n(new Normalizer());
  if (j.is_null()) return n;
  const std::string type = JsonString(j, "type");
  if (type == "Sequence") {
    const Json* list = JsonField(j, "normalizers");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence normalizer without a normalizers array");
    }
    for (const Json& c : *list) {
      absl::StatusOr<std::unique_ptr<Normalizer>> child = Build(c, depth + 1);
      if (!child.ok()) return child.status();
      if (!(*child)->identity()) n->children_.push_back(*std::move(child));
    }
  } else if (type == "NFC") {
    n->kind_ = Kind::kNfc;
  } else if (type == "NFD") {
    n->kind_ = Kind::kNfd;
  } else if (type == "NFKC") {
    n->kind_ = Kind::kNfkc;
  } else if (type == "NFKD") {
    n->kind_ = Kind::kNfkd;
  } else if (type == "Lowercase") {
    n->kind_ = Kind::kLowercase;
  } else if (type == "Prepend") {
    n->kind_ = Kind::kPrepend;
    n->text_ = JsonString(j, "prepend");
  } else if (type == "Replace") {
    n->kind_ = Kind::kReplace;
    absl::StatusOr<std::unique_ptr<SplitRegex>> p = PatternFromJson(JsonField(j, "pattern"));
    if (!p.ok()) return p.status();
    n->pattern_ = *std::move(p);
    n->text_ = JsonString(j, "content");
  } else if (type == "Strip") {
    n->kind_ = Kind::kStrip;
    n->strip_left_ = JsonBool(j, "strip_left", false);
    n->strip_right_ = JsonBool(j, "strip_right", false);
  } else {
    return Unsupported("normalizer", type);
  }
  return n;
}

absl::Status Normalizer::Apply(std::string& text) const {
  switch (kind_) {
    case Kind::kSequence:
      for (const auto& c : children_) {
        if (absl::Status s = c->Apply(text); !s.ok()) return s;
      }
      return absl::OkStatus();
    case Kind::kNfc:
    case Kind::kNfd:
    case Kind::kNfkc:
    case Kind::kNfkd: {
      const NormalForm form = kind_ == Kind::kNfc    ? NormalForm::kNfc
                              : kind_ == Kind::kNfd  ? NormalForm::kNfd
                              : kind_ == Kind::kNfkc ? NormalForm::kNfkc
                                                     : NormalForm::kNfkd;
      absl::StatusOr<std::string> r = NormalizeUtf8(text, form);
      if (!r.ok()) return r.status();
      text = *std::move(r);
      return absl::OkStatus();
    }
    case Kind::kLowercase: {
      absl::StatusOr<std::string> r = LowercaseUtf8(text);
      if (!r.ok()) return r.status();
      text = *std::move(r);
      return absl::OkStatus();
    }
    case Kind::kPrepend:
      if (!text.empty()) text.insert(0, text_);
      return absl::OkStatus();
    case Kind::kReplace: {
      absl::StatusOr<std::vector<std::pair<size_t, size_t>>> m = pattern_->FindAll(text);
      if (!m.ok()) return m.status();
      if (m->empty()) return absl::OkStatus();
      std::string out;
      size_t pos = 0;
      for (const auto& [b, e] : *m) {
        out.append(text, pos, b - pos);
        out += text_;
        pos = e;
      }
      out.append(text, pos, std::string::npos);
      text = std::move(out);
      return absl::OkStatus();
    }
    case Kind::kStrip: {
      size_t b = 0, e = text.size();
      if (strip_left_) {
        while (b < e) {
          const size_t n = WellFormedUtf8Length(text, b);
          if (n == 0 || !IsUnicodeWhiteSpace(DecodeUtf8At(text, b, n))) break;
          b += n;
        }
      }
      if (strip_right_) {
        while (e > b) {
          size_t s = e - 1;
          while (s > b && (static_cast<uint8_t>(text[s]) & 0xC0) == 0x80) --s;
          const size_t n = WellFormedUtf8Length(text, s);
          if (n == 0 || !IsUnicodeWhiteSpace(DecodeUtf8At(text, s, n))) break;
          e = s;
        }
      }
      text = text.substr(b, e - b);
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

// ---- PreTokenizer ------------------------------------------------------------------------------

namespace {

constexpr char kGpt2Regex[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
constexpr char kLlama3Regex[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr char kQwen2Regex[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

}  // namespace

absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::FromJson(const Json& j) {
  return Build(j, 0);
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::Build(const Json& j, int depth) {
  if (depth > kMaxDepth) return TooDeep("pre_tokenizer");
  std::unique_ptr<PreTokenizer> p(new PreTokenizer());
  if (j.is_null()) return p;
  const std::string type = JsonString(j, "type");
  if (type == "Sequence") {
    const Json* list = JsonField(j, "pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence pre_tokenizer without a pretokenizers array");
    }
    for (const Json& c : *list) {
      absl::StatusOr<std::unique_ptr<PreTokenizer>> child = Build(c, depth + 1);
      if (!child.ok()) return child.status();
      p->children_.push_back(*std::move(child));
    }
  } else if (type == "Split") {
    p->kind_ = Kind::kSplit;
    absl::StatusOr<std::unique_ptr<SplitRegex>> re = PatternFromJson(JsonField(j, "pattern"));
    if (!re.ok()) return re.status();
    p->regex_ = *std::move(re);
    const std::string b = JsonString(j, "behavior");
    if (b == "Isolated") {
      p->behavior_ = SplitBehavior::kIsolated;
    } else if (b == "Removed") {
      p->behavior_ = SplitBehavior::kRemoved;
    } else if (b == "MergedWithPrevious") {
      p->behavior_ = SplitBehavior::kMergedWithPrevious;
    } else if (b == "MergedWithNext") {
      p->behavior_ = SplitBehavior::kMergedWithNext;
    } else if (b == "Contiguous") {
      p->behavior_ = SplitBehavior::kContiguous;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("Split behavior '", absl::CHexEscape(b), "' is not known"));
    }
    p->invert_ = JsonBool(j, "invert", false);
  } else if (type == "ByteLevel") {
    p->kind_ = Kind::kByteLevel;
    p->add_prefix_space_ = JsonBool(j, "add_prefix_space", true);
    if (JsonBool(j, "use_regex", true)) {
      absl::StatusOr<std::unique_ptr<SplitRegex>> re = SplitRegex::Compile(kGpt2Regex);
      if (!re.ok()) return re.status();
      p->regex_ = *std::move(re);
    }
  } else if (type == "Digits") {
    p->kind_ = Kind::kDigits;
    p->flag_ = JsonBool(j, "individual_digits", false);
    absl::StatusOr<std::unique_ptr<SplitRegex>> re =
        SplitRegex::Compile(p->flag_ ? "\\p{N}" : "\\p{N}+");
    if (!re.ok()) return re.status();
    p->regex_ = *std::move(re);
  } else if (type == "Metaspace") {
    p->kind_ = Kind::kMetaspace;
    p->replacement_ = JsonString(j, "replacement", "\xE2\x96\x81");
    if (p->replacement_.empty()) return absl::InvalidArgumentError("empty Metaspace replacement");
    p->flag_ = JsonBool(j, "split", true);
    const std::string scheme =
        JsonString(j, "prepend_scheme", JsonBool(j, "add_prefix_space", true) ? "always" : "never");
    p->prepend_scheme_ = scheme == "first" ? 1 : scheme == "never" ? 2 : 0;
    absl::StatusOr<std::unique_ptr<SplitRegex>> re = SplitRegex::Literal(p->replacement_);
    if (!re.ok()) return re.status();
    p->regex_ = *std::move(re);
  } else if (type == "Whitespace") {
    p->kind_ = Kind::kWhitespace;
    absl::StatusOr<std::unique_ptr<SplitRegex>> re = SplitRegex::Compile("\\w+|[^\\w\\s]+");
    if (!re.ok()) return re.status();
    p->regex_ = *std::move(re);
  } else if (type == "WhitespaceSplit") {
    p->kind_ = Kind::kWsSplit;
    absl::StatusOr<std::unique_ptr<SplitRegex>> re = SplitRegex::Compile("\\s+");
    if (!re.ok()) return re.status();
    p->regex_ = *std::move(re);
  } else {
    return Unsupported("pre_tokenizer", type);
  }
  return p;
}

absl::StatusOr<std::vector<std::string>> PreTokenizer::GgufPreRegexes(std::string_view pre) {
  std::vector<std::string> regexes;
  if (pre == "deepseek-v3") {
    regexes = {
        "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
        "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{"
        "L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"};
  } else if (pre == "deepseek-llm") {
    // Three Greek Extended range ends are escaped: written as characters they are often
    // NFC-normalised into lookalikes below the range start (U+1F7D, U+1FD3, U+1FDB).
    regexes = {"[\r\n]",
               "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-"
               "Ᏽᏸ-"
               "ᏽᲐ-"
               "ᲺᲽ-"
               "Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-"
               "Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-"
               "ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-"
               "ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-"
               "𐓻𐲀-"
               "𐲲𐳀-"
               "𐳲𑢠-"
               "𑣟𞤀-𞥃]+",
               "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
               "\\s+$",
               "[一-龥ࠀ-一가-퟿]+",
               "\\p{N}+"};
  } else if (pre == "deepseek-coder") {
    regexes = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"};
  } else if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" ||
             pre == "smaug-bpe" || pre == "pixtral") {
    regexes = {kLlama3Regex};
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "stablelm2" || pre == "megrez" ||
             pre == "hunyuan") {
    regexes = {kQwen2Regex};
  } else if (pre == "gpt-2" || pre == "default" || pre.empty() || pre == "phi-2" ||
             pre == "jina-es" || pre == "jina-de" || pre == "gpt3-finnish" || pre == "olmo" ||
             pre == "roberta-bpe" || pre == "starcoder" || pre == "refact" || pre == "command-r" ||
             pre == "mpt" || pre == "codeshell" || pre == "exaone" || pre == "minerva-7b") {
    regexes = {kGpt2Regex};
  } else {
    return absl::UnimplementedError(absl::StrCat(
        "tokenizer.ggml.pre '", absl::CHexEscape(ToAbslView(pre)), "' is not supported"));
  }
  return regexes;
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::ForGgufPre(std::string_view pre) {
  absl::StatusOr<std::vector<std::string>> regexes = GgufPreRegexes(pre);
  if (!regexes.ok()) return regexes.status();
  std::unique_ptr<PreTokenizer> seq(new PreTokenizer());
  for (const std::string& r : *regexes) {
    std::unique_ptr<PreTokenizer> split(new PreTokenizer());
    split->kind_ = Kind::kSplit;
    absl::StatusOr<std::unique_ptr<SplitRegex>> re = SplitRegex::Compile(r);
    if (!re.ok()) return re.status();
    split->regex_ = *std::move(re);
    seq->children_.push_back(std::move(split));
  }
  std::unique_ptr<PreTokenizer> bl(new PreTokenizer());
  bl->kind_ = Kind::kByteLevel;
  seq->children_.push_back(std::move(bl));
  return seq;
}

bool PreTokenizer::byte_level() const {
  if (kind_ == Kind::kByteLevel) return true;
  for (const auto& c : children_) {
    if (c->byte_level()) return true;
  }
  return false;
}

absl::Status PreTokenizer::Apply(std::vector<std::string>& pieces, bool first_chunk) const {
  if (kind_ == Kind::kSequence) {
    for (const auto& c : children_) {
      if (absl::Status s = c->Apply(pieces, first_chunk); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (size_t k = 0; k < pieces.size(); ++k) {
    std::string& piece = pieces[k];
    SplitBehavior behavior = behavior_;
    bool invert = invert_;
    switch (kind_) {
      case Kind::kByteLevel:
        if (add_prefix_space_ && (piece.empty() || piece[0] != ' ')) piece = " " + piece;
        if (regex_ == nullptr) {
          out.push_back(std::move(piece));
          continue;
        }
        behavior = SplitBehavior::kIsolated;
        break;
      case Kind::kDigits:
        behavior = SplitBehavior::kIsolated;
        break;
      case Kind::kMetaspace:
        piece = absl::StrReplaceAll(piece, {{" ", replacement_}});
        if ((prepend_scheme_ == 0 || (prepend_scheme_ == 1 && first_chunk && k == 0)) &&
            piece.compare(0, replacement_.size(), replacement_) != 0) {
          piece.insert(0, replacement_);
        }
        if (!flag_) {
          out.push_back(std::move(piece));
          continue;
        }
        behavior = SplitBehavior::kMergedWithNext;
        break;
      case Kind::kWhitespace:
        behavior = SplitBehavior::kRemoved;
        invert = true;
        break;
      case Kind::kWsSplit:
        behavior = SplitBehavior::kRemoved;
        break;
      default:
        break;
    }
    absl::StatusOr<std::vector<std::pair<size_t, size_t>>> m = regex_->FindAll(piece);
    if (!m.ok()) return m.status();
    SplitWithBehavior(piece, *m, behavior, invert, out);
  }
  pieces = std::move(out);
  return absl::OkStatus();
}

// ---- Decoder -----------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Decoder>> Decoder::FromJson(const Json& j) { return Build(j, 0); }

absl::StatusOr<std::unique_ptr<Decoder>> Decoder::Build(const Json& j, int depth) {
  if (depth > kMaxDepth) return TooDeep("decoder");
  std::unique_ptr<Decoder> d(new Decoder());
  if (j.is_null()) return d;
  const std::string type = JsonString(j, "type");
  if (type == "Sequence") {
    d->kind_ = Kind::kSequence;
    const Json* list = JsonField(j, "decoders");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence decoder without a decoders array");
    }
    for (const Json& c : *list) {
      absl::StatusOr<std::unique_ptr<Decoder>> child = Build(c, depth + 1);
      if (!child.ok()) return child.status();
      d->children_.push_back(*std::move(child));
    }
  } else if (type == "ByteLevel") {
    d->kind_ = Kind::kByteLevel;
  } else if (type == "Replace") {
    d->kind_ = Kind::kReplace;
    const Json* p = JsonField(j, "pattern");
    const Json* s = p == nullptr ? nullptr : JsonField(*p, "String");
    if (s == nullptr || !s->is_string() || s->get<std::string>().empty()) {
      return absl::UnimplementedError("Replace decoder: only non-empty String patterns");
    }
    d->from_ = s->get<std::string>();
    d->to_ = JsonString(j, "content");
  } else if (type == "ByteFallback") {
    d->kind_ = Kind::kByteFallback;
  } else if (type == "Fuse") {
    d->kind_ = Kind::kFuse;
  } else if (type == "Strip") {
    d->kind_ = Kind::kStrip;
    d->from_ = JsonString(j, "content", " ");
    if (d->from_.empty() || !IsValidUtf8(d->from_) ||
        WellFormedUtf8Length(d->from_, 0) != d->from_.size()) {
      return absl::InvalidArgumentError("Strip decoder content must be one character");
    }
    d->start_ = static_cast<size_t>(JsonInt(j, "start", 0, 0, 1 << 20));
    d->stop_ = static_cast<size_t>(JsonInt(j, "stop", 0, 0, 1 << 20));
  } else if (type == "Metaspace") {
    d->kind_ = Kind::kMetaspace;
    d->from_ = JsonString(j, "replacement", "\xE2\x96\x81");
    if (d->from_.empty()) return absl::InvalidArgumentError("empty Metaspace replacement");
    const std::string scheme =
        JsonString(j, "prepend_scheme", JsonBool(j, "add_prefix_space", true) ? "always" : "never");
    d->prepend_ = scheme != "never";
  } else {
    return Unsupported("decoder", type);
  }
  return d;
}

void Decoder::Run(std::vector<std::string>& tokens) const {
  switch (kind_) {
    case Kind::kNone: {
      std::string joined;
      for (size_t i = 0; i < tokens.size(); ++i) {
        if (i > 0) joined += ' ';
        joined += tokens[i];
      }
      tokens = {std::move(joined)};
      return;
    }
    case Kind::kSequence:
      for (const auto& c : children_) c->Run(tokens);
      return;
    case Kind::kByteLevel: {
      std::string bytes;
      for (const std::string& t : tokens) {
        std::string mapped;
        bool ok = true;
        size_t i = 0;
        while (i < t.size()) {
          const size_t n = WellFormedUtf8Length(t, i);
          const int b = n == 0 ? -1 : ByteLevelCharToByte(DecodeUtf8At(t, i, n));
          if (b < 0) {
            ok = false;
            break;
          }
          mapped += static_cast<char>(b);
          i += n;
        }
        bytes += ok ? mapped : t;
      }
      tokens = {Utf8Lossy(bytes)};
      return;
    }
    case Kind::kReplace:
    case Kind::kMetaspace:
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = absl::StrReplaceAll(tokens[i], {{from_, kind_ == Kind::kReplace ? to_ : " "}});
        if (kind_ == Kind::kMetaspace && i == 0 && prepend_ && !tokens[i].empty() &&
            tokens[i][0] == ' ') {
          tokens[i].erase(0, 1);
        }
      }
      return;
    case Kind::kByteFallback: {
      std::vector<std::string> out;
      std::string pending;
      size_t pending_count = 0;
      const auto flush = [&] {
        if (pending_count == 0) return;
        if (IsValidUtf8(pending)) {
          out.push_back(pending);
        } else {
          for (size_t k = 0; k < pending_count; ++k) out.push_back("\xEF\xBF\xBD");
        }
        pending.clear();
        pending_count = 0;
      };
      for (std::string& t : tokens) {
        const int b = ParseByteToken(t);
        if (b >= 0) {
          pending += static_cast<char>(b);
          ++pending_count;
        } else {
          flush();
          out.push_back(std::move(t));
        }
      }
      flush();
      tokens = std::move(out);
      return;
    }
    case Kind::kFuse: {
      std::string joined;
      for (const std::string& t : tokens) joined += t;
      tokens = {std::move(joined)};
      return;
    }
    case Kind::kStrip:
      for (std::string& t : tokens) {
        size_t b = 0;
        for (size_t k = 0; k < start_ && t.compare(b, from_.size(), from_) == 0; ++k) {
          b += from_.size();
        }
        size_t e = t.size();
        for (size_t k = 0; k < stop_ && e >= b + from_.size() &&
                           t.compare(e - from_.size(), from_.size(), from_) == 0;
             ++k) {
          e -= from_.size();
        }
        t = t.substr(b, e - b);
      }
      return;
  }
}

std::string Decoder::Decode(std::vector<std::string> tokens) const {
  Run(tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

bool Decoder::byte_level() const {
  if (kind_ == Kind::kByteLevel) return true;
  for (const auto& c : children_) {
    if (c->byte_level()) return true;
  }
  return false;
}

bool Decoder::byte_fallback() const {
  if (kind_ == Kind::kByteFallback) return true;
  for (const auto& c : children_) {
    if (c->byte_fallback()) return true;
  }
  return false;
}

std::string Decoder::space_replacement() const {
  if ((kind_ == Kind::kReplace && to_ == " ") || kind_ == Kind::kMetaspace) return from_;
  for (const auto& c : children_) {
    std::string r = c->space_replacement();
    if (!r.empty()) return r;
  }
  return "";
}

}  // namespace fathom::internal
