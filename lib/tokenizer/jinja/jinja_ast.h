// Jinja2 subset interpreter: syntax tree of expressions and statements.
#ifndef FATHOM_LIB_TOKENIZER_JINJA_JINJA_AST_H_
#define FATHOM_LIB_TOKENIZER_JINJA_JINJA_AST_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/jinja_value.h"

namespace fathom::internal::jinja {

struct Expr;
using ExprPtr = std::shared_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // value
    kName,     // name
    kList,     // children
    kTuple,    // children
    kDict,     // children: key, value, key, value...
    kGetAttr,  // children[0] . name
    kGetItem,  // children[0] [ children[1] ]
    kSlice,    // children[0] [ children[1] : children[2] : children[3] ] (null parts allowed)
    kCall,     // children[0] ( children[1..], kwargs )
    kFilter,   // children[0] | name ( children[1..], kwargs )
    kTest,     // children[0] is [not] name ( children[1..] ); negate
    kUnary,    // name ("-", "+") children[0]
    kBinary,   // children[0] name children[1]: + - * / // % ** ~
    kCompare,  // children[0] ops[0] children[1] ops[1] ...: == != < <= > >= in notin
    kAnd,
    kOr,
    kNot,
    kCondExpr,  // children[1] if children[0] else children[2] (children[2] may be null)
  };
  Kind kind;
  size_t pos = 0;
  Value value;
  std::string name;
  bool negate = false;
  std::vector<ExprPtr> children;
  std::vector<std::string> ops;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using StmtPtr = std::shared_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind {
    kText,      // text
    kOutput,    // expr
    kIf,        // conds[i] -> bodies[i]; else_body
    kFor,       // targets in expr [if cond] body [else else_body]
    kSet,       // targets (names) or ns.attr (target_attr) = expr
    kSetBlock,  // targets[0] = rendered body
    kMacro,     // name(params = defaults) body
    kBreak,
    kContinue,
    kScope,  // body (e.g. {% generation %}): rendered in place
  };
  Kind kind;
  size_t pos = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<std::string> targets;
  std::string target_attr;                              // {% set ns.attr = ... %}
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro parameters with defaults
};

struct Template {
  std::string source;  // normalised source (for positions)
  Body body;
};

}  // namespace fathom::internal::jinja

#endif  // FATHOM_LIB_TOKENIZER_JINJA_JINJA_AST_H_
