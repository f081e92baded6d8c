// Jinja2 subset interpreter: evaluation of a parsed template with limits, and the one-call
// entry point used for chat templates.
#ifndef FATHOM_LIB_TOKENIZER_JINJA_JINJA_EVAL_H_
#define FATHOM_LIB_TOKENIZER_JINJA_JINJA_EVAL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tokenizer/jinja/jinja_ast.h"
#include "tokenizer/jinja/jinja_value.h"

namespace fathom::internal::jinja {

struct RenderLimits {
  size_t max_output_bytes = 16u << 20;  // also the largest string or list a template may build
  int64_t max_steps = 1'000'000;        // loop iterations and macro calls, all together
  int max_call_depth = 32;              // nested macro calls
  size_t max_list_items = 1u << 20;     // items of a list built by + or * (each ~100 bytes)
};

// Checks that every filter and test the template names exists (as Jinja2 does when it
// compiles); InvalidArgument naming the first unknown one and its position.
absl::Status ValidateTemplate(const Template& tpl);

// Renders `tpl` with `variables` (a dict of top-level names). Globals: range, namespace, dict,
// raise_exception, strftime_now.
absl::StatusOr<std::string> RenderTemplate(const Template& tpl, const Value& variables,
                                           const RenderLimits& limits = {});

// Parse + validate + render.
absl::StatusOr<std::string> RenderTemplateSource(std::string_view source, const Value& variables,
                                                 const RenderLimits& limits = {});

}  // namespace fathom::internal::jinja

#endif  // FATHOM_LIB_TOKENIZER_JINJA_JINJA_EVAL_H_
