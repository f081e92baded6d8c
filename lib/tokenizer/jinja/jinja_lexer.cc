// Jinja2 subset interpreter: lexer (data/tag splitting, whitespace control, expression tokens).
#include "tokenizer/jinja/jinja_lexer.h"

#include <cctype>
#include <cstdint>

#include "tokenizer/jinja/jinja_value.h"

namespace fathom::internal::jinja {

std::string DescribePosition(std::string_view source, size_t pos) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return Cat("line ", line, ", column ", col);
}

namespace {

bool IsWs(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string RStrip(std::string s) {
  while (!s.empty() && IsWs(s.back())) s.pop_back();
  return s;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  absl::StatusOr<LexResult> Run() {
    size_t pos = 0;
    bool strip_next = false;    // the previous tag ended with "-"
    bool line_starting = true;  // the previous token ended a line
    while (pos <= src_.size()) {
      size_t start = pos;
      char kind = 0;
      while (true) {
        start = src_.find('{', start);
        if (start == std::string::npos || start + 1 >= src_.size()) {
          start = std::string::npos;
          break;
        }
        const char n = src_[start + 1];
        if (n == '{' || n == '%' || n == '#') {
          kind = n;
          break;
        }
        ++start;
      }
      std::string data = src_.substr(pos, (start == std::string::npos ? src_.size() : start) - pos);
      if (strip_next) {
        size_t k = 0;
        while (k < data.size() && IsWs(data[k])) ++k;
        data.erase(0, k);
      }
      if (start == std::string::npos) {
        if (!data.empty()) tokens_.push_back({Token::Type::kText, data, pos});
        break;
      }
      const char sign = start + 2 < src_.size() ? src_[start + 2] : 0;
      if (sign == '-') {
        data = RStrip(data);
      } else if (sign != '+' && kind != '{') {
        const size_t nl = data.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if (l_pos > 0 || line_starting) {
          bool all_ws = l_pos < data.size();
          for (size_t k = l_pos; k < data.size(); ++k) all_ws = all_ws && IsWs(data[k]);
          if (all_ws) data.resize(l_pos);
        }
      }
      if (!data.empty()) tokens_.push_back({Token::Type::kText, data, pos});
      size_t p = start + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        const size_t end = src_.find("#}", p);
        if (end == std::string::npos) return Error(start, "unterminated comment '{#'");
        const bool minus = end > p && src_[end - 1] == '-';
        const bool plus = end > p && src_[end - 1] == '+';
        pos = end + 2;
        pos = AfterTagEnd(pos, minus, plus, /*block=*/true, &strip_next, &line_starting);
        continue;
      }
      tokens_.push_back(
          {kind == '{' ? Token::Type::kVarBegin : Token::Type::kBlockBegin, "", start});
      absl::StatusOr<size_t> after =
          LexInside(p, kind == '{' ? '}' : '%', start, &strip_next, &line_starting);
      if (!after.ok()) return after.status();
      pos = *after;
    }
    tokens_.push_back({Token::Type::kEof, "", src_.size()});
    return LexResult{std::move(src_), std::move(tokens_)};
  }

 private:
  absl::Status Error(size_t pos, std::string_view what) {
    return absl::InvalidArgumentError(
        Cat("chat template syntax error at ", DescribePosition(src_, pos), ": ", what));
  }

  // Position after a tag end at `pos`, applying "-" (strip following whitespace) and trim_blocks.
  size_t AfterTagEnd(size_t pos, bool minus, bool plus, bool block, bool* strip_next,
                     bool* line_starting) {
    *strip_next = minus;
    *line_starting = false;
    if (minus) {
      // Jinja's "-%}" consumes the whitespace that follows.
      size_t k = pos;
      while (k < src_.size() && IsWs(src_[k])) ++k;
      *line_starting = k > pos && src_[k - 1] == '\n';
      return k;
    }
    if (block && !plus && pos < src_.size() && src_[pos] == '\n') {
      *line_starting = true;
      return pos + 1;
    }
    return pos;
  }

  absl::StatusOr<size_t> LexInside(size_t p, char end_char, size_t tag_start, bool* strip_next,
                                   bool* line_starting) {
    int depth = 0;
    const bool block = end_char == '%';
    while (true) {
      while (p < src_.size() && IsWs(src_[p])) ++p;
      if (p >= src_.size()) {
        return Error(tag_start, block ? "unterminated block tag '{%'" : "unterminated '{{'");
      }
      if (depth == 0) {
        // Tag end: "}}" / "%}", optionally preceded by "-" or "+".
        size_t q = p;
        bool minus = false, plus = false;
        if (src_[q] == '-' || src_[q] == '+') {
          minus = src_[q] == '-';
          plus = src_[q] == '+';
          ++q;
        }
        if (q + 1 < src_.size() && src_[q] == end_char && src_[q + 1] == '}' && (block || !plus)) {
          tokens_.push_back({block ? Token::Type::kBlockEnd : Token::Type::kVarEnd, "", p});
          return AfterTagEnd(q + 2, minus, plus, block, strip_next, line_starting);
        }
      }
      const char c = src_[p];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t q = p;
        while (q < src_.size() &&
               (std::isalnum(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) {
          ++q;
        }
        tokens_.push_back({Token::Type::kName, src_.substr(p, q - p), p});
        p = q;
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t q = p;
        bool is_float = false;
        auto digits = [&] {
          while (q < src_.size() &&
                 (std::isdigit(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) {
            ++q;
          }
        };
        digits();
        if (q + 1 < src_.size() && src_[q] == '.' &&
            std::isdigit(static_cast<unsigned char>(src_[q + 1]))) {
          is_float = true;
          ++q;
          digits();
        }
        if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
          size_t r = q + 1;
          if (r < src_.size() && (src_[r] == '+' || src_[r] == '-')) ++r;
          if (r < src_.size() && std::isdigit(static_cast<unsigned char>(src_[r]))) {
            is_float = true;
            q = r;
            digits();
          }
        }
        std::string num;
        for (size_t k = p; k < q; ++k) {
          if (src_[k] != '_') num += src_[k];
        }
        tokens_.push_back({is_float ? Token::Type::kFloat : Token::Type::kInt, num, p});
        p = q;
        continue;
      }
      if (c == '\'' || c == '"') {
        absl::StatusOr<size_t> q = LexString(p);
        if (!q.ok()) return q.status();
        p = *q;
        continue;
      }
      static constexpr std::string_view kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "*",
                                                  "/",  "%",  "~",  "<",  ">",  "=",  "(", ")", "[",
                                                  "]",  "{",  "}",  ".",  ",",  ":",  "|"};
      bool matched = false;
      for (std::string_view op : kOps) {
        if (src_.compare(p, op.size(), op) == 0) {
          if (op == "(" || op == "[" || op == "{") ++depth;
          if (op == ")" || op == "]" || op == "}") {
            if (depth == 0) return Error(p, Cat("unexpected '", op, "'"));
            --depth;
          }
          tokens_.push_back({Token::Type::kOp, std::string(op), p});
          p += op.size();
          matched = true;
          break;
        }
      }
      if (!matched) {
        return Error(p, Cat("unexpected character '", std::string(1, c), "'"));
      }
    }
  }

  absl::StatusOr<size_t> LexString(size_t p) {
    const char quote = src_[p];
    std::string out;
    size_t q = p + 1;
    while (true) {
      if (q >= src_.size()) return Error(p, "unterminated string literal");
      const char c = src_[q];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++q;
        continue;
      }
      if (q + 1 >= src_.size()) return Error(p, "unterminated string literal");
      const char e = src_[q + 1];
      q += 2;
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case '\n':
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (q + n > src_.size()) return Error(q - 2, "truncated escape in string literal");
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            const char h = src_[q + k];
            if (!std::isxdigit(static_cast<unsigned char>(h))) {
              return Error(q - 2, "bad escape in string literal");
            }
            cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                     ? h - '0'
                                                     : (std::tolower(h) - 'a' + 10));
          }
          if (cp > 0x10FFFF) return Error(q - 2, "bad escape in string literal");
          AppendUtf8(cp, &out);
          q += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && q < src_.size() && src_[q] >= '0' && src_[q] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(src_[q++] - '0');
            }
            AppendUtf8(cp, &out);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    tokens_.push_back({Token::Type::kString, std::move(out), p});
    return q + 1;
  }

  std::string src_;
  std::vector<Token> tokens_;
};

}  // namespace

absl::StatusOr<LexResult> Lex(std::string_view source) {
  if (source.size() > kMaxTemplateBytes) {
    return absl::InvalidArgumentError(Cat("chat template too large (", source.size(),
                                          " bytes; the limit is ", kMaxTemplateBytes, ")"));
  }
  // Jinja2 normalises every newline to "\n" and (keep_trailing_newline=False) drops one
  // trailing newline.
  std::string src;
  src.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      src += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      src += source[i];
    }
  }
  if (!src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(std::move(src)).Run();
}

}  // namespace fathom::internal::jinja
