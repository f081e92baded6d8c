// ReasoningSplitter tests: tags split at every position, the prompt-opened mode, partial tags
// that turn out to be text, and the no-retraction guarantee.
#include <string>
#include <vector>

#include "fathom/reasoning.h"
#include "gtest/gtest.h"

namespace fathom {
namespace {

ReasoningPiece Stream(const std::vector<std::string>& pieces, ReasoningSplitter::Options o = {}) {
  ReasoningSplitter s(o);
  ReasoningPiece all;
  for (const std::string& p : pieces) {
    ReasoningPiece r = s.Push(p);
    all.reasoning += r.reasoning;
    all.content += r.content;
  }
  ReasoningPiece r = s.Flush();
  all.reasoning += r.reasoning;
  all.content += r.content;
  return all;
}

TEST(ReasoningSplitterTest, WholeText) {
  ReasoningPiece r = ReasoningSplitter::Split("<think>\nLet me see.\n</think>\n\nThe answer is 4.");
  EXPECT_EQ(r.reasoning, "\nLet me see.\n");
  EXPECT_EQ(r.content, "\n\nThe answer is 4.");
  r = ReasoningSplitter::Split("no reasoning here");
  EXPECT_EQ(r.reasoning, "");
  EXPECT_EQ(r.content, "no reasoning here");
}

TEST(ReasoningSplitterTest, EverySplitPointGivesTheSameResult) {
  const std::string text = "pre<think>a<b</thin>c</think>post <thin";
  const ReasoningPiece whole = ReasoningSplitter::Split(text);
  EXPECT_EQ(whole.content, "prepost <thin");
  EXPECT_EQ(whole.reasoning, "a<b</thin>c");
  for (size_t i = 0; i <= text.size(); ++i) {
    for (size_t j = i; j <= text.size(); ++j) {
      ReasoningPiece r = Stream({text.substr(0, i), text.substr(i, j - i), text.substr(j)});
      EXPECT_EQ(r.reasoning, whole.reasoning) << i << "," << j;
      EXPECT_EQ(r.content, whole.content) << i << "," << j;
    }
  }
  std::vector<std::string> chars;
  for (char c : text) chars.emplace_back(1, c);
  ReasoningPiece r = Stream(chars);
  EXPECT_EQ(r.reasoning, whole.reasoning);
  EXPECT_EQ(r.content, whole.content);
}

TEST(ReasoningSplitterTest, HoldsBackOnlyPossibleTags) {
  ReasoningSplitter s;
  ReasoningPiece r = s.Push("Hello <th");
  EXPECT_EQ(r.content, "Hello ");  // "<th" may start <think>
  r = s.Push("ere");
  EXPECT_EQ(r.content, "<there");  // it did not
  r = s.Push("<think>x");
  EXPECT_EQ(r.content, "");
  EXPECT_EQ(r.reasoning, "x");
  EXPECT_TRUE(s.in_reasoning());
  r = s.Push("</");
  EXPECT_EQ(r.reasoning, "");
  r = s.Push("think>done<");
  EXPECT_EQ(r.content, "done");
  EXPECT_FALSE(s.in_reasoning());
  r = s.Flush();
  EXPECT_EQ(r.content, "<");  // a partial tag at the end is text
}

TEST(ReasoningSplitterTest, PromptOpenedReasoning) {
  ReasoningSplitter::Options o;
  o.start_in_reasoning = true;
  ReasoningPiece r = Stream({"Thinking", " hard</th", "ink>\n\nAnswer"}, o);
  EXPECT_EQ(r.reasoning, "Thinking hard");
  EXPECT_EQ(r.content, "\n\nAnswer");
  // Never closed: everything is reasoning.
  r = Stream({"still ", "thinking </thi"}, o);
  EXPECT_EQ(r.reasoning, "still thinking </thi");
  EXPECT_EQ(r.content, "");
}

TEST(ReasoningSplitterTest, MultiByteTextAndCustomTags) {
  ReasoningSplitter::Options o;
  o.open_tag = "[R]";
  o.close_tag = "[/R]";
  ReasoningPiece r = Stream({"é[", "R]ü", "[/", "R]漢字"}, o);
  EXPECT_EQ(r.reasoning, "ü");
  EXPECT_EQ(r.content, "é漢字");
}

}  // namespace
}  // namespace fathom
