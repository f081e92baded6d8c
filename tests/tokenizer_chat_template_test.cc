// Chat template tests: the Jinja2 subset interpreter against real Jinja2 3.1.6 (transformers'
// environment): every chat_cases.json in fixtures/tokenizers byte-exact (and its ids), feature
// cases rendered by Jinja2, and hostile templates that must fail cleanly.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/jinja/jinja_eval.h"
#include "tokenizer/jinja/jinja_lexer.h"
#include "tokenizer/jinja/jinja_value.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {
namespace {

using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;
using Json = nlohmann::json;

constexpr const char* kChatDirs[] = {"deepseek-v3", "qwen3", "llama3", "llama3-instruct"};

Json ParseOrDie(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded());
  return j;
}

ChatTemplateInput InputFor(const Json& c, const std::map<std::string, std::string>& specials) {
  ChatTemplateInput in;
  in.messages_json = c["messages"].dump();
  in.add_generation_prompt = c["add_generation_prompt"].get<bool>();
  in.special_tokens = specials;
  for (auto it = c["template_kwargs"].begin(); it != c["template_kwargs"].end(); ++it) {
    in.variables_json[it.key()] = it->dump();
  }
  return in;
}

// Every case with the special tokens map the reference used.
TEST(ChatTemplateTest, FixtureCasesWithReferenceSpecialTokens) {
  int checked = 0;
  for (const char* dir : kChatDirs) {
    SCOPED_TRACE(dir);
    const Json cases =
        ParseOrDie(ReadFile(FixturePath(std::string("tokenizers/") + dir + "/chat_cases.json")));
    const Json config = ParseOrDie(
        ReadFile(FixturePath(std::string("tokenizers/") + dir + "/tokenizer_config.json")));
    ASSERT_TRUE(config["chat_template"].is_string());
    std::map<std::string, std::string> specials;
    for (auto it = cases["special_tokens_map"].begin(); it != cases["special_tokens_map"].end();
         ++it) {
      if (it->is_string()) specials[it.key()] = it->get<std::string>();
    }
    for (const Json& c : cases["cases"]) {
      SCOPED_TRACE(c["name"].get<std::string>());
      absl::StatusOr<std::string> r =
          RenderChatTemplate(config["chat_template"].get<std::string>(), InputFor(c, specials));
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(*r, c["rendered"].get<std::string>());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 17);
}

// The same through the tokenizer (its chat template and bos/eos texts), and the ids.
TEST(ChatTemplateTest, FixtureCasesThroughTokenizer) {
  for (const char* dir : kChatDirs) {
    SCOPED_TRACE(dir);
    absl::StatusOr<std::unique_ptr<TokenizerImpl>> tok =
        LoadTokenizerFromHfFolder(FixturePath(std::string("tokenizers/") + dir));
    ASSERT_TRUE(tok.ok()) << tok.status();
    std::map<std::string, std::string> specials;
    if (!(*tok)->BosTokenText().empty()) specials["bos_token"] = (*tok)->BosTokenText();
    if (!(*tok)->EosTokenText().empty()) specials["eos_token"] = (*tok)->EosTokenText();
    const Json cases =
        ParseOrDie(ReadFile(FixturePath(std::string("tokenizers/") + dir + "/chat_cases.json")));
    for (const Json& c : cases["cases"]) {
      SCOPED_TRACE(c["name"].get<std::string>());
      absl::StatusOr<std::string> r =
          RenderChatTemplate((*tok)->chat_template(), InputFor(c, specials));
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(*r, c["rendered"].get<std::string>());
      absl::StatusOr<std::vector<int32_t>> ids =
          (*tok)->Encode(*r, /*add_bos=*/false, /*parse_special=*/true);
      ASSERT_TRUE(ids.ok()) << ids.status();
      EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>());
    }
  }
}

