#include "worker/codex/codex_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/text.h"

namespace codeswarm::worker::codex {

namespace {

// codex's lines can be large (a command's whole output in item/completed); anything beyond this
// is skipped rather than buffered.
constexpr std::size_t kMaxLineBytes = 64 << 20;

std::string StripAnsi(std::string_view text) {
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

std::string StderrTail(const std::string& path, int max_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff start = std::max<std::streamoff>(0, size - 8192);
  in.seekg(start);
  std::string tail(static_cast<std::size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  std::vector<std::string> lines;
  for (std::string_view line : SplitString(tail, '\n')) {
    std::string clean(TrimWhitespace(StripAnsi(line)));
    if (!clean.empty()) lines.push_back(std::move(clean));
  }
  if (start > 0 && !lines.empty()) lines.erase(lines.begin());  // probably cut
  std::string out;
  std::size_t first = lines.size() > static_cast<std::size_t>(max_lines) ? lines.size() - max_lines : 0;
  for (std::size_t i = first; i < lines.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += lines[i];
  }
  return Ellipsize(out, 600);
}

Result<std::unique_ptr<CodexProcess>> CodexProcess::Start(const SpawnOptions& options) {
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return Status::IoError(std::string("eventfd: ") + std::strerror(errno));
  Result<Subprocess> spawned = Subprocess::Spawn(options);
  if (!spawned.ok()) {
    ::close(wake_fd);
    return spawned.status();
  }
  return std::unique_ptr<CodexProcess>(
      new CodexProcess(std::move(*spawned), wake_fd, options.stderr_file));
}

CodexProcess::CodexProcess(Subprocess process, int wake_fd, std::string stderr_path)
    : process_(std::move(process)),
      wake_fd_(wake_fd),
      stderr_path_(std::move(stderr_path)),
      framer_(kMaxLineBytes) {}

CodexProcess::~CodexProcess() {
  Stop(std::chrono::seconds(2));
  ::close(wake_fd_);
}

Status CodexProcess::WriteLine(std::string_view line) {
  std::string data(line);
  data += '\n';
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(process_.stdin_fd(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IoError(std::string("cannot write to codex: ") + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

void CodexProcess::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

bool CodexProcess::ReadStdout() {
  std::span<char> area = framer_.Prepare(64 * 1024);
  ssize_t n;
  do {
    n = ::read(process_.stdout_fd(), area.data(), area.size());
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  framer_.Commit(static_cast<std::size_t>(n));
  return true;
}

CodexProcess::Event CodexProcess::Next(std::optional<Clock::time_point> deadline) {
  while (true) {
    while (auto item = framer_.Next()) {
      if (item->kind == protocol::LineFramer::Item::Kind::kTooLong) {
        spdlog::warn("codex sent a line over {} bytes; skipped", kMaxLineBytes);
        continue;
      }
      return {Event::Kind::kLine, std::string(item->line)};
    }
    if (stdout_closed_) return {Event::Kind::kExited, {}};
    int timeout_ms = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return {Event::Kind::kTimeout, {}};
      timeout_ms = static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
    }
    pollfd fds[3] = {{process_.stdout_fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0},
                     {process_.pidfd(), POLLIN, 0}};
    int ready = ::poll(fds, process_.pidfd() >= 0 ? 3 : 2, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return {Event::Kind::kTimeout, {}};
    if (fds[0].revents != 0) {
      if (!ReadStdout()) stdout_closed_ = true;
      continue;  // lines first: what codex said before it died still counts
    }
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
      return {Event::Kind::kWakeup, {}};
    }
    // Exited without closing stdout (a child of its own holds it): nothing more will come.
    if (fds[2].revents != 0) return {Event::Kind::kExited, {}};
  }
}

std::string CodexProcess::DescribeExit() {
  std::optional<ExitStatus> status = process_.WaitFor(std::chrono::seconds(2));
  std::string what;
  if (status) {
    what = "codex exited (" + status->ToString() + ")";
  } else {
    Kill();
    what = "codex closed its output";
  }
  std::string tail = StderrTail(stderr_path_);
  if (!tail.empty()) what += "; last stderr: " + tail;
  return what;
}

void CodexProcess::Kill() {
  if (process_.TryWait()) return;
  process_.SignalGroup(SIGKILL);
  process_.Signal(SIGKILL);
  process_.Wait();
}

void CodexProcess::Stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  process_.CloseStdin();
  if (process_.WaitFor(grace)) {
    process_.SignalGroup(SIGKILL);  // whatever it started and left behind
    return;
  }
  process_.SignalGroup(SIGTERM);
  if (process_.WaitFor(grace)) return;
  Kill();
}

}  // namespace codeswarm::worker::codex
