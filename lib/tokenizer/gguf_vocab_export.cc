// WriteHfTokenizerToGguf: tokenizer.json (byte-level BPE) -> GGUF tokenizer.* metadata, following
// llama.cpp's convert_hf_to_gguf.py (TextModel.get_vocab_base, does_token_look_special,
// _set_vocab_gpt2) and gguf-py's SpecialVocab (merges, special ids, add_*_token, chat template).
// llama.cpp picks tokenizer.ggml.pre by hashing the encoding of a test text with the transformers
// tokenizer; we compare the pre_tokenizer's regexes with the presets the GGUF loader uses, so the
// name we write is one under which fathom (and llama.cpp) split text exactly as the file does.
#include "tokenizer/gguf_vocab_export.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tokenizer/hf_pipeline.h"
#include "tokenizer/json_util.h"
#include "tokenizer/sentencepiece_model.pb.h"

namespace fathom::internal {
namespace {

// gguf.TokenType
constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6;
constexpr uintmax_t kMaxFileBytes = uintmax_t{1} << 30;

// A file of the folder parsed as JSON; a missing file is a null Json.
absl::StatusOr<Json> ReadJsonFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Json();
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
  }
  return ParseJson(text, path.filename().string());
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The presets write a few characters as \x{HHHH}; tokenizer.json has the characters themselves.
std::string UnescapeCodePoints(const std::string& re) {
  std::string out;
  for (size_t i = 0; i < re.size(); ++i) {
    if (re.compare(i, 3, "\\x{") == 0) {
      const size_t close = re.find('}', i + 3);
      if (close != std::string::npos && close > i + 3 && close - i - 3 <= 6) {
        AppendUtf8(static_cast<uint32_t>(std::stoul(re.substr(i + 3, close - i - 3), nullptr, 16)),
                   out);
        i = close;
        continue;
      }
    }
    out.push_back(re[i]);
  }
  return out;
}

// Appends the regexes a pre_tokenizer node applies, in order; errors name what GGUF cannot say.
absl::Status CollectRegexes(const Json& p, int depth, std::vector<std::string>& out) {
  if (depth > 4) return absl::UnimplementedError("pre_tokenizer nesting is too deep");
  const std::string type = JsonString(p, "type");
  if (type == "Sequence") {
    const Json* list = JsonField(p, "pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence pre_tokenizer without a pretokenizers array");
    }
    for (const Json& c : *list) {
      if (absl::Status s = CollectRegexes(c, depth + 1, out); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (type == "Split") {
    const Json* pattern = JsonField(p, "pattern");
    const Json* regex = pattern != nullptr ? JsonField(*pattern, "Regex") : nullptr;
    if (regex == nullptr || !regex->is_string() || JsonString(p, "behavior") != "Isolated" ||
        JsonBool(p, "invert", false)) {
      return absl::UnimplementedError(
          "pre_tokenizer Split: only Isolated, non-inverted regex splits have GGUF presets");
    }
    out.push_back(regex->get<std::string>());
    return absl::OkStatus();
  }
  if (type == "ByteLevel") {
    if (JsonBool(p, "add_prefix_space", true)) {
      return absl::UnimplementedError(
          "pre_tokenizer ByteLevel with add_prefix_space cannot be expressed in GGUF");
    }
    if (JsonBool(p, "use_regex", true)) {
      absl::StatusOr<std::vector<std::string>> gpt2 = PreTokenizer::GgufPreRegexes("gpt-2");
      if (!gpt2.ok()) return gpt2.status();
      out.insert(out.end(), gpt2->begin(), gpt2->end());
    }
    return absl::OkStatus();
  }
  return absl::UnimplementedError(
      absl::StrCat("pre_tokenizer type '", type, "' has no GGUF tokenizer.ggml.pre preset"));
}

// llama.cpp's TextModel.does_token_look_special.
bool LooksSpecial(const std::string& t) {
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  if (absl::StartsWith(t, "<|") && absl::EndsWith(t, "|>")) return true;
  if (absl::StartsWith(t, "<\xEF\xBD\x9C") && absl::EndsWith(t, "\xEF\xBD\x9C>")) return true;
  return absl::StartsWith(t, "<unused") && absl::EndsWith(t, ">");
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) {
    s.replace(i, from.size(), to);
  }
  return s;
}

struct AddedToken {
  int64_t id;
  std::string content;
  bool special;
};

// The content of a tokenizer_config.json *_token entry (a string or an AddedToken object).
const Json* TokenContent(const Json& entry) {
  if (entry.is_string()) return &entry;
  const Json* c = JsonField(entry, "content");
  return c != nullptr && c->is_string() ? c : nullptr;
}

// A vocabulary ready for GGUF, and the added tokens special ids are looked up in.
struct VocabOut {
  std::string model, pre;
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;        // SentencePiece only
  std::vector<std::string> merges;  // BPE only
  std::vector<AddedToken> added;
};

}  // namespace

absl::StatusOr<std::string> GgufPreForPreTokenizer(const Json& pre_tokenizer) {
  if (pre_tokenizer.is_null()) {
    return absl::UnimplementedError("tokenizer.json has no pre_tokenizer (not byte-level BPE)");
  }
  std::vector<std::string> regexes;
  if (absl::Status s = CollectRegexes(pre_tokenizer, 0, regexes); !s.ok()) return s;
  for (const char* name :
       {"llama-bpe", "qwen2", "deepseek-v3", "deepseek-llm", "deepseek-coder", "gpt-2"}) {
    absl::StatusOr<std::vector<std::string>> preset = PreTokenizer::GgufPreRegexes(name);
    if (!preset.ok()) return preset.status();
    std::vector<std::string> want;
    for (const std::string& r : *preset) want.push_back(UnescapeCodePoints(r));
    if (want == regexes) return std::string(name);
  }
  std::string shown = absl::StrJoin(regexes, "\n  ");
  if (shown.size() > 600) shown = shown.substr(0, 600) + "...";
  return absl::UnimplementedError(absl::StrCat(
      "the tokenizer's pre-tokenizer regexes match no known tokenizer.ggml.pre (llama-bpe, "
      "qwen2, deepseek-v3, deepseek-llm, deepseek-coder, gpt-2):\n  ",
      shown));
}

namespace {

constexpr int64_t kMaxId = int64_t{1} << 24;

// tokenizer.json's added_tokens.
absl::Status ParseAddedTokens(const Json& tj, std::vector<AddedToken>* added) {
  const Json* list = JsonField(tj, "added_tokens");
  if (list == nullptr || !list->is_array()) return absl::OkStatus();
  for (const Json& a : *list) {
    const Json* id = JsonField(a, "id");
    const Json* content = JsonField(a, "content");
    if (id == nullptr || !id->is_number_integer() || id->get<int64_t>() < 0 ||
        id->get<int64_t>() >= kMaxId || content == nullptr || !content->is_string()) {
      return absl::InvalidArgumentError("tokenizer.json: an added token lacks a valid id/content");
    }
    added->push_back(
        {id->get<int64_t>(), content->get<std::string>(), JsonBool(a, "special", false)});
  }
  return absl::OkStatus();
}

// tokenizer.json (byte-level BPE) -> tokens, types, merges: TextModel.get_vocab_base.
absl::Status BuildBpeVocab(const Json& tj_ref, int64_t vocab_size, VocabOut& v) {
  const Json* tj = &tj_ref;
  // ---- byte-level BPE only (as gguf-py's BpeVocab checks) ----
  const Json* model = JsonField(*tj, "model");
  const Json* decoder = JsonField(*tj, "decoder");
  if (model == nullptr || JsonString(*model, "type") != "BPE") {
    return absl::UnimplementedError("tokenizer.json: only BPE models are converted to GGUF");
  }
  if (JsonBool(*model, "byte_fallback", false) || decoder == nullptr ||
      JsonString(*decoder, "type") != "ByteLevel") {
    return absl::UnimplementedError(
        "tokenizer.json is a SentencePiece-style BPE (byte_fallback / no ByteLevel decoder); only "
        "byte-level BPE tokenizers are converted to GGUF");
  }
  const Json* pre_tok = JsonField(*tj, "pre_tokenizer");
  absl::StatusOr<std::string> pre = GgufPreForPreTokenizer(pre_tok ? *pre_tok : Json());
  if (!pre.ok()) return pre.status();
  v.model = "gpt2";
  v.pre = *pre;

  // ---- ids -> tokens: the model vocabulary, then the added tokens ----
  const Json* vocab = JsonField(*model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    return absl::InvalidArgumentError("tokenizer.json: model.vocab is not an object");
  }
  absl::flat_hash_map<int64_t, std::string> by_id;
  int64_t max_id = -1;
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= kMaxId) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.json: token '", it.key(), "' has an invalid id"));
    }
    const int64_t id = it.value().get<int64_t>();
    if (!by_id.emplace(id, it.key()).second) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: id ", id, " is used twice"));
    }
    max_id = std::max(max_id, id);
  }
  std::vector<AddedToken>& added = v.added;
  if (absl::Status s = ParseAddedTokens(*tj, &added); !s.ok()) return s;
  for (const AddedToken& a : added) max_id = std::max(max_id, a.id);
  const int64_t n = vocab_size > 0 ? vocab_size : max_id + 1;
  if (max_id >= n) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the tokenizer has id %d but config.json's vocab_size is %d", max_id, n));
  }
  std::vector<std::string>& tokens = v.tokens;
  std::vector<int32_t>& types = v.types;
  tokens.assign(n, "");
  types.assign(n, kUnused);
  std::vector<bool> filled(n, false);
  for (const auto& [id, text] : by_id) {
    tokens[id] = text;
    types[id] = kNormal;
    filled[id] = true;
  }
  for (const AddedToken& a : added) {
    // transformers' vocab maps the added token's content to its id.
    if (a.special || LooksSpecial(a.content)) {
      tokens[a.id] = a.content;
      types[a.id] = kControl;
    } else {
      tokens[a.id] = ReplaceAll(a.content, "\xE2\x96\x81", " ");  // pre-normalized, as llama.cpp
      types[a.id] = kUserDefined;
    }
    filled[a.id] = true;
  }
  absl::flat_hash_map<std::string, int64_t> seen;
  for (int64_t i = 0; i < n; ++i) {
    if (!filled[i]) tokens[i] = absl::StrCat("[PAD", i, "]");
    auto [it, inserted] = seen.emplace(tokens[i], i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tokenizer.json: token '%s' has two ids (%d and %d)", tokens[i], it->second, i));
    }
  }

  // ---- merges ----
  std::vector<std::string>& merges = v.merges;
  if (const Json* m = JsonField(*model, "merges"); m != nullptr && m->is_array()) {
    merges.reserve(m->size());
    for (const Json& e : *m) {
      if (e.is_string()) {
        merges.push_back(e.get<std::string>());
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        // transformers >= 4.45 pairs; a space inside a part is written as U+0120 (gguf-py).
        merges.push_back(absl::StrCat(ReplaceAll(e[0].get<std::string>(), " ", "\xC4\xA0"), " ",
                                      ReplaceAll(e[1].get<std::string>(), " ", "\xC4\xA0")));
      } else {
        return absl::InvalidArgumentError("tokenizer.json: a merge is neither \"a b\" nor [a, b]");
      }
    }
  }
  if (merges.empty()) return absl::InvalidArgumentError("tokenizer.json: the BPE has no merges");
  return absl::OkStatus();
}

