// `codeswarm router`: wires the Asio listeners, sessions, executor, store and provider around
// the RouterCore and runs the loop until SIGTERM/SIGINT.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <malloc.h>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "common/logging.h"
#include "common/asio_executor.h"
#include "common/channel_tls.h"
#include "router/client_session.h"
#include "router/http_server.h"
#include "router/peer_credentials.h"
#include "router/router_core.h"
#include "router/router_main.h"
#include "router/worker_relay.h"
#include "router/worker_session.h"

namespace codeswarm::router {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr int kProviderThreads = 4;

// Holds an exclusive lock on <state_dir>/router.lock for the life of the router, so two routers
// never share (and corrupt) one registry.
class StateDirLock {
 public:
  static Result<std::unique_ptr<StateDirLock>> Acquire(const std::string& state_dir) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) return Status::IoError("cannot create state directory " + state_dir + ": " + ec.message());
    ::chmod(state_dir.c_str(), 0700);
    std::string path = state_dir + "/router.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {};
      ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      std::string who = n > 0 ? " (pid " + std::string(pid, static_cast<std::size_t>(n)) + ")" : "";
      return Status::AlreadyExists("another codeswarm router" + who +
                                   " is already using the state directory " + state_dir);
    }
    std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
    auto lock = std::make_unique<StateDirLock>();
    lock->fd_ = fd;
    return lock;
  }
  ~StateDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

Result<tcp::endpoint> Resolve(asio::io_context& io, const std::string& host, int port) {
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument("cannot resolve listen address " + host + ": " + ec.message());
  }
  return results.begin()->endpoint();
}

Status Listen(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, const std::string& what) {
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) {
    ::fcntl(acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
    return Status::Ok();
  }
  std::string address = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  if (ec == asio::error::address_in_use) {
    return Status::AlreadyExists("cannot listen for " + what + " on " + address +
                                 ": address already in use (is another codeswarm router "
                                 "running there? `codeswarm list` talks to it)");
  }
  return Status::IoError("cannot listen for " + what + " on " + address + ": " + ec.message());
}

class Server {
 public:
  // Borrows all three; they must outlive the server.
  Server(const Config& config, const RouterRunOptions& run_options, const Clock& clock)
      : config_(config), run_options_(run_options), clock_(clock), hub_(io_) {}

  Status Init() {
    auto client_ep = Resolve(io_, config_.router.host, config_.router.port);
    if (!client_ep.ok()) return client_ep.status();
    auto worker_ep = Resolve(io_, config_.router.worker_host, config_.router.worker_port);
    if (!worker_ep.ok()) return worker_ep.status();
    CODESWARM_RETURN_IF_ERROR(Listen(client_acceptor_, *client_ep, "clients"));
    // Through the relay, workers have no way to this machine: no listener for them at all.
    const bool relayed = config_.cluster.slurm.connect == "relay";
    if (!relayed) CODESWARM_RETURN_IF_ERROR(Listen(worker_acceptor_, *worker_ep, "workers"));

    auto store = OpenSqliteStore(config_.router.state_dir + "/router.db");
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    auto provider = run_options_.make_provider(config_);
    if (!provider.ok()) return provider.status();
    provider_ = std::move(*provider);

    RouterOptions options;
    options.max_nodes = config_.router.max_nodes;
    options.backend = config_.cluster.backend;
    if (relayed) {
      auto relay = StartWorkerRelay(
          io_, pool_, config_, run_options_.login_command, run_options_.relay_binary,
          [this](int fd, const std::string& peer) { ServeRelayedWorker(fd, peer); });
      if (!relay.ok()) return relay.status();
      relay_ = std::move(relay->link);
      options.worker_address = relay->worker_address;
    } else {
      options.worker_address = config_.WorkerAdvertiseHost() + ":" +
                               std::to_string(worker_acceptor_.local_endpoint().port());
    }
    options.swarms_root = config_.SwarmsRoot();
    options.default_agent_json = config_.agent_json;
    options.validate_agent = run_options_.validate_agent;
    options.pricing = config_.pricing;
    options.heartbeat_seconds = config_.router.heartbeat_seconds;
    options.worker_timeout_seconds = config_.router.worker_timeout_seconds;
    options.worker_lost_seconds = config_.router.worker_lost_seconds;
    options.worker_orphan_seconds = config_.router.worker_orphan_seconds;
    options.worker_log_level = config_.router.log_level;
    options.journal_retention_seconds = config_.router.journal_retention_seconds;
    options.journal_max_bytes = config_.router.journal_max_bytes;
    executor_ = std::make_unique<AsioExecutor>(io_, pool_);
    journal_executor_ = std::make_unique<AsioExecutor>(io_, journal_pool_);
    core_ = std::make_unique<RouterCore>(options, *executor_, hub_, *store_, *provider_, clock_);
    core_->UseJournalThread(*journal_executor_);
    CODESWARM_RETURN_IF_ERROR(core_->Start());
    // A worker proves the key of the swarm it names in its handshake; hello must then be for
    // that swarm (RouterCore::HandleHello).
    auto tls = tls::ChannelTls::ForRouter(
        [this](std::string_view swarm_id) -> std::optional<std::string> {
          const Swarm* swarm = core_->FindSwarm(std::string(swarm_id));
          if (swarm == nullptr) return std::nullopt;
          return tls::ChannelKey(swarm->secret);
        });
    if (!tls.ok()) return tls.status();
    worker_tls_ = std::move(*tls);
    StartWebPort();
    const std::string workers_on =
        relayed ? "the relay" : config_.router.worker_host + ":" +
                                    std::to_string(worker_acceptor_.local_endpoint().port());
    spdlog::info("codeswarm router {} listening for clients on {}:{} and workers on {} "
                 "(workers dial {}); backend {}; state in {}",
                 CODESWARM_VERSION, config_.router.host, client_acceptor_.local_endpoint().port(),
                 workers_on, options.worker_address, config_.cluster.backend,
                 config_.router.state_dir);
    return Status::Ok();
  }

