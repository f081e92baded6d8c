// Jinja2 subset interpreter: built-in filters, tests, globals and str/dict/list methods, with
// Python semantics where chat templates depend on them (strip, split, slicing by code point).
#include "tokenizer/jinja/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

namespace fathom::internal::jinja {

namespace {

absl::Status TypeError(std::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

// Optional string argument; `fallback` when absent or none.
absl::StatusOr<std::string> StrArg(const CallArgs& a, size_t i, std::string_view name,
                                   std::string_view fn, std::string fallback,
                                   bool* given = nullptr) {
  const Value* v = a.Get(i, name);
  if (given) *given = v != nullptr && !v->is_none() && !v->is_undefined();
  if (v == nullptr || v->is_none() || v->is_undefined()) return fallback;
  if (!v->is_string()) {
    return TypeError(Cat(fn, "(): argument '", name, "' must be str, not ", v->TypeName()));
  }
  return v->str();
}

absl::StatusOr<int64_t> IntArg(const CallArgs& a, size_t i, std::string_view name,
                               std::string_view fn, int64_t fallback) {
  const Value* v = a.Get(i, name);
  if (v == nullptr || v->is_none() || v->is_undefined()) return fallback;
  if (!v->is_int() && !v->is_bool()) {
    return TypeError(Cat(fn, "(): argument '", name, "' must be int, not ", v->TypeName()));
  }
  return v->int_value();
}

bool BoolArg(const CallArgs& a, size_t i, std::string_view name, bool fallback) {
  const Value* v = a.Get(i, name);
  return v == nullptr ? fallback : v->Truthy();
}

std::string Strip(const std::string& s, const std::string* chars, bool left, bool right) {
  const std::vector<uint32_t> cps = DecodeUtf8(s);
  std::vector<uint32_t> set;
  if (chars) set = DecodeUtf8(*chars);
  auto strip_it = [&](uint32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : IsPythonSpace(c);
  };
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && strip_it(cps[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(cps[e - 1])) --e;
  }
  return EncodeUtf8(cps, b, e);
}

std::string AsciiMap(std::string s, int (*f)(int)) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f(c));
  }
  return s;
}

std::string Capitalize(const std::string& s) {
  std::string out = AsciiMap(s, [](int c) { return std::tolower(c); });
  if (!out.empty() && static_cast<unsigned char>(out[0]) < 0x80) {
    out[0] = static_cast<char>(std::toupper(out[0]));
  }
  return out;
}

std::string Title(const std::string& s) {
  std::string out = s;
  bool prev_cased = false;
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      prev_cased = false;
      continue;
    }
    if (std::isalpha(u)) {
      c = static_cast<char>(prev_cased ? std::tolower(u) : std::toupper(u));
      prev_cased = true;
    } else {
      prev_cased = false;
    }
  }
  return out;
}

absl::StatusOr<std::string> Replace(const std::string& s, const std::string& old,
                                    const std::string& with, int64_t count, size_t max_size) {
  std::string out;
  if (old.empty()) {
    const std::vector<uint32_t> cps = DecodeUtf8(s);
    int64_t n = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || n < count) {
        out += with;
        ++n;
      }
      if (i < cps.size()) AppendUtf8(cps[i], &out);
      JINJA_RETURN_IF_ERROR(CheckSize(out.size(), max_size));
    }
    return out;
  }
  size_t pos = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    const size_t f = s.find(old, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += with;
    JINJA_RETURN_IF_ERROR(CheckSize(out.size(), max_size));
    pos = f + old.size();
    ++n;
  }
  out.append(s, pos, std::string::npos);
  JINJA_RETURN_IF_ERROR(CheckSize(out.size(), max_size));
  return out;
}

absl::StatusOr<Value> Split(const std::string& s, const CallArgs& a) {
  bool has_sep = false;
  std::string sep;
  JINJA_ASSIGN_OR_RETURN(sep, StrArg(a, 0, "sep", "split", "", &has_sep));
  int64_t maxsplit;
  JINJA_ASSIGN_OR_RETURN(maxsplit, IntArg(a, 1, "maxsplit", "split", -1));
  ValueList parts;
  if (has_sep) {
    if (sep.empty()) return TypeError("split(): empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      const size_t f = s.find(sep, pos);
      if (f == std::string::npos) break;
      parts.push_back(Value::String(s.substr(pos, f - pos)));
      pos = f + sep.size();
    }
    parts.push_back(Value::String(s.substr(pos)));
    return Value::List(std::move(parts));
  }
  const std::vector<uint32_t> cps = DecodeUtf8(s);
  size_t i = 0;
  while (true) {
    while (i < cps.size() && IsPythonSpace(cps[i])) ++i;
    if (i >= cps.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
      parts.push_back(Value::String(EncodeUtf8(cps, i, cps.size())));
      break;
    }
    size_t j = i;
    while (j < cps.size() && !IsPythonSpace(cps[j])) ++j;
    parts.push_back(Value::String(EncodeUtf8(cps, i, j)));
    i = j;
  }
  return Value::List(std::move(parts));
}

