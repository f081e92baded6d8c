// Test helper: runs the `fathom` program as a child process and captures its output.
#ifndef FATHOM_TESTS_SUPPORT_CLI_RUNNER_H_
#define FATHOM_TESTS_SUPPORT_CLI_RUNNER_H_

#include <string>
#include <vector>

namespace fathom::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Path of the fathom program built with the tests ("" when the build has no CLI).
const char* CliPath();
// A new empty temporary file named after `stem`.
std::string TempPath(const std::string& stem);
// Runs the CLI with `args`; stdout and stderr go to files, so no pipe can fill up and block it.
CliResult RunCli(const std::vector<std::string>& args);

}  // namespace fathom::testing

// Skips the current test when the CLI was not built.
#define FATHOM_REQUIRE_CLI()                                                      \
  do {                                                                            \
    if (::fathom::testing::CliPath()[0] == '\0') GTEST_SKIP() << "no fathom CLI"; \
  } while (0)

#endif  // FATHOM_TESTS_SUPPORT_CLI_RUNNER_H_
