// Jinja2 subset interpreter: the parser (tokens -> syntax tree), with a nesting limit.
#ifndef FATHOM_LIB_TOKENIZER_JINJA_JINJA_PARSER_H_
#define FATHOM_LIB_TOKENIZER_JINJA_JINJA_PARSER_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "tokenizer/jinja/jinja_ast.h"

namespace fathom::internal::jinja {

inline constexpr int kMaxNesting = 100;  // blocks and expressions, combined

absl::StatusOr<std::shared_ptr<const Template>> ParseTemplate(std::string_view source);

}  // namespace fathom::internal::jinja

#endif  // FATHOM_LIB_TOKENIZER_JINJA_JINJA_PARSER_H_
