#include "worker/agent_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/text.h"

namespace codeswarm::worker {

namespace {

using std::chrono::milliseconds;

constexpr std::size_t kReadChunk = 64 << 10;
// Bytes read per Next() before lines are handed out, so a flood of output cannot starve the rest.
constexpr std::size_t kMaxReadPerCall = 1 << 20;
// How many of those are read after the process exited, at most.
constexpr int kMaxDrainReads = 64;
constexpr std::size_t kStderrTailBytes = 16 << 10;
constexpr std::size_t kStderrTailMaxBytes = 600;

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// True once the process has exited, without reaping it (so its process group id stays taken).
// Real time: the process runs in it, whatever clock the caller's deadlines use.
bool ExitedWithin(const Subprocess& process, milliseconds timeout) {
  if (process.pidfd() >= 0) {
    pollfd p{process.pidfd(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }
  constexpr milliseconds kLookEvery{10};  // no pidfd (old kernel): look without reaping
  for (int64_t looks = timeout / kLookEvery;; --looks) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(process.pid()), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid != 0) {
      return true;
    }
    if (looks <= 0) return false;
    ::usleep(static_cast<useconds_t>(std::chrono::microseconds(kLookEvery).count()));
  }
}

std::string StripColourCodes(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;
      continue;
    }
    out += text[i];
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<AgentProcess>> AgentProcess::Start(const SpawnOptions& options,
                                                          std::string name, const Clock& clock) {
  Result<Subprocess> spawned = Subprocess::Spawn(options);
  if (!spawned.ok()) return spawned.status();
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    spawned->SignalGroup(SIGKILL);
    spawned->Wait();
    return Status::IoError(std::string("eventfd: ") + std::strerror(errno));
  }
  SetNonBlocking(spawned->stdin_fd());
  SetNonBlocking(spawned->stdout_fd());
  return std::unique_ptr<AgentProcess>(
      new AgentProcess(std::move(*spawned), wake_fd, options.stderr_file, std::move(name), clock));
}

AgentProcess::AgentProcess(Subprocess process, int wake_fd, std::string stderr_path,
                           std::string name, const Clock& clock)
    : process_(std::move(process)),
      wake_fd_(wake_fd),
      stderr_path_(std::move(stderr_path)),
      name_(std::move(name)),
      clock_(clock),
      framer_(kMaxLineBytes) {}

int AgentProcess::PollTimeout(std::optional<SteadyTime> deadline) const {
  if (!deadline) return -1;
  // Rounded up: poll() waking a little early would only spin until the deadline.
  auto left = std::chrono::ceil<milliseconds>(*deadline - clock_.Now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 24 * 3600 * 1000));
}

AgentProcess::~AgentProcess() {
  Stop(milliseconds(2000));
  ::close(wake_fd_);
}