// Feature cases; the expected strings were rendered by Jinja2 3.1.6 with transformers'
// environment (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson).
constexpr const char* kFeatureCases = R"JSON([
{
"template": "{% for x in [1,2,3] %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}",
"vars": {},
"expected": "01TrueFalse3|12FalseFalse3|23FalseTrue3|"
},
{
"template": "  {% if true %}\n  yes\n  {% endif %}\nend\n",
"vars": {},
"expected": "  yes\nend"
},
{
"template": "a  {%- if true -%}  b  {%- endif -%}  c",
"vars": {},
"expected": "abc"
},
{
"template": "{{ 'x' }}  \n  {{- 'y' -}}  \n {{ 'z' }}",
"vars": {},
"expected": "xyz"
},
{
"template": "{% set ns = namespace(a=1, s='') %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.a }} {{ ns.s }}",
"vars": {},
"expected": "4 012"
},
{
"template": "{{ 'abc'[::-1] }} {{ [1,2,3,4][1:3] }} {{ 'héllo'[1] }} {{ [1,2,3][-1] }} {{ 'abcdef'[::2] }}",
"vars": {},
"expected": "cba [2, 3] é 3 ace"
},
{
"template": "{{ '  x y  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi'.lstrip('\\n') }}|{{ 'a b  c'.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a</think>b'.split('</think>')[-1] }}",
"vars": {},
"expected": "x y|hi|hi|['a', 'b', 'c']|['a', 'b', '', 'c']|b"
},
{
"template": "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x','lo')) }} {{ 'aXbX'.replace('X','-') }} {{ 'Hi'.upper() }}{{ 'Hi'.lower() }}",
"vars": {},
"expected": "True True a-b- HIhi"
},
{
"template": "{{ d.items() | list }} {{ d.get('a') }} {{ d.get('z', 5) }} {% for k, v in d.items() %}{{k}}={{v}};{% endfor %}",
"vars": {
"d": {
"a": 1,
"b": [
1,
"x"
]
}
},
"expected": "[('a', 1), ('b', [1, 'x'])] 1 5 a=1;b=[1, 'x'];"
},
{
"template": "{{ x is defined }} {{ y is defined }} {{ n is none }} {{ s is string }} {{ 1 is number }} {{ d is mapping }} {{ l is iterable }} {{ false is false }} {{ n is not none }}",
"vars": {
"x": 1,
"n": null,
"s": "a",
"d": {},
"l": []
},
"expected": "True False True True True True True True False"
},
{
"template": "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 'a' ~ 1 ~ none }} {{ 1.5 + 1 }} {{ 10 / 5 }}",
"vars": {},
"expected": "7 3 -4 1 2 3.5 1024 a1None 2.5 2.0"
},
{
"template": "{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in d }} {{ 3 not in [1,2] }} {{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ [1,2] == [1,2] }}",
"vars": {
"d": {
"k": 1
}
},
"expected": "True True True True True True True"
},
{
"template": "{{ data | tojson }}|{{ data | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ data|tojson(ensure_ascii=True) }}|{{ 1.0|tojson }}",
"vars": {
"data": {
"a": [
1,
2.5,
null,
true
],
"é": "ü"
}
},
"expected": "{\"a\": [1, 2.5, null, true], \"é\": \"ü\"}|{\n  \"a\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"é\": \"ü\"\n}|\"é\\\"\\n\"|{\"a\": [1, 2.5, null, true], \"\\u00e9\": \"\\u00fc\"}|1.0"
},
{
"template": "{{ '  t  ' | trim }}|{{ [1,2,3] | length }}|{{ undefined_var | default('dflt') }}|{{ '' | default('e', true) }}|{{ ['a','b'] | join(', ') }}|{{ [3,1] | first }}{{ [3,1] | last }}|{{ 'AbC' | lower }}{{ 'abc' | upper }}|{{ 'aab' | replace('a', 'x') }}",
"vars": {},
"expected": "t|3|dflt|e|a, b|31|abcABC|xxb"
},
{
"template": "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }}",
"vars": {},
"expected": "Hi A! Hi B?"
},
{
"template": "{% for x in [1,2,3,4,5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
"vars": {},
"expected": "13"
},
{
"template": "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}{% for x in [1,2,3] if x > 1 %}{{ x }}{{ loop.index }}{% endfor %}",
"vars": {},
"expected": "empty2132"
},
{
"template": "{{ 'yes' if a else 'no' }} {{ 'yes' if b else 'no' }} {{ a and 'A' }} {{ b or 'B' }} {{ not a }}",
"vars": {
"a": true,
"b": false
},
"expected": "yes no A B False"
},
{
"template": "{{ none }} {{ true }} {{ [1, 'a', none, true] }} {{ {'a': 'b'} }} {{ 1.25 }} {{ 1e20 }} {{ 0.0001 }} {{ 0.00001 }} {{ 100.0 }}",
"vars": {},
"expected": "None True [1, 'a', None, True] {'a': 'b'} 1.25 1e+20 0.0001 1e-05 100.0"
},
{
"template": "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
"vars": {},
"expected": "21"
},
{
"template": "{% set a, b = [1, 2] %}{{ a }}{{ b }}{% set c %}inner {{ a }}{% endset %}[{{ c }}]",
"vars": {},
"expected": "12[inner 1]"
},
{
"template": "{# comment #}\n  {# indented comment #}\nA\n{% if true %}\nB\n{% endif %}\n",
"vars": {},
"expected": "A\nB\n"
},
{
"template": "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|{{ msgs | map(attribute='role') | list }}|{{ [3,1,2] | sort }}|{{ msgs | rejectattr('role', 'eq', 'user') | list | length }}",
"vars": {
"msgs": [
{
"role": "user",
"content": "a"
},
{
"role": "assistant",
"content": "b"
},
{
"role": "user",
"content": "c"
}
]
},
"expected": "a,c|['user', 'assistant', 'user']|[1, 2, 3]|1"
},
{
"template": "{{ 'a' 'b' }} {{ \"it's\" }} {{ 'x\\ty' }} {{ '\\u00e9' }}",
"vars": {},
"expected": "ab it's x\ty é"
},
{
"template": "{{ m.content }}|{{ m['role'] }}|{{ m.missing }}|{{ m.missing is defined }}",
"vars": {
"m": {
"role": "user",
"content": "hi"
}
},
"expected": "hi|user||False"
},
{
"template": "{%- for m in messages -%}\n  {{- m.role }}: {{ m.content }}\n{% endfor -%}\n",
"vars": {
"messages": [
{
"role": "a",
"content": "1"
},
{
"role": "b",
"content": "2"
}
]
},
"expected": "a: 1\nb: 2\n"
},
{
"template": "{{ '%s' | length }} {{ 'héé' | length }} {{ 'abc' | reverse }} {{ [1,2] | reverse | list }} {{ -3 | abs }} {{ '12' | int + 1 }} {{ 2.567 | round(1) }}",
"vars": {},
"expected": "2 3 cba [2, 1] 3 13 2.6"
},
{
"template": "{{ loop_messages }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% else %}{% set loop_messages = messages %}{% endif %}{{ loop_messages | length }}",
"vars": {
"messages": [
{
"role": "system",
"content": "s"
},
{
"role": "user",
"content": "u"
}
]
},
"expected": "1"
},
{
"template": "{{ x | tojson(separators=(',', ':'), sort_keys=true) }} {{ [] | tojson }} {{ {} | tojson(indent=2) }} {{ {'a': {}} | tojson(indent=2) }}",
"vars": {
"x": {
"b": 1,
"a": [
1,
2
]
}
},
"expected": "{\"a\":[1,2],\"b\":1} [] {} {\n  \"a\": {}\n}"
},
{
"template": "a\n{%+ if true %}b{% endif +%}\nc",
"vars": {},
"expected": "a\nb\nc"
},
{
"template": "{{ 'x' * 3 }} {{ [0] * 2 }} {{ 'A-B'.split('-', 1) }} {{ ' a b '.split(None, 1) }} {{ 'abc'.find('c') }}",
"vars": {},
"expected": "xxx [0, 0] ['A', 'B'] ['a', 'b '] 2"
}
])JSON";

