// Loads and validates tokenizer.ggml.* metadata into VocabData, following llama.cpp's
// llama_vocab::impl::load (defaults, special-token auto-detection, end-of-generation set).
#include "tokenizer/vocab.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fathom::internal {
namespace {

constexpr char kTokensKey[] = "tokenizer.ggml.tokens";
constexpr char kScoresKey[] = "tokenizer.ggml.scores";
constexpr char kTypesKey[] = "tokenizer.ggml.token_type";

// GGUF's tokenizer.ggml.token_type values (llama_token_type).
constexpr int64_t kTypeNormal = 1;
constexpr int64_t kTypeUnknown = 2;
constexpr int64_t kTypeControl = 3;
constexpr int64_t kTypeUserDefined = 4;
constexpr int64_t kTypeUnused = 5;
constexpr int64_t kTypeByte = 6;

uint32_t AttrFromType(int64_t type) {
  switch (type) {
    case kTypeNormal:
      return kAttrNormal;
    case kTypeUnknown:
      return kAttrUnknown;
    case kTypeControl:
      return kAttrControl;
    case kTypeUserDefined:
      return kAttrUserDefined;
    case kTypeUnused:
      return kAttrUnused;
    case kTypeByte:
      return kAttrByte;
    default:  // UNDEFINED (0) and anything unknown, as llama.cpp does
      return kAttrUndefined;
  }
}

// Quoted, escaped token text for error messages (token texts come from untrusted files).
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string shown = absl::CHexEscape(ToAbslView(text.substr(0, kMax)));
  return absl::StrCat("'", shown, text.size() > kMax ? "...'" : "'");
}

absl::Status Annotate(const absl::Status& status, std::string_view what) {
  return absl::Status(status.code(), absl::StrCat(ToAbslView(what), ": ", status.message()));
}

// Reads an optional special-token id. Absent keeps `id`; -1 or 0xFFFFFFFF mean "none";
// anything else must be a valid token id.
absl::Status ReadSpecialId(const GgufFile& gguf, std::string_view key, int32_t n_tokens,
                           int32_t& id) {
  if (gguf.Find(key) == nullptr) return absl::OkStatus();
  absl::StatusOr<int64_t> value = gguf.GetInt(key);
  if (!value.ok()) return Annotate(value.status(), "tokenizer metadata");
  if (*value == -1 || *value == 0xFFFFFFFFll) {
    id = -1;
    return absl::OkStatus();
  }
  if (*value < 0 || *value >= n_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbslView(key), " = ", *value,
                                                   " is out of range for a vocabulary of ",
                                                   n_tokens, " tokens"));
  }
  id = static_cast<int32_t>(*value);
  return absl::OkStatus();
}

absl::Status ReadOptionalBool(const GgufFile& gguf, std::string_view key, bool& flag) {
  if (gguf.Find(key) == nullptr) return absl::OkStatus();
  absl::StatusOr<bool> value = gguf.GetBool(key);
  if (!value.ok()) return Annotate(value.status(), "tokenizer metadata");
  flag = *value;
  return absl::OkStatus();
}

// Lowest id among the tokens with one of `texts`, or -1 (llama.cpp takes whichever its hash map
// yields first; the lowest id makes the choice deterministic).
int32_t FindFirst(const VocabData& v, std::initializer_list<std::string_view> texts) {
  int32_t best = -1;
  for (std::string_view t : texts) {
    const int32_t id = v.Find(t);
    if (id >= 0 && (best < 0 || id < best)) best = id;
  }
  return best;
}

// llama.cpp's "control-looking token" auto-detection for eot/eom/fim ids.
void AutoDetect(VocabData& v, int32_t& id, std::initializer_list<std::string_view> texts) {
  if (id != -1) return;
  id = FindFirst(v, texts);
  if (id >= 0) v.attrs[id] |= kAttrControl;
}

}  // namespace

int ParseByteToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

