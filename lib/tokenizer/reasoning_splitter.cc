// fathom::ReasoningSplitter: a two-state machine (content / reasoning) over a text stream that
// holds back a possible partial tag at the end of each piece.
#include "tokenizer/reasoning_splitter.h"

#include <algorithm>
#include <utility>

namespace fathom {

ReasoningSplitter::ReasoningSplitter(Options options)
    : options_(std::move(options)), in_reasoning_(options_.start_in_reasoning) {}

ReasoningPiece ReasoningSplitter::Push(std::string_view text) {
  ReasoningPiece out;
  held_.append(text.data(), text.size());
  auto emit = [&](std::string_view s) {
    (in_reasoning_ ? out.reasoning : out.content).append(s.data(), s.size());
  };
  while (true) {
    const std::string& tag = in_reasoning_ ? options_.close_tag : options_.open_tag;
    if (tag.empty()) {
      emit(held_);
      held_.clear();
      return out;
    }
    const size_t pos = held_.find(tag);
    if (pos != std::string::npos) {
      emit(std::string_view(held_).substr(0, pos));
      held_.erase(0, pos + tag.size());
      in_reasoning_ = !in_reasoning_;
      continue;
    }
    // Hold back the longest end of the text that could begin the tag.
    size_t hold = 0;
    for (size_t k = std::min(tag.size() - 1, held_.size()); k > 0; --k) {
      if (held_.compare(held_.size() - k, k, tag, 0, k) == 0) {
        hold = k;
        break;
      }
    }
    emit(std::string_view(held_).substr(0, held_.size() - hold));
    held_.erase(0, held_.size() - hold);
    return out;
  }
}

ReasoningPiece ReasoningSplitter::Flush() {
  ReasoningPiece out;
  (in_reasoning_ ? out.reasoning : out.content) = std::move(held_);
  held_.clear();
  return out;
}

ReasoningPiece ReasoningSplitter::Split(std::string_view text, const Options& options) {
  ReasoningSplitter s(options);
  ReasoningPiece a = s.Push(text);
  ReasoningPiece b = s.Flush();
  a.reasoning += b.reasoning;
  a.content += b.content;
  return a;
}

}  // namespace fathom