absl::StatusOr<bool> AffixTest(const std::string& s, const Value* arg, bool prefix) {
  if (arg == nullptr) return TypeError("startswith/endswith(): missing argument");
  std::vector<Value> options;
  if (arg->is_list()) {
    options = arg->list();
  } else {
    options.push_back(*arg);
  }
  for (const Value& o : options) {
    if (!o.is_string()) {
      return TypeError(Cat(prefix ? "startswith" : "endswith",
                           "(): argument must be str or a tuple of str, not ", o.TypeName()));
    }
    const std::string& p = o.str();
    if (p.size() > s.size()) continue;
    if (prefix ? s.compare(0, p.size(), p) == 0
               : s.compare(s.size() - p.size(), p.size(), p) == 0) {
      return true;
    }
  }
  return false;
}

int64_t CodePointIndex(const std::string& s, size_t byte_pos) {
  int64_t n = 0;
  for (size_t i = 0; i < byte_pos && i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Value StringMethod(const std::string& s, const std::string& name, size_t max_size) {
  auto method = [&](NativeFunction fn) { return Value::Callable("str." + name, std::move(fn)); };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    return method([s, left, right, name](CallArgs& a) -> absl::StatusOr<Value> {
      bool given = false;
      std::string chars;
      JINJA_ASSIGN_OR_RETURN(chars, StrArg(a, 0, "chars", name, "", &given));
      return Value::String(Strip(s, given ? &chars : nullptr, left, right));
    });
  }
  if (name == "split") {
    return method([s](CallArgs& a) { return Split(s, a); });
  }
  if (name == "startswith" || name == "endswith") {
    const bool prefix = name == "startswith";
    return method([s, prefix](CallArgs& a) -> absl::StatusOr<Value> {
      bool r;
      JINJA_ASSIGN_OR_RETURN(r, AffixTest(s, a.Get(0, "prefix"), prefix));
      return Value::Bool(r);
    });
  }
  if (name == "replace") {
    return method([s, max_size](CallArgs& a) -> absl::StatusOr<Value> {
      std::string old, with;
      int64_t count;
      JINJA_ASSIGN_OR_RETURN(old, StrArg(a, 0, "old", "replace", ""));
      JINJA_ASSIGN_OR_RETURN(with, StrArg(a, 1, "new", "replace", ""));
      JINJA_ASSIGN_OR_RETURN(count, IntArg(a, 2, "count", "replace", -1));
      std::string r;
      JINJA_ASSIGN_OR_RETURN(r, Replace(s, old, with, count, max_size));
      return Value::String(std::move(r));
    });
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    return method([s, name](CallArgs&) -> absl::StatusOr<Value> {
      if (name == "upper") return Value::String(AsciiMap(s, [](int c) { return std::toupper(c); }));
      if (name == "lower") return Value::String(AsciiMap(s, [](int c) { return std::tolower(c); }));
      if (name == "title") return Value::String(Title(s));
      return Value::String(Capitalize(s));
    });
  }
  if (name == "find" || name == "count") {
    const bool find = name == "find";
    return method([s, find](CallArgs& a) -> absl::StatusOr<Value> {
      std::string sub;
      JINJA_ASSIGN_OR_RETURN(sub, StrArg(a, 0, "sub", find ? "find" : "count", ""));
      if (find) {
        const size_t f = s.find(sub);
        return Value::Int(f == std::string::npos ? -1 : CodePointIndex(s, f));
      }
      if (sub.empty()) return Value::Int(static_cast<int64_t>(DecodeUtf8(s).size()) + 1);
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::Int(n);
    });
  }
  if (name == "join") {
    return method([s, max_size](CallArgs& a) -> absl::StatusOr<Value> {
      const Value* items = a.Get(0, "iterable");
      if (items == nullptr) return TypeError("join(): missing argument");
      ValueList list;
      JINJA_ASSIGN_OR_RETURN(list, Iterate(*items));
      std::string out;
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_string()) return TypeError("join(): sequence item is not a str");
        if (i) out += s;
        out += list[i].str();
        JINJA_RETURN_IF_ERROR(CheckSize(out.size(), max_size));
      }
      return Value::String(std::move(out));
    });
  }
  if (name == "isspace" || name == "isdigit" || name == "isalpha" || name == "isalnum" ||
      name == "islower" || name == "isupper") {
    return method([s, name](CallArgs&) -> absl::StatusOr<Value> {
      const std::vector<uint32_t> cps = DecodeUtf8(s);
      if (cps.empty()) return Value::Bool(false);
      bool all = true, any_cased = false;
      for (uint32_t c : cps) {
        if (name == "isspace") all = all && IsPythonSpace(c);
        if (name == "isdigit") all = all && c < 0x80 && std::isdigit(static_cast<int>(c));
        if (name == "isalpha") all = all && c < 0x80 && std::isalpha(static_cast<int>(c));
        if (name == "isalnum") all = all && c < 0x80 && std::isalnum(static_cast<int>(c));
        if (name == "islower" || name == "isupper") {
          if (c < 0x80 && std::isalpha(static_cast<int>(c))) {
            any_cased = true;
            all = all && (name == "islower" ? std::islower(static_cast<int>(c))
                                            : std::isupper(static_cast<int>(c)));
          }
        }
      }
      if (name == "islower" || name == "isupper") all = all && any_cased;
      return Value::Bool(all);
    });
  }
  if (name == "splitlines") {
    return method([s](CallArgs&) -> absl::StatusOr<Value> {
      ValueList parts;
      size_t pos = 0;
      while (pos < s.size()) {
        const size_t f = s.find('\n', pos);
        if (f == std::string::npos) {
          parts.push_back(Value::String(s.substr(pos)));
          break;
        }
        parts.push_back(Value::String(s.substr(pos, f - pos)));
        pos = f + 1;
      }
      return Value::List(std::move(parts));
    });
  }
  return Value::Undefined("str." + name);
}

