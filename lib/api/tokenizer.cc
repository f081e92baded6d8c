// fathom::Tokenizer and StreamingDecoder over the internal tokenizer implementations.
#include "fathom/tokenizer.h"

#include "api/model_impl.h"
#include "nlohmann/json.hpp"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom {

Tokenizer::Tokenizer(std::shared_ptr<const internal::TokenizerImpl> impl)
    : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& path) {
  auto r = internal::LoadTokenizerFromPath(path);
  if (!r.ok()) return internal::FromAbsl(r.status());
  return std::make_unique<Tokenizer>(std::shared_ptr<const internal::TokenizerImpl>(*std::move(r)));
}

Result<std::string> Tokenizer::Decode(const std::vector<int32_t>& tokens, bool skip_special) const {
  auto r = impl_->Decode(tokens, skip_special);
  if (!r.ok()) return internal::FromAbsl(r.status());
  return *std::move(r);
}

std::string Tokenizer::chat_template() const { return impl_->chat_template(); }

namespace {

Result<std::string> RenderWith(const std::string& chat_template,
                               const std::vector<ChatMessage>& messages,
                               const ChatTemplateOptions& options, const std::string& bos,
                               const std::string& eos) {
  internal::ChatTemplateInput in;
  if (!options.messages_json.empty()) {
    in.messages_json = options.messages_json;
  } else {
    nlohmann::json list = nlohmann::json::array();
    for (const ChatMessage& m : messages) {
      list.push_back({{"role", m.role}, {"content", m.content}});
    }
    // Invalid UTF-8 becomes U+FFFD instead of throwing.
    in.messages_json = list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  in.add_generation_prompt = options.add_generation_prompt;
  in.variables_json = options.variables_json;
  if (!bos.empty()) in.special_tokens["bos_token"] = bos;
  if (!eos.empty()) in.special_tokens["eos_token"] = eos;
  auto r = internal::RenderChatTemplate(chat_template, in);
  if (!r.ok()) return internal::FromAbsl(r.status());
  return *std::move(r);
}

}  // namespace

Result<std::string> Tokenizer::ApplyChatTemplate(const std::vector<ChatMessage>& messages,
                                                 const ChatTemplateOptions& options) const {
  return RenderWith(impl_->chat_template(), messages, options,
                    options.bos_token.empty() ? impl_->BosTokenText() : options.bos_token,
                    options.eos_token.empty() ? impl_->EosTokenText() : options.eos_token);
}

Result<std::string> Tokenizer::RenderChatTemplate(const std::string& chat_template,
                                                  const std::vector<ChatMessage>& messages,
                                                  const ChatTemplateOptions& options) {
  return RenderWith(chat_template, messages, options, options.bos_token, options.eos_token);
}
std::string Tokenizer::TokenText(int32_t token) const { return impl_->TokenText(token); }

Result<std::vector<int32_t>> Tokenizer::Encode(std::string_view text,
                                               const EncodeOptions& options) const {
  auto r = impl_->Encode(text, options.add_bos, options.parse_special);
  if (!r.ok()) return internal::FromAbsl(r.status());
  return *std::move(r);
}

Result<std::string> Tokenizer::TokenToPiece(int32_t token) const {
  auto r = impl_->TokenToPiece(token);
  if (!r.ok()) return internal::FromAbsl(r.status());
  return *std::move(r);
}

Result<std::string> Tokenizer::Decode(const std::vector<int32_t>& tokens) const {
  std::string out;
  for (int32_t t : tokens) {
    auto piece = impl_->TokenToPiece(t);
    if (!piece.ok()) return internal::FromAbsl(piece.status());
    out += *piece;
  }
  return out;
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size(); }
bool Tokenizer::has_text() const { return impl_->has_text(); }
int32_t Tokenizer::bos() const { return impl_->bos(); }
int32_t Tokenizer::eos() const { return impl_->eos(); }
bool Tokenizer::IsEndOfGeneration(int32_t token) const { return impl_->IsEndOfGeneration(token); }

namespace {

// Length of the UTF-8 sequence a lead byte announces; 0 for a byte that cannot start one.
int Utf8SequenceLength(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Moves every complete character of `pending` to the result; with `flush`, incomplete tails
// too. Invalid bytes become U+FFFD.
std::string TakeComplete(std::string& pending, bool flush) {
  std::string out;
  size_t i = 0;
  while (i < pending.size()) {
    const unsigned char c = static_cast<unsigned char>(pending[i]);
    const int len = Utf8SequenceLength(c);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    size_t j = 1;
    while (j < static_cast<size_t>(len) && i + j < pending.size() &&
           IsContinuation(static_cast<unsigned char>(pending[i + j]))) {
      ++j;
    }
    if (j == static_cast<size_t>(len)) {
      out.append(pending, i, len);
      i += len;
    } else if (i + j == pending.size() && !flush) {
      break;  // incomplete character at the end: wait for more bytes
    } else {
      out += "\xEF\xBF\xBD";
      i += j;
    }
  }
  pending.erase(0, i);
  return out;
}

}  // namespace

Result<std::string> StreamingDecoder::Push(int32_t token) {
  auto piece = tokenizer_->TokenToPiece(token);
  if (!piece.ok()) return piece.status();
  pending_ += *piece;
  return TakeComplete(pending_, false);
}

std::string StreamingDecoder::Flush() { return TakeComplete(pending_, true); }

}  // namespace fathom
