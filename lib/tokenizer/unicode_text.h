// UTF-8 helpers shared by the tokenizers: validation, lossy decoding with Rust's rules, Unicode
// normalisation (ICU) and GPT-2's byte <-> character mapping for byte-level BPE.
#ifndef FATHOM_LIB_TOKENIZER_UNICODE_TEXT_H_
#define FATHOM_LIB_TOKENIZER_UNICODE_TEXT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fathom::internal {

// Length of the well-formed UTF-8 character starting at s[i], or 0 if none starts there.
size_t WellFormedUtf8Length(std::string_view s, size_t i);
bool IsValidUtf8(std::string_view s);
// Decodes one well-formed character at s[i] (call only where WellFormedUtf8Length > 0).
uint32_t DecodeUtf8At(std::string_view s, size_t i, size_t len);
void AppendUtf8(uint32_t cp, std::string& out);

// Rust's String::from_utf8_lossy: every maximal ill-formed subpart becomes one U+FFFD.
std::string Utf8Lossy(std::string_view bytes);

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
// Unicode normalisation of valid UTF-8 text.
absl::StatusOr<std::string> NormalizeUtf8(std::string_view text, NormalForm form);
// Unicode full lowercase of valid UTF-8 text (HF's Lowercase normalizer).
absl::StatusOr<std::string> LowercaseUtf8(std::string_view text);

// Unicode White_Space property.
bool IsUnicodeWhiteSpace(uint32_t cp);

// GPT-2's bytes_to_unicode: the UTF-8 text of the character standing for each byte.
const std::array<std::string, 256>& ByteLevelChars();
// The byte a byte-level character stands for, or -1.
int ByteLevelCharToByte(uint32_t cp);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_TOKENIZER_UNICODE_TEXT_H_
