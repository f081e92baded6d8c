// StopStringMatcher: finds stop strings in streamed text that may span token boundaries. Text
// that could still become the start of a stop string is held back, so nothing is ever emitted
// and then retracted.
#ifndef FATHOM_LIB_SAMPLING_STOP_STRINGS_H_
#define FATHOM_LIB_SAMPLING_STOP_STRINGS_H_

#include <string>
#include <string_view>
#include <vector>

namespace fathom::internal {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops);

  // Appends `text` and returns what can be emitted now. When a stop string completes, returns
  // the text before it, sets *matched to it, and drops the rest; later calls return "".
  std::string Push(std::string_view text, std::string* matched);
  // The text still held back (at the end of generation, it is not a stop string).
  std::string Flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_SAMPLING_STOP_STRINGS_H_
