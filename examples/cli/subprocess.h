// Runs another program (fathom bench's llama-bench comparison) and captures its output.
#ifndef FATHOM_EXAMPLES_CLI_SUBPROCESS_H_
#define FATHOM_EXAMPLES_CLI_SUBPROCESS_H_

#include <string>
#include <vector>

namespace fathom::cli {

struct ProcessResult {
  bool started = false;  // false: the program could not be run (see error)
  int exit_code = -1;    // the exit status; -1 when killed by a signal
  int signal = 0;        // the signal that ended it, if any
  std::string out;
  std::string err;
  std::string error;  // why it could not be started
};

// Runs argv[0] (a path, not searched in PATH) with argv, the current environment, stdin from
// /dev/null, stdout and stderr captured through temporary files (no pipe can fill up).
ProcessResult RunProcess(const std::vector<std::string>& argv);

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_SUBPROCESS_H_
