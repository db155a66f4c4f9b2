// Child processes without a shell: argv vectors only, so nothing a user types is ever parsed by
// /bin/sh. Children get only the file descriptors asked for (every other descriptor of this
// process is closed in the child), so a worker never inherits the router's listening sockets.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace codeswarm {

struct ExitStatus {
  int code = -1;    // exit code when exited normally, else -1
  int signal = 0;   // terminating signal, else 0
  bool success() const { return code == 0 && signal == 0; }
  // "exit code 3", "killed by signal 9 (SIGKILL)"
  std::string ToString() const;
  static ExitStatus FromWaitStatus(int wait_status);
};

enum class StdioMode {
  kInherit,  // share this process's descriptor
  kNull,     // /dev/null
  kPipe,     // a pipe whose other end this process keeps
  kFile,     // append to a file (created 0600)
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  // Added to (or replacing in) the inherited environment.
  std::vector<std::pair<std::string, std::string>> env_overrides;
  // Removed from the inherited environment.
  std::vector<std::string> env_remove;
  std::string cwd;  // empty: inherit
  bool new_process_group = false;
  bool new_session = false;  // implies a new process group
  StdioMode stdin_mode = StdioMode::kNull;
  StdioMode stdout_mode = StdioMode::kInherit;
  StdioMode stderr_mode = StdioMode::kInherit;
  std::string stdout_file;  // for kFile
  std::string stderr_file;  // for kFile; may equal stdout_file
};

// A started child process. Owns its pipe ends and its pidfd. The destructor closes descriptors
// but neither kills nor reaps: call Wait() (or hand the pid to someone who reaps).
class Subprocess {
 public:
  static Result<Subprocess> Spawn(const SpawnOptions& options);

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // A pidfd for the child (poll()able: readable once it has exited), or -1.
  int pidfd() const { return pidfd_; }
  // Pipe ends (-1 unless that stream is kPipe). Ownership stays with this object.
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  int stderr_fd() const { return stderr_fd_; }
  void CloseStdin();
  // Releases ownership of a pipe end to the caller.
  int ReleaseStdout();
  int ReleaseStdin();

  // Reaps the child if it has exited; nullopt while it runs. After it returns a value, later
  // calls return the same value.
  std::optional<ExitStatus> TryWait();
  // Blocks until the child exits; reaps it.
  ExitStatus Wait();
  // Waits up to `timeout` (on `clock`, which must advance on its own); nullopt if still running.
  std::optional<ExitStatus> WaitFor(std::chrono::milliseconds timeout,
                                    const Clock& clock = SystemClock::Get());

  // Sends `sig` to the child (through its pidfd, so never to a recycled pid).
  Status Signal(int sig);
  // Sends `sig` to the child's process group (REQUIRES: spawned with a new group or session).
  Status SignalGroup(int sig);

 private:
  Subprocess() = default;
  void CloseAll();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::optional<ExitStatus> exit_;
};

// Every live descendant of `pid` (children, their children, ...), from /proc, with its process
// group id. Processes that left the tree earlier (re-parented to init) are not found.
struct ProcessRef {
  pid_t pid;
  pid_t pgid;
};
std::vector<ProcessRef> DescendantsOf(pid_t pid);
// SIGKILL to each of `processes`, and to the whole group of each that leads one (a helper that
// made a group or session of its own takes its members with it).
void KillProcesses(const std::vector<ProcessRef>& processes);

// "killed by signal 6 (SIGABRT)" helper: "SIGABRT" for 6.
std::string SignalName(int sig);

// The absolute path of the running executable.
std::string SelfExecutablePath();

}  // namespace codeswarm
