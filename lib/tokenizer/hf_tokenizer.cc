// HfTokenizer: tokenizer.json + tokenizer_config.json, encoding and decoding as the tokenizers
// library (file rules) and transformers (model rules) do.
#include "tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/vocab.h"

namespace fathom::internal {
namespace {

constexpr int64_t kMaxTokenId = (1 << 24) - 1;
constexpr int kMaxPostDepth = 8;

// Texts that end a generation turn in the tokenizers we know of (besides the eos token).
constexpr const char* kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>",
    "<|EOT|>",    "</s>",       "<end_of_turn>",   "<|end|>",    "<｜end▁of▁sentence｜>",
    "<|return|>", "<|call|>"};

// bos_token/eos_token in tokenizer_config.json: a string or {"content": ...}.
std::string ConfigTokenText(const Json& c, const char* key) {
  const Json* f = JsonField(c, key);
  if (f == nullptr) return "";
  if (f->is_string()) return f->get<std::string>();
  return JsonString(*f, "content");
}

}  // namespace

absl::StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::Create(std::string_view tokenizer_json,
                                                                 std::string_view config_json) {
  absl::StatusOr<Json> j = ParseJson(tokenizer_json, "tokenizer.json");
  if (!j.ok()) return j.status();
  std::unique_ptr<HfTokenizer> t(new HfTokenizer());
  if (absl::Status s = t->LoadTokenizerJson(*j); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("tokenizer.json: ", s.message()));
  }
  Json config = Json::object();
  if (!config_json.empty()) {
    absl::StatusOr<Json> c = ParseJson(config_json, "tokenizer_config.json");
    if (!c.ok()) return c.status();
    if (!c->is_object()) return absl::InvalidArgumentError("tokenizer_config.json: not an object");
    config = *std::move(c);
  }
  if (absl::Status s = t->LoadConfig(config); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("tokenizer_config.json: ", s.message()));
  }
  return t;
}

