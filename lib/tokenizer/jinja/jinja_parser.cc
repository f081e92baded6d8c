// Jinja2 subset interpreter: recursive-descent parser following Jinja2's grammar and operator
// precedence (or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary < filters/tests).
#include "tokenizer/jinja/jinja_parser.h"

#include <charconv>
#include <cstdlib>
#include <set>
#include <string>

#include "tokenizer/jinja/jinja_lexer.h"

namespace fathom::internal::jinja {
namespace {

using T = Token::Type;

class Parser {
 public:
  explicit Parser(LexResult lex) : src_(std::move(lex.source)), toks_(std::move(lex.tokens)) {}

  absl::StatusOr<std::shared_ptr<const Template>> Run() {
    auto tpl = std::make_shared<Template>();
    std::string end;
    JINJA_RETURN_IF_ERROR(ParseBody({}, &tpl->body, &end));
    tpl->source = std::move(src_);
    return std::shared_ptr<const Template>(std::move(tpl));
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    const size_t i = idx_ + ahead;
    return i < toks_.size() ? toks_[i] : toks_.back();
  }
  const Token& Next() {
    const Token& t = Peek();
    if (idx_ < toks_.size() - 1) ++idx_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).type == T::kOp && Peek(ahead).text == op;
  }
  bool IsName(std::string_view n, size_t ahead = 0) const {
    return Peek(ahead).type == T::kName && Peek(ahead).text == n;
  }
  absl::Status Error(size_t pos, std::string_view what) const {
    return absl::InvalidArgumentError(
        Cat("chat template syntax error at ", DescribePosition(src_, pos), ": ", what));
  }
  absl::Status Unexpected(std::string_view expected) const {
    const Token& t = Peek();
    std::string got;
    switch (t.type) {
      case T::kEof:
        got = "end of template";
        break;
      case T::kBlockEnd:
        got = "end of block tag";
        break;
      case T::kVarEnd:
        got = "'}}'";
        break;
      case T::kText:
        got = "template text";
        break;
      case T::kString:
        got = "a string";
        break;
      default:
        got = "'" + t.text + "'";
    }
    return Error(t.pos, Cat("expected ", expected, ", got ", got));
  }
  absl::Status ExpectOp(std::string_view op) {
    if (!IsOp(op)) return Unexpected(Cat("'", op, "'"));
    Next();
    return absl::OkStatus();
  }
  absl::Status ExpectBlockEnd() {
    if (Peek().type != T::kBlockEnd) return Unexpected("end of block tag '%}'");
    Next();
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ExpectName() {
    if (Peek().type != T::kName) return Unexpected("a name");
    return Next().text;
  }

  struct DepthGuard {
    explicit DepthGuard(int* d) : depth(d) { ++*depth; }
    ~DepthGuard() { --*depth; }
    int* depth;
  };
  absl::Status CheckDepth(size_t pos) const {
    if (depth_ > kMaxNesting) {
      return Error(pos, Cat("nesting deeper than ", kMaxNesting, " levels"));
    }
    return absl::OkStatus();
  }

  // Parses statements until a block tag whose name is in `ends` (consumed name in *end, tag
  // left open for the caller) or the end of the template (only when `ends` is empty).
  absl::Status ParseBody(const std::set<std::string>& ends, Body* body, std::string* end) {
    DepthGuard g(&depth_);
    JINJA_RETURN_IF_ERROR(CheckDepth(Peek().pos));
    while (true) {
      const Token& t = Peek();
      switch (t.type) {
        case T::kEof:
          if (!ends.empty()) {
            std::string names;
            for (const auto& e : ends) names += (names.empty() ? "'" : " or '") + e + "'";
            return Error(t.pos, Cat("unexpected end of template, expected ", names));
          }
          return absl::OkStatus();
        case T::kText: {
          auto s = std::make_shared<Stmt>();
          s->kind = Stmt::Kind::kText;
          s->pos = t.pos;
          s->text = t.text;
          body->push_back(std::move(s));
          Next();
          break;
        }
        case T::kVarBegin: {
          Next();
          auto s = std::make_shared<Stmt>();
          s->kind = Stmt::Kind::kOutput;
          s->pos = t.pos;
          JINJA_ASSIGN_OR_RETURN(s->expr, ParseExpression());
          if (Peek().type != T::kVarEnd) return Unexpected("'}}'");
          Next();
          body->push_back(std::move(s));
          break;
        }
        case T::kBlockBegin: {
          const size_t pos = t.pos;
          Next();
          if (Peek().type != T::kName) return Unexpected("a statement name");
          const std::string name = Peek().text;
          if (ends.count(name)) {
            Next();
            *end = name;
            return absl::OkStatus();
          }
          JINJA_RETURN_IF_ERROR(ParseStatement(pos, body));
          break;
        }
        default:
          return Unexpected("template text or a tag");
      }
    }
  }

  absl::Status ParseStatement(size_t pos, Body* body) {
    const std::string name = Next().text;
    auto s = std::make_shared<Stmt>();
    s->pos = pos;
    std::string end;
    if (name == "if") {
      s->kind = Stmt::Kind::kIf;
      while (true) {
        ExprPtr cond;
        JINJA_ASSIGN_OR_RETURN(cond, ParseExpression());
        JINJA_RETURN_IF_ERROR(ExpectBlockEnd());
        Body b;
        JINJA_RETURN_IF_ERROR(ParseBody({"elif", "else", "endif"}, &b, &end));
        s->conds.push_back(std::move(cond));
        s->bodies.push_back(std::move(b));
        if (end == "elif") continue;
        if (end == "else") {
          JINJA_RETURN_IF_ERROR(ExpectBlockEnd());
          JINJA_RETURN_IF_ERROR(ParseBody({"endif"}, &s->else_body, &end));
        }
        break;
      }
    } else if (name == "for") {
      s->kind = Stmt::Kind::kFor;
      while (true) {
        std::string t;
        JINJA_ASSIGN_OR_RETURN(t, ExpectName());
        s->targets.push_back(t);
        if (!IsOp(",")) break;
        Next();
      }
      if (!IsName("in")) return Unexpected("'in'");
      Next();
      JINJA_ASSIGN_OR_RETURN(s->expr, ParseOr(/*allow_cond=*/false));
      if (IsName("if")) {
        Next();
        JINJA_ASSIGN_OR_RETURN(s->cond, ParseExpression());
      }
      if (IsName("recursive")) return Error(Peek().pos, "recursive loops are not supported");
      JINJA_RETURN_IF_ERROR(ExpectBlockEnd());
      ++loop_depth_;
      absl::Status st = ParseBody({"else", "endfor"}, &s->body, &end);
      --loop_depth_;
      JINJA_RETURN_IF_ERROR(st);
      if (end == "else") {
        JINJA_RETURN_IF_ERROR(ExpectBlockEnd());
        JINJA_RETURN_IF_ERROR(ParseBody({"endfor"}, &s->else_body, &end));
      }
    } else if (name == "set") {
      std::string t;
      JINJA_ASSIGN_OR_RETURN(t, ExpectName());
      s->targets.push_back(t);
      if (IsOp(".")) {
        Next();
        JINJA_ASSIGN_OR_RETURN(s->target_attr, ExpectName());
      } else {
        while (IsOp(",")) {
          Next();
          JINJA_ASSIGN_OR_RETURN(t, ExpectName());
          s->targets.push_back(t);
        }
      }
      if (IsOp("=")) {
        Next();
        s->kind = Stmt::Kind::kSet;
        JINJA_ASSIGN_OR_RETURN(s->expr, ParseTuple());
      } else {
        if (s->targets.size() != 1 || !s->target_attr.empty()) return Unexpected("'='");
        s->kind = Stmt::Kind::kSetBlock;
        JINJA_RETURN_IF_ERROR(ExpectBlockEnd());
        JINJA_RETURN_IF_ERROR(ParseBody({"endset"}, &s->body, &end));
      }
    } else if (name == "macro") {
      s->kind = Stmt::Kind::kMacro;
      JINJA_ASSIGN_OR_RETURN(s->text, ExpectName());
      JINJA_RETURN_IF_ERROR(ExpectOp("("));
      while (!IsOp(")")) {
        std::string p;
        JINJA_ASSIGN_OR_RETURN(p, ExpectName());
        ExprPtr def;
        if (IsOp("=")) {
          Next();
          JINJA_ASSIGN_OR_RETURN(def, ParseExpression());
        }
        s->params.emplace_back(p, def);
        if (!IsOp(",")) break;
        Next();
      }
      JINJA_RETURN_IF_ERROR(ExpectOp(")"));
      JINJA_RETURN_IF_ERROR(ExpectBlockEnd());
      JINJA_RETURN_IF_ERROR(ParseBody({"endmacro"}, &s->body, &end));
    } else if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) return Error(pos, Cat("'", name, "' outside a loop"));
      s->kind = name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
    } else if (name == "generation") {
      // transformers' {% generation %} marks assistant text; it renders in place.
      s->kind = Stmt::Kind::kScope;
      JINJA_RETURN_IF_ERROR(ExpectBlockEnd());
      JINJA_RETURN_IF_ERROR(ParseBody({"endgeneration"}, &s->body, &end));
    } else {
      return Error(pos, Cat("unsupported or unknown statement '", name, "'"));
    }
    JINJA_RETURN_IF_ERROR(ExpectBlockEnd());
    body->push_back(std::move(s));
    return absl::OkStatus();
  }