  void Run() {
    AcceptClient();
    if (!relay_) AcceptWorker();
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (!ec) Stop(sig);
    });
    io_.run();
    pool_.join();  // provider calls in flight finish; their results are dropped
    journal_pool_.join();  // so does a journal write
  }

 private:
  // On a shared machine anyone can connect to a loopback port; only our own user (or root) may
  // command this router unless the config says otherwise. Returns why a connection is refused.
  std::optional<std::string> RefusalFor(tcp::socket& socket) {
    if (config_.router.allow_other_users) return std::nullopt;
    boost::system::error_code ec;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    tcp::endpoint self = socket.local_endpoint(ec);
    if (ec) return "cannot tell who is connecting: " + ec.message();
    std::optional<uid_t> uid = LoopbackPeerUid(peer.data(), self.data());
    if (!uid) {
      return "connection from " + peer.address().to_string() +
             " refused: this router only takes commands from its own user on this machine "
             "(set router.allow_other_users to accept others)";
    }
    if (*uid == ::geteuid() || *uid == 0) return std::nullopt;
    return "connection from uid " + std::to_string(*uid) + " refused: this router belongs to uid " +
           std::to_string(::geteuid()) +
           " and only takes commands from its own user (set router.allow_other_users to accept "
           "others)";
  }

  // The web UI is an extra: when its port is taken the router still serves clients and
  // workers, and says why the page is missing.
  void StartWebPort() {
    if (config_.router.http_port == 0) return;
    tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"),
                           static_cast<unsigned short>(config_.router.http_port));
    HttpLimits limits;
    limits.client = Limits();
    limits.client.channel.peer_name = "web client";
    auto http = HttpServer::Listen(
        io_, endpoint, *core_, hub_, limits, clock_,
        [this](tcp::socket& socket) { return RefusalFor(socket); },
        [this] { return next_client_id_++; });
    if (!http.ok()) {
      spdlog::error("{}; the router runs without it", http.status().message());
      return;
    }
    http_ = std::move(*http);
    http_->ServeMetrics([this] { return core_->MetricsText(); });
    http_->Start();
    spdlog::info("web UI at http://127.0.0.1:{}/", http_->port());
  }

  ClientLimits Limits() const {
    ClientLimits limits;
    limits.channel.max_line_bytes = static_cast<std::size_t>(config_.router.max_line_bytes);
    limits.channel.queue_bytes = static_cast<std::size_t>(config_.router.client_queue_bytes);
    limits.channel.write_timeout = FromSeconds(config_.router.client_write_timeout_seconds);
    limits.slow_client_grace_seconds = config_.router.slow_client_grace_seconds;
    return limits;
  }

  void AcceptClient() {
    client_acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (stopping_) return;
      if (!ec) {
        if (std::optional<std::string> refusal = RefusalFor(socket)) {
          spdlog::warn("{}", *refusal);
          std::string line = ClosingLine(clock_, *refusal);
          boost::system::error_code ignored;
          asio::write(socket, asio::buffer(line), ignored);  // small: fits the socket buffer
          socket.close(ignored);
          AcceptClient();
          return;
        }
        ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
        // Events are small and must leave at once: Nagle plus the client's delayed ACK would
        // hold each one back by up to 40 ms.
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto session = std::make_shared<ClientSession>(std::move(socket), next_client_id_++,
                                                       *core_, hub_, Limits(), clock_);
        core_->OnClientConnected(session->id());
        hub_.Add(session);
        session->Start();
      } else {
        spdlog::warn("accepting a client failed: {}", ec.message());
      }
      AcceptClient();
    });
  }

  void AcceptWorker() {
    worker_acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (stopping_) return;
      if (!ec) {
        ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        socket.set_option(asio::socket_base::keep_alive(true), ignored);
        StartWorkerSession(std::move(socket), "");
      } else {
        spdlog::warn("accepting a worker failed: {}", ec.message());
      }
      AcceptWorker();
    });
  }

  // `peer` empty: the socket's own address names it.
  void StartWorkerSession(tcp::socket socket, const std::string& peer) {
    WorkerLimits limits;
    limits.heartbeat_seconds = config_.router.heartbeat_seconds;
    limits.timeout_seconds = config_.router.worker_timeout_seconds;
    limits.channel.write_timeout = FromSeconds(config_.router.worker_write_timeout_seconds);
    auto session = std::make_shared<WorkerSession>(std::move(socket), worker_tls_->context(),
                                                   next_conn_id_++, *core_, workers_, limits,
                                                   clock_);
    if (!peer.empty()) session->set_peer(peer);
    session->Start();
  }

  // A worker connection carried by the relay: a local stream socket (one end of a socketpair)
  // that the session treats like an accepted TCP socket.
  void ServeRelayedWorker(int fd, const std::string& peer) {
    if (stopping_) {
      ::close(fd);
      return;
    }
    tcp::socket socket(io_);
    boost::system::error_code ec;
    socket.assign(tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
      spdlog::warn("cannot serve the worker connection from {}: {}", peer, ec.message());
      return;
    }
    StartWorkerSession(std::move(socket), peer);
  }

  void Stop(int sig) {
    spdlog::info("received signal {}; shutting down (swarms and workers keep running)", sig);
    stopping_ = true;
    boost::system::error_code ignored;
    client_acceptor_.close(ignored);
    worker_acceptor_.close(ignored);
    if (http_) http_->Stop();
    if (relay_) relay_->Stop();
    core_->Shutdown();
    hub_.CloseAll("the router is shutting down");
    workers_.AbortAll();
    // Give clients a moment to take their last line, then stop whatever is left.
    stop_timer_.expires_after(std::chrono::milliseconds(500));
    stop_timer_.async_wait([this](const boost::system::error_code&) { io_.stop(); });
  }

  const Config& config_;
  const RouterRunOptions& run_options_;
  const Clock& clock_;
  asio::io_context io_;
  asio::thread_pool pool_{kProviderThreads};
  asio::thread_pool journal_pool_{1};  // the event journal's writes, one at a time
  tcp::acceptor client_acceptor_{io_};
  tcp::acceptor worker_acceptor_{io_};
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  asio::steady_timer stop_timer_{io_};
  ClientHub hub_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<provider::ClusterProvider> provider_;
  std::unique_ptr<AsioExecutor> executor_;
  std::unique_ptr<AsioExecutor> journal_executor_;
  std::unique_ptr<RouterCore> core_;
  std::unique_ptr<tls::ChannelTls> worker_tls_;  // outlives every worker session
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<relay::RelayLink> relay_;      // cluster.slurm.connect "relay" only
  WorkerSessions workers_;
  ClientId next_client_id_ = 1;
  ConnId next_conn_id_ = 1;
  bool stopping_ = false;
};

}  // namespace

