// Jinja2 subset interpreter: built-in filters, tests, globals and Python methods of str/dict/list.
#ifndef FATHOM_LIB_TOKENIZER_JINJA_JINJA_BUILTINS_H_
#define FATHOM_LIB_TOKENIZER_JINJA_JINJA_BUILTINS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tokenizer/jinja/jinja_value.h"

namespace fathom::internal::jinja {

bool IsKnownFilter(std::string_view name);
bool IsKnownTest(std::string_view name);

// `value | name(args)`. Messages carry no position (the caller adds it).
absl::StatusOr<Value> ApplyFilter(std::string_view name, const Value& value, CallArgs& args,
                                  size_t max_size);
// `value is name(args)`.
absl::StatusOr<bool> ApplyTest(std::string_view name, const Value& value, const CallArgs& args);
// Attribute of a non-undefined value: dict members and methods, str/list methods; Undefined
// when there is none.
Value GetAttribute(const Value& obj, const std::string& name, size_t max_size);
// Global functions (range, namespace, dict, raise_exception, strftime_now); Undefined if none.
Value GetGlobal(const std::string& name, int64_t max_items);

// Python len(); -1 when the value has none.
int64_t Length(const Value& v);
// Items of an iterable (list items, dict keys, string characters); error otherwise.
absl::StatusOr<ValueList> Iterate(const Value& v);
absl::Status CheckSize(size_t size, size_t max_size);

}  // namespace fathom::internal::jinja

#endif  // FATHOM_LIB_TOKENIZER_JINJA_JINJA_BUILTINS_H_
