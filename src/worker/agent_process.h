// An agent CLI running as a child process (codex app-server, Claude Code): lines written to its
// stdin, lines read from its stdout, its exit, and wake-ups from other threads, all noticed by
// one poll() on the stdout pipe, the child's pidfd and an eventfd (no polling loop). Nothing in
// it is specific to one agent's messages.
//
// Deadlines and the write timeout are read on the Clock given to Start: a deadline passes when
// that clock says so (a ManualClock advanced past it, then Wake(), ends a wait at once). The
// waits for the process itself to exit (Stop, DescribeExit) are real time: the process runs in it.
//
// Threading: one thread uses the object; Wake() may be called from any thread.
// REQUIRES: SIGPIPE ignored in this process (the worker ignores it), so that writing to a dead
// child is an error, not a signal.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/subprocess.h"
#include "protocol/line_framer.h"

namespace codeswarm::worker {

class AgentProcess {
 public:
  // The longest stdout line kept (a tool result quoting a big file can be large); longer ones
  // are dropped with a warning in the log.
  static constexpr std::size_t kMaxLineBytes = 64 << 20;

  // Spawns the process; `name` ("codex", "claude") names it in messages. REQUIRES: stdin and
  // stdout are kPipe; stderr is kFile (its last lines are quoted when the process dies).
  // `clock` must outlive the object.
  static Result<std::unique_ptr<AgentProcess>> Start(const SpawnOptions& options,
                                                     std::string name,
                                                     const Clock& clock = SystemClock::Get());
  // Stops the process (see Stop).
  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  // Writes `line` and a newline to the process's stdin; fails when the process does not take it
  // within `timeout` or has closed its stdin.
  Status WriteLine(std::string_view line,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

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
  // Waits for the next event; nullopt deadline = no limit. Lines already read come first.
  Event Next(std::optional<SteadyTime> deadline);

  // Makes the pending or the next Next() return kWakeup. Thread-safe; wake-ups do not queue up
  // (several before a Next() give one kWakeup).
  void Wake();

  // Why the process is gone, for a person: "claude exited (exit code 1); last stderr: error:
  // unknown option '--bogus'". Waits up to 2 s for it to exit, then kills its process group
  // (what is left of it, or all of it when it closed its stdout but lives on) and reaps it.
  std::string DescribeExit();

  // Closes its stdin (the agents exit on EOF), waits up to `grace`, then SIGTERM to its process
  // group, waits up to `grace` again, then SIGKILL; reaps it, and kills what is left of its
  // process group. Idempotent.
  void Stop(std::chrono::milliseconds grace);
  // SIGKILL to its process group at once, and reap (a process that stopped answering).
  void Kill();

  const std::string& stderr_path() const { return stderr_path_; }
  const Clock& clock() const { return clock_; }

 private:
  AgentProcess(Subprocess process, int wake_fd, std::string stderr_path, std::string name,
               const Clock& clock);
  // Milliseconds for poll() until `deadline` on clock_: -1 without one, never negative.
  int PollTimeout(std::optional<SteadyTime> deadline) const;
  // Waits up to `wait` for the process to exit, kills what is left of its process group, and
  // reaps it (once; later calls return the same status).
  ExitStatus KillGroupAndReap(std::chrono::milliseconds wait);
  // Reads what stdout has now (up to 1 MiB), counting it in `bytes_read`; false at EOF or on a
  // read error.
  bool ReadStdout(std::size_t* bytes_read);
  // The next complete line from the framer, if any.
  std::optional<std::string> TakeLine();

  Subprocess process_;
  const int wake_fd_;  // eventfd
  const std::string stderr_path_;
  const std::string name_;
  const Clock& clock_;
  protocol::LineFramer framer_;
  std::optional<ExitStatus> exit_status_;  // once reaped
  bool stdout_closed_ = false;
  bool stopped_ = false;
};

// The spawn options AgentProcess::Start requires, for an agent CLI run as `argv`: `cwd` as its
// working directory (empty: inherited), a process group of its own (so stopping it also stops
// the commands it runs), stdin and stdout piped, stderr appended to `stderr_path`. The caller
// adds the environment.
SpawnOptions AgentSpawnOptions(std::vector<std::string> argv, const std::string& cwd,
                               const std::string& stderr_path);

// The last lines a process wrote to its stderr file, for an error message: up to `max_lines`
// non-empty lines of the file's tail, terminal colour codes removed, joined with " | ", and cut
// to a few hundred bytes. Empty when there is nothing (or no file).
std::string StderrTail(const std::string& path, int max_lines = 3);

}  // namespace codeswarm::worker