  ExprPtr Make(Expr::Kind k, size_t pos) {
    auto e = std::make_shared<Expr>();
    e->kind = k;
    e->pos = pos;
    return e;
  }

  // expression [, expression ...] -> a tuple when there is a comma.
  absl::StatusOr<ExprPtr> ParseTuple() {
    const size_t pos = Peek().pos;
    ExprPtr first;
    JINJA_ASSIGN_OR_RETURN(first, ParseExpression());
    if (!IsOp(",")) return first;
    ExprPtr t = Make(Expr::Kind::kTuple, pos);
    t->children.push_back(first);
    while (IsOp(",")) {
      Next();
      if (Peek().type == T::kBlockEnd) break;
      ExprPtr e;
      JINJA_ASSIGN_OR_RETURN(e, ParseExpression());
      t->children.push_back(e);
    }
    return t;
  }

  absl::StatusOr<ExprPtr> ParseExpression() { return ParseOr(/*allow_cond=*/true); }

  absl::StatusOr<ExprPtr> ParseOr(bool allow_cond) {
    DepthGuard g(&depth_);
    JINJA_RETURN_IF_ERROR(CheckDepth(Peek().pos));
    ExprPtr left;
    JINJA_ASSIGN_OR_RETURN(left, ParseAnd());
    while (IsName("or")) {
      const size_t pos = Next().pos;
      ExprPtr right;
      JINJA_ASSIGN_OR_RETURN(right, ParseAnd());
      ExprPtr e = Make(Expr::Kind::kOr, pos);
      e->children = {left, right};
      left = e;
    }
    if (allow_cond && IsName("if")) {
      const size_t pos = Next().pos;
      ExprPtr e = Make(Expr::Kind::kCondExpr, pos);
      ExprPtr cond, other;
      JINJA_ASSIGN_OR_RETURN(cond, ParseOr(false));
      if (IsName("else")) {
        Next();
        JINJA_ASSIGN_OR_RETURN(other, ParseOr(true));
      }
      e->children = {cond, left, other};
      return e;
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseAnd() {
    ExprPtr left;
    JINJA_ASSIGN_OR_RETURN(left, ParseNot());
    while (IsName("and")) {
      const size_t pos = Next().pos;
      ExprPtr right;
      JINJA_ASSIGN_OR_RETURN(right, ParseNot());
      ExprPtr e = Make(Expr::Kind::kAnd, pos);
      e->children = {left, right};
      left = e;
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      const size_t pos = Next().pos;
      DepthGuard g(&depth_);
      JINJA_RETURN_IF_ERROR(CheckDepth(pos));
      ExprPtr inner;
      JINJA_ASSIGN_OR_RETURN(inner, ParseNot());
      ExprPtr e = Make(Expr::Kind::kNot, pos);
      e->children = {inner};
      return e;
    }
    return ParseCompare();
  }

  absl::StatusOr<ExprPtr> ParseCompare() {
    const size_t pos = Peek().pos;
    ExprPtr left;
    JINJA_ASSIGN_OR_RETURN(left, ParseMath1());
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (Peek().type == T::kOp &&
          (Peek().text == "==" || Peek().text == "!=" || Peek().text == "<" ||
           Peek().text == "<=" || Peek().text == ">" || Peek().text == ">=")) {
        op = Next().text;
      } else if (IsName("in")) {
        Next();
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        Next();
        Next();
        op = "notin";
      } else {
        break;
      }
      ExprPtr right;
      JINJA_ASSIGN_OR_RETURN(right, ParseMath1());
      if (!cmp) {
        cmp = Make(Expr::Kind::kCompare, pos);
        cmp->children.push_back(left);
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(right);
    }
    return cmp ? cmp : left;
  }

  absl::StatusOr<ExprPtr> Binary(absl::StatusOr<ExprPtr> (Parser::*next)(),
                                 std::initializer_list<std::string_view> ops) {
    ExprPtr left;
    JINJA_ASSIGN_OR_RETURN(left, (this->*next)());
    while (true) {
      bool found = false;
      for (std::string_view op : ops) found = found || IsOp(op);
      if (!found) return left;
      const Token& t = Next();
      ExprPtr right;
      JINJA_ASSIGN_OR_RETURN(right, (this->*next)());
      ExprPtr e = Make(Expr::Kind::kBinary, t.pos);
      e->name = t.text;
      e->children = {left, right};
      left = e;
    }
  }
  absl::StatusOr<ExprPtr> ParseMath1() { return Binary(&Parser::ParseConcat, {"+", "-"}); }
  absl::StatusOr<ExprPtr> ParseConcat() { return Binary(&Parser::ParseMath2, {"~"}); }
  absl::StatusOr<ExprPtr> ParseMath2() { return Binary(&Parser::ParsePow, {"*", "/", "//", "%"}); }
  absl::StatusOr<ExprPtr> ParsePow() { return Binary(&Parser::ParseUnaryFiltered, {"**"}); }
  absl::StatusOr<ExprPtr> ParseUnaryFiltered() { return ParseUnary(true); }

  absl::StatusOr<ExprPtr> ParseUnary(bool with_filter) {
    DepthGuard g(&depth_);
    JINJA_RETURN_IF_ERROR(CheckDepth(Peek().pos));
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      const Token& t = Next();
      ExprPtr inner;
      JINJA_ASSIGN_OR_RETURN(inner, ParseUnary(false));
      node = Make(Expr::Kind::kUnary, t.pos);
      node->name = t.text;
      node->children = {inner};
    } else {
      JINJA_ASSIGN_OR_RETURN(node, ParsePrimary());
    }
    JINJA_ASSIGN_OR_RETURN(node, ParsePostfix(node));
    if (with_filter) return ParseFilterExpr(node);
    return node;
  }

  absl::StatusOr<ExprPtr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.type) {
      case T::kName: {
        Next();
        ExprPtr e = Make(Expr::Kind::kLiteral, t.pos);
        if (t.text == "true" || t.text == "True") {
          e->value = Value::Bool(true);
        } else if (t.text == "false" || t.text == "False") {
          e->value = Value::Bool(false);
        } else if (t.text == "none" || t.text == "None") {
          e->value = Value::None();
        } else {
          e->kind = Expr::Kind::kName;
          e->name = t.text;
        }
        return e;
      }
      case T::kString: {
        std::string s;
        while (Peek().type == T::kString) s += Next().text;  // adjacent literals concatenate
        ExprPtr e = Make(Expr::Kind::kLiteral, t.pos);
        e->value = Value::String(std::move(s));
        return e;
      }
      case T::kInt: {
        Next();
        int64_t v = 0;
        auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (r.ec != std::errc() || r.ptr != t.text.data() + t.text.size()) {
          return Error(t.pos, "integer literal out of range");
        }
        ExprPtr e = Make(Expr::Kind::kLiteral, t.pos);
        e->value = Value::Int(v);
        return e;
      }
      case T::kFloat: {
        Next();
        ExprPtr e = Make(Expr::Kind::kLiteral, t.pos);
        e->value = Value::Float(std::strtod(t.text.c_str(), nullptr));
        return e;
      }
      case T::kOp:
        if (t.text == "(") {
          Next();
          if (IsOp(")")) {
            Next();
            return Make(Expr::Kind::kTuple, t.pos);
          }
          ExprPtr first;
          JINJA_ASSIGN_OR_RETURN(first, ParseExpression());
          if (IsOp(")")) {
            Next();
            return first;
          }
          ExprPtr tup = Make(Expr::Kind::kTuple, t.pos);
          tup->children.push_back(first);
          while (IsOp(",")) {
            Next();
            if (IsOp(")")) break;
            ExprPtr e;
            JINJA_ASSIGN_OR_RETURN(e, ParseExpression());
            tup->children.push_back(e);
          }
          JINJA_RETURN_IF_ERROR(ExpectOp(")"));
          return tup;
        }
        if (t.text == "[") {
          Next();
          ExprPtr list = Make(Expr::Kind::kList, t.pos);
          while (!IsOp("]")) {
            ExprPtr e;
            JINJA_ASSIGN_OR_RETURN(e, ParseExpression());
            list->children.push_back(e);
            if (!IsOp(",")) break;
            Next();
          }
          JINJA_RETURN_IF_ERROR(ExpectOp("]"));
          return list;
        }
        if (t.text == "{") {
          Next();
          ExprPtr dict = Make(Expr::Kind::kDict, t.pos);
          while (!IsOp("}")) {
            ExprPtr k, v;
            JINJA_ASSIGN_OR_RETURN(k, ParseExpression());
            JINJA_RETURN_IF_ERROR(ExpectOp(":"));
            JINJA_ASSIGN_OR_RETURN(v, ParseExpression());
            dict->children.push_back(k);
            dict->children.push_back(v);
            if (!IsOp(",")) break;
            Next();
          }
          JINJA_RETURN_IF_ERROR(ExpectOp("}"));
          return dict;
        }
        break;
      default:
        break;
    }
    return Unexpected("an expression");
  }

  absl::Status ParseCallArgs(ExprPtr e) {
    JINJA_RETURN_IF_ERROR(ExpectOp("("));
    while (!IsOp(")")) {
      if (Peek().type == T::kName && IsOp("=", 1)) {
        std::string k = Next().text;
        Next();
        ExprPtr v;
        JINJA_ASSIGN_OR_RETURN(v, ParseExpression());
        e->kwargs.emplace_back(std::move(k), v);
      } else {
        if (!e->kwargs.empty()) return Error(Peek().pos, "positional argument after keyword");
        ExprPtr v;
        JINJA_ASSIGN_OR_RETURN(v, ParseExpression());
        e->children.push_back(v);
      }
      if (!IsOp(",")) break;
      Next();
    }
    return ExpectOp(")");
  }

  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr node) {
    while (true) {
      if (IsOp(".")) {
        const size_t pos = Next().pos;
        ExprPtr e = Make(Expr::Kind::kGetAttr, pos);
        if (Peek().type == T::kInt) {
          e->kind = Expr::Kind::kGetItem;
          ExprPtr idx = Make(Expr::Kind::kLiteral, Peek().pos);
          idx->value = Value::Int(std::atoll(Next().text.c_str()));
          e->children = {node, idx};
        } else {
          JINJA_ASSIGN_OR_RETURN(e->name, ExpectName());
          e->children = {node};
        }
        node = e;
      } else if (IsOp("[")) {
        const size_t pos = Next().pos;
        ExprPtr parts[3];
        bool slice = false;
        for (int i = 0; i < 3; ++i) {
          if (!IsOp(":") && !IsOp("]")) {
            JINJA_ASSIGN_OR_RETURN(parts[i], ParseExpression());
          }
          if (IsOp(":") && i < 2) {
            Next();
            slice = true;
            continue;
          }
          break;
        }
        JINJA_RETURN_IF_ERROR(ExpectOp("]"));
        ExprPtr e = Make(slice ? Expr::Kind::kSlice : Expr::Kind::kGetItem, pos);
        if (slice) {
          e->children = {node, parts[0], parts[1], parts[2]};
        } else {
          if (!parts[0]) return Error(pos, "empty subscript");
          e->children = {node, parts[0]};
        }
        node = e;
      } else if (IsOp("(")) {
        ExprPtr e = Make(Expr::Kind::kCall, Peek().pos);
        e->children = {node};
        JINJA_RETURN_IF_ERROR(ParseCallArgs(e));
        node = e;
      } else {
        return node;
      }
    }
  }

  absl::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        const size_t pos = Next().pos;
        ExprPtr e = Make(Expr::Kind::kFilter, pos);
        JINJA_ASSIGN_OR_RETURN(e->name, ExpectName());
        while (IsOp(".")) {  // dotted filter names
          Next();
          std::string more;
          JINJA_ASSIGN_OR_RETURN(more, ExpectName());
          e->name += "." + more;
        }
        e->children = {node};
        if (IsOp("(")) JINJA_RETURN_IF_ERROR(ParseCallArgs(e));
        node = e;
        JINJA_ASSIGN_OR_RETURN(node, ParsePostfix(node));
      } else if (IsName("is")) {
        const size_t pos = Next().pos;
        ExprPtr e = Make(Expr::Kind::kTest, pos);
        if (IsName("not")) {
          Next();
          e->negate = true;
        }
        JINJA_ASSIGN_OR_RETURN(e->name, ExpectName());
        e->children = {node};
        if (IsOp("(")) {
          JINJA_RETURN_IF_ERROR(ParseCallArgs(e));
        } else {
          const Token& a = Peek();
          const bool arg_start =
              a.type == T::kString || a.type == T::kInt || a.type == T::kFloat ||
              (a.type == T::kOp && (a.text == "[" || a.text == "{")) ||
              (a.type == T::kName && a.text != "else" && a.text != "or" && a.text != "and" &&
               a.text != "if" && a.text != "in" && a.text != "is" && a.text != "not");
          if (arg_start) {
            ExprPtr arg;
            JINJA_ASSIGN_OR_RETURN(arg, ParseUnary(false));
            e->children.push_back(arg);
          }
        }
        node = e;
      } else {
        return node;
      }
    }
  }

  std::string src_;
  std::vector<Token> toks_;
  size_t idx_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const Template>> ParseTemplate(std::string_view source) {
  absl::StatusOr<LexResult> lex = Lex(source);
  if (!lex.ok()) return lex.status();
  return Parser(*std::move(lex)).Run();
}

}  // namespace fathom::internal::jinja
