// SpmModelFileTokenizer: parses ModelProto; BPE models run through SpmTokenizer (the proto is
// turned into the equivalent GGUF tokenizer metadata, validated the same way), unigram models
// through SpmNormalizer + UnigramModel.
#include "tokenizer/spm_model_file.h"

#include <climits>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "format/mapped_file.h"
#include "tokenizer/sentencepiece_model.pb.h"
#include "tokenizer/vocab.h"

namespace fathom::internal {
namespace {

constexpr int kMaxPieces = 1 << 24;
constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581
constexpr int32_t kTypeUnknown = 2, kTypeControl = 3, kTypeUserDefined = 4, kTypeByte = 6;

// sentencepiece's remove_extra_whitespaces: no leading or trailing spaces, runs become one.
std::string RemoveExtraWhitespaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (c == ' ') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

// U+2581 -> ' '.
std::string SpacesFromMarks(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) {
    if (piece.substr(i, kSpaceMark.size()) == kSpaceMark) {
      out += ' ';
      i += kSpaceMark.size() - 1;
    } else {
      out += piece[i];
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SpmModelFileTokenizer>> SpmModelFileTokenizer::Create(
    std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("tokenizer.model is too large");
  }
  spm::ModelProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("tokenizer.model is not a SentencePiece ModelProto");
  }
  if (proto.pieces_size() == 0 || proto.pieces_size() > kMaxPieces) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.model has ", proto.pieces_size(), " pieces"));
  }
  const spm::TrainerSpec& trainer = proto.trainer_spec();
  const bool unigram = trainer.model_type() == spm::TrainerSpec::UNIGRAM;
  if (!unigram && trainer.model_type() != spm::TrainerSpec::BPE) {
    return absl::UnimplementedError(absl::StrCat("SentencePiece model type ",
                                                 static_cast<int>(trainer.model_type()),
                                                 " is not supported (unigram and BPE only)"));
  }
  const spm::NormalizerSpec& norm = proto.normalizer_spec();
  if (!unigram && trainer.treat_whitespace_as_suffix()) {
    return absl::UnimplementedError("treat_whitespace_as_suffix is not supported");
  }
  if (proto.has_denormalizer_spec() && !proto.denormalizer_spec().precompiled_charsmap().empty()) {
    return absl::UnimplementedError("SentencePiece denormalizer rules are not supported");
  }
  std::unique_ptr<SpmModelFileTokenizer> t(new SpmModelFileTokenizer());
  const int32_t n = proto.pieces_size();
  std::vector<float> scores;
  t->texts_.reserve(n);
  t->types_.reserve(n);
  scores.reserve(n);
  t->byte_ids_.fill(-1);
  for (const spm::ModelProto::SentencePiece& p : proto.pieces()) {
    t->texts_.push_back(p.piece());
    scores.push_back(p.score());
    t->types_.push_back(static_cast<int32_t>(p.type()));
    if (p.type() == spm::ModelProto::SentencePiece::BYTE) {
      const int b = ParseByteToken(p.piece());
      if (b < 0) {
        return absl::InvalidArgumentError(absl::StrCat("tokenizer.model: byte piece '",
                                                       absl::CHexEscape(p.piece()),
                                                       "' is not of the form <0xHH>"));
      }
      t->byte_ids_[b] = static_cast<int32_t>(t->texts_.size() - 1);
    }
  }
  const auto valid = [&](int32_t id) { return id >= 0 && id < n ? id : -1; };
  t->bos_ = valid(trainer.bos_id());
  t->eos_ = valid(trainer.eos_id());
  t->byte_fallback_ = trainer.byte_fallback();
  t->unk_surface_ = trainer.unk_surface();
  t->add_dummy_prefix_ = norm.add_dummy_prefix();
  t->remove_extra_whitespaces_ = norm.remove_extra_whitespaces();