Status AgentProcess::WriteLine(std::string_view line, milliseconds timeout) {
  std::string data(line);
  data += '\n';
  const SteadyTime deadline = clock_.Now() + timeout;
  std::size_t done = 0;
  while (done < data.size()) {
    int fd = process_.stdin_fd();
    if (fd < 0) return Status::FailedPrecondition(name_ + "'s input is closed");
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      int wait = PollTimeout(deadline);
      if (wait == 0 || (::poll(&p, 1, wait) == 0 && clock_.Now() >= deadline)) {
        return Status::Timeout(name_ + " did not read its input for " +
                               std::to_string(timeout.count() / 1000) + " s");
      }
      continue;
    }
    return Status::IoError("cannot write to " + name_ + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

bool AgentProcess::ReadStdout(std::size_t* bytes_read) {
  std::size_t& total = *bytes_read;
  total = 0;
  while (total < kMaxReadPerCall) {
    std::span<char> space = framer_.Prepare(kReadChunk);
    ssize_t n = ::read(process_.stdout_fd(), space.data(), space.size());
    if (n > 0) {
      framer_.Commit(static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
      continue;
    }
    framer_.Commit(0);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
  return true;
}

std::optional<std::string> AgentProcess::TakeLine() {
  while (std::optional<protocol::LineFramer::Item> item = framer_.Next()) {
    if (item->kind == protocol::LineFramer::Item::Kind::kTooLong) {
      spdlog::warn("{} wrote a line longer than {} bytes; dropped", name_, kMaxLineBytes);
      continue;
    }
    return std::string(item->line);
  }
  return std::nullopt;
}

AgentProcess::Event AgentProcess::Next(std::optional<SteadyTime> deadline) {
  while (true) {
    if (std::optional<std::string> line = TakeLine()) return {Event::Kind::kLine, std::move(*line)};
    if (stdout_closed_) return {Event::Kind::kExited, {}};
    pollfd fds[3] = {{process_.stdout_fd(), POLLIN, 0},
                     {wake_fd_, POLLIN, 0},
                     {process_.pidfd(), POLLIN, 0}};
    int ready = ::poll(fds, 3, PollTimeout(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      // poll() waited in real time; the deadline is the clock's.
      if (clock_.Now() >= *deadline) return {Event::Kind::kTimeout, {}};
      continue;
    }
    std::size_t bytes = 0;
    if (fds[0].revents != 0 && !ReadStdout(&bytes)) stdout_closed_ = true;
    if (fds[1].revents != 0) {
      uint64_t count;
      while (::read(wake_fd_, &count, sizeof count) < 0 && errno == EINTR) {
      }
      return {Event::Kind::kWakeup, {}};
    }
    if (fds[2].revents != 0 && !stdout_closed_) {
      // Exited. What it wrote is in the pipe already; a grandchild that inherited the pipe may
      // keep it open, so do not wait for EOF.
      for (int i = 0; i < kMaxDrainReads && ReadStdout(&bytes) && bytes > 0; ++i) {
      }
      stdout_closed_ = true;
    }
  }
}

void AgentProcess::Wake() {
  uint64_t one = 1;
  while (::write(wake_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

ExitStatus AgentProcess::KillGroupAndReap(milliseconds wait) {
  if (!exit_status_) {
    ExitedWithin(process_, wait);
    // Agents start helpers in process groups of their own (codex runs a login shell to snapshot
    // its environment), out of reach of the group kill: find them while the tree is whole.
    std::vector<ProcessRef> escaped = DescendantsOf(process_.pid());
    // Not reaped yet, so the group id is still the leader's: this reaches the tool commands the
    // agent started (and the agent itself if it still runs), never a stranger.
    process_.SignalGroup(SIGKILL);
    KillProcesses(escaped);
    exit_status_ = process_.Wait();
  }
  return *exit_status_;
}

std::string AgentProcess::DescribeExit() {
  std::string text = name_ + " exited (" + KillGroupAndReap(milliseconds(2000)).ToString() + ")";
  std::string tail = StderrTail(stderr_path_);
  if (!tail.empty()) text += "; last stderr: " + tail;
  return text;
}

void AgentProcess::Kill() {
  stopped_ = true;
  KillGroupAndReap(milliseconds(0));
}

void AgentProcess::Stop(milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  process_.CloseStdin();
  if (!exit_status_ && !ExitedWithin(process_, grace)) {
    process_.SignalGroup(SIGTERM);
    ExitedWithin(process_, grace);
  }
  KillGroupAndReap(milliseconds(0));
}

SpawnOptions AgentSpawnOptions(std::vector<std::string> argv, const std::string& cwd,
                               const std::string& stderr_path) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.cwd = cwd;
  options.new_process_group = true;
  options.stdin_mode = StdioMode::kPipe;
  options.stdout_mode = StdioMode::kPipe;
  options.stderr_mode = StdioMode::kFile;
  options.stderr_file = stderr_path;
  return options;
}

std::string StderrTail(const std::string& path, int max_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff start = std::max<std::streamoff>(0, size - static_cast<std::streamoff>(kStderrTailBytes));
  in.seekg(start);
  std::string tail(static_cast<std::size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  std::string text = StripColourCodes(tail);
  std::vector<std::string> lines;
  for (std::string_view line : SplitString(text, '\n')) {
    line = TrimWhitespace(line);
    if (!line.empty()) lines.emplace_back(line);
  }
  std::size_t first = lines.size() > static_cast<std::size_t>(max_lines) ? lines.size() - max_lines : 0;
  std::string joined;
  for (std::size_t i = first; i < lines.size(); ++i) {
    if (!joined.empty()) joined += " | ";
    joined += lines[i];
  }
  return Ellipsize(joined, kStderrTailMaxBytes);
}

}  // namespace codeswarm::worker