Value DictMethod(const Value& d, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return Value::Callable("dict." + name, [d, name](CallArgs&) -> absl::StatusOr<Value> {
      ValueList out;
      for (const auto& [k, v] : d.dict()) {
        if (name == "items") {
          out.push_back(Value::Tuple({Value::String(k), v}));
        } else if (name == "keys") {
          out.push_back(Value::String(k));
        } else {
          out.push_back(v);
        }
      }
      return Value::List(std::move(out));
    });
  }
  if (name == "get") {
    return Value::Callable("dict.get", [d](CallArgs& a) -> absl::StatusOr<Value> {
      const Value* k = a.Get(0, "key");
      const Value* def = a.Get(1, "default");
      if (k == nullptr) return TypeError("get(): missing key");
      if (k->is_string()) {
        if (const Value* v = d.Find(k->str())) return *v;
      }
      return def ? *def : Value::None();
    });
  }
  return Value::Undefined();
}

}  // namespace

absl::Status CheckSize(size_t size, size_t max_size) {
  if (size > max_size) {
    return absl::ResourceExhaustedError(
        Cat("chat template result too large (more than ", max_size, " bytes or items)"));
  }
  return absl::OkStatus();
}

int64_t Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kString:
      return static_cast<int64_t>(DecodeUtf8(v.str()).size());
    case Value::Kind::kList:
      return static_cast<int64_t>(v.list().size());
    case Value::Kind::kDict:
    case Value::Kind::kNamespace:
      return static_cast<int64_t>(v.dict().size());
    case Value::Kind::kUndefined:
      return 0;
    default:
      return -1;
  }
}

absl::StatusOr<ValueList> Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kList:
      return v.list();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& kv : v.dict()) keys.push_back(Value::String(kv.first));
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      const std::vector<uint32_t> cps = DecodeUtf8(v.str());
      for (size_t i = 0; i < cps.size(); ++i)
        chars.push_back(Value::String(EncodeUtf8(cps, i, i + 1)));
      return chars;
    }
    case Value::Kind::kUndefined:
      return ValueList{};
    default:
      return TypeError(Cat("'", v.TypeName(), "' object is not iterable"));
  }
}

Value GetAttribute(const Value& obj, const std::string& name, size_t max_size) {
  switch (obj.kind()) {
    case Value::Kind::kDict: {
      Value m = DictMethod(obj, name);
      if (!m.is_undefined()) return m;
      if (const Value* v = obj.Find(name)) return *v;
      return Value::Undefined(name);
    }
    case Value::Kind::kNamespace:
      if (const Value* v = obj.Find(name)) return *v;
      return Value::Undefined(name);
    case Value::Kind::kString:
      return StringMethod(obj.str(), name, max_size);
    case Value::Kind::kList:
      if (name == "index" || name == "count") {
        return Value::Callable("list." + name, [obj, name](CallArgs& a) -> absl::StatusOr<Value> {
          const Value* x = a.Get(0, "value");
          if (x == nullptr) return TypeError(Cat(name, "(): missing argument"));
          int64_t n = 0;
          for (size_t i = 0; i < obj.list().size(); ++i) {
            if (ValuesEqual(obj.list()[i], *x)) {
              if (name == "index") return Value::Int(static_cast<int64_t>(i));
              ++n;
            }
          }
          if (name == "index") return TypeError("list.index(x): x not in list");
          return Value::Int(n);
        });
      }
      if (name == "append" || name == "pop" || name == "extend" || name == "insert" ||
          name == "remove" || name == "clear" || name == "sort" || name == "reverse") {
        return Value::Callable("list." + name, [name](CallArgs&) -> absl::StatusOr<Value> {
          return absl::PermissionDeniedError(
              Cat("list.", name, "() is not allowed: the template sandbox is immutable"));
        });
      }
      return Value::Undefined(name);
    default:
      return Value::Undefined(name);
  }
}

