#include "common/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace codeswarm {
namespace {

// write() to the child's stdin that returns EPIPE instead of raising SIGPIPE when the child has
// closed it (a command may exit before it reads all of its input), whatever this process does
// with SIGPIPE: the signal is blocked in this thread for the call and, if the write raised it,
// taken.
ssize_t WriteWithoutSigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_only;
  sigset_t old_mask;
  ::sigemptyset(&pipe_only);
  ::sigaddset(&pipe_only, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  sigset_t pending_before;
  ::sigpending(&pending_before);
  const ssize_t put = ::write(fd, data, size);
  const int saved_errno = errno;
  if (put < 0 && saved_errno == EPIPE && !::sigismember(&old_mask, SIGPIPE) &&
      !::sigismember(&pending_before, SIGPIPE)) {
    const timespec no_wait{0, 0};
    ::sigtimedwait(&pipe_only, nullptr, &no_wait);
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = saved_errno;
  return put;
}

}  // namespace

Result<RunResult> RunCommand(const std::vector<std::string>& argv, const RunOptions& options) {
  SpawnOptions spawn;
  spawn.argv = argv;
  spawn.env_overrides = options.env_overrides;
  spawn.cwd = options.cwd;
  spawn.new_process_group = true;
  spawn.stdin_mode = StdioMode::kPipe;
  spawn.stdout_mode = StdioMode::kPipe;
  spawn.stderr_mode = StdioMode::kPipe;
  Result<Subprocess> started = Subprocess::Spawn(spawn);
  if (!started.ok()) return started.status();
  Subprocess& child = *started;

  RunResult result;
  int in = child.stdin_fd();
  std::size_t written = 0;
  if (options.stdin_data.empty()) {
    child.CloseStdin();
    in = -1;
  } else {
    ::fcntl(in, F_SETFL, ::fcntl(in, F_GETFL) | O_NONBLOCK);
  }
  int out = child.stdout_fd();
  int err = child.stderr_fd();
  const Clock& clock = *options.clock;
  const SteadyTime deadline = clock.Now() + options.timeout;
  SteadyTime kill_deadline = SteadyTime::max();
  char buf[65536];

  auto append = [&](std::string& target, const char* data, std::size_t n) {
    std::size_t room = options.max_output_bytes - std::min(options.max_output_bytes, target.size());
    if (n > room) result.truncated = true;
    target.append(data, std::min(n, room));
  };

  while (out >= 0 || err >= 0) {
    const SteadyTime now = clock.Now();
    if (!result.timed_out && now >= deadline) {
      result.timed_out = true;
      child.SignalGroup(SIGTERM);
      kill_deadline = now + std::chrono::seconds(2);
    }
    if (result.timed_out && now >= kill_deadline) {
      child.SignalGroup(SIGKILL);
      kill_deadline = SteadyTime::max();
    }
    auto until = result.timed_out ? kill_deadline : deadline;
    int wait_ms = until == SteadyTime::max()
                      ? 1000
                      : static_cast<int>(std::max<long>(
                            1, std::chrono::duration_cast<std::chrono::milliseconds>(until - now)
                                   .count()));
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out >= 0) { out_i = n; fds[n++] = {out, POLLIN, 0}; }
    if (err >= 0) { err_i = n; fds[n++] = {err, POLLIN, 0}; }
    if (in >= 0) { in_i = n; fds[n++] = {in, POLLOUT, 0}; }
    int rc = ::poll(fds, n, wait_ms);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    auto drain = [&](int idx, int& fd, std::string& target) {
      if (idx < 0 || fds[idx].revents == 0) return;
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got > 0) {
        append(target, buf, static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd = -1;  // closed by the Subprocess destructor
      }
    };
    drain(out_i, out, result.stdout_text);
    drain(err_i, err, result.stderr_text);
    if (in_i >= 0 && fds[in_i].revents != 0) {
      ssize_t put = WriteWithoutSigpipe(in, options.stdin_data.data() + written,
                                        options.stdin_data.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      if ((put < 0 && errno != EAGAIN && errno != EINTR) || written == options.stdin_data.size()) {
        child.CloseStdin();
        in = -1;
      }
    }
  }
  child.CloseStdin();
  // Output is closed; the command may still run (it closed its streams or passed them on).
  if (!result.timed_out) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.Now());
    if (!child.WaitFor(std::max(left, std::chrono::milliseconds(0)), clock)) {
      result.timed_out = true;
      child.SignalGroup(SIGTERM);
      if (!child.WaitFor(std::chrono::seconds(2), clock)) child.SignalGroup(SIGKILL);
    }
  } else {
    child.SignalGroup(SIGKILL);
  }
  result.status = child.Wait();
  return result;
}

}  // namespace codeswarm
