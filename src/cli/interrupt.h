// Turns Ctrl-C into something a poll() loop can wait for. While an InterruptWatcher lives,
// SIGINT makes fd() readable instead of killing the process, so that a streaming command can say
// what it was still waiting for before it exits with 130. The handler is one-shot
// (SA_RESETHAND): a second Ctrl-C kills the process the usual way.
#pragma once

#include <memory>

#include "common/status.h"

namespace codeswarm::cli {

class InterruptWatcher {
 public:
  // Installs the SIGINT handler. REQUIRES: no other InterruptWatcher is alive.
  static Result<std::unique_ptr<InterruptWatcher>> Install();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;
  // Restores the handler that was there before.
  ~InterruptWatcher();

  // Readable once SIGINT arrived. Owned by this object.
  int fd() const { return read_fd_; }
  // True once SIGINT arrived (does not block).
  bool Triggered() const;

 private:
  InterruptWatcher(int read_fd, int write_fd) : read_fd_(read_fd), write_fd_(write_fd) {}

  const int read_fd_;
  const int write_fd_;
};

// True when `fd` (an InterruptWatcher's fd, or -1 for none) reports an interrupt.
bool InterruptPending(int fd);

}  // namespace codeswarm::cli
