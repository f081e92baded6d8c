// Runs another program and captures its output (see subprocess.h).
#include "subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace fathom::cli {
namespace {

// A temporary file, unlinked at once (only the descriptor is kept); -1 on failure.
int AnonymousTempFile() {
  const char* dir = std::getenv("TMPDIR");
  std::string path =
      std::string(dir != nullptr && dir[0] != '\0' ? dir : "/tmp") + "/fathom-bench-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd >= 0) unlink(path.c_str());
  return fd;
}

std::string ReadAll(int fd) {
  std::string text;
  if (lseek(fd, 0, SEEK_SET) != 0) return text;
  char buf[65536];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv) {
  ProcessResult r;
  if (argv.empty()) {
    r.error = "no program given";
    return r;
  }
  if (access(argv[0].c_str(), X_OK) != 0) {
    r.error = "'" + argv[0] + "' is not an executable file: " + std::strerror(errno);
    return r;
  }
  const int out_fd = AnonymousTempFile(), err_fd = AnonymousTempFile();
  if (out_fd < 0 || err_fd < 0) {
    r.error = std::string("cannot create a temporary file: ") + std::strerror(errno);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    return r;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    r.error = "cannot start '" + argv[0] + "': " + std::strerror(rc);
  } else {
    int status = 0;
    pid_t w;
    do {
      w = waitpid(pid, &status, 0);
    } while (w < 0 && errno == EINTR);
    r.started = true;
    if (w < 0) {
      r.error = std::string("waitpid failed: ") + std::strerror(errno);
    } else if (WIFEXITED(status)) {
      r.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      r.signal = WTERMSIG(status);
    }
    r.out = ReadAll(out_fd);
    r.err = ReadAll(err_fd);
  }
  close(out_fd);
  close(err_fd);
  return r;
}

}  // namespace fathom::cli
