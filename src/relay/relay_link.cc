#include "relay/relay_link.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <istream>

#include "common/subprocess.h"
#include "common/text.h"
#include "relay/mux_bridge.h"

namespace codeswarm::relay {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kFirstRestartDelay(1);
constexpr std::chrono::seconds kMaxRestartDelay(30);
constexpr std::size_t kMaxLogLineBytes = 4096;

struct SpawnedRelay {
  std::shared_ptr<Subprocess> ssh;
  HelloInfo hello;
};

enum class ReadOutcome { kDone, kTimedOut, kEnded };

// Reads exactly `n` bytes before `deadline`.
ReadOutcome ReadExactly(int fd, char* out, std::size_t n, Clock::time_point deadline) {
  while (n > 0) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return ReadOutcome::kTimedOut;
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return ReadOutcome::kTimedOut;
    if (ready < 0) return ReadOutcome::kEnded;
    ssize_t got = ::read(fd, out, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return ReadOutcome::kEnded;
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return ReadOutcome::kDone;
}

// What ssh (or the relay) said on stderr, once it has exited or been stopped.
std::string StderrOf(Subprocess& ssh) {
  std::string text;
  char buffer[4096];
  pollfd pfd{ssh.stderr_fd(), POLLIN, 0};
  while (text.size() < 8192 && ::poll(&pfd, 1, 1000) > 0) {
    ssize_t got = ::read(ssh.stderr_fd(), buffer, sizeof buffer);
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return std::string(TrimWhitespace(text));
}

void Retire(Subprocess& ssh) {
  (void)ssh.Signal(SIGTERM);
  if (!ssh.WaitFor(std::chrono::seconds(5))) {
    (void)ssh.Signal(SIGKILL);
    ssh.Wait();
  }
}

// Runs the relay and waits for its hello. Blocking.
Result<SpawnedRelay> SpawnRelay(const std::vector<std::string>& argv, double timeout_seconds,
                                const std::string& where) {
  SpawnOptions spawn;
  spawn.argv = argv;
  spawn.stdin_mode = StdioMode::kPipe;
  spawn.stdout_mode = StdioMode::kPipe;
  spawn.stderr_mode = StdioMode::kPipe;
  // A Ctrl-C meant for a router in a terminal reaches the router, which ends the relay itself.
  spawn.new_process_group = true;
  Result<Subprocess> spawned = Subprocess::Spawn(spawn);
  if (!spawned.ok()) return spawned.status().WithPrefix("cannot run ssh for the relay");
  auto ssh = std::make_shared<Subprocess>(std::move(*spawned));
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  auto fail = [&](const std::string& what) -> Status {
    Retire(*ssh);
    std::string said = StderrOf(*ssh);
    return Status::Unavailable("cannot start the relay on " + where + ": " + what +
                               (said.empty() ? "" : ": " + Ellipsize(said, 2000)));
  };
  char header[kFrameHeaderBytes];
  const ReadOutcome read = ReadExactly(ssh->stdout_fd(), header, sizeof header, deadline);
  if (read == ReadOutcome::kTimedOut) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout_seconds);
    return fail(std::string("no answer within ") + seconds + " s");
  }
  if (read == ReadOutcome::kEnded) return fail("the session ended before the relay said hello");
  FrameDecoder decoder;
  decoder.Append(std::string_view(header, sizeof header));
  // The header alone is checked; a shell start-up file that prints something fails here.
  Result<std::optional<Frame>> first = decoder.Next();
  const std::uint32_t length = static_cast<std::uint8_t>(header[5]) << 24 |
                               static_cast<std::uint8_t>(header[6]) << 16 |
                               static_cast<std::uint8_t>(header[7]) << 8 |
                               static_cast<std::uint8_t>(header[8]);
  if (!first.ok() || header[0] != static_cast<char>(FrameType::kHello)) {
    return fail("its output does not start with the relay's hello (does a shell start-up file "
                "on the login node print something?): \"" +
                Ellipsize(std::string(header, sizeof header), 40) + "\"");
  }
  std::string payload(length, '\0');
  if (ReadExactly(ssh->stdout_fd(), payload.data(), length, deadline) != ReadOutcome::kDone) {
    return fail("the hello was cut short");
  }
  Result<HelloInfo> hello = ParseHello(payload);
  if (!hello.ok()) return fail(hello.status().message());
  return SpawnedRelay{std::move(ssh), *hello};
}

class RelayLinkImpl final : public RelayLink, public MuxBridgeHandler {
 public:
  RelayLinkImpl(asio::io_context& io, asio::thread_pool& pool, RelayLinkOptions options,
                ConnectionHandler handler)
      : io_(io),
        pool_(pool),
        options_(std::move(options)),
        handler_(std::move(handler)),
        restart_timer_(io),
        alive_(std::make_shared<bool>(true)) {}

  ~RelayLinkImpl() override {
    *alive_ = false;
    Stop();
  }

  Result<HelloInfo> Start() override {
    Result<std::vector<std::string>> argv = options_.command(options_.port);
    if (!argv.ok()) return argv.status();
    Result<SpawnedRelay> spawned = SpawnRelay(*argv, options_.start_timeout_seconds, options_.where);
    if (!spawned.ok()) return spawned.status();
    address_ = spawned->hello;
    Attach(std::move(*spawned));
    return address_;
  }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    restart_timer_.cancel();
    if (bridge_) bridge_->Shutdown();
    bridge_.reset();
    if (stderr_) {
      boost::system::error_code ignored;
      stderr_->close(ignored);
    }
    if (ssh_) Retire(*ssh_);
    ssh_.reset();
  }

