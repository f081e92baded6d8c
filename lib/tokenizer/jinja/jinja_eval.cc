// Jinja2 subset interpreter: the evaluator (scopes, statements, expressions, limits).
#include "tokenizer/jinja/jinja_eval.h"

#include <cmath>
#include <map>

#include "tokenizer/jinja/jinja_builtins.h"
#include "tokenizer/jinja/jinja_lexer.h"
#include "tokenizer/jinja/jinja_parser.h"

namespace fathom::internal::jinja {
namespace {

absl::Status ValidateExpr(const Template& tpl, const Expr* e);

absl::Status ValidateBody(const Template& tpl, const Body& body) {
  for (const StmtPtr& s : body) {
    for (const Expr* e : {s->expr.get(), s->cond.get()}) {
      JINJA_RETURN_IF_ERROR(ValidateExpr(tpl, e));
    }
    for (const ExprPtr& e : s->conds) JINJA_RETURN_IF_ERROR(ValidateExpr(tpl, e.get()));
    for (const auto& p : s->params) JINJA_RETURN_IF_ERROR(ValidateExpr(tpl, p.second.get()));
    for (const Body& b : s->bodies) JINJA_RETURN_IF_ERROR(ValidateBody(tpl, b));
    JINJA_RETURN_IF_ERROR(ValidateBody(tpl, s->body));
    JINJA_RETURN_IF_ERROR(ValidateBody(tpl, s->else_body));
  }
  return absl::OkStatus();
}

absl::Status ValidateExpr(const Template& tpl, const Expr* e) {
  if (e == nullptr) return absl::OkStatus();
  if (e->kind == Expr::Kind::kFilter && !IsKnownFilter(e->name)) {
    return absl::InvalidArgumentError(Cat("chat template error at ",
                                          DescribePosition(tpl.source, e->pos),
                                          ": unknown filter '", e->name, "'"));
  }
  if (e->kind == Expr::Kind::kTest && !IsKnownTest(e->name)) {
    return absl::InvalidArgumentError(Cat("chat template error at ",
                                          DescribePosition(tpl.source, e->pos), ": unknown test '",
                                          e->name, "'"));
  }
  for (const ExprPtr& c : e->children) JINJA_RETURN_IF_ERROR(ValidateExpr(tpl, c.get()));
  for (const auto& kv : e->kwargs) JINJA_RETURN_IF_ERROR(ValidateExpr(tpl, kv.second.get()));
  return absl::OkStatus();
}

enum class Flow { kNormal, kBreak, kContinue };

struct Frame {
  std::map<std::string, Value> vars;
  bool barrier = false;  // a macro call: outer frames (except the template's) are not visible
};

class Evaluator {
 public:
  Evaluator(const Template& tpl, const Value& variables, const RenderLimits& limits)
      : tpl_(tpl), vars_(variables), limits_(limits) {
    frames_.emplace_back();
  }

  absl::StatusOr<std::string> Run() {
    std::string out;
    out_ = &out;
    Flow flow = Flow::kNormal;
    JINJA_RETURN_IF_ERROR(ExecBody(tpl_.body, &flow));
    return out;
  }

 private:
  absl::Status Err(size_t pos, const absl::Status& s) const {
    return absl::Status(s.code(), Cat("chat template error at ", DescribePosition(tpl_.source, pos),
                                      ": ", std::string(s.message())));
  }
  absl::Status Err(size_t pos, std::string_view msg) const {
    return Err(pos, absl::InvalidArgumentError(std::string(msg)));
  }
  absl::Status Step(size_t pos) { return Charge(pos, 1); }
  absl::Status Charge(size_t pos, size_t steps) {
    steps_ += static_cast<int64_t>(steps);
    if (steps_ > limits_.max_steps) {
      return Err(pos, absl::ResourceExhaustedError(Cat("more than ", limits_.max_steps,
                                                       " loop iterations and macro calls")));
    }
    return absl::OkStatus();
  }
  absl::Status Emit(size_t pos, std::string_view s) {
    out_->append(s);
    if (out_->size() > limits_.max_output_bytes) {
      return Err(pos, CheckSize(out_->size(), limits_.max_output_bytes));
    }
    return absl::OkStatus();
  }

