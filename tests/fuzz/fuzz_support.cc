// Shared helpers for the libFuzzer targets (see fuzz_support.h).
#include "fuzz_support.h"

#include <cstdio>
#include <cstdlib>

namespace fathom::fuzz {

std::string FixturesDir() {
  const char* env = std::getenv("FATHOM_FIXTURES");
  if (env != nullptr && *env != '\0') return env;
  return FATHOM_FIXTURES_DEFAULT;
}

void CheckCleanError(const absl::Status& status) {
  if (status.ok()) return;
  if (status.message().empty()) {
    std::fprintf(stderr, "error without a message: code %d\n", static_cast<int>(status.code()));
    std::abort();
  }
  // Internal / Unknown mean a bug of ours rather than a rejected input.
  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown) {
    std::fprintf(stderr, "unexpected error code: %s\n", status.ToString().c_str());
    std::abort();
  }
}

std::pair<std::string_view, std::string_view> SplitAtDoubleNul(std::string_view data) {
  size_t pos = data.find(std::string_view("\0\0", 2));
  if (pos == std::string_view::npos) return {data, std::string_view()};
  return {data.substr(0, pos), data.substr(pos + 2)};
}

void Consume(uint64_t v) {
  static volatile uint64_t sink = 0;
  sink = sink + v;
}

}  // namespace fathom::fuzz
