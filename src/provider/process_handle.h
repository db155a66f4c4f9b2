// Tracking worker processes without pid-reuse mistakes. A pid number is recycled once its process
// is gone, so a process is named by (boot id, pid, start time) when it is written down, and held
// through a pidfd while it is tracked: a pidfd refers to one process for its whole life, never to
// a later process that happens to get the same number. Linux only (pidfd: 5.3 or newer).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/subprocess.h"

namespace codeswarm::provider {

// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept;
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();

 private:
  int fd_ = -1;
};

// Names one process for as long as this machine stays up: pids are recycled, but never with the
// same start time.
struct ProcessIdentity {
  pid_t pid = -1;
  // Field 22 of /proc/<pid>/stat: clock ticks from boot to the process's start.
  uint64_t start_time = 0;
};

// This boot's id (/proc/sys/kernel/random/boot_id), without the trailing newline. Start times
// are only comparable within one boot.
Result<std::string> ReadBootId();

// The start time of process `pid`. NotFound when there is no such process.
Result<uint64_t> ReadProcessStartTime(pid_t pid);

// Whether the process behind `pidfd` has exited (a pidfd becomes readable then).
bool PidfdExited(int pidfd);

// Waits until every process behind `pidfds` has exited or `deadline` (on `clock`, which must
// advance on its own) passes, whichever comes first; blocks in poll(), never in a sleep loop.
// Returns true when all have exited.
bool WaitForExits(const std::vector<UniqueFd>& pidfds, SteadyTime deadline,
                  const Clock& clock = SystemClock::Get());

// One worker process, which leads its own process group. Either a child this process spawned
// (reaped here, exit status known) or a process adopted from a manifest after a restart (not our
// child: only whether it runs can be known; its parent reaps it). Holds a pidfd until the
// process is seen to have ended, and no descriptor after that.
//
// Not thread-safe: the owner serialises calls.
class WorkerProcess {
 public:
  // Takes over a child spawned with new_process_group (or new_session). On failure the child
  // is killed and reaped.
  static Result<WorkerProcess> FromChild(Subprocess child);

  // Pins the process named by `identity` with a pidfd. The start time is checked after the pidfd
  // is open, so the pidfd holds that very process and not a later one with the recycled pid.
  // NotFound when that process no longer runs.
  static Result<WorkerProcess> Adopt(const ProcessIdentity& identity);

  WorkerProcess(WorkerProcess&&) noexcept = default;
  WorkerProcess& operator=(WorkerProcess&&) noexcept = default;

  const ProcessIdentity& identity() const { return identity_; }
  bool adopted() const { return adopted_; }

  // nullopt while the process runs. Once it has ended: how, in words ("exit code 3", "killed by
  // signal 6 (SIGABRT)"; "exited" for an adopted process). The first time the end is seen,
  // whatever is left of the process group is killed (nothing of a dead worker lingers) and a
  // child is reaped (no zombie).
  std::optional<std::string> CheckEnded();

  // Sends `sig` to the process group. Does nothing once the end has been seen. The group is
  // addressed through the pidfd where the kernel supports it (Linux 6.9), else by number only
  // while the leader's pid cannot have been recycled.
  Status SignalGroup(int sig);

  // A duplicate of the pidfd, to wait on without holding the owner's lock; invalid once the end
  // has been seen.
  UniqueFd DupPidfd() const;

 private:
  WorkerProcess(ProcessIdentity identity, bool adopted) : identity_(identity), adopted_(adopted) {}
  int pidfd() const;

  ProcessIdentity identity_;
  bool adopted_ = false;
  std::optional<Subprocess> child_;  // our child, until reaped
  UniqueFd adopted_pidfd_;           // an adopted process, until its end is seen
  std::optional<std::string> end_;
};

}  // namespace codeswarm::provider