  Value Lookup(const std::string& name) const {
    for (size_t i = frames_.size(); i-- > 0;) {
      auto it = frames_[i].vars.find(name);
      if (it != frames_[i].vars.end()) return it->second;
      if (frames_[i].barrier) {
        auto g = frames_[0].vars.find(name);
        if (g != frames_[0].vars.end()) return g->second;
        break;
      }
    }
    if (const Value* v = vars_.Find(name)) return *v;
    Value g = GetGlobal(name, limits_.max_steps);
    if (!g.is_undefined()) return g;
    return Value::Undefined(name);
  }

  absl::Status ExecBody(const Body& body, Flow* flow) {
    for (const StmtPtr& s : body) {
      JINJA_RETURN_IF_ERROR(Exec(*s, flow));
      if (*flow != Flow::kNormal) return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  absl::Status Assign(const Stmt& s, const Value& v) {
    if (!s.target_attr.empty()) {
      Value ns = Lookup(s.targets[0]);
      if (!ns.is_namespace()) {
        return Err(s.pos, Cat("cannot assign attribute '", s.target_attr, "' on '", s.targets[0],
                              "': not a namespace()"));
      }
      for (auto& kv : ns.mutable_dict()) {
        if (kv.first == s.target_attr) {
          kv.second = v;
          return absl::OkStatus();
        }
      }
      ns.mutable_dict().emplace_back(s.target_attr, v);
      return absl::OkStatus();
    }
    if (s.targets.size() == 1) {
      frames_.back().vars[s.targets[0]] = v;
      return absl::OkStatus();
    }
    absl::StatusOr<ValueList> items = Iterate(v);
    if (!items.ok()) return Err(s.pos, items.status());
    if (items->size() != s.targets.size()) {
      return Err(s.pos,
                 Cat("cannot unpack ", items->size(), " values into ", s.targets.size(), " names"));
    }
    for (size_t i = 0; i < s.targets.size(); ++i) frames_.back().vars[s.targets[i]] = (*items)[i];
    return absl::OkStatus();
  }

  absl::Status BindLoopTargets(const Stmt& s, const Value& item, Frame* f) {
    if (s.targets.size() == 1) {
      f->vars[s.targets[0]] = item;
      return absl::OkStatus();
    }
    absl::StatusOr<ValueList> parts = Iterate(item);
    if (!parts.ok()) return Err(s.pos, parts.status());
    if (parts->size() != s.targets.size()) {
      return Err(s.pos, Cat("cannot unpack ", parts->size(), " values into ", s.targets.size(),
                            " loop variables"));
    }
    for (size_t i = 0; i < s.targets.size(); ++i) f->vars[s.targets[i]] = (*parts)[i];
    return absl::OkStatus();
  }

  absl::Status ExecFor(const Stmt& s, Flow* flow) {
    Value seq;
    JINJA_ASSIGN_OR_RETURN(seq, Eval(*s.expr));
    absl::StatusOr<ValueList> all = Iterate(seq);
    if (!all.ok()) return Err(s.expr->pos, all.status());
    frames_.emplace_back();
    struct Pop {
      std::vector<Frame>* f;
      ~Pop() { f->pop_back(); }
    } pop{&frames_};
    ValueList items;
    if (s.cond) {
      for (const Value& item : *all) {
        JINJA_RETURN_IF_ERROR(Step(s.pos));
        JINJA_RETURN_IF_ERROR(BindLoopTargets(s, item, &frames_.back()));
        Value c;
        JINJA_ASSIGN_OR_RETURN(c, Eval(*s.cond));
        if (c.Truthy()) items.push_back(item);
      }
    } else {
      items = *std::move(all);
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      JINJA_RETURN_IF_ERROR(Step(s.pos));
      Frame& f = frames_.back();
      JINJA_RETURN_IF_ERROR(BindLoopTargets(s, items[static_cast<size_t>(i)], &f));
      ValueDict loop = {
          {"index0", Value::Int(i)},
          {"index", Value::Int(i + 1)},
          {"revindex0", Value::Int(n - i - 1)},
          {"revindex", Value::Int(n - i)},
          {"first", Value::Bool(i == 0)},
          {"last", Value::Bool(i == n - 1)},
          {"length", Value::Int(n)},
          {"depth", Value::Int(1)},
          {"depth0", Value::Int(0)},
      };
      if (i > 0) loop.emplace_back("previtem", items[static_cast<size_t>(i - 1)]);
      if (i + 1 < n) loop.emplace_back("nextitem", items[static_cast<size_t>(i + 1)]);
      loop.emplace_back("cycle",
                        Value::Callable("loop.cycle", [i](CallArgs& a) -> absl::StatusOr<Value> {
                          if (a.args.empty())
                            return absl::InvalidArgumentError("loop.cycle() needs arguments");
                          return a.args[static_cast<size_t>(i) % a.args.size()];
                        }));
      f.vars["loop"] = Value::Dict(std::move(loop));
      Flow inner = Flow::kNormal;
      JINJA_RETURN_IF_ERROR(ExecBody(s.body, &inner));
      if (inner == Flow::kBreak) break;
    }
    if (n == 0 && !s.else_body.empty()) {
      frames_.back().vars.erase("loop");
      JINJA_RETURN_IF_ERROR(ExecBody(s.else_body, flow));
    }
    return absl::OkStatus();
  }

  absl::Status DefineMacro(const Stmt& s) {
    const Stmt* def = &s;
    Value fn = Value::Callable(
        s.text, [this, def](CallArgs& a) -> absl::StatusOr<Value> { return CallMacro(*def, a); });
    frames_.back().vars[s.text] = fn;
    return absl::OkStatus();
  }

  absl::StatusOr<Value> CallMacro(const Stmt& def, CallArgs& a) {
    JINJA_RETURN_IF_ERROR(Step(def.pos));
    if (call_depth_ >= limits_.max_call_depth) {
      return absl::ResourceExhaustedError(
          Cat("macro calls nested deeper than ", limits_.max_call_depth));
    }
    if (a.args.size() > def.params.size()) {
      return absl::InvalidArgumentError(
          Cat("macro '", def.text, "' takes ", def.params.size(), " arguments"));
    }
    Frame f;
    f.barrier = true;
    for (size_t i = 0; i < def.params.size(); ++i) {
      const Value* v = a.Get(i, def.params[i].first);
      if (v != nullptr) {
        f.vars[def.params[i].first] = *v;
      } else if (def.params[i].second) {
        Value d;
        JINJA_ASSIGN_OR_RETURN(d, Eval(*def.params[i].second));
        f.vars[def.params[i].first] = d;
      } else {
        f.vars[def.params[i].first] = Value::Undefined(def.params[i].first);
      }
    }
    for (const auto& kv : a.kwargs) {
      bool known = false;
      for (const auto& p : def.params) known = known || p.first == kv.first;
      if (!known) {
        return absl::InvalidArgumentError(
            Cat("macro '", def.text, "' has no argument '", kv.first, "'"));
      }
    }
    frames_.push_back(std::move(f));
    std::string body_out;
    std::string* saved = out_;
    out_ = &body_out;
    ++call_depth_;
    Flow flow = Flow::kNormal;
    absl::Status st = ExecBody(def.body, &flow);
    --call_depth_;
    out_ = saved;
    frames_.pop_back();
    if (!st.ok()) return st;
    return Value::String(std::move(body_out));
  }

  absl::Status Exec(const Stmt& s, Flow* flow) {
    switch (s.kind) {
      case Stmt::Kind::kText:
        return Emit(s.pos, s.text);
      case Stmt::Kind::kOutput: {
        Value v;
        JINJA_ASSIGN_OR_RETURN(v, Eval(*s.expr));
        return Emit(s.pos, v.ToString());
      }
      case Stmt::Kind::kIf: {
        for (size_t i = 0; i < s.conds.size(); ++i) {
          Value c;
          JINJA_ASSIGN_OR_RETURN(c, Eval(*s.conds[i]));
          if (c.Truthy()) return ExecBody(s.bodies[i], flow);
        }
        return ExecBody(s.else_body, flow);
      }
      case Stmt::Kind::kFor:
        return ExecFor(s, flow);
      case Stmt::Kind::kSet: {
        Value v;
        JINJA_ASSIGN_OR_RETURN(v, Eval(*s.expr));
        return Assign(s, v);
      }
      case Stmt::Kind::kSetBlock: {
        std::string captured;
        std::string* saved = out_;
        out_ = &captured;
        absl::Status st = ExecBody(s.body, flow);
        out_ = saved;
        JINJA_RETURN_IF_ERROR(st);
        return Assign(s, Value::String(std::move(captured)));
      }
      case Stmt::Kind::kMacro:
        return DefineMacro(s);
      case Stmt::Kind::kBreak:
        *flow = Flow::kBreak;
        return absl::OkStatus();
      case Stmt::Kind::kContinue:
        *flow = Flow::kContinue;
        return absl::OkStatus();
      case Stmt::Kind::kScope:
        return ExecBody(s.body, flow);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<CallArgs> EvalArgs(const Expr& e, size_t first) {
    CallArgs a;
    for (size_t i = first; i < e.children.size(); ++i) {
      Value v;
      JINJA_ASSIGN_OR_RETURN(v, Eval(*e.children[i]));
      a.args.push_back(std::move(v));
    }
    for (const auto& [k, x] : e.kwargs) {
      Value v;
      JINJA_ASSIGN_OR_RETURN(v, Eval(*x));
      a.kwargs.emplace_back(k, std::move(v));
    }
    return a;
  }

  absl::Status UndefinedError(size_t pos, const Value& v) const {
    return Err(pos, Cat("'", v.str().empty() ? "value" : v.str(), "' is undefined"));
  }

  static absl::StatusOr<int64_t> SliceIndex(const Value* v) {
    if (!v->is_int() && !v->is_bool()) {
      return absl::InvalidArgumentError("slice indices must be integers or none");
    }
    return v->int_value();
  }

  absl::StatusOr<Value> Slice(const Expr& e, const Value& obj) {
    Value parts[3];
    for (int i = 0; i < 3; ++i) {
      if (e.children[static_cast<size_t>(i) + 1]) {
        JINJA_ASSIGN_OR_RETURN(parts[i], Eval(*e.children[static_cast<size_t>(i) + 1]));
      } else {
        parts[i] = Value::None();
      }
    }
    int64_t step = 1;
    if (!parts[2].is_none()) {
      absl::StatusOr<int64_t> st = SliceIndex(&parts[2]);
      if (!st.ok()) return Err(e.pos, st.status());
      step = *st;
      if (step == 0) return Err(e.pos, "slice step cannot be zero");
    }
    std::vector<uint32_t> cps;
    int64_t len = 0;
    if (obj.is_string()) {
      cps = DecodeUtf8(obj.str());
      len = static_cast<int64_t>(cps.size());
    } else if (obj.is_list()) {
      len = static_cast<int64_t>(obj.list().size());
    } else if (obj.is_undefined()) {
      return UndefinedError(e.pos, obj);
    } else {
      return Err(e.pos, Cat("'", obj.TypeName(), "' object is not subscriptable"));
    }
    auto bound = [&](const Value& v, int64_t def) -> absl::StatusOr<int64_t> {
      if (v.is_none()) return def;
      int64_t x;
      JINJA_ASSIGN_OR_RETURN(x, SliceIndex(&v));
      if (x < 0) x += len;
      if (step > 0) return std::clamp<int64_t>(x, 0, len);
      return std::clamp<int64_t>(x, -1, len - 1);
    };
    absl::StatusOr<int64_t> start = bound(parts[0], step > 0 ? 0 : len - 1);
    absl::StatusOr<int64_t> stop = bound(parts[1], step > 0 ? len : -1);
    if (!start.ok()) return Err(e.pos, start.status());
    if (!stop.ok()) return Err(e.pos, stop.status());
    std::vector<int64_t> idx;
    for (int64_t i = *start; step > 0 ? i < *stop : i > *stop; i += step) idx.push_back(i);
    if (obj.is_string()) {
      std::string out;
      for (int64_t i : idx) AppendUtf8(cps[static_cast<size_t>(i)], &out);
      return Value::String(std::move(out));
    }
    ValueList out;
    for (int64_t i : idx) out.push_back(obj.list()[static_cast<size_t>(i)]);
    return Value::List(std::move(out));
  }

  absl::StatusOr<Value> GetItem(size_t pos, const Value& obj, const Value& key) {
    if (obj.is_undefined()) return UndefinedError(pos, obj);
    if (obj.is_mapping()) {
      if (key.is_string()) {
        if (const Value* v = obj.Find(key.str())) return *v;
        return Value::Undefined(key.str());
      }
      return Value::Undefined();
    }
    if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
      int64_t i = key.int_value();
      if (obj.is_list()) {
        const int64_t n = static_cast<int64_t>(obj.list().size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value::Undefined();
        return obj.list()[static_cast<size_t>(i)];
      }
      const std::vector<uint32_t> cps = DecodeUtf8(obj.str());
      const int64_t n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::Undefined();
      return Value::String(EncodeUtf8(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
    }
    if (key.is_string()) return GetAttribute(obj, key.str(), limits_.max_output_bytes);
    return Value::Undefined();
  }

  absl::StatusOr<Value> Arith(size_t pos, const std::string& op, const Value& a, const Value& b) {
    if (op == "~") {
      std::string s = a.ToString() + b.ToString();
      if (s.size() > limits_.max_output_bytes) {
        return Err(pos, CheckSize(s.size(), limits_.max_output_bytes));
      }
      return Value::String(std::move(s));
    }
    if (a.is_undefined()) return UndefinedError(pos, a);
    if (b.is_undefined()) return UndefinedError(pos, b);
    const bool an = a.is_number() || a.is_bool(), bn = b.is_number() || b.is_bool();
    if (an && bn) {
      const bool use_float = a.is_float() || b.is_float() || op == "/";
      if (op == "**") {
        if (!use_float && b.int_value() >= 0) {
          int64_t r = 1, base = a.int_value();
          for (int64_t k = 0; k < b.int_value(); ++k) {
            if (__builtin_mul_overflow(r, base, &r)) return Err(pos, "integer overflow in '**'");
            if (r == 0 || r == 1) break;
          }
          return Value::Int(r);
        }
        return Value::Float(std::pow(a.number(), b.number()));
      }
      if (use_float) {
        const double x = a.number(), y = b.number();
        if (op == "+") return Value::Float(x + y);
        if (op == "-") return Value::Float(x - y);
        if (op == "*") return Value::Float(x * y);
        if (y == 0) return Err(pos, "division by zero");
        if (op == "/") return Value::Float(x / y);
        if (op == "//") return Value::Float(std::floor(x / y));
        if (op == "%") {
          double m = std::fmod(x, y);
          if (m != 0 && ((m < 0) != (y < 0))) m += y;
          return Value::Float(m);
        }
      } else {
        const int64_t x = a.int_value(), y = b.int_value();
        int64_t r = 0;
        if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value::Int(r);
        if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value::Int(r);
        if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value::Int(r);
        if (op == "+" || op == "-" || op == "*") return Err(pos, "integer overflow");
        if (y == 0) return Err(pos, "integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) return Err(pos, "integer overflow");
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
          --q;
          m += y;
        }
        if (op == "//") return Value::Int(q);
        if (op == "%") return Value::Int(m);
      }
    }
    if (op == "+" && a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > limits_.max_output_bytes) {
        return Err(pos, CheckSize(a.str().size() + b.str().size(), limits_.max_output_bytes));
      }
      return Value::String(a.str() + b.str());
    }
    if (op == "+" && a.is_list() && b.is_list()) {
      if (a.list().size() + b.list().size() > limits_.max_list_items) {
        return Err(pos, absl::ResourceExhaustedError(
                            Cat("a list of ", a.list().size() + b.list().size(),
                                " items exceeds the limit of ", limits_.max_list_items)));
      }
      ValueList out = a.list();
      out.insert(out.end(), b.list().begin(), b.list().end());
      return Value::List(std::move(out));
    }
    if (op == "*" && ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool()))) {
      return Repeat(pos, a, b.int_value());
    }
    if (op == "*" && ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool()))) {
      return Repeat(pos, b, a.int_value());
    }
    if (op == "%" && a.is_string()) return Err(pos, "string formatting with '%' is not supported");
    return Err(pos, Cat("unsupported operand type(s) for ", op, ": '", a.TypeName(), "' and '",
                        b.TypeName(), "'"));
  }

  absl::StatusOr<Value> Repeat(size_t pos, const Value& v, int64_t n) {
    if (n <= 0) return v.is_string() ? Value::String("") : Value::List({});
    const size_t unit = v.is_string() ? v.str().size() : v.list().size();
    const size_t limit = v.is_string() ? limits_.max_output_bytes : limits_.max_list_items;
    if (unit != 0 && static_cast<uint64_t>(n) > limit / unit) {
      if (v.is_list()) {
        return Err(pos, absl::ResourceExhaustedError(Cat("a list of ", n, " x ", unit,
                                                         " items exceeds the limit of ",
                                                         limits_.max_list_items)));
      }
      return Err(pos, CheckSize(limits_.max_output_bytes + 1, limits_.max_output_bytes));
    }
    if (v.is_string()) {
      std::string out;
      for (int64_t i = 0; i < n; ++i) out += v.str();
      return Value::String(std::move(out));
    }
    ValueList out;
    for (int64_t i = 0; i < n; ++i) out.insert(out.end(), v.list().begin(), v.list().end());
    return Value::List(std::move(out));
  }

  absl::StatusOr<bool> Contains(size_t pos, const Value& item, const Value& container) {
    if (container.is_string()) {
      if (!item.is_string()) {
        return Err(pos,
                   Cat("'in <string>' requires string as left operand, not ", item.TypeName()));
      }
      return container.str().find(item.str()) != std::string::npos;
    }
    if (container.is_mapping()) return item.is_string() && container.Find(item.str()) != nullptr;
    if (container.is_list()) {
      for (const Value& v : container.list()) {
        if (ValuesEqual(v, item)) return true;
      }
      return false;
    }
    if (container.is_undefined()) return false;
    return Err(pos, Cat("argument of type '", container.TypeName(), "' is not iterable"));
  }

  absl::StatusOr<Value> Eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.value;
      case Expr::Kind::kName:
        return Lookup(e.name);
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        ValueList items;
        for (const ExprPtr& c : e.children) {
          Value v;
          JINJA_ASSIGN_OR_RETURN(v, Eval(*c));
          items.push_back(std::move(v));
        }
        if (e.kind == Expr::Kind::kTuple) return Value::Tuple(std::move(items));
        return Value::List(std::move(items));
      }
      case Expr::Kind::kDict: {
        ValueDict items;
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          Value k, v;
          JINJA_ASSIGN_OR_RETURN(k, Eval(*e.children[i]));
          JINJA_ASSIGN_OR_RETURN(v, Eval(*e.children[i + 1]));
          if (!k.is_string()) return Err(e.children[i]->pos, "dict keys must be strings here");
          bool replaced = false;
          for (auto& kv : items) {
            if (kv.first == k.str()) {
              kv.second = v;
              replaced = true;
            }
          }
          if (!replaced) items.emplace_back(k.str(), std::move(v));
        }
        return Value::Dict(std::move(items));
      }
      case Expr::Kind::kGetAttr: {
        Value obj;
        JINJA_ASSIGN_OR_RETURN(obj, Eval(*e.children[0]));
        if (obj.is_undefined()) return UndefinedError(e.pos, obj);
        // Jinja's getattr: attribute (dict methods) first, then the item.
        return GetAttribute(obj, e.name, limits_.max_output_bytes);
      }
      case Expr::Kind::kGetItem: {
        Value obj, key;
        JINJA_ASSIGN_OR_RETURN(obj, Eval(*e.children[0]));
        JINJA_ASSIGN_OR_RETURN(key, Eval(*e.children[1]));
        return GetItem(e.pos, obj, key);
      }
      case Expr::Kind::kSlice: {
        Value obj;
        JINJA_ASSIGN_OR_RETURN(obj, Eval(*e.children[0]));
        return Slice(e, obj);
      }
      case Expr::Kind::kCall: {
        Value fn;
        JINJA_ASSIGN_OR_RETURN(fn, Eval(*e.children[0]));
        if (fn.is_undefined()) {
          return Err(e.pos, Cat("'", fn.str().empty() ? "value" : fn.str(),
                                "' is undefined or not a supported function"));
        }
        if (!fn.is_callable()) {
          return Err(e.pos, Cat("'", fn.TypeName(), "' object is not callable"));
        }
        CallArgs args;
        JINJA_ASSIGN_OR_RETURN(args, EvalArgs(e, 1));
        absl::StatusOr<Value> r = fn.fn()(args);
        if (!r.ok()) {
          if (r.status().message().rfind("chat template error at", 0) == 0) return r.status();
          return Err(e.pos, r.status());
        }
        // Lists that functions build (range) count against the step budget, so that a template
        // cannot hold many large lists at once.
        if (r->is_list()) JINJA_RETURN_IF_ERROR(Charge(e.pos, r->list().size()));
        return r;
      }
      case Expr::Kind::kFilter: {
        Value v;
        JINJA_ASSIGN_OR_RETURN(v, Eval(*e.children[0]));
        CallArgs args;
        JINJA_ASSIGN_OR_RETURN(args, EvalArgs(e, 1));
        absl::StatusOr<Value> r = ApplyFilter(e.name, v, args, limits_.max_output_bytes);
        if (!r.ok()) return Err(e.pos, r.status());
        return r;
      }
      case Expr::Kind::kTest: {
        Value v;
        JINJA_ASSIGN_OR_RETURN(v, Eval(*e.children[0]));
        CallArgs args;
        JINJA_ASSIGN_OR_RETURN(args, EvalArgs(e, 1));
        absl::StatusOr<bool> r = ApplyTest(e.name, v, args);
        if (!r.ok()) return Err(e.pos, r.status());
        return Value::Bool(*r != e.negate);
      }
      case Expr::Kind::kUnary: {
        Value v;
        JINJA_ASSIGN_OR_RETURN(v, Eval(*e.children[0]));
        if (v.is_int() || v.is_bool()) {
          if (e.name == "+") return Value::Int(v.int_value());
          if (v.int_value() == INT64_MIN) return Err(e.pos, "integer overflow");
          return Value::Int(-v.int_value());
        }
        if (v.is_float()) return Value::Float(e.name == "-" ? -v.number() : v.number());
        if (v.is_undefined()) return UndefinedError(e.pos, v);
        return Err(e.pos, Cat("bad operand type for unary ", e.name, ": '", v.TypeName(), "'"));
      }
      case Expr::Kind::kBinary: {
        Value a, b;
        JINJA_ASSIGN_OR_RETURN(a, Eval(*e.children[0]));
        JINJA_ASSIGN_OR_RETURN(b, Eval(*e.children[1]));
        return Arith(e.pos, e.name, a, b);
      }
      case Expr::Kind::kCompare: {
        Value left;
        JINJA_ASSIGN_OR_RETURN(left, Eval(*e.children[0]));
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right;
          JINJA_ASSIGN_OR_RETURN(right, Eval(*e.children[i + 1]));
          const std::string& op = e.ops[i];
          bool r = false;
          if (op == "==") {
            r = ValuesEqual(left, right);
          } else if (op == "!=") {
            r = !ValuesEqual(left, right);
          } else if (op == "in" || op == "notin") {
            JINJA_ASSIGN_OR_RETURN(r, Contains(e.pos, left, right));
            if (op == "notin") r = !r;
          } else {
            if (left.is_undefined()) return UndefinedError(e.pos, left);
            if (right.is_undefined()) return UndefinedError(e.pos, right);
            const Value& x = (op == "<" || op == ">=") ? left : right;
            const Value& y = (op == "<" || op == ">=") ? right : left;
            absl::StatusOr<bool> lt = ValueLess(x, y);
            if (!lt.ok()) return Err(e.pos, lt.status());
            r = (op == "<" || op == ">") ? *lt : !*lt;
          }
          if (!r) return Value::Bool(false);
          left = std::move(right);
        }
        return Value::Bool(true);
      }
      case Expr::Kind::kAnd: {
        Value a;
        JINJA_ASSIGN_OR_RETURN(a, Eval(*e.children[0]));
        if (!a.Truthy()) return a;
        return Eval(*e.children[1]);
      }
      case Expr::Kind::kOr: {
        Value a;
        JINJA_ASSIGN_OR_RETURN(a, Eval(*e.children[0]));
        if (a.Truthy()) return a;
        return Eval(*e.children[1]);
      }
      case Expr::Kind::kNot: {
        Value a;
        JINJA_ASSIGN_OR_RETURN(a, Eval(*e.children[0]));
        return Value::Bool(!a.Truthy());
      }
      case Expr::Kind::kCondExpr: {
        Value c;
        JINJA_ASSIGN_OR_RETURN(c, Eval(*e.children[0]));
        if (c.Truthy()) return Eval(*e.children[1]);
        if (e.children[2]) return Eval(*e.children[2]);
        return Value::Undefined();
      }
    }
    return Err(e.pos, "unsupported expression");
  }

  const Template& tpl_;
  const Value& vars_;
  RenderLimits limits_;
  std::vector<Frame> frames_;
  std::string* out_ = nullptr;
  int64_t steps_ = 0;
  int call_depth_ = 0;
};

}  // namespace

absl::Status ValidateTemplate(const Template& tpl) { return ValidateBody(tpl, tpl.body); }

absl::StatusOr<std::string> RenderTemplate(const Template& tpl, const Value& variables,
                                           const RenderLimits& limits) {
  return Evaluator(tpl, variables, limits).Run();
}

absl::StatusOr<std::string> RenderTemplateSource(std::string_view source, const Value& variables,
                                                 const RenderLimits& limits) {
  absl::StatusOr<std::shared_ptr<const Template>> tpl = ParseTemplate(source);
  if (!tpl.ok()) return tpl.status();
  JINJA_RETURN_IF_ERROR(ValidateTemplate(**tpl));
  return RenderTemplate(**tpl, variables, limits);
}

}  // namespace fathom::internal::jinja