Value GetGlobal(const std::string& name, int64_t max_items) {
  if (name == "range") {
    return Value::Callable("range", [max_items](CallArgs& a) -> absl::StatusOr<Value> {
      int64_t start = 0, stop = 0, step = 1;
      std::vector<int64_t> nums;
      for (const Value& v : a.args) {
        if (!v.is_int() && !v.is_bool()) return TypeError("range(): arguments must be integers");
        nums.push_back(v.int_value());
      }
      if (nums.size() == 1) {
        stop = nums[0];
      } else if (nums.size() == 2 || nums.size() == 3) {
        start = nums[0];
        stop = nums[1];
        if (nums.size() == 3) step = nums[2];
      } else {
        return TypeError("range() takes 1 to 3 arguments");
      }
      if (step == 0) return TypeError("range() arg 3 must not be zero");
      ValueList out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
        if (static_cast<int64_t>(out.size()) >= max_items) {
          return absl::ResourceExhaustedError(
              Cat("range() longer than the limit of ", max_items, " items"));
        }
        out.push_back(Value::Int(i));
        if (__builtin_add_overflow(i, step, &i)) break;  // the next value is past any int64 stop
      }
      return Value::List(std::move(out));
    });
  }
  if (name == "namespace" || name == "dict") {
    const bool ns = name == "namespace";
    return Value::Callable(name, [ns](CallArgs& a) -> absl::StatusOr<Value> {
      ValueDict items;
      for (const Value& v : a.args) {
        if (!v.is_mapping())
          return TypeError("namespace()/dict(): positional argument must be a dict");
        for (const auto& kv : v.dict()) items.push_back(kv);
      }
      for (const auto& kv : a.kwargs) {
        bool replaced = false;
        for (auto& it : items) {
          if (it.first == kv.first) {
            it.second = kv.second;
            replaced = true;
          }
        }
        if (!replaced) items.push_back(kv);
      }
      return ns ? Value::Namespace(std::move(items)) : Value::Dict(std::move(items));
    });
  }
  if (name == "raise_exception") {
    return Value::Callable(name, [](CallArgs& a) -> absl::StatusOr<Value> {
      const Value* m = a.Get(0, "message");
      return absl::InvalidArgumentError(
          Cat("the chat template raised an error: ", m ? m->ToString() : std::string()));
    });
  }
  if (name == "strftime_now") {
    return Value::Callable(name, [](CallArgs& a) -> absl::StatusOr<Value> {
      std::string fmt;
      JINJA_ASSIGN_OR_RETURN(fmt, StrArg(a, 0, "format", "strftime_now", ""));
      const std::time_t now = std::time(nullptr);
      std::tm tm{};
      localtime_r(&now, &tm);
      char buf[512];
      const size_t n = fmt.size() < 200 ? std::strftime(buf, sizeof(buf), fmt.c_str(), &tm) : 0;
      return Value::String(std::string(buf, n));
    });
  }
  return Value::Undefined(name);
}

