// `codeswarm worker`: the Asio shell around WorkerCore. It owns the connection to the router
// (TlsRouterLink: TCP, then TLS 1.3 keyed by the swarm secret), the signals, the loop and the
// agent's leftovers; every decision is the core's.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <random>
#include <thread>

#include "common/asio_executor.h"
#include "common/channel_tls.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/subprocess.h"
#include "protocol/line_framer.h"
#include "worker/turn_runner.h"
#include "worker/worker_core.h"
#include "worker/worker_main.h"

namespace codeswarm::worker {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMaxLineBytes = 64 << 20;
constexpr std::size_t kReadChunk = 64 * 1024;
// Lines waiting for the socket. A router that stops reading costs the connection, never memory:
// the outbox keeps every unacknowledged event and resends it on the next connection.
constexpr std::size_t kMaxQueuedBytes = 64 << 20;

// One connection at a time to the router; each attempt ends in exactly one OnConnectFailed or
// (after OnConnected) one OnDisconnected, always reported from a completion handler. The core
// hears OnConnected only once the router has proven it holds the swarm's key: before that no
// byte of the peer reaches it.
class TlsRouterLink : public RouterLink {
 public:
  TlsRouterLink(asio::io_context& io, tls::ChannelTls& tls, std::string host, std::string port)
      : io_(io), tls_(tls), resolver_(io), host_(std::move(host)), port_(std::move(port)) {}

  void Bind(WorkerCore* core) { core_ = core; }

  void Connect() override {
    resolver_.async_resolve(host_, port_, [this](const boost::system::error_code& ec,
                                                 const tcp::resolver::results_type& endpoints) {
      if (ec) {
        core_->OnConnectFailed(ec == asio::error::operation_aborted
                                   ? "connection attempt cancelled"
                                   : "cannot resolve " + host_ + ": " + ec.message());
        return;
      }
      stream_.emplace(io_, tls_.context());
      asio::async_connect(stream_->next_layer(), endpoints,
                          [this](const boost::system::error_code& ec, const tcp::endpoint&) {
                            if (ec) {
                              stream_.reset();
                              core_->OnConnectFailed(ec.message());
                              return;
                            }
                            Handshake();
                          });
    });
  }

  void Send(std::string lines) override {
    if (!open_ || !stream_->next_layer().is_open()) return;
    if (queued_bytes_ > 0 && queued_bytes_ + lines.size() > kMaxQueuedBytes) {
      spdlog::warn("router is not reading ({} bytes waiting); reconnecting", queued_bytes_);
      Close();
      return;
    }
    queued_bytes_ += lines.size();
    queue_.push_back(std::move(lines));
    if (in_flight_ == 0) WriteMore();
  }

  void Disconnect() override {
    resolver_.cancel();
    Close();
  }

 private:
  void Handshake() {
    boost::system::error_code ignored;
    stream_->next_layer().set_option(tcp::no_delay(true), ignored);
    stream_->next_layer().set_option(asio::socket_base::keep_alive(true), ignored);
    stream_->async_handshake(asio::ssl::stream_base::client, [this](
                                                                 const boost::system::error_code& ec) {
      if (!ec && !tls::ChannelTls::UsedChannelKey(stream_->native_handle())) {
        spdlog::warn("the peer at {}:{} did not use this swarm's key; not trusting it", host_, port_);
        Failed("handshake without the swarm key");
        return;
      }
      if (ec) {
        // Someone else may be listening on the router's address (a squatter while the router
        // restarts): nothing of theirs is taken, and the worker keeps trying the address.
        spdlog::warn("refusing the peer at {}:{}: {}", host_, port_, tls::DescribeTlsError(ec));
        Failed(ec.message());
        return;
      }
      Opened();
    });
  }

  void Failed(const std::string& reason) {
    Close();
    stream_.reset();
    core_->OnConnectFailed(reason);
  }

  void Opened() {
    open_ = true;
    framer_.emplace(kMaxLineBytes);
    queue_.clear();
    queued_bytes_ = 0;
    in_flight_ = 0;
    core_->OnConnected();
    ReadMore();
  }

  void ReadMore() {
    if (!stream_->next_layer().is_open()) {
      Ended("connection closed by this worker");
      return;
    }
    auto area = framer_->Prepare(kReadChunk);
    stream_->async_read_some(
        asio::buffer(area.data(), area.size()),
        [this](const boost::system::error_code& ec, std::size_t n) {
          if (ec) {
            const bool closed =
                ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
            Ended(closed ? "closed by the router" : tls::DescribeTlsError(ec));
            return;
          }
          framer_->Commit(n);
          while (stream_->next_layer().is_open()) {
            std::optional<protocol::LineFramer::Item> item = framer_->Next();
            if (!item) break;
            if (item->kind == protocol::LineFramer::Item::Kind::kTooLong) {
              spdlog::error("router sent a line over {} bytes; reconnecting", kMaxLineBytes);
              Close();
              break;
            }
            core_->OnLine(item->line);
          }
          ReadMore();
        });
  }