int RunRouter(const Config& config, const RouterRunOptions& options) {
  auto lock = StateDirLock::Acquire(config.router.state_dir);
  std::string log_file = options.log_to_file ? config.router.state_dir + "/router.log" : "";
  if (Status s = InitLogging(config.router.log_level, log_file, "router"); !s.ok()) {
    std::fprintf(stderr, "codeswarm router: %s\n", s.message().c_str());
    return 1;
  }
  if (!lock.ok()) {
    spdlog::error("{}", lock.status().message());
    if (options.log_to_file) std::fprintf(stderr, "codeswarm router: %s\n", lock.status().message().c_str());
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  // Event batches of a streaming swarm are megabytes, allocated and freed many times a second:
  // take them from the heap and keep it, rather than mapping fresh pages (and faulting them in)
  // for each one. A few tens of MB stay with the router after a burst.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 128 << 20);
  spdlog::info("using configuration from {}", config.source);
  if (!options.make_provider || !options.validate_agent) {
    spdlog::error("cannot start: this build wires no provider factory or agent validator");
    return 1;
  }
  Server server(config, options, SystemClock::Get());
  if (Status s = server.Init(); !s.ok()) {
    spdlog::error("cannot start: {}", s.message());
    if (options.log_to_file) std::fprintf(stderr, "codeswarm router: %s\n", s.message().c_str());
    return 1;
  }
  server.Run();
  spdlog::info("router stopped");
  return 0;
}

}  // namespace codeswarm::router