namespace {

const std::set<std::string_view>& KnownFilters() {
  static const auto* s = new std::set<std::string_view>{
      "abs",    "attr",       "capitalize", "count",    "d",       "default", "dictsort",
      "e",      "escape",     "first",      "float",    "indent",  "int",     "items",
      "join",   "last",       "length",     "list",     "lower",   "map",     "max",
      "min",    "reject",     "rejectattr", "replace",  "reverse", "round",   "safe",
      "select", "selectattr", "sort",       "string",   "sum",     "title",   "tojson",
      "trim",   "unique",     "upper",      "wordcount"};
  return *s;
}

const std::set<std::string_view>& KnownTests() {
  static const auto* s = new std::set<std::string_view>{
      "boolean", "callable",    "defined", "divisibleby", "eq",        "equalto",
      "==",      "even",        "false",   "float",       "ge",        ">=",
      "gt",      "greaterthan", ">",       "in",          "integer",   "iterable",
      "le",      "<=",          "lower",   "lt",          "lessthan",  "<",
      "mapping", "ne",          "!=",      "none",        "number",    "odd",
      "sameas",  "sequence",    "string",  "true",        "undefined", "upper"};
  return *s;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Attribute path "a.b" of an item, as Jinja's make_attrgetter.
Value AttrPath(const Value& item, const std::string& path) {
  Value cur = item;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t dot = path.find('.', pos);
    const std::string part =
        path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (cur.is_mapping()) {
      const Value* v = cur.Find(part);
      cur = v ? *v : Value::Undefined(part);
    } else if (cur.is_list() && !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
                 return std::isdigit(static_cast<unsigned char>(c));
               })) {
      const size_t i = std::stoul(part);
      cur = i < cur.list().size() ? cur.list()[i] : Value::Undefined(part);
    } else {
      return Value::Undefined(part);
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

absl::StatusOr<ValueList> SelectItems(std::string_view name, const Value& value, CallArgs& args) {
  ValueList items;
  JINJA_ASSIGN_OR_RETURN(items, Iterate(value));
  const bool attr_mode = name == "selectattr" || name == "rejectattr";
  const bool reject = name == "reject" || name == "rejectattr";
  size_t next = 0;
  std::string attr;
  if (attr_mode) {
    if (args.args.empty() || !args.args[0].is_string()) {
      return TypeError(Cat(name, ": missing attribute name"));
    }
    attr = args.args[0].str();
    next = 1;
  }
  std::string test;
  if (next < args.args.size()) {
    if (!args.args[next].is_string()) return TypeError(Cat(name, ": test name must be a string"));
    test = args.args[next].str();
    if (!IsKnownTest(test)) return TypeError(Cat("unknown test '", test, "'"));
  }
  CallArgs test_args;
  for (size_t i = next + 1; i < args.args.size(); ++i) test_args.args.push_back(args.args[i]);
  ValueList out;
  for (const Value& item : items) {
    const Value subject = attr_mode ? AttrPath(item, attr) : item;
    bool ok;
    if (test.empty()) {
      ok = subject.Truthy();
    } else {
      JINJA_ASSIGN_OR_RETURN(ok, ApplyTest(test, subject, test_args));
    }
    if (ok != reject) out.push_back(item);
  }
  return out;
}

}  // namespace

bool IsKnownFilter(std::string_view name) { return KnownFilters().count(name) > 0; }
bool IsKnownTest(std::string_view name) { return KnownTests().count(name) > 0; }

absl::StatusOr<bool> ApplyTest(std::string_view name, const Value& v, const CallArgs& args) {
  const Value* arg = args.Get(0, "value");
  auto need_arg = [&]() -> absl::Status {
    if (arg == nullptr) return TypeError(Cat("test '", name, "' needs an argument"));
    return absl::OkStatus();
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.bool_value();
  if (name == "false") return v.is_bool() && !v.bool_value();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number() || v.is_bool();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "callable") return v.is_callable();
  if (name == "lower")
    return v.is_string() && AsciiMap(v.str(), [](int c) { return std::tolower(c); }) == v.str();
  if (name == "upper")
    return v.is_string() && AsciiMap(v.str(), [](int c) { return std::toupper(c); }) == v.str();
  if (name == "odd" || name == "even") {
    if (!v.is_int() && !v.is_bool()) return TypeError(Cat("test '", name, "' needs an integer"));
    const bool odd = (v.int_value() % 2) != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "divisibleby") {
    JINJA_RETURN_IF_ERROR(need_arg());
    if (!v.is_int() || !arg->is_int() || arg->int_value() == 0)
      return TypeError("divisibleby: bad operands");
    return v.int_value() % arg->int_value() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") {
    JINJA_RETURN_IF_ERROR(need_arg());
    return ValuesEqual(v, *arg);
  }
  if (name == "ne" || name == "!=") {
    JINJA_RETURN_IF_ERROR(need_arg());
    return !ValuesEqual(v, *arg);
  }
  if (name == "lt" || name == "lessthan" || name == "<") {
    JINJA_RETURN_IF_ERROR(need_arg());
    return ValueLess(v, *arg);
  }
  if (name == "gt" || name == "greaterthan" || name == ">") {
    JINJA_RETURN_IF_ERROR(need_arg());
    return ValueLess(*arg, v);
  }
  if (name == "le" || name == "<=") {
    JINJA_RETURN_IF_ERROR(need_arg());
    bool gt;
    JINJA_ASSIGN_OR_RETURN(gt, ValueLess(*arg, v));
    return !gt;
  }
  if (name == "ge" || name == ">=") {
    JINJA_RETURN_IF_ERROR(need_arg());
    bool lt;
    JINJA_ASSIGN_OR_RETURN(lt, ValueLess(v, *arg));
    return !lt;
  }
  if (name == "sameas") {
    JINJA_RETURN_IF_ERROR(need_arg());
    if (v.kind() != arg->kind()) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.is_bool()) return v.bool_value() == arg->bool_value();
    return ValuesEqual(v, *arg) && (v.is_int() || v.is_string());
  }
  if (name == "in") {
    JINJA_RETURN_IF_ERROR(need_arg());
    if (arg->is_string()) return v.is_string() && arg->str().find(v.str()) != std::string::npos;
    if (arg->is_mapping()) return v.is_string() && arg->Find(v.str()) != nullptr;
    ValueList items;
    JINJA_ASSIGN_OR_RETURN(items, Iterate(*arg));
    for (const Value& i : items) {
      if (ValuesEqual(i, v)) return true;
    }
    return false;
  }
  return TypeError(Cat("unknown test '", name, "'"));
}