absl::Status HfTokenizer::LoadTokenizerJson(const Json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  const Json* model = JsonField(j, "model");
  if (model == nullptr || !model->is_object()) return absl::InvalidArgumentError("no model");
  const std::string type = JsonString(*model, "type", "BPE");
  if (type != "BPE") {
    return absl::UnimplementedError(
        absl::StrCat("model type '", absl::CHexEscape(type), "' is not supported (BPE only)"));
  }
  if (!JsonString(*model, "continuing_subword_prefix").empty() ||
      !JsonString(*model, "end_of_word_suffix").empty()) {
    return absl::UnimplementedError("BPE subword prefixes/suffixes are not supported");
  }
  const Json* vocab = JsonField(*model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    return absl::InvalidArgumentError("model.vocab is not an object");
  }
  // Ids index a table, so they must be dense: a few entries with huge ids would make a tiny file
  // allocate gigabytes. Real files number their tokens 0..n-1 (gaps stay far below this bound).
  const Json* added_json = JsonField(j, "added_tokens");
  const uint64_t n_entries =
      vocab->size() + (added_json != nullptr && added_json->is_array() ? added_json->size() : 0);
  const int64_t max_id = std::min<int64_t>(kMaxTokenId, 2 * static_cast<int64_t>(n_entries) + 1024);
  auto check_dense = [&](int64_t id, const char* what) {
    if (id <= max_id) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(what, " id ", id, " lies far beyond the ", n_entries,
                     " tokens of the file (token ids must be dense, at most ", max_id, " here)"));
  };
  absl::flat_hash_map<std::string, int32_t> token_of;
  token_of.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer()) {
      return absl::InvalidArgumentError("model.vocab has a non-integer id");
    }
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > kMaxTokenId || (it.value().is_number_unsigned() && id < 0)) {
      return absl::InvalidArgumentError(absl::StrCat("model.vocab id ", id, " is out of range"));
    }
    if (absl::Status d = check_dense(id, "model.vocab"); !d.ok()) return d;
    if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(id + 1);
    id_to_token_[id] = it.key();
    token_of.emplace(it.key(), static_cast<int32_t>(id));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  if (const Json* m = JsonField(*model, "merges"); m != nullptr) {
    if (!m->is_array()) return absl::InvalidArgumentError("model.merges is not an array");
    merges.reserve(m->size());
    for (const Json& e : *m) {
      if (e.is_string()) {
        const std::string s = e.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
          return absl::InvalidArgumentError(
              absl::StrCat("merge '", absl::CHexEscape(s), "' is not two tokens"));
        }
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
      } else {
        return absl::InvalidArgumentError("a merge is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }

  // Added tokens.
  std::vector<AddedToken> raw, normalized;
  if (const Json* at = JsonField(j, "added_tokens"); at != nullptr && !at->is_null()) {
    if (!at->is_array()) return absl::InvalidArgumentError("added_tokens is not an array");
    for (const Json& e : *at) {
      AddedToken t;
      t.id = static_cast<int32_t>(JsonInt(e, "id", -1, 0, kMaxTokenId));
      const Json* content = JsonField(e, "content");
      if (t.id < 0 || content == nullptr || !content->is_string()) {
        return absl::InvalidArgumentError("an added token lacks a valid id or content");
      }
      t.content = content->get<std::string>();
      if (t.content.empty() || !IsValidUtf8(t.content)) {
        return absl::InvalidArgumentError("an added token has empty or invalid UTF-8 content");
      }
      t.special = JsonBool(e, "special", false);
      t.normalized = JsonBool(e, "normalized", !t.special);
      t.lstrip = JsonBool(e, "lstrip", false);
      t.rstrip = JsonBool(e, "rstrip", false);
      t.single_word = JsonBool(e, "single_word", false);
      if (absl::Status d = check_dense(t.id, "added token"); !d.ok()) return d;
      if (static_cast<size_t>(t.id) >= id_to_token_.size()) id_to_token_.resize(t.id + 1);
      id_to_token_[t.id] = t.content;
      added_of_[t.content] = t.id;
      if (t.special) special_.insert(t.id);
      (t.normalized ? normalized : raw).push_back(std::move(t));
    }
  }

  auto norm =
      Normalizer::FromJson(JsonField(j, "normalizer") ? *JsonField(j, "normalizer") : Json());
  if (!norm.ok()) return norm.status();
  normalizer_ = *std::move(norm);
  // Normalized added tokens are matched in normalised text, so their content is normalised too.
  for (AddedToken& t : normalized) {
    if (absl::Status s = normalizer_->Apply(t.content); !s.ok()) return s;
  }
  raw_added_ = AddedTokenMatcher(std::move(raw));
  normalized_added_ = AddedTokenMatcher(std::move(normalized));

  auto pre = PreTokenizer::FromJson(JsonField(j, "pre_tokenizer") ? *JsonField(j, "pre_tokenizer")
                                                                  : Json());
  if (!pre.ok()) return pre.status();
  pre_tokenizer_ = *std::move(pre);
  auto dec = Decoder::FromJson(JsonField(j, "decoder") ? *JsonField(j, "decoder") : Json());
  if (!dec.ok()) return dec.status();
  decoder_ = *std::move(dec);

  BpeOptions options;
  options.byte_level = pre_tokenizer_->byte_level();
  options.ignore_merges = JsonBool(*model, "ignore_merges", false);
  options.byte_fallback = JsonBool(*model, "byte_fallback", false);
  options.fuse_unk = JsonBool(*model, "fuse_unk", false);
  const std::string unk = JsonString(*model, "unk_token");
  if (!unk.empty()) {
    auto it = token_of.find(unk);
    options.unk = it == token_of.end() ? -1 : it->second;
  }
  auto bpe = BpeModel::Create(std::move(token_of), merges, options);
  if (!bpe.ok()) return bpe.status();
  model_ = *std::move(bpe);

  // Post-processor: the ids added before and after a single sequence.
  std::function<absl::Status(const Json&, int)> post = [&](const Json& p, int depth) {
    if (depth > kMaxPostDepth) return absl::InvalidArgumentError("post_processor too deep");
    if (p.is_null()) return absl::OkStatus();
    const std::string ptype = JsonString(p, "type");
    if (ptype == "ByteLevel") return absl::OkStatus();
    if (ptype == "Sequence") {
      const Json* list = JsonField(p, "processors");
      if (list == nullptr || !list->is_array()) {
        return absl::InvalidArgumentError("Sequence post_processor without processors");
      }
      for (const Json& c : *list) {
        if (absl::Status s = post(c, depth + 1); !s.ok()) return s;
      }
      return absl::OkStatus();
    }
    std::vector<int32_t> prefix, suffix;
    if (ptype == "TemplateProcessing") {
      const Json* single = JsonField(p, "single");
      const Json* specials = JsonField(p, "special_tokens");
      if (single == nullptr || !single->is_array()) {
        return absl::InvalidArgumentError("TemplateProcessing without a single template");
      }
      bool seen_sequence = false;
      for (const Json& item : *single) {
        if (JsonField(item, "Sequence") != nullptr) {
          seen_sequence = true;
          continue;
        }
        const Json* st = JsonField(item, "SpecialToken");
        const std::string name = st == nullptr ? "" : JsonString(*st, "id");
        const Json* entry = specials == nullptr ? nullptr : JsonField(*specials, name.c_str());
        const Json* ids = entry == nullptr ? nullptr : JsonField(*entry, "ids");
        if (ids == nullptr || !ids->is_array()) {
          return absl::InvalidArgumentError(
              absl::StrCat("TemplateProcessing token '", absl::CHexEscape(name), "' has no ids"));
        }
        for (const Json& id : *ids) {
          if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
              id.get<int64_t>() >= static_cast<int64_t>(id_to_token_.size())) {
            return absl::InvalidArgumentError("TemplateProcessing id out of range");
          }
          (seen_sequence ? suffix : prefix).push_back(id.get<int32_t>());
        }
      }
    } else if (ptype == "RobertaProcessing" || ptype == "BertProcessing") {
      const Json* cls = JsonField(p, "cls");
      const Json* sep = JsonField(p, "sep");
      if (cls == nullptr || sep == nullptr || !cls->is_array() || !sep->is_array() ||
          cls->size() != 2 || sep->size() != 2 || !(*cls)[1].is_number_integer() ||
          !(*sep)[1].is_number_integer()) {
        return absl::InvalidArgumentError("cls/sep must be [token, id]");
      }
      prefix.push_back((*cls)[1].get<int32_t>());
      suffix.push_back((*sep)[1].get<int32_t>());
    } else {
      return absl::UnimplementedError(
          absl::StrCat("post_processor type '", absl::CHexEscape(ptype), "' is not supported"));
    }
    file_prefix_.insert(file_prefix_.begin(), prefix.begin(), prefix.end());
    file_suffix_.insert(file_suffix_.end(), suffix.begin(), suffix.end());
    return absl::OkStatus();
  };
  if (const Json* p = JsonField(j, "post_processor"); p != nullptr) {
    if (absl::Status s = post(*p, 0); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status HfTokenizer::LoadConfig(const Json& c) {
  if (const Json* t = JsonField(c, "chat_template"); t != nullptr) {
    if (t->is_string()) {
      chat_template_ = t->get<std::string>();
    } else if (t->is_array()) {
      for (const Json& e : *t) {
        if (JsonString(e, "name") == "default") chat_template_ = JsonString(e, "template");
      }
    }
  }
  bos_text_ = ConfigTokenText(c, "bos_token");
  eos_text_ = ConfigTokenText(c, "eos_token");
  bos_ = bos_text_.empty() ? -1 : TokenToId(bos_text_);
  eos_ = eos_text_.empty() ? -1 : TokenToId(eos_text_);
  if (bos_ < 0 && bos_text_.empty() && !file_prefix_.empty()) {
    bos_ = file_prefix_.front();
    bos_text_ = IdToToken(bos_);
  }
  // transformers: the Llama/Gemma fast tokenizers rebuild the post-processor from
  // add_bos_token (default true) and add_eos_token (default false); other classes use the
  // flags only where the config sets them.
  const std::string cls = JsonString(c, "tokenizer_class");
  const bool llama_like = cls == "LlamaTokenizer" || cls == "LlamaTokenizerFast" ||
                          cls == "CodeLlamaTokenizer" || cls == "CodeLlamaTokenizerFast" ||
                          cls == "GemmaTokenizer" || cls == "GemmaTokenizerFast";
  const Json* add_bos = JsonField(c, "add_bos_token");
  const Json* add_eos = JsonField(c, "add_eos_token");
  const bool has_flags = (add_bos != nullptr && add_bos->is_boolean()) ||
                         (add_eos != nullptr && add_eos->is_boolean());
  model_prefix_ = file_prefix_;
  model_suffix_ = file_suffix_;
  if (llama_like || has_flags) {
    model_prefix_.clear();
    model_suffix_.clear();
    if (JsonBool(c, "add_bos_token", llama_like) && bos_ >= 0) model_prefix_.push_back(bos_);
    if (JsonBool(c, "add_eos_token", false) && eos_ >= 0) model_suffix_.push_back(eos_);
  }
  if (eos_ >= 0) eog_.insert(eos_);
  for (const char* text : kEndOfGenerationTexts) {
    auto it = added_of_.find(text);
    if (it != added_of_.end()) eog_.insert(it->second);
  }
  // Pieces as llama.cpp renders tokens (special = false).
  pieces_.resize(id_to_token_.size());
  const bool byte_level = decoder_->byte_level();
  const bool byte_fallback = decoder_->byte_fallback();
  const std::string space = decoder_->space_replacement();
  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    if (special_.contains(static_cast<int32_t>(id))) continue;
    const std::string& t = id_to_token_[id];
    if (byte_level) {
      // Keep raw bytes (a partial UTF-8 character) instead of the lossy replacement.
      std::string bytes;
      bool ok = true;
      for (size_t i = 0; i < t.size() && ok;) {
        const size_t n = WellFormedUtf8Length(t, i);
        const int b = n == 0 ? -1 : ByteLevelCharToByte(DecodeUtf8At(t, i, n));
        ok = b >= 0;
        bytes += static_cast<char>(b);
        i += n == 0 ? 1 : n;
      }
      pieces_[id] = ok ? bytes : t;
    } else if (const int b = byte_fallback ? ParseByteToken(t) : -1; b >= 0) {
      pieces_[id] = std::string(1, static_cast<char>(b));
    } else {
      pieces_[id] = space.empty() ? t : absl::StrReplaceAll(t, {{space, " "}});
    }
  }
  return absl::OkStatus();
}

std::string HfTokenizer::IdToToken(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < id_to_token_.size() ? id_to_token_[id] : "";
}

int32_t HfTokenizer::TokenToId(std::string_view token) const {
  auto it = added_of_.find(ToAbslView(token));
  if (it != added_of_.end()) return it->second;
  return model_->Find(token);
}

absl::Status HfTokenizer::EncodePlain(std::string_view text, bool first_chunk,
                                      std::vector<int32_t>& out) const {
  std::vector<std::string> pieces;
  pieces.emplace_back(text);
  if (absl::Status s = pre_tokenizer_->Apply(pieces, first_chunk); !s.ok()) return s;
  for (const std::string& p : pieces) model_->EncodeWord(p, out);
  return absl::OkStatus();
}

absl::Status HfTokenizer::EncodeText(std::string_view text, bool parse_special,
                                     std::vector<int32_t>& out) const {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("text is not valid UTF-8");
  for (const AddedSplit& piece : raw_added_.Split(text, !parse_special)) {
    if (piece.token >= 0) {
      out.push_back(piece.token);
      continue;
    }
    std::string normalized(text.substr(piece.begin, piece.end - piece.begin));
    if (absl::Status s = normalizer_->Apply(normalized); !s.ok()) return s;
    if (normalized_added_.empty()) {
      if (absl::Status s = EncodePlain(normalized, piece.begin == 0, out); !s.ok()) return s;
      continue;
    }
    for (const AddedSplit& sub : normalized_added_.Split(normalized, !parse_special)) {
      if (sub.token >= 0) {
        out.push_back(sub.token);
        continue;
      }
      const std::string_view part =
          std::string_view(normalized).substr(sub.begin, sub.end - sub.begin);
      if (absl::Status s = EncodePlain(part, piece.begin == 0 && sub.begin == 0, out); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> HfTokenizer::EncodeWithFileRules(std::string_view text,
                                                                      bool add_special,
                                                                      bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special) out = file_prefix_;
  if (absl::Status s = EncodeText(text, parse_special, out); !s.ok()) return s;
  if (add_special) out.insert(out.end(), file_suffix_.begin(), file_suffix_.end());
  return out;
}

absl::StatusOr<std::vector<int32_t>> HfTokenizer::Encode(std::string_view text, bool add_bos,
                                                         bool parse_special) const {
  std::vector<int32_t> out;
  if (add_bos) out = model_prefix_;
  if (absl::Status s = EncodeText(text, parse_special, out); !s.ok()) return s;
  if (add_bos) out.insert(out.end(), model_suffix_.begin(), model_suffix_.end());
  return out;
}

absl::StatusOr<std::string> HfTokenizer::DecodeIds(const std::vector<int32_t>& ids,
                                                   bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " is out of range"));
    }
    if (skip_special && special_.contains(id)) continue;
    tokens.push_back(id_to_token_[id]);
  }
  return decoder_->Decode(std::move(tokens));
}

absl::StatusOr<std::string> HfTokenizer::TokenToPiece(int32_t token) const {
  if (token < 0 || static_cast<size_t>(token) >= pieces_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("token id ", token, " is out of range"));
  }
  return pieces_[token];
}

}  // namespace fathom::internal
