// Shared helpers for the libFuzzer targets: locating fixtures and checking that an error is clean.
#ifndef FATHOM_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define FATHOM_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"

namespace fathom::fuzz {

// $FATHOM_FIXTURES, else ../shared/fixtures next to the source tree.
std::string FixturesDir();

// Aborts (a finding) when a failed status carries no message or an unexpected code: every
// rejection of hostile input must say what is wrong.
void CheckCleanError(const absl::Status& status);

// Splits `data` at the first "\0\0" (JSON and template text never contain NUL): {before, after};
// after is empty when there is no separator.
std::pair<std::string_view, std::string_view> SplitAtDoubleNul(std::string_view data);

// Keeps a value observable so reads of tensor bytes are not optimised away.
void Consume(uint64_t v);

}  // namespace fathom::fuzz

#endif  // FATHOM_TESTS_FUZZ_FUZZ_SUPPORT_H_