absl::StatusOr<Value> ApplyFilter(std::string_view name, const Value& value, CallArgs& args,
                                  size_t max_size) {
  auto need_string = [&]() -> absl::Status {
    if (!value.is_string()) {
      return TypeError(Cat("filter '", name, "' expects a string, got ", value.TypeName()));
    }
    return absl::OkStatus();
  };
  if (name == "default" || name == "d") {
    const Value* def = args.Get(0, "default_value");
    const bool boolean = BoolArg(args, 1, "boolean", false);
    if (value.is_undefined() || (boolean && !value.Truthy())) {
      return def ? *def : Value::String("");
    }
    return value;
  }
  if (name == "length" || name == "count") {
    const int64_t n = Length(value);
    if (n < 0) return TypeError(Cat("object of type '", value.TypeName(), "' has no len()"));
    return Value::Int(n);
  }
  if (name == "trim") {
    const std::string s = value.ToString();
    bool given = false;
    std::string chars;
    JINJA_ASSIGN_OR_RETURN(chars, StrArg(args, 0, "chars", "trim", "", &given));
    return Value::String(Strip(s, given ? &chars : nullptr, true, true));
  }
  if (name == "tojson") {
    JsonDumpOptions o;
    o.ensure_ascii = BoolArg(args, 0, "ensure_ascii", false);
    const Value* indent = args.Get(1, "indent");
    if (indent != nullptr && !indent->is_none()) {
      if (!indent->is_int() || indent->int_value() < 0 || indent->int_value() > 64) {
        return TypeError("tojson: indent must be a small non-negative integer");
      }
      o.indent = static_cast<int>(indent->int_value());
    }
    const Value* seps = args.Get(2, "separators");
    if (seps != nullptr && !seps->is_none()) {
      if (!seps->is_list() || seps->list().size() != 2 || !seps->list()[0].is_string() ||
          !seps->list()[1].is_string()) {
        return TypeError("tojson: separators must be a pair of strings");
      }
      o.has_separators = true;
      o.item_separator = seps->list()[0].str();
      o.key_separator = seps->list()[1].str();
    }
    o.sort_keys = BoolArg(args, 3, "sort_keys", false);
    std::string s;
    JINJA_ASSIGN_OR_RETURN(s, ToJson(value, o));
    JINJA_RETURN_IF_ERROR(CheckSize(s.size(), max_size));
    return Value::String(std::move(s));
  }
  if (name == "lower" || name == "upper" || name == "capitalize" || name == "title") {
    const std::string s = value.ToString();
    if (name == "lower") return Value::String(AsciiMap(s, [](int c) { return std::tolower(c); }));
    if (name == "upper") return Value::String(AsciiMap(s, [](int c) { return std::toupper(c); }));
    if (name == "capitalize") return Value::String(Capitalize(s));
    return Value::String(Title(s));
  }
  if (name == "string") return Value::String(value.ToString());
  if (name == "safe") return value;
  if (name == "e" || name == "escape") return Value::String(HtmlEscape(value.ToString()));
  if (name == "replace") {
    JINJA_RETURN_IF_ERROR(need_string());
    std::string old, with;
    int64_t count;
    JINJA_ASSIGN_OR_RETURN(old, StrArg(args, 0, "old", "replace", ""));
    JINJA_ASSIGN_OR_RETURN(with, StrArg(args, 1, "new", "replace", ""));
    JINJA_ASSIGN_OR_RETURN(count, IntArg(args, 2, "count", "replace", -1));
    std::string r;
    JINJA_ASSIGN_OR_RETURN(r, Replace(value.str(), old, with, count, max_size));
    return Value::String(std::move(r));
  }
  if (name == "join") {
    ValueList items;
    JINJA_ASSIGN_OR_RETURN(items, Iterate(value));
    std::string sep;
    JINJA_ASSIGN_OR_RETURN(sep, StrArg(args, 0, "d", "join", ""));
    bool has_attr = false;
    std::string attr;
    JINJA_ASSIGN_OR_RETURN(attr, StrArg(args, 1, "attribute", "join", "", &has_attr));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += sep;
      out += (has_attr ? AttrPath(items[i], attr) : items[i]).ToString();
      JINJA_RETURN_IF_ERROR(CheckSize(out.size(), max_size));
    }
    return Value::String(std::move(out));
  }
  if (name == "first" || name == "last") {
    ValueList items;
    JINJA_ASSIGN_OR_RETURN(items, Iterate(value));
    if (items.empty()) return Value::Undefined(std::string(name));
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    ValueList items;
    JINJA_ASSIGN_OR_RETURN(items, Iterate(value));
    return Value::List(std::move(items));
  }
  if (name == "reverse") {
    if (value.is_string()) {
      std::vector<uint32_t> cps = DecodeUtf8(value.str());
      std::reverse(cps.begin(), cps.end());
      return Value::String(EncodeUtf8(cps, 0, cps.size()));
    }
    ValueList items;
    JINJA_ASSIGN_OR_RETURN(items, Iterate(value));
    std::reverse(items.begin(), items.end());
    return Value::List(std::move(items));
  }
  if (name == "items") {
    if (value.is_undefined()) return Value::List({});
    if (!value.is_mapping()) return TypeError("filter 'items' expects a mapping");
    ValueList out;
    for (const auto& [k, v] : value.dict()) out.push_back(Value::Tuple({Value::String(k), v}));
    return Value::List(std::move(out));
  }
  if (name == "dictsort") {
    if (!value.is_mapping()) return TypeError("filter 'dictsort' expects a mapping");
    ValueList out;
    for (const auto& [k, v] : value.dict()) out.push_back(Value::Tuple({Value::String(k), v}));
    std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
      return a.list()[0].str() < b.list()[0].str();
    });
    return Value::List(std::move(out));
  }
  if (name == "int") {
    const Value* def = args.Get(0, "default");
    const Value fallback = def ? *def : Value::Int(0);
    if (value.is_int() || value.is_bool()) return Value::Int(value.int_value());
    if (value.is_float()) {
      if (!std::isfinite(value.number()) || std::fabs(value.number()) > 9.2e18) return fallback;
      return Value::Int(static_cast<int64_t>(value.number()));
    }
    if (value.is_string()) {
      const std::string s = Strip(value.str(), nullptr, true, true);
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return Value::Int(v);
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) {
        return Value::Int(static_cast<int64_t>(d));
      }
    }
    return fallback;
  }
  if (name == "float") {
    const Value* def = args.Get(0, "default");
    if (value.is_number() || value.is_bool()) return Value::Float(value.number());
    if (value.is_string()) {
      const std::string s = Strip(value.str(), nullptr, true, true);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return Value::Float(d);
    }
    return def ? *def : Value::Float(0.0);
  }
  if (name == "abs") {
    if (value.is_int() || value.is_bool()) {
      if (value.int_value() == INT64_MIN) return TypeError("abs: integer overflow");
      return Value::Int(value.int_value() < 0 ? -value.int_value() : value.int_value());
    }
    if (value.is_float()) return Value::Float(std::fabs(value.number()));
    return TypeError(Cat("bad operand type for abs(): '", value.TypeName(), "'"));
  }
  if (name == "round") {
    if (!value.is_number() && !value.is_bool()) return TypeError("filter 'round' expects a number");
    int64_t precision;
    JINJA_ASSIGN_OR_RETURN(precision, IntArg(args, 0, "precision", "round", 0));
    std::string method;
    JINJA_ASSIGN_OR_RETURN(method, StrArg(args, 1, "method", "round", "common"));
    if (precision < 0 || precision > 15) return TypeError("round: precision out of range");
    const double scale = std::pow(10.0, static_cast<double>(precision));
    double x = value.number() * scale;
    if (method == "common") {
      x = std::round(x);
    } else if (method == "ceil") {
      x = std::ceil(x);
    } else if (method == "floor") {
      x = std::floor(x);
    } else {
      return TypeError("round: method must be common, ceil or floor");
    }
    return Value::Float(x / scale);
  }
  if (name == "indent") {
    const std::string s = value.ToString();
    std::string pad;
    const Value* w = args.Get(0, "width");
    if (w == nullptr) {
      pad = "    ";
    } else if (w->is_string()) {
      pad = w->str();
    } else if (w->is_int() && w->int_value() >= 0 && w->int_value() <= 256) {
      pad = std::string(static_cast<size_t>(w->int_value()), ' ');
    } else {
      return TypeError("indent: width must be a small integer or a string");
    }
    const bool first = BoolArg(args, 1, "first", false);
    const bool blank = BoolArg(args, 2, "blank", false);
    std::string out;
    size_t pos = 0;
    bool is_first = true;
    while (true) {
      const size_t nl = s.find('\n', pos);
      const std::string line =
          s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if ((!is_first || first) && (blank || !Strip(line, nullptr, true, true).empty())) out += pad;
      out += line;
      JINJA_RETURN_IF_ERROR(CheckSize(out.size(), max_size));
      if (nl == std::string::npos) break;
      out += '\n';
      pos = nl + 1;
      is_first = false;
    }
    return Value::String(std::move(out));
  }
  if (name == "wordcount") {
    CallArgs none;
    absl::StatusOr<Value> parts = Split(value.ToString(), none);
    if (!parts.ok()) return parts.status();
    return Value::Int(static_cast<int64_t>(parts->list().size()));
  }
  if (name == "attr") {
    bool given = false;
    std::string a;
    JINJA_ASSIGN_OR_RETURN(a, StrArg(args, 0, "name", "attr", "", &given));
    return GetAttribute(value, a, max_size);
  }
  if (name == "map") {
    ValueList items;
    JINJA_ASSIGN_OR_RETURN(items, Iterate(value));
    ValueList out;
    for (const auto& [k, v] : args.kwargs) {
      if (k == "attribute") {
        if (!v.is_string()) return TypeError("map: attribute must be a string");
        const Value* def = nullptr;
        for (const auto& kv : args.kwargs) {
          if (kv.first == "default") def = &kv.second;
        }
        for (const Value& i : items) {
          Value r = AttrPath(i, v.str());
          out.push_back(r.is_undefined() && def ? *def : r);
        }
        return Value::List(std::move(out));
      }
    }
    if (args.args.empty() || !args.args[0].is_string())
      return TypeError("map: needs a filter name or attribute=");
    const std::string filter = args.args[0].str();
    if (!IsKnownFilter(filter) || filter == "map") {
      return TypeError(Cat("unknown filter '", filter, "'"));
    }
    CallArgs rest;
    rest.args.assign(args.args.begin() + 1, args.args.end());
    for (const Value& i : items) {
      CallArgs copy = rest;
      Value r;
      JINJA_ASSIGN_OR_RETURN(r, ApplyFilter(filter, i, copy, max_size));
      out.push_back(std::move(r));
    }
    return Value::List(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    ValueList out;
    JINJA_ASSIGN_OR_RETURN(out, SelectItems(name, value, args));
    return Value::List(std::move(out));
  }
  if (name == "unique" || name == "sort" || name == "min" || name == "max" || name == "sum") {
    ValueList items;
    JINJA_ASSIGN_OR_RETURN(items, Iterate(value));
    bool has_attr = false;
    std::string attr;
    const size_t attr_index = name == "sort" ? 2 : name == "sum" ? 0 : 1;
    JINJA_ASSIGN_OR_RETURN(attr, StrArg(args, attr_index, "attribute", name, "", &has_attr));
    auto key = [&](const Value& v) { return has_attr ? AttrPath(v, attr) : v; };
    if (name == "sum") {
      Value total = Value::Int(0);
      if (const Value* start = args.Get(1, "start")) total = *start;
      for (const Value& i : items) {
        const Value k = key(i);
        if (!(k.is_number() || k.is_bool()) || !(total.is_number() || total.is_bool())) {
          return TypeError("sum: items must be numbers");
        }
        if (k.is_float() || total.is_float()) {
          total = Value::Float(total.number() + k.number());
        } else {
          int64_t r;
          if (__builtin_add_overflow(total.int_value(), k.int_value(), &r))
            return TypeError("sum: integer overflow");
          total = Value::Int(r);
        }
      }
      return total;
    }
    if (name == "unique") {
      ValueList out;
      for (const Value& i : items) {
        bool seen = false;
        for (const Value& o : out) seen = seen || ValuesEqual(key(o), key(i));
        if (!seen) out.push_back(i);
      }
      return Value::List(std::move(out));
    }
    absl::Status err;
    auto less = [&](const Value& a, const Value& b) {
      absl::StatusOr<bool> r = ValueLess(key(a), key(b));
      if (!r.ok()) {
        if (err.ok()) err = r.status();
        return false;
      }
      return *r;
    };
    if (name == "sort") {
      const bool reverse = BoolArg(args, 0, "reverse", false);
      std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
        return reverse ? less(b, a) : less(a, b);
      });
      JINJA_RETURN_IF_ERROR(err);
      return Value::List(std::move(items));
    }
    if (items.empty()) return Value::Undefined(std::string(name));
    auto it = name == "min" ? std::min_element(items.begin(), items.end(), less)
                            : std::max_element(items.begin(), items.end(), less);
    JINJA_RETURN_IF_ERROR(err);
    return *it;
  }
  return TypeError(Cat("unknown filter '", name, "'"));
}

}  // namespace fathom::internal::jinja