// tokenizer.model (SentencePiece BPE) -> tokens, scores, types:
// TextModel._create_vocab_sentencepiece, with added_tokens.json and tokenizer_config.json's
// added_tokens_decoder applied on top.
absl::Status BuildSpmVocab(const std::filesystem::path& folder, int64_t vocab_size, const Json& tc,
                           VocabOut& v) {
  const std::filesystem::path path = folder / "tokenizer.model";
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
  }
  spm::ModelProto proto;
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      proto.pieces_size() == 0) {
    return absl::InvalidArgumentError("tokenizer.model is not a SentencePiece ModelProto");
  }
  if (proto.trainer_spec().model_type() != spm::TrainerSpec::BPE) {
    return absl::UnimplementedError(
        "tokenizer.model: only SentencePiece BPE models are converted to GGUF "
        "(tokenizer.ggml.model "
        "\"llama\"); this one is not BPE (e.g. unigram)");
  }
  constexpr float kPadScore = -10000.0f, kAddedScore = -1000.0f;
  const int64_t pieces = proto.pieces_size();
  const int64_t n = vocab_size > 0 ? vocab_size : pieces;
  v.model = "llama";
  v.pre = "default";
  v.tokens.assign(n, "");
  v.scores.assign(n, kPadScore);
  v.types.assign(n, kUnused);
  for (int64_t i = 0; i < n; ++i) v.tokens[i] = absl::StrCat("[PAD", i, "]");
  for (int64_t i = 0; i < pieces && i < n; ++i) {
    const spm::ModelProto::SentencePiece& p = proto.pieces(static_cast<int>(i));
    v.tokens[i] = p.piece();
    v.scores[i] = p.score();
    switch (p.type()) {
      case spm::ModelProto::SentencePiece::UNKNOWN:
        v.types[i] = kUnknown;
        break;
      case spm::ModelProto::SentencePiece::CONTROL:
        v.types[i] = kControl;
        break;
      case spm::ModelProto::SentencePiece::UNUSED:
        v.types[i] = kUnused;
        break;
      case spm::ModelProto::SentencePiece::BYTE:
        v.types[i] = kByte;
        break;
      default:  // NORMAL, and USER_DEFINED (llama.cpp's converter does not ask for it)
        v.types[i] = kNormal;
    }
  }
  absl::StatusOr<Json> added_json = ReadJsonFile(folder / "added_tokens.json");
  if (!added_json.ok()) return added_json.status();
  if (added_json->is_object()) {
    for (auto it = added_json->begin(); it != added_json->end(); ++it) {
      if (!it.value().is_number_integer()) continue;
      const int64_t id = it.value().get<int64_t>();
      if (id < 0 || id >= n) {
        return absl::InvalidArgumentError(
            absl::StrCat("added_tokens.json: id ", id, " is outside the vocabulary"));
      }
      v.tokens[id] = it.key();
      v.scores[id] = kAddedScore;
      v.types[id] = kUserDefined;
      v.added.push_back({id, it.key(), false});
    }
  }
  if (const Json* dec = JsonField(tc, "added_tokens_decoder"); dec != nullptr && dec->is_object()) {
    for (auto it = dec->begin(); it != dec->end(); ++it) {
      const std::string& key = it.key();
      if (key.empty() || key.size() > 9 ||
          key.find_first_not_of("0123456789") != std::string::npos) {
        return absl::InvalidArgumentError("tokenizer_config.json: bad added_tokens_decoder id");
      }
      const int64_t id = std::stoll(key);
      const Json* content = JsonField(it.value(), "content");
      if (content == nullptr || !content->is_string()) {
        return absl::InvalidArgumentError(
            "tokenizer_config.json: an added_tokens_decoder entry has no content");
      }
      if (id >= n) continue;
      std::string token = content->get<std::string>();
      const bool special = JsonBool(it.value(), "special", false);
      if (special || LooksSpecial(token)) {
        v.types[id] = kControl;
      } else {
        token = ReplaceAll(token, "\xE2\x96\x81", " ");
        v.types[id] = kUserDefined;
      }
      v.scores[id] = kAddedScore;
      v.tokens[id] = token;
      v.added.push_back({id, content->get<std::string>(), special});
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GgufVocabSummary> WriteHfTokenizerToGguf(const std::string& dir, int64_t vocab_size,
                                                        bool prefer_sentencepiece, GgufWriter& g) {
  const std::filesystem::path folder(dir);
  std::error_code ec;
  const bool has_json = std::filesystem::exists(folder / "tokenizer.json", ec);
  const bool has_spm = std::filesystem::exists(folder / "tokenizer.model", ec);
  if (!has_json && !has_spm) {
    return absl::NotFoundError(absl::StrCat(dir, " has no tokenizer.json or tokenizer.model"));
  }
  absl::StatusOr<Json> tj = has_json ? ReadJsonFile(folder / "tokenizer.json") : Json();
  if (!tj.ok()) return tj.status();
  absl::StatusOr<Json> tc = ReadJsonFile(folder / "tokenizer_config.json");
  if (!tc.ok()) return tc.status();
  absl::StatusOr<Json> config = ReadJsonFile(folder / "config.json");
  if (!config.ok()) return config.status();
  absl::StatusOr<Json> gen = ReadJsonFile(folder / "generation_config.json");
  if (!gen.ok()) return gen.status();

  VocabOut v;
  if (has_spm && (prefer_sentencepiece || !has_json)) {
    if (absl::Status s = BuildSpmVocab(folder, vocab_size, *tc, v); !s.ok()) return s;
  } else {
    if (absl::Status s = BuildBpeVocab(*tj, vocab_size, v); !s.ok()) return s;
  }
  const int64_t n = static_cast<int64_t>(v.tokens.size());
  // Special tokens are looked up among tokenizer.json's added tokens (for a BPE vocabulary those
  // are v.added already); without a tokenizer.json, among the SentencePiece added tokens.
  std::vector<AddedToken> added = v.added;
  if (has_json && !v.scores.empty()) {
    added.clear();
    if (absl::Status s = ParseAddedTokens(*tj, &added); !s.ok()) return s;
  }

  // ---- special ids and add_*_token (gguf-py SpecialVocab) ----
  static constexpr const char* kTypes[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
  std::vector<std::pair<std::string, int64_t>> special_ids;
  auto set_special = [&](const std::string& typ, const Json* id) -> absl::Status {
    if (id == nullptr || !id->is_number_integer()) return absl::OkStatus();
    for (const auto& [t, old] : special_ids) {
      if (t == typ) return absl::OkStatus();  // the first source wins
    }
    const int64_t value = id->is_number_unsigned() && id->get<uint64_t>() > uint64_t{1} << 62
                              ? -1
                              : id->get<int64_t>();
    if (value < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("invalid value for special token type %s: %d", typ, value));
    }
    if (value >= n) return absl::OkStatus();  // gguf-py skips ids outside the vocabulary
    special_ids.emplace_back(typ, value);
    return absl::OkStatus();
  };
  std::vector<std::pair<std::string, bool>> add_flags;
  auto set_add = [&](const std::string& typ, bool value) {
    for (auto& [t, f] : add_flags) {
      if (t == typ) {
        f = value;
        return;
      }
    }
    add_flags.emplace_back(typ, value);
  };
  auto config_content = [&](const char* typ) -> std::string {
    const Json* e = JsonField(*tc, (std::string(typ) + "_token").c_str());
    const Json* c = e != nullptr ? TokenContent(*e) : nullptr;
    return c != nullptr ? c->get<std::string>() : "";
  };
  // TemplateProcessing: a leading bos (or cls) / trailing eos in `single` means they are added.
  if (const Json* post = JsonField(*tj, "post_processor"); post != nullptr && post->is_object()) {
    std::vector<const Json*> procs;
    if (const Json* list = JsonField(*post, "processors"); list != nullptr && list->is_array()) {
      for (const Json& p : *list) procs.push_back(&p);
    } else {
      procs.push_back(post);
    }
    for (const Json* p : procs) {
      if (JsonString(*p, "type") != "TemplateProcessing") continue;
      const Json* single = JsonField(*p, "single");
      if (single == nullptr || !single->is_array() || single->size() < 2) break;
      auto special_of = [](const Json& item) {
        const Json* st = JsonField(item, "SpecialToken");
        return st != nullptr ? JsonString(*st, "id") : std::string();
      };
      const std::string first = special_of(single->front()), last = special_of(single->back());
      if (!first.empty()) {
        set_add("bos", first == config_content("bos") || first == config_content("cls"));
      }
      if (!last.empty()) set_add("eos", last == config_content("eos"));
      break;
    }
  }
  for (const char* typ : kTypes) {
    if (const Json* f = JsonField(*tc, (std::string("add_") + typ + "_token").c_str());
        f != nullptr && f->is_boolean()) {
      set_add(typ, f->get<bool>());
    }
    const std::string content = config_content(typ);
    if (content.empty()) continue;
    // gguf-py looks the content up among tokenizer.json's added tokens; without a
    // tokenizer.json (a tokenizer.model folder) we look among the added tokens of
    // tokenizer_config.json / added_tokens.json, then among the pieces.
    int64_t found = -1;
    for (const AddedToken& a : added) {
      if (a.content == content) {
        found = a.id;
        break;
      }
    }
    for (int64_t i = 0; found < 0 && !has_json && i < n; ++i) {
      if (v.tokens[i] == content) found = i;
    }
    if (found >= 0) {
      const Json id = found;
      if (absl::Status s = set_special(typ, &id); !s.ok()) return s;
    }
  }
  for (const Json* src : {&*config, &*gen}) {
    for (const char* typ : kTypes) {
      if (src == &*gen && std::string_view(typ) != "bos" && std::string_view(typ) != "eos" &&
          std::string_view(typ) != "pad") {
        continue;
      }
      if (absl::Status s =
              set_special(typ, JsonField(*src, (std::string(typ) + "_token_id").c_str()));
          !s.ok()) {
        return s;
      }
    }
  }

  // ---- write ----
  g.SetString("tokenizer.ggml.model", v.model);
  g.SetString("tokenizer.ggml.pre", v.pre);
  g.SetStringArray("tokenizer.ggml.tokens", v.tokens);
  if (!v.scores.empty()) g.SetFloat32Array("tokenizer.ggml.scores", v.scores);
  g.SetInt32Array("tokenizer.ggml.token_type", v.types);
  if (!v.merges.empty()) g.SetStringArray("tokenizer.ggml.merges", v.merges);
  // gguf-py's key names; it has no key for cls ids nor add_* flags other than bos / eos / sep.
  for (const auto& [typ, id] : special_ids) {
    const std::string key = typ == "unk"   ? "unknown"
                            : typ == "sep" ? "seperator"  // sic
                            : typ == "pad" ? "padding"
                                           : typ;
    if (typ == "cls") continue;
    g.SetUint32(absl::StrCat("tokenizer.ggml.", key, "_token_id"), static_cast<uint32_t>(id));
  }
  for (const auto& [typ, v] : add_flags) {
    if (typ != "bos" && typ != "eos" && typ != "sep") continue;
    g.SetBool(absl::StrCat("tokenizer.ggml.add_", typ, "_token"), v);
  }
  const Json* tmpl = JsonField(*tc, "chat_template");
  if (tmpl != nullptr && tmpl->is_string()) {
    g.SetString("tokenizer.chat_template", tmpl->get<std::string>());
  } else if (tmpl != nullptr && tmpl->is_array()) {
    std::vector<std::string> names;
    for (const Json& t : *tmpl) {
      const std::string name = JsonString(t, "name"), text = JsonString(t, "template");
      if (name.empty() || !JsonField(t, "template") || !JsonField(t, "template")->is_string()) {
        return absl::InvalidArgumentError(
            "tokenizer_config.json: a chat_template entry lacks name/template");
      }
      if (name == "default") {
        g.SetString("tokenizer.chat_template", text);
      } else {
        g.SetString("tokenizer.chat_template." + name, text);
        names.push_back(name);
      }
    }
    if (!names.empty()) g.SetStringArray("tokenizer.chat_templates", names);
  } else if (std::filesystem::exists(folder / "chat_template.jinja", ec)) {
    std::ifstream in(folder / "chat_template.jinja", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof())
      return absl::InvalidArgumentError("cannot read chat_template.jinja");
    g.SetString("tokenizer.chat_template", text);
  }
  return GgufVocabSummary{v.model, v.pre, n};
}

}  // namespace fathom::internal
