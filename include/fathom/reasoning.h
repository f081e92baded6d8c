// fathom::ReasoningSplitter: separates a reasoning model's "<think>...</think>" text from its
// answer, as a stream (pieces may split a tag anywhere) or in one call.
#ifndef FATHOM_REASONING_H_
#define FATHOM_REASONING_H_

#include <string>
#include <string_view>

namespace fathom {

// Text produced by one step: the part that is reasoning and the part that is answer content
// (either may be empty). Reasoning comes before content within one piece only when a closing
// tag was crossed.
struct ReasoningPiece {
  std::string reasoning;
  std::string content;
};

class ReasoningSplitter {
 public:
  struct Options {
    // Start inside the reasoning block: the prompt already opened it (DeepSeek-R1 templates
    // end the prompt with "<think>\n"), so the model only emits the closing tag.
    bool start_in_reasoning = false;
    std::string open_tag = "<think>";
    std::string close_tag = "</think>";
  };

  ReasoningSplitter() : ReasoningSplitter(Options()) {}
  explicit ReasoningSplitter(Options options);

  // Feeds the next piece of generated text. Text that might be the start of a tag is held
  // back until it is known; text once returned is never taken back. The tags themselves are
  // not returned; the text around them is returned unchanged.
  ReasoningPiece Push(std::string_view text);
  // Returns whatever is held back (a partial tag at the end of generation is plain text).
  ReasoningPiece Flush();
  // Whether the text now being generated is reasoning.
  bool in_reasoning() const { return in_reasoning_; }

  // The whole text at once: Push(text) followed by Flush().
  static ReasoningPiece Split(std::string_view text, const Options& options);
  static ReasoningPiece Split(std::string_view text) { return Split(text, Options()); }

 private:
  Options options_;
  bool in_reasoning_;
  std::string held_;
};

}  // namespace fathom

#endif  // FATHOM_REASONING_H_
