// SpmModelFileTokenizer: parses ModelProto and runs the SentencePiece BPE through SpmTokenizer
// (the proto is turned into the equivalent GGUF tokenizer metadata, validated the same way).
#include "tokenizer/spm_model_file.h"

#include <climits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "format/mapped_file.h"
#include "tokenizer/sentencepiece_model.pb.h"
#include "tokenizer/spm_charsmap.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/vocab.h"

namespace fathom::internal {
namespace {

constexpr int kMaxPieces = 1 << 24;

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
  if (trainer.model_type() != spm::TrainerSpec::BPE) {
    return absl::UnimplementedError(absl::StrCat("SentencePiece model type ",
                                                 static_cast<int>(trainer.model_type()),
                                                 " is not supported (BPE only)"));
  }
  const spm::NormalizerSpec& norm = proto.normalizer_spec();
  std::optional<SpmCharsMap> charsmap;
  if (!norm.precompiled_charsmap().empty()) {
    absl::StatusOr<SpmCharsMap> m = SpmCharsMap::Parse(norm.precompiled_charsmap());
    if (!m.ok()) {
      return absl::Status(
          m.status().code(),
          absl::StrCat("tokenizer.model: normalizer '", norm.name(), "': ", m.status().message()));
    }
    charsmap = *std::move(m);
  }
  if (trainer.treat_whitespace_as_suffix()) {
    return absl::UnimplementedError("treat_whitespace_as_suffix is not supported");
  }
  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<int32_t> types;
  texts.reserve(proto.pieces_size());
  for (const spm::ModelProto::SentencePiece& p : proto.pieces()) {
    texts.push_back(p.piece());
    scores.push_back(p.score());
    types.push_back(static_cast<int32_t>(p.type()));
  }
  const int32_t n = proto.pieces_size();
  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", texts);
  w.SetFloat32Array("tokenizer.ggml.scores", scores);
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  const auto set_id = [&](const char* key, int32_t id) {
    if (id >= 0 && id < n) w.SetUint32(key, static_cast<uint32_t>(id));
  };
  set_id("tokenizer.ggml.bos_token_id", trainer.bos_id());
  set_id("tokenizer.ggml.eos_token_id", trainer.eos_id());
  set_id("tokenizer.ggml.unknown_token_id", trainer.unk_id());
  set_id("tokenizer.ggml.padding_token_id", trainer.pad_id());
  const bool has_bos = trainer.bos_id() >= 0 && trainer.bos_id() < n;
  w.SetBool("tokenizer.ggml.add_bos_token", has_bos);
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
  std::unique_ptr<SpmModelFileTokenizer> t(new SpmModelFileTokenizer());
  t->spm_ = *std::move(spm);
  t->add_dummy_prefix_ = norm.add_dummy_prefix();
  t->remove_extra_whitespaces_ = norm.remove_extra_whitespaces();
  t->charsmap_ = std::move(charsmap);
  return t;
}

absl::StatusOr<std::vector<int32_t>> SpmModelFileTokenizer::Encode(std::string_view text,
                                                                   bool add_bos,
                                                                   bool /*parse_special*/) const {
  std::string normalized;
  if (charsmap_.has_value()) {
    normalized = charsmap_->Normalize(text);
    text = normalized;
  }
  if (!remove_extra_whitespaces_) return spm_->Encode(text, add_bos, false);
  return spm_->Encode(RemoveExtraWhitespaces(text), add_bos, false);
}

absl::StatusOr<std::string> SpmModelFileTokenizer::DecodeIds(
    const std::vector<int32_t>& ids) const {
  const VocabData& v = spm_->vocab();
  std::string out, bytes;
  const auto flush_bytes = [&] {
    out += Utf8Lossy(bytes);
    bytes.clear();
  };
  bool first = true;
  for (int32_t id : ids) {
    if (id < 0 || id >= v.size()) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " is out of range"));
    }
    const uint32_t attr = v.attrs[id];
    if ((attr & kAttrByte) != 0) {
      bytes += static_cast<char>(ParseByteToken(v.texts[id]));
      first = false;
      continue;
    }
    flush_bytes();
    if ((attr & kAttrControl) != 0) continue;
    std::string piece = (attr & kAttrUnknown) != 0 ? std::string(" \xE2\x81\x87 ") : v.texts[id];
    if ((attr & kAttrUnknown) == 0) {
      std::string spaced;
      for (size_t i = 0; i < piece.size(); ++i) {
        if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {
          spaced += ' ';
          i += 2;
        } else {
          spaced += piece[i];
        }
      }
      piece = std::move(spaced);
      if (first && add_dummy_prefix_ && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    }
    first = false;
    out += piece;
  }
  flush_bytes();
  return out;
}

}  // namespace fathom::internal
