#include "provider/process_handle.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/text.h"

namespace codeswarm::provider {

namespace {

// PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9): signal the process group of the pidfd's process. Not
// in every libc's headers yet.
constexpr unsigned int kPidfdSignalProcessGroup = 4;

std::string ErrnoText(int err) { return std::strerror(err); }

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int PidfdSendSignal(int pidfd, int sig, unsigned int flags) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, flags));
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path + ": " + ErrnoText(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

UniqueFd::UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() { Reset(); }

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<std::string> ReadBootId() {
  Result<std::string> text = ReadSmallFile("/proc/sys/kernel/random/boot_id");
  if (!text.ok()) return text.status();
  std::string id(TrimWhitespace(*text));
  if (id.empty()) return Status::IoError("/proc/sys/kernel/random/boot_id is empty");
  return id;
}

Result<uint64_t> ReadProcessStartTime(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  Result<std::string> stat = ReadSmallFile(path);
  if (!stat.ok()) return Status::NotFound("no process " + std::to_string(pid));
  // The command name (field 2) is in parentheses and may itself contain spaces and ')', so
  // fields are counted from the last ')'.
  std::size_t close = stat->rfind(')');
  if (close == std::string::npos) return Status::IoError("cannot parse " + path);
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  for (int number = 3; number <= 22 && fields >> field; ++number) {
    if (number == 22) {
      std::optional<long long> value = ParseInteger(field);
      if (!value || *value < 0) break;
      return static_cast<uint64_t>(*value);
    }
  }
  return Status::IoError("cannot parse the start time in " + path);
}

bool PidfdExited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

bool WaitForExits(const std::vector<UniqueFd>& pidfds, SteadyTime deadline, const Clock& clock) {
  std::vector<pollfd> waiting;
  for (const UniqueFd& fd : pidfds) {
    if (fd.valid()) waiting.push_back({fd.get(), POLLIN, 0});
  }
  while (true) {
    std::erase_if(waiting, [](const pollfd& p) { return p.revents != 0; });
    if (waiting.empty()) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock.Now());
    if (left.count() <= 0) return false;
    // +1: poll() rounds down, and waking a hair early only to poll again for 0 ms is a spin.
    int rc = ::poll(waiting.data(), waiting.size(), static_cast<int>(left.count()) + 1);
    if (rc < 0 && errno != EINTR) return false;
  }
}

Result<WorkerProcess> WorkerProcess::FromChild(Subprocess child) {
  // A child that cannot be tracked must not be left running untracked.
  auto give_up = [&child](Status status) {
    child.SignalGroup(SIGKILL);
    child.Wait();
    return status;
  };
  if (child.pidfd() < 0) {
    return give_up(Status::FailedPrecondition("no pidfd for child " + std::to_string(child.pid()) +
                                              " (Linux 5.3 or newer is needed)"));
  }
  Result<uint64_t> start_time = ReadProcessStartTime(child.pid());
  if (!start_time.ok()) return give_up(start_time.status());
  WorkerProcess process(ProcessIdentity{child.pid(), *start_time}, /*adopted=*/false);
  process.child_.emplace(std::move(child));
  return process;
}

Result<WorkerProcess> WorkerProcess::Adopt(const ProcessIdentity& identity) {
  const std::string pid_text = std::to_string(identity.pid);
  if (identity.pid <= 0) return Status::InvalidArgument("bad pid " + pid_text);
  UniqueFd pidfd(PidfdOpen(identity.pid));
  if (!pidfd.valid()) {
    if (errno == ESRCH) return Status::NotFound("process " + pid_text + " is gone");
    return Status::IoError("pidfd_open(" + pid_text + "): " + ErrnoText(errno));
  }
  // Checked only now that the pidfd is open: if the start time still matches, the pid did not
  // change hands in between, so the pidfd holds the process that was written down.
  Result<uint64_t> start_time = ReadProcessStartTime(identity.pid);
  if (!start_time.ok() || *start_time != identity.start_time) {
    return Status::NotFound("process " + pid_text + " is gone (the pid is reused or free)");
  }
  if (PidfdExited(pidfd.get())) return Status::NotFound("process " + pid_text + " has exited");
  WorkerProcess process(identity, /*adopted=*/true);
  process.adopted_pidfd_ = std::move(pidfd);
  return process;
}

int WorkerProcess::pidfd() const { return child_ ? child_->pidfd() : adopted_pidfd_.get(); }

std::optional<std::string> WorkerProcess::CheckEnded() {
  if (end_ || !PidfdExited(pidfd())) return end_;
  // Before reaping, while the leader's pid still names its group: agent processes the worker
  // started must not outlive it.
  SignalGroup(SIGKILL);
  if (child_) {
    std::optional<ExitStatus> status = child_->TryWait();
    // No status although the pidfd says it ended: someone else reaped it (SIGCHLD ignored).
    end_ = status ? status->ToString() : "exited (status unknown)";
    child_.reset();
  } else {
    end_ = "exited";
    adopted_pidfd_.Reset();
  }
  return end_;
}

Status WorkerProcess::SignalGroup(int sig) {
  if (end_) return Status::Ok();
  const int fd = pidfd();
  if (PidfdSendSignal(fd, sig, kPidfdSignalProcessGroup) == 0 || errno == ESRCH) {
    return Status::Ok();
  }
  const std::string what =
      "signal " + SignalName(sig) + " to process group " + std::to_string(identity_.pid);
  if (errno != EINVAL) return Status::IoError(what + ": " + ErrnoText(errno));
  // A kernel without group signals through pidfds: by number, which is safe while the leader's
  // pid cannot be recycled (our child until reaped, even as a zombie; an adopted leader while it
  // runs).
  if (adopted_ && PidfdExited(fd)) return Status::Ok();
  if (::killpg(identity_.pid, sig) != 0 && errno != ESRCH) {
    return Status::IoError(what + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

UniqueFd WorkerProcess::DupPidfd() const {
  if (end_) return UniqueFd();
  return UniqueFd(::fcntl(pidfd(), F_DUPFD_CLOEXEC, 0));
}

}  // namespace codeswarm::provider