  void WriteMore() {
    if (queue_.empty() || !open_ || !stream_->next_layer().is_open()) return;
    // One buffer per write: the SSL stream seals one buffer per record anyway, and the core
    // already batches what it sends.
    in_flight_ = 1;
    asio::async_write(*stream_, asio::buffer(queue_.front()),
                      [this](const boost::system::error_code& ec, std::size_t) {
                        if (ec) {
                          in_flight_ = 0;
                          Close();  // the read side reports the end
                          return;
                        }
                        for (std::size_t i = 0; i < in_flight_; ++i) {
                          queued_bytes_ -= queue_.front().size();
                          queue_.pop_front();
                        }
                        in_flight_ = 0;
                        WriteMore();
                      });
  }

  // Closes the TCP connection under the TLS stream (no close_notify: either side may vanish
  // anyway, and the core decides what an end means).
  void Close() {
    if (stream_ && stream_->next_layer().is_open()) {
      boost::system::error_code ignored;
      stream_->next_layer().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->next_layer().close(ignored);
    }
  }

  void Ended(const std::string& reason) {
    Close();
    open_ = false;
    queue_.clear();
    queued_bytes_ = 0;
    core_->OnDisconnected(reason);
  }

  asio::io_context& io_;
  tls::ChannelTls& tls_;
  tcp::resolver resolver_;
  const std::string host_;
  const std::string port_;
  WorkerCore* core_ = nullptr;
  // A stream per connection: an SSL stream cannot be reused after its connection ended.
  std::optional<asio::ssl::stream<tcp::socket>> stream_;
  bool open_ = false;  // handshake done, not ended
  std::optional<protocol::LineFramer> framer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_ = 0;  // entries at the front of queue_ being written
};

// Kills and reaps every process still below this worker. As a child subreaper the worker
// inherits whatever its agent started and left behind (a tool's server, a login shell's
// background job), so nothing it ran outlives it.
void KillLeftovers() {
  std::vector<ProcessRef> left = DescendantsOf(::getpid());
  if (!left.empty()) spdlog::info("killing {} processes the agent left behind", left.size());
  KillProcesses(left);
  const SystemClock& clock = SystemClock::Get();
  const SteadyTime deadline = clock.Now() + 2s;
  while (clock.Now() < deadline) {
    pid_t reaped = ::waitpid(-1, nullptr, WNOHANG);
    if (reaped < 0) break;  // no children left
    if (reaped == 0) std::this_thread::sleep_for(10ms);
  }
}

std::string HostName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

void WaitForSignals(asio::signal_set& signals, WorkerCore& core) {
  signals.async_wait([&signals, &core](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    core.OnSignal(signal_number);
    WaitForSignals(signals, core);
  });
}

}  // namespace

int RunWorker() {
  Result<WorkerIdentity> identity =
      ReadWorkerIdentity([](const char* name) { return std::getenv(name); });
  if (!identity.ok()) {
    std::fprintf(stderr, "codeswarm worker: %s\n", identity.status().message().c_str());
    return kExitBadEnvironment;
  }
  // The secret proves this worker to the router; the agent and the commands it runs must not
  // inherit it.
  ::unsetenv("CODESWARM_SECRET");
  if (Status s = InitLogging(identity->log_level, "", "worker"); !s.ok()) {
    std::fprintf(stderr, "codeswarm worker: %s\n", s.message().c_str());
    return kExitBadEnvironment;
  }
  ::signal(SIGPIPE, SIG_IGN);
  spdlog::info("worker for swarm {} node {} starting; router {}:{}", identity->swarm_id,
               identity->node_id, identity->router_host, identity->router_port);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  WorkerCoreOptions options;
  options.identity = *identity;
  options.instance = RandomHex(8);
  options.pid = ::getpid();
  options.hostname = HostName();
  options.version = CODESWARM_VERSION;
  options.work_dir = std::filesystem::current_path().string();
  options.backoff_seed = std::random_device{}();
  Result<std::unique_ptr<tls::ChannelTls>> channel_tls =
      tls::ChannelTls::ForWorker(identity->swarm_id, tls::ChannelKey(identity->secret));
  if (!channel_tls.ok()) {
    spdlog::error("{}", channel_tls.status().message());
    return kExitBadEnvironment;
  }

  int exit_code = kExitOk;
  {
    asio::io_context io;
    asio::thread_pool pool(1);  // ends the turns (a blocking call) while the loop serves
    AsioExecutor executor(io, pool);
    TlsRouterLink link(io, **channel_tls, identity->router_host, identity->router_port);
    WorkerCore core(std::move(options), link, executor, SystemClock::Get(), MakeTurnRunner,
                    [&](int code) {
                      exit_code = code;
                      io.stop();
                    });
    link.Bind(&core);
    asio::signal_set signals(io, SIGTERM, SIGINT, SIGUSR1);
    WaitForSignals(signals, core);
    core.Start();
    io.run();
    pool.join();
  }  // the agent is stopped here
  KillLeftovers();
  spdlog::info("worker exiting with code {}", exit_code);
  return exit_code;
}

}  // namespace codeswarm::worker
