#include "cli/interrupt.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace codeswarm::cli {
namespace {

// The handler may only touch async-signal-safe state: this descriptor and write().
volatile sig_atomic_t g_write_fd = -1;
struct sigaction g_previous_action;

void OnSigint(int) {
  int saved_errno = errno;
  if (g_write_fd >= 0) {
    [[maybe_unused]] ssize_t ignored = ::write(g_write_fd, "!", 1);
  }
  errno = saved_errno;
}

}  // namespace

Result<std::unique_ptr<InterruptWatcher>> InterruptWatcher::Install() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Status::IoError(std::string("cannot create a pipe for Ctrl-C: ") + std::strerror(errno));
  }
  g_write_fd = fds[1];
  struct sigaction action {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocking call returns EINTR, and every wait polls the pipe anyway.
  action.sa_flags = SA_RESETHAND;
  if (::sigaction(SIGINT, &action, &g_previous_action) != 0) {
    int error = errno;
    g_write_fd = -1;
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::IoError(std::string("cannot handle SIGINT: ") + std::strerror(error));
  }
  return std::unique_ptr<InterruptWatcher>(new InterruptWatcher(fds[0], fds[1]));
}

InterruptWatcher::~InterruptWatcher() {
  ::sigaction(SIGINT, &g_previous_action, nullptr);
  g_write_fd = -1;
  ::close(read_fd_);
  ::close(write_fd_);
}

bool InterruptWatcher::Triggered() const { return InterruptPending(read_fd_); }

bool InterruptPending(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace codeswarm::cli