TEST(ChatTemplateTest, FeaturesMatchJinja2) {
  const Json cases = ParseOrDie(kFeatureCases);
  ASSERT_TRUE(cases.is_array());
  for (const Json& c : cases) {
    const std::string tpl = c["template"].get<std::string>();
    SCOPED_TRACE(tpl);
    absl::StatusOr<std::string> r =
        jinja::RenderTemplateSource(tpl, jinja::Value::FromJson(c["vars"]));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, c["expected"].get<std::string>());
  }
}

absl::Status RenderError(const std::string& tpl, const jinja::RenderLimits& limits = {}) {
  absl::StatusOr<std::string> r = jinja::RenderTemplateSource(tpl, jinja::Value::Dict({}), limits);
  return r.ok() ? absl::OkStatus() : r.status();
}

TEST(ChatTemplateTest, RaiseExceptionIsAnError) {
  absl::Status s = RenderError("{{ raise_exception('Conversation roles must alternate') }}");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("Conversation roles must alternate"), std::string::npos)
      << s;
}

TEST(ChatTemplateTest, HostileTemplatesFailCleanly) {
  struct Case {
    std::string tpl;
    std::string needle;  // part of the message
  };
  std::string deep_if, deep_paren, deep_list;
  for (int i = 0; i < 5000; ++i) deep_if += "{% if true %}";
  deep_paren = std::string(100000, '(') + "1" + std::string(100000, ')');
  deep_list = std::string(100000, '[') + std::string(100000, ']');
  const std::vector<Case> cases = {
      {deep_if, "nesting"},
      {"{{ " + deep_paren + " }}", "nesting"},
      {"{{ " + deep_list + " }}", "nesting"},
      {"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
       "loop iterations"},
      {"{{ range(1000000000) | length }}", "range"},
      {"{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}"
       "{% endfor %}",
       "too large"},
      {"{{ 'x' * 1000000000000 }}", "too large"},
      {"{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "nested deeper"},
      {"{% if true %}unterminated", "endif"},
      {"{{ 1 + }}", "expected an expression"},
      {"{{ 'abc", "unterminated"},
      {"{% for x in y %}", "endfor"},
      {"{{ x | no_such_filter }}", "unknown filter 'no_such_filter'"},
      {"{% if x is no_such_test %}{% endif %}", "unknown test 'no_such_test'"},
      {"{% include 'x' %}", "unsupported or unknown statement 'include'"},
      {"{# never closed", "unterminated comment"},
      {"{{ undefined_thing.attr }}", "'undefined_thing' is undefined"},
      {"{{ [1].append(2) }}", "immutable"},
      {"{{ 1 // 0 }}", "division"},
      {"{{ 9223372036854775807 + 1 }}", "overflow"},
      {"{% set x = 5 %}{% set x.y = 1 %}", "namespace"},
      {"{{ none() }}", "not callable"},
      {"{% break %}", "outside a loop"},
      {std::string(jinja::kMaxTemplateBytes + 1, 'a'), "too large"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tpl.substr(0, 80));
    absl::Status s = RenderError(c.tpl);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(std::string(s.message()).find(c.needle), std::string::npos) << s;
  }
}

TEST(ChatTemplateTest, ErrorsNamePosition) {
  absl::Status s = RenderError("line one\n{{ x | bogus }}");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("line 2"), std::string::npos) << s;
}

TEST(ChatTemplateTest, BadInputs) {
  ChatTemplateInput in;
  in.messages_json = "{not json";
  EXPECT_FALSE(RenderChatTemplate("{{ messages }}", in).ok());
  in.messages_json = "{}";
  EXPECT_FALSE(RenderChatTemplate("{{ messages }}", in).ok());
  in.messages_json = "[]";
  EXPECT_FALSE(RenderChatTemplate("", in).ok());
  in.variables_json["x"] = "[1,";
  EXPECT_FALSE(RenderChatTemplate("{{ x }}", in).ok());
  in.variables_json["x"] = "[1, \"a\"]";
  absl::StatusOr<std::string> r = RenderChatTemplate("{{ x }}{{ tools }}", in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "[1, 'a']None");
}

}  // namespace
}  // namespace fathom::internal