  std::optional<pid_t> ssh_pid() const override {
    if (!ssh_) return std::nullopt;
    return ssh_->pid();
  }

 private:
  void Attach(SpawnedRelay spawned) {
    ssh_ = std::move(spawned.ssh);
    spdlog::info("relay on {} up (ssh pid {}): workers dial {}:{}", options_.where, ssh_->pid(),
                 spawned.hello.host, spawned.hello.port);
    stderr_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(ssh_->stderr_fd()));
    stderr_buffer_ = std::make_shared<asio::streambuf>(kMaxLogLineBytes);
    ReadStderr(stderr_buffer_);
    MuxBridgeOptions bridge_options;
    bridge_options.local_name = "router";
    bridge_ = MuxBridge::Create(io_, ssh_->ReleaseStdout(), ssh_->ReleaseStdin(), bridge_options,
                                *this);
    bridge_->Start();
  }

  // The relay's log (and ssh's complaints), into the router's log.
  void ReadStderr(std::shared_ptr<asio::streambuf> buffer) {
    asio::async_read_until(*stderr_, *buffer, '\n',
                           [this, buffer, alive = alive_](const boost::system::error_code& ec,
                                                          std::size_t n) {
                             if (!*alive || buffer != stderr_buffer_) return;
                             if (ec && ec != asio::error::not_found) return;
                             std::istream in(buffer.get());
                             std::string line;
                             std::getline(in, line);
                             if (!line.empty()) spdlog::info("relay on {}: {}", options_.where, line);
                             ReadStderr(buffer);
                           });
  }

  std::optional<int> OnOpen(ChannelId id, std::string_view peer) override {
    if (bridge_->channel_count() >= options_.max_channels) {
      spdlog::warn("relay connection from {} refused: {} connections already", peer,
                   options_.max_channels);
      return std::nullopt;
    }
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      spdlog::warn("relay connection from {} refused: socketpair: {}", peer, std::strerror(errno));
      return std::nullopt;
    }
    handler_(fds[1], "relay " + std::string(peer));
    return fds[0];
  }

  void OnChannelClosed(ChannelId id, const std::string& peer, const std::string& reason) override {
    spdlog::debug("relay connection {} from {} closed: {}", id, peer, reason);
  }

  void OnEnded(const std::string& reason) override {
    spdlog::warn("the relay session on {} ended ({}); starting a new relay in {} s", options_.where,
                 reason, restart_delay_.count());
    bridge_.reset();
    stderr_buffer_.reset();
    if (stderr_) {
      boost::system::error_code ignored;
      stderr_->close(ignored);
    }
    if (std::shared_ptr<Subprocess> ssh = std::move(ssh_)) {
      asio::post(pool_, [ssh] { Retire(*ssh); });
    }
    ScheduleRestart();
  }

  void ScheduleRestart() {
    if (stopped_) return;
    restart_timer_.expires_after(restart_delay_);
    restart_delay_ = std::min(restart_delay_ * 2, std::chrono::seconds(kMaxRestartDelay));
    restart_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (ec || !*alive || stopped_) return;
      Result<std::vector<std::string>> argv = options_.command(address_.port);
      if (!argv.ok()) {
        spdlog::error("cannot restart the relay on {}: {}", options_.where, argv.status().message());
        ScheduleRestart();
        return;
      }
      // Only copies go to the pool: the link may be gone when the spawn returns.
      asio::post(pool_, [this, alive, argv = *argv, timeout = options_.start_timeout_seconds,
                         where = options_.where, &io = io_] {
        auto spawned = std::make_shared<Result<SpawnedRelay>>(SpawnRelay(argv, timeout, where));
        asio::post(io, [this, alive, spawned] { OnRestarted(alive, spawned); });
      });
    });
  }

  void OnRestarted(const std::shared_ptr<bool>& alive,
                   const std::shared_ptr<Result<SpawnedRelay>>& spawned) {
    if (!*alive || stopped_) {
      // Shutting down (rare): the relay just started ends at once.
      if (spawned->ok()) Retire(*(*spawned)->ssh);
      return;
    }
    if (!spawned->ok()) {
      spdlog::warn("{}; trying again in {} s", spawned->status().message(), restart_delay_.count());
      ScheduleRestart();
      return;
    }
    restart_delay_ = kFirstRestartDelay;
    Attach(std::move(**spawned));
  }

  asio::io_context& io_;
  asio::thread_pool& pool_;
  const RelayLinkOptions options_;
  const ConnectionHandler handler_;
  HelloInfo address_;  // the first relay's: what the workers were told
  std::shared_ptr<Subprocess> ssh_;
  std::shared_ptr<MuxBridge> bridge_;
  std::unique_ptr<asio::posix::stream_descriptor> stderr_;
  std::shared_ptr<asio::streambuf> stderr_buffer_;
  asio::steady_timer restart_timer_;
  std::chrono::seconds restart_delay_ = kFirstRestartDelay;
  bool stopped_ = false;
  // Guards callbacks that may run after the link is gone (pool work posting back).
  std::shared_ptr<bool> alive_;
};

}  // namespace

std::unique_ptr<RelayLink> RelayLink::Create(asio::io_context& io, asio::thread_pool& pool,
                                             RelayLinkOptions options, ConnectionHandler handler) {
  return std::make_unique<RelayLinkImpl>(io, pool, std::move(options), std::move(handler));
}

}  // namespace codeswarm::relay