absl::StatusOr<VocabData> LoadVocab(const GgufFile& gguf, VocabKind kind) {
  VocabData v;
  {
    absl::StatusOr<std::string> model = gguf.GetString("tokenizer.ggml.model");
    if (!model.ok()) return Annotate(model.status(), "tokenizer metadata");
    v.model = *std::move(model);
    if (gguf.Find("tokenizer.ggml.pre") != nullptr) {
      absl::StatusOr<std::string> pre = gguf.GetString("tokenizer.ggml.pre");
      if (!pre.ok()) return Annotate(pre.status(), "tokenizer metadata");
      v.pre = *std::move(pre);
    }
  }

  // ---- token list, scores, types ----
  if (gguf.Find(kTokensKey) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the GGUF file has no tokenizer vocabulary (", kTokensKey, ")"));
  }
  absl::StatusOr<std::vector<std::string>> tokens = gguf.GetStringArray(kTokensKey);
  if (!tokens.ok()) return Annotate(tokens.status(), "tokenizer metadata");
  if (tokens->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kTokensKey, " is empty"));
  }
  if (tokens->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat(kTokensKey, " has too many tokens (", tokens->size(), ")"));
  }
  const size_t n = tokens->size();
  const int32_t n_tokens = static_cast<int32_t>(n);

  std::vector<double> scores;
  if (gguf.Find(kScoresKey) != nullptr) {
    absl::StatusOr<std::vector<double>> s = gguf.GetFloatArray(kScoresKey);
    if (!s.ok()) return Annotate(s.status(), "tokenizer metadata");
    if (s->size() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat(kScoresKey, " has ", s->size(), " entries but ", kTokensKey, " has ", n));
    }
    scores = *std::move(s);
  }
  std::vector<int64_t> types;
  if (gguf.Find(kTypesKey) != nullptr) {
    absl::StatusOr<std::vector<int64_t>> t = gguf.GetIntArray(kTypesKey);
    if (!t.ok()) return Annotate(t.status(), "tokenizer metadata");
    if (t->size() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat(kTypesKey, " has ", t->size(), " entries but ", kTokensKey, " has ", n));
    }
    types = *std::move(t);
  }

  v.texts = *std::move(tokens);
  v.scores.resize(n, 0.0f);
  v.attrs.resize(n, kAttrNormal);
  v.text_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string& text = v.texts[i];
    if (text.empty()) text = absl::StrCat("[EMPTY_", i, "]");  // as llama.cpp does
    auto [it, inserted] = v.text_to_id.try_emplace(text, static_cast<int32_t>(i));
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate token in ", kTokensKey, ": ",
                                                     Quote(text), " has ids ", it->second, " and ",
                                                     i));
    }
    if (!scores.empty()) {
      if (std::isnan(scores[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat(kScoresKey, "[", i, "] is NaN (token ", Quote(text), ")"));
      }
      v.scores[i] = static_cast<float>(scores[i]);
    }
    if (!types.empty()) v.attrs[i] = AttrFromType(types[i]);
    if ((v.attrs[i] & kAttrByte) != 0 && ParseByteToken(text) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("token ", i, " ", Quote(text),
                                                     " has type BYTE but is not of the form "
                                                     "<0xHH>"));
    }
  }

  // ---- defaults by vocabulary type ----
  if (kind == VocabKind::kSpm) {
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    v.add_space_prefix = true;
    v.add_bos = true;
    v.add_eos = false;
  } else {
    v.bos = 11;
    v.eos = 11;
    v.add_space_prefix = false;
    v.add_bos = false;
    v.add_eos = false;
    static constexpr std::string_view kAddsBos[] = {
        "llama3",   "llama-v3", "llama-bpe", "falcon3",      "falcon-h1", "pixtral",
        "midm-2.0", "lfm2",     "tekken",    "jina-v5-nano", "chameleon",
    };
    if (std::find(std::begin(kAddsBos), std::end(kAddsBos), v.pre) != std::end(kAddsBos)) {
      v.add_bos = true;
    }
    if (v.pre == "glm4" || v.pre == "chatglm-bpe") v.bos = -1;
    if (v.pre == "jina-v1-en" || v.pre == "jina-v2-code" || v.pre == "roberta-bpe") {
      v.add_sep = true;
    }
  }
  if (absl::Status s =
          ReadOptionalBool(gguf, "tokenizer.ggml.add_space_prefix", v.add_space_prefix);
      !s.ok()) {
    return s;
  }

  // ---- special ids: defaults outside the vocabulary are disabled; explicit ids must fit ----
  const std::pair<std::string_view, int32_t*> special_keys[] = {
      {"tokenizer.ggml.bos_token_id", &v.bos},
      {"tokenizer.ggml.eos_token_id", &v.eos},
      {"tokenizer.ggml.eot_token_id", &v.eot},
      {"tokenizer.ggml.eom_token_id", &v.eom},
      {"tokenizer.ggml.unknown_token_id", &v.unk},
      {"tokenizer.ggml.seperator_token_id", &v.sep},
      {"tokenizer.ggml.padding_token_id", &v.pad},
      {"tokenizer.ggml.mask_token_id", &v.mask},
      {"tokenizer.ggml.fim_pre_token_id", &v.fim_pre},
      {"tokenizer.ggml.fim_suf_token_id", &v.fim_suf},
      {"tokenizer.ggml.fim_mid_token_id", &v.fim_mid},
      {"tokenizer.ggml.fim_pad_token_id", &v.fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", &v.fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", &v.fim_sep},
      // deprecated spellings, read after the new ones as llama.cpp does
      {"tokenizer.ggml.prefix_token_id", &v.fim_pre},
      {"tokenizer.ggml.suffix_token_id", &v.fim_suf},
      {"tokenizer.ggml.middle_token_id", &v.fim_mid},
  };
  for (const auto& [key, id] : special_keys) {
    if (*id >= n_tokens) *id = -1;
    if (absl::Status s = ReadSpecialId(gguf, key, n_tokens, *id); !s.ok()) return s;
  }

  if (absl::Status s = ReadOptionalBool(gguf, "tokenizer.ggml.add_bos_token", v.add_bos); !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadOptionalBool(gguf, "tokenizer.ggml.add_eos_token", v.add_eos); !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadOptionalBool(gguf, "tokenizer.ggml.add_sep_token", v.add_sep); !s.ok()) {
    return s;
  }
  if (v.add_bos && v.bos == -1) {
    return absl::InvalidArgumentError(
        "tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set");
  }
  if (v.add_eos && v.eos == -1) {
    return absl::InvalidArgumentError(
        "tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set");
  }
  if (v.add_sep && v.sep == -1) {
    return absl::InvalidArgumentError(
        "tokenizer.ggml.add_sep_token is true, but tokenizer.ggml.seperator_token_id is not set");
  }

  // ---- auto-detected special tokens (by text), as llama.cpp does ----
  AutoDetect(v, v.eot,
             {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
              "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
              "<\xEF\xBD\x9C"
              "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
              "<end_of_utterance>"});
  AutoDetect(v, v.eom, {"<|eom_id|>"});
  AutoDetect(v, v.fim_pre,
             {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
              "<\xEF\xBD\x9C"
              "fim\xE2\x96\x81"
              "begin\xEF\xBD\x9C>",
              "<PRE>", "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"});
  AutoDetect(v, v.fim_suf,
             {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
              "<\xEF\xBD\x9C"
              "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
              "<SUF>", "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"});
  AutoDetect(v, v.fim_mid,
             {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
              "<\xEF\xBD\x9C"
              "fim\xE2\x96\x81"
              "end\xEF\xBD\x9C>",
              "<MID>", "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"});
  AutoDetect(v, v.fim_pad, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"});
  AutoDetect(v, v.fim_rep, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"});
  AutoDetect(v, v.fim_sep, {"<|file_sep|>"});

  // Control tokens named "unused" are unused.
  for (size_t i = 0; i < n; ++i) {
    if ((v.attrs[i] & kAttrControl) != 0 && absl::StrContains(v.texts[i], "unused")) {
      v.attrs[i] |= kAttrUnused;
    }
  }

  // ---- end-of-generation set ----
  for (int32_t id : {v.fim_pad, v.fim_rep, v.fim_sep}) {
    if (id != -1) v.eog_ids.insert(id);
  }
  static constexpr std::string_view kEogTexts[] = {
      "<|eot_id|>",
      "<|im_end|>",
      "<|end|>",
      "<|return|>",
      "<|call|>",
      "<|flush|>",
      "<|calls|>",
      "<end_of_turn>",
      "<|endoftext|>",
      "</s>",
      "<|eom_id|>",
      "<EOT>",
      "_<EOT>",
      "[EOT]",
      "[EOS]",
      "<|end_of_text|>",
      "<end_of_utterance>",
      "<eos>",
      "<turn|>",
      "<|tool_response>",
      "<\xEF\xBD\x9C"
      "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
      "[e~[",
  };
  for (std::string_view text : kEogTexts) {
    const int32_t id = v.Find(text);
    if (id < 0) continue;
    v.eog_ids.insert(id);
    v.attrs[id] |= kAttrControl;
  }
  // gpt-oss: always rendered.
  for (std::string_view text : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    const int32_t id = v.Find(text);
    if (id >= 0) v.attrs[id] = kAttrUserDefined;
  }
  for (int32_t id : {v.eos, v.eot, v.eom}) {
    if (id != -1) v.eog_ids.insert(id);
  }
  {
    // o200k_harmony / solar-open: "<|end|>" is not an end of generation there.
    bool has_return = false, has_call = false, has_end = false, has_flush = false;
    int32_t end_id = -1;
    for (int32_t id : v.eog_ids) {
      const std::string& text = v.texts[id];
      if (text == "<|return|>") {
        has_return = true;
      } else if (text == "<|call|>" || text == "<|calls|>") {
        has_call = true;
      } else if (text == "<|flush|>") {
        has_flush = true;
      } else if (text == "<|end|>") {
        has_end = true;
        end_id = id;
      }
    }
    if ((has_return && has_call && has_end) || (has_call && has_flush && has_end)) {
      v.eog_ids.erase(end_id);
      v.attrs[end_id] = kAttrUserDefined;
    }
  }
  {
    // gemma4 / paddleocr: "</s>" is not an end of generation when "<|tool_response>" is.
    bool has_tool_response = false;
    int32_t s_id = -1;
    for (int32_t id : v.eog_ids) {
      const std::string& text = v.texts[id];
      if (text == "<|tool_response>") has_tool_response = true;
      if (text == "</s>") s_id = id;
    }
    if (has_tool_response && s_id >= 0) {
      v.eog_ids.erase(s_id);
      v.attrs[s_id] = kAttrNormal;
    }
  }

  // ---- special tokens matched in raw text before tokenization ----
  for (int32_t id = 0; id < n_tokens; ++id) {
    if ((v.attrs[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) != 0) {
      v.special_tokens.push_back(id);
    }
  }
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                   [&v](int32_t a, int32_t b) { return v.texts[a].size() > v.texts[b].size(); });

  // ---- per-model strip attributes (llama.cpp sets these by model/tokenizer name) ----
  {
    std::string name;
    if (absl::StatusOr<std::string> s = gguf.GetString("general.name"); s.ok()) name = *s;
    absl::AsciiStrToLower(&name);
    std::string arch;
    if (absl::StatusOr<std::string> s = gguf.GetString("general.architecture"); s.ok()) arch = *s;
    auto set_attr = [&v](std::string_view text, uint32_t bit, bool on) {
      const int32_t id = v.Find(text);
      if (id < 0) return;
      v.attrs[id] = on ? (v.attrs[id] | bit) : (v.attrs[id] & ~bit);
    };
    if (absl::StrContains(v.pre, "jina-v2-de") || absl::StrContains(v.pre, "jina-v2-es") ||
        absl::StrContains(v.pre, "jina-v2-code") || absl::StrContains(arch, "nomic-bert-moe") ||
        absl::StrContains(arch, "jina-bert-v3")) {
      set_attr("<mask>", kAttrLstrip, true);
    } else if (absl::StrContains(name, "phi-3") || absl::StrContains(name, "phi3")) {
      for (int32_t id : v.special_tokens) v.attrs[id] |= kAttrRstrip;
      set_attr("</s>", kAttrRstrip, true);
      for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) {
        set_attr(text, kAttrRstrip, false);
      }
    } else if (absl::StrContains(name, "modern-bert")) {
      set_attr("[MASK]", kAttrLstrip, true);
    }
  }
  return v;
}

}  // namespace fathom::internal
