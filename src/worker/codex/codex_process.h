// A running `codex app-server` child: lines written to its stdin, lines read from its stdout,
// its exit, and wake-ups from other threads, all noticed by one poll() (no polling loop).
//
// Threading: one thread uses the object; Wake() may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/subprocess.h"
#include "protocol/line_framer.h"

namespace codeswarm::worker::codex {

class CodexProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Spawns the process (REQUIRES: stdin and stdout are pipes). `stderr_path` is where its
  // stderr goes (quoted when it dies).
  static Result<std::unique_ptr<CodexProcess>> Start(const SpawnOptions& options);
  // Stops the process (see Stop).
  ~CodexProcess();
  CodexProcess(const CodexProcess&) = delete;
  CodexProcess& operator=(const CodexProcess&) = delete;

  // Writes `line` and a newline to the process's stdin.
  Status WriteLine(std::string_view line);

  struct Event {
    enum class Kind {
      kLine,     // `line` holds the next stdout line (without its newline)
      kWakeup,   // Wake() was called
      kExited,   // the process exited or closed its stdout: it will say nothing more
      kTimeout,  // the deadline passed
    };
    Kind kind = Kind::kTimeout;
    std::string line;
  };
  // Waits for the next event; nullopt deadline = no limit.
  Event Next(std::optional<Clock::time_point> deadline);

  // Makes the pending or the next Next() return kWakeup. Thread-safe; wake-ups do not queue up
  // (several before a Next() give one kWakeup).
  void Wake();

  // Why the process is gone, for a person: "codex exited (killed by signal 9 (SIGKILL)); last
  // stderr: ...". Waits up to 2 s for the exit status and kills the process if it has none
  // (it closed its stdout but did not exit).
  std::string DescribeExit();

  // Closes its stdin (codex exits on EOF), waits up to `grace`, then sends SIGTERM to its process
  // group, waits up to `grace` again, then SIGKILL, and reaps it; what is left of its process
  // group is killed. Idempotent.
  void Stop(std::chrono::milliseconds grace);
  // SIGKILL to the process group, and reap.
  void Kill();

 private:
  CodexProcess(Subprocess process, int wake_fd, std::string stderr_path);
  // Reads what stdout has; false at EOF or on a read error.
  bool ReadStdout();

  Subprocess process_;
  const int wake_fd_;  // eventfd
  const std::string stderr_path_;
  protocol::LineFramer framer_;
  bool stdout_closed_ = false;
  bool stopped_ = false;
};

// The last lines a process wrote to its stderr file, for an error message: up to `max_lines`
// non-empty lines of the file's tail, terminal colour codes removed, joined with " | ", and cut
// to a few hundred bytes. Empty when there is nothing (or no file).
std::string StderrTail(const std::string& path, int max_lines = 3);

}  // namespace codeswarm::worker::codex
