// Jinja2 subset interpreter: the lexer. Splits a template into text and tag tokens with Jinja2's
// whitespace rules as transformers configures them (trim_blocks, lstrip_blocks, no trailing
// newline kept, "-"/"+" whitespace control).
#ifndef FATHOM_LIB_TOKENIZER_JINJA_JINJA_LEXER_H_
#define FATHOM_LIB_TOKENIZER_JINJA_JINJA_LEXER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fathom::internal::jinja {

inline constexpr size_t kMaxTemplateBytes = 1 << 20;  // 1 MiB

struct Token {
  enum class Type {
    kText,
    kVarBegin,
    kVarEnd,
    kBlockBegin,
    kBlockEnd,
    kName,
    kString,
    kInt,
    kFloat,
    kOp,
    kEof
  };
  Type type;
  std::string text;  // text, name, operator, unescaped string, number spelling
  size_t pos;        // byte offset in the (newline-normalised) source
};

struct LexResult {
  std::string source;  // the normalised source (positions refer to it)
  std::vector<Token> tokens;
};

absl::StatusOr<LexResult> Lex(std::string_view source);

// "line L, column C" of a byte offset, for messages.
std::string DescribePosition(std::string_view source, size_t pos);

}  // namespace fathom::internal::jinja

#endif  // FATHOM_LIB_TOKENIZER_JINJA_JINJA_LEXER_H_