  if (unigram) {
    std::vector<UnigramModel::Piece> pieces(n);
    SpmNormalizerOptions options;
    for (int32_t i = 0; i < n; ++i) {
      pieces[i] = {t->texts_[i], scores[i], t->types_[i]};
      if (t->types_[i] == kTypeUserDefined) options.user_defined_symbols.push_back(t->texts_[i]);
      if (t->types_[i] == kTypeByte && !t->byte_fallback_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tokenizer.model: byte piece ", i, " is present although byte_fallback is false"));
      }
    }
    if (t->byte_fallback_) {
      for (int b = 0; b < 256; ++b) {
        if (t->byte_ids_[b] < 0) {
          return absl::InvalidArgumentError(
              "tokenizer.model: byte_fallback is set but not all 256 byte pieces exist");
        }
      }
    }
    absl::StatusOr<UnigramModel> model = UnigramModel::Create(pieces);
    if (!model.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.model: ", model.status().message()));
    }
    t->unigram_ = std::make_unique<UnigramModel>(*std::move(model));
    options.precompiled_charsmap = norm.precompiled_charsmap();
    options.add_dummy_prefix = norm.add_dummy_prefix();
    options.remove_extra_whitespaces = norm.remove_extra_whitespaces();
    options.escape_whitespaces = norm.escape_whitespaces();
    options.treat_whitespace_as_suffix = trainer.treat_whitespace_as_suffix();
    absl::StatusOr<SpmNormalizer> normalizer = SpmNormalizer::Create(std::move(options));
    if (!normalizer.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.model: ", normalizer.status().message()));
    }
    t->normalizer_ = std::make_unique<SpmNormalizer>(*std::move(normalizer));
    return t;
  }

  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", t->texts_);
  w.SetFloat32Array("tokenizer.ggml.scores", scores);
  w.SetInt32Array("tokenizer.ggml.token_type", t->types_);
  const auto set_id = [&](const char* key, int32_t id) {
    if (id >= 0 && id < n) w.SetUint32(key, static_cast<uint32_t>(id));
  };
  set_id("tokenizer.ggml.bos_token_id", trainer.bos_id());
  set_id("tokenizer.ggml.eos_token_id", trainer.eos_id());
  set_id("tokenizer.ggml.unknown_token_id", trainer.unk_id());
  set_id("tokenizer.ggml.padding_token_id", trainer.pad_id());
  w.SetBool("tokenizer.ggml.add_bos_token", t->bos_ >= 0);
  w.SetBool("tokenizer.ggml.add_eos_token", false);
  w.SetBool("tokenizer.ggml.add_space_prefix", norm.add_dummy_prefix());
  absl::StatusOr<std::vector<uint8_t>> gguf_bytes = w.Serialize();
  if (!gguf_bytes.ok()) return gguf_bytes.status();
  absl::StatusOr<std::unique_ptr<GgufFile>> gguf =
      GgufFile::Parse(MappedFile::FromBuffer(gguf_bytes->data(), gguf_bytes->size()));
  if (!gguf.ok()) return gguf.status();
  absl::StatusOr<std::unique_ptr<SpmTokenizer>> spm = SpmTokenizer::Create(**gguf);
  if (!spm.ok()) {
    return absl::Status(spm.status().code(),
                        absl::StrCat("tokenizer.model: ", spm.status().message()));
  }
  t->spm_ = *std::move(spm);
  if (!norm.precompiled_charsmap().empty()) {
    // BPE models: the charsmap's character rules only; the whitespace options are applied by
    // the llama.cpp-style encoder below.
    SpmNormalizerOptions options;
    options.precompiled_charsmap = norm.precompiled_charsmap();
    options.add_dummy_prefix = false;
    options.remove_extra_whitespaces = false;
    options.escape_whitespaces = false;
    absl::StatusOr<SpmNormalizer> normalizer = SpmNormalizer::Create(std::move(options));
    if (!normalizer.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer.model: normalizer '", norm.name(),
                                                     "': ", normalizer.status().message()));
    }
    t->normalizer_ = std::make_unique<SpmNormalizer>(*std::move(normalizer));
  }
  t->bos_ = t->spm_->bos();
  t->eos_ = t->spm_->eos();
  return t;
}

