// Runtime values of the Jinja2 subset interpreter (Python-like: undefined, none, bool, int,
// float, str, list, dict, namespace, callable) and their Python-compatible conversions.
#ifndef FATHOM_LIB_TOKENIZER_JINJA_JINJA_VALUE_H_
#define FATHOM_LIB_TOKENIZER_JINJA_JINJA_VALUE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace fathom::internal::jinja {

#define JINJA_RETURN_IF_ERROR(expr)                \
  do {                                             \
    absl::Status jinja_status_ = (expr);           \
    if (!jinja_status_.ok()) return jinja_status_; \
  } while (0)

#define JINJA_CONCAT_INNER(a, b) a##b
#define JINJA_CONCAT(a, b) JINJA_CONCAT_INNER(a, b)
#define JINJA_ASSIGN_OR_RETURN(lhs, expr) \
  JINJA_ASSIGN_OR_RETURN_IMPL(JINJA_CONCAT(jinja_sor_, __LINE__), lhs, expr)
#define JINJA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(*tmp)

// String concatenation over std::string_view (Debian's absl::StrCat takes absl::string_view).
inline void CatOne(std::string* s, std::string_view v) { s->append(v); }
inline void CatOne(std::string* s, const char* v) { s->append(v); }
inline void CatOne(std::string* s, const std::string& v) { s->append(v); }
template <typename T>
requires std::is_integral_v<T>
void CatOne(std::string* s, T v) { s->append(std::to_string(v)); }
template <typename... A>
std::string Cat(const A&... a) {
  std::string s;
  (CatOne(&s, a), ...);
  return s;
}

class Value;
using ValueList = std::vector<Value>;
// Insertion-ordered string-keyed map, as Python dicts are.
using ValueDict = std::vector<std::pair<std::string, Value>>;

struct CallArgs;
using NativeFunction = std::function<absl::StatusOr<Value>(CallArgs&)>;

class Value {
 public:
  enum class Kind {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kNamespace,
    kCallable
  };

  Value() = default;  // undefined
  static Value Undefined(std::string name = "");
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double d);
  static Value String(std::string s);
  static Value List(ValueList items);
  static Value Tuple(ValueList items);  // a list that prints as a Python tuple
  static Value Dict(ValueDict items);
  static Value Namespace(ValueDict items);
  static Value Callable(std::string name, NativeFunction fn);
  static Value FromJson(const nlohmann::json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && b_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_mapping() const { return kind_ == Kind::kDict || kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool bool_value() const { return b_; }
  int64_t int_value() const { return i_; }  // bools count as ints, as in Python
  double number() const { return kind_ == Kind::kFloat ? d_ : static_cast<double>(i_); }
  // string; undefined: the missing name
  const std::string& str() const { return s_ != nullptr ? *s_ : EmptyString(); }
  const ValueList& list() const { return *list_; }
  const ValueDict& dict() const { return *dict_; }
  ValueDict& mutable_dict() const { return *dict_; }  // namespaces only
  const NativeFunction& fn() const { return *fn_; }

  // Member of a mapping, nullptr if absent.
  const Value* Find(std::string_view key) const;

  bool Truthy() const;
  // Python str(): what {{ value }} prints.
  std::string ToString() const;
  // Python repr() (strings quoted), used inside containers.
  std::string Repr() const;
  // Python type name for messages.
  std::string TypeName() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  static const std::string& EmptyString();
  // Shared, never modified: copying a value (into a list, a dict, a variable) never copies its
  // text, so a template cannot multiply one large string into memory.
  std::shared_ptr<const std::string> s_;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<NativeFunction> fn_;
};

// Arguments of a call: positional, then keyword.
struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  // Positional index or keyword name; nullptr if neither was given.
  const Value* Get(size_t index, std::string_view name) const;
};

// Python == between values.
bool ValuesEqual(const Value& a, const Value& b);
// Python <; InvalidArgument when the types cannot be ordered.
absl::StatusOr<bool> ValueLess(const Value& a, const Value& b);
// Python repr() of a float ("1.0", "1e+16", "0.1").
std::string FloatRepr(double d);
// json.dumps(value, ensure_ascii, indent, separators, sort_keys) as Python does it.
struct JsonDumpOptions {
  bool ensure_ascii = false;
  int indent = -1;             // -1: none
  std::string item_separator;  // empty: the Python default
  std::string key_separator;
  bool has_separators = false;
  bool sort_keys = false;
};
absl::StatusOr<std::string> ToJson(const Value& v, const JsonDumpOptions& opts);

// UTF-8 helpers: code points of a string and back (invalid bytes kept as single units).
std::vector<uint32_t> DecodeUtf8(std::string_view s);
std::string EncodeUtf8(const std::vector<uint32_t>& cps, size_t begin, size_t end);
void AppendUtf8(uint32_t cp, std::string* out);
bool IsPythonSpace(uint32_t cp);

}  // namespace fathom::internal::jinja

#endif  // FATHOM_LIB_TOKENIZER_JINJA_JINJA_VALUE_H_
