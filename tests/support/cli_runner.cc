// Test helper: runs the `fathom` program with posix_spawn (see cli_runner.h).
#include "support/cli_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gtest/gtest.h"
#include "support/fixtures.h"

extern char** environ;

namespace fathom::testing {

const char* CliPath() {
#ifdef FATHOM_CLI_PATH
  return FATHOM_CLI_PATH;
#else
  return "";
#endif
}

std::string TempPath(const std::string& stem) {
  std::string path = ::testing::TempDir() + "/fathom_test_" + stem + "_XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0) << "mkstemp " << path;
  if (fd >= 0) close(fd);
  return path;
}

CliResult RunCli(const std::vector<std::string>& args) {
  CliResult result;
  const std::string out_path = TempPath("stdout");
  const std::string err_path = TempPath("stderr");
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(CliPath()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_TRUNC, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, CliPath(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << CliPath() << ": " << std::strerror(rc);
  } else {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

}  // namespace fathom::testing