absl::StatusOr<std::vector<int32_t>> SpmModelFileTokenizer::Encode(std::string_view text,
                                                                   bool add_bos,
                                                                   bool /*parse_special*/) const {
  if (unigram_ == nullptr) {
    std::string normalized;
    if (normalizer_ != nullptr) {
      normalized = normalizer_->Normalize(text);
      text = normalized;
    }
    if (!remove_extra_whitespaces_) return spm_->Encode(text, add_bos, false);
    return spm_->Encode(RemoveExtraWhitespaces(text), add_bos, false);
  }
  std::vector<int32_t> out;
  if (add_bos && bos_ >= 0) out.push_back(bos_);
  if (absl::Status s = EncodeUnigram(text, out); !s.ok()) return s;
  return out;
}

absl::Status SpmModelFileTokenizer::EncodeUnigram(std::string_view text,
                                                  std::vector<int32_t>& out) const {
  if (text.size() >= static_cast<size_t>(INT_MAX / 4)) {
    return absl::InvalidArgumentError(
        absl::StrCat("text of ", text.size(), " bytes is too long to tokenize"));
  }
  const std::string normalized = normalizer_->Normalize(text);
  std::vector<UnigramModel::Segment> segments;
  unigram_->Encode(normalized, segments);
  // SentencePieceProcessor::PopulateSentencePieceText: an unknown piece becomes its bytes with
  // byte_fallback; otherwise a run of unknown pieces is merged into one.
  bool prev_unk = false;
  for (const UnigramModel::Segment& s : segments) {
    const bool unk = s.id == unigram_->unk_id();
    if (unk && byte_fallback_) {
      for (size_t i = 0; i < s.length; ++i) {
        out.push_back(byte_ids_[static_cast<uint8_t>(normalized[s.offset + i])]);  // all exist
      }
    } else if (!(unk && prev_unk)) {
      out.push_back(s.id);
    }
    prev_unk = unk;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SpmModelFileTokenizer::TokenToPiece(int32_t token) const {
  if (spm_ != nullptr) return spm_->TokenToPiece(token);
  if (token < 0 || token >= vocab_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token id ", token, " is out of range [0, ", vocab_size(), ")"));
  }
  switch (types_[token]) {
    case kTypeUnknown:
    case kTypeControl:
      return std::string();
    case kTypeUserDefined:
      return texts_[token];
    case kTypeByte:
      return std::string(1, static_cast<char>(ParseByteToken(texts_[token])));
    default:
      return SpacesFromMarks(texts_[token]);
  }
}

absl::StatusOr<std::string> SpmModelFileTokenizer::DecodeIds(
    const std::vector<int32_t>& ids) const {
  std::string text, bytes;
  // ProcessBytePieces: each well-formed character of a byte run, or U+FFFD per ill-formed byte.
  const auto flush_bytes = [&] {
    std::string_view rest = bytes;
    while (!rest.empty()) {
      size_t len = 1;
      if (SpmValidUtf8Prefix(rest, &len)) {
        text.append(rest.substr(0, len));
      } else {
        text.append("\xEF\xBF\xBD");
      }
      rest.remove_prefix(len);
    }
    bytes.clear();
  };
  bool is_bos_ws = true;  // a leading space may still be dropped
  bool bos_ws_seen = false;
  for (const int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " is out of range"));
    }
    const int32_t type = types_[id];
    if (type == kTypeByte) {
      bytes += static_cast<char>(ParseByteToken(texts_[id]));  // validated at load
      continue;
    }
    flush_bytes();
    if (bos_ws_seen || !text.empty()) is_bos_ws = false;
    bos_ws_seen = false;
    if (type == kTypeControl) continue;
    if (type == kTypeUnknown) {
      text += unk_surface_;
      continue;
    }
    std::string_view piece = texts_[id];
    if (is_bos_ws && (add_dummy_prefix_ || remove_extra_whitespaces_)) {
      bos_ws_seen = piece.starts_with(kSpaceMark);
      if (bos_ws_seen) piece.remove_prefix(kSpaceMark.size());
      // With remove_extra_whitespaces every leading space goes, not only the first.
      if (remove_extra_whitespaces_) bos_ws_seen = false;
    }
    text += SpacesFromMarks(piece);
  }
  flush_bytes();
  return text;
}

bool SpmModelFileTokenizer::IsEndOfGeneration(int32_t token) const {
  if (spm_ != nullptr) return spm_->IsEndOfGeneration(token);
  return token >= 0 && token == eos_;
}

}  // namespace fathom::internal
