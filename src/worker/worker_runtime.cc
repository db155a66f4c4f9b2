// `codeswarm worker`: one node of a swarm. Connects to the router's worker listener, proves
// itself with the swarm secret, acknowledges injections on receipt, runs them through the agent
// (TurnRunner, on its own thread) and streams the events back, resending whatever the router has
// not acknowledged after a reconnect. See docs/WORKER_PROTOCOL.md.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <deque>
#include <mutex>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/subprocess.h"
#include "protocol/line_framer.h"
#include "protocol/worker_protocol.h"
#include "worker/agent_settings.h"
#include "worker/outbox.h"
#include "worker/turn_runner.h"
#include "worker/worker_identity.h"
#include "worker/worker_main.h"

namespace codeswarm::worker {
namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

enum ExitCode {
  kExitOk = 0,
  kExitBadEnvironment = 2,
  kExitOrphaned = 3,
  kExitRejected = 4,
};

constexpr std::size_t kMaxLineBytes = 64 << 20;
constexpr auto kConnectTimeout = 10s;
constexpr auto kFinalAckWait = 2s;

class WorkerRuntime {
 public:
  WorkerRuntime(asio::io_context& io, WorkerIdentity identity)
      : io_(io), identity_(std::move(identity)), instance_(RandomHex(8)) {}

  ~WorkerRuntime() {
    if (shutdown_thread_.joinable()) shutdown_thread_.join();
  }

  void Start() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      // SIGUSR1 is what the Slurm batch script forwards as the walltime warning: a planned stop.
      // SIGTERM without the router's `shutdown` first comes from outside (scancel, preemption,
      // kill): the turns it cuts short failed.
      if (sig == SIGUSR1) {
        Stop("the job's time limit is near (SIGUSR1)", TurnOutcome::Status::kInterrupted, true);
      } else {
        Stop("worker terminated (" + SignalName(sig) + ")", TurnOutcome::Status::kFailed, true);
      }
    });
    asio::co_spawn(io_, Main(), asio::detached);
  }

  int exit_code() const { return exit_code_; }

 private:
  enum class ConnectionEnd { kLost, kRejected, kStopping };

  asio::awaitable<void> Main() {
    if (identity_.connect_delay_ms > 0) {
      co_await Sleep(std::chrono::milliseconds(identity_.connect_delay_ms));
    }
    auto last_contact = std::chrono::steady_clock::now();
    auto backoff = std::chrono::milliseconds(100);
    std::mt19937 rng(std::random_device{}());
    while (!stopping_) {
      bool welcomed = false;
      ConnectionEnd end = co_await RunConnection(&welcomed);
      if (end == ConnectionEnd::kRejected) {
        exit_code_ = kExitRejected;
        break;
      }
      if (welcomed) {
        last_contact = std::chrono::steady_clock::now();
        backoff = std::chrono::milliseconds(100);
      }
      if (stopping_) {
        // Stopped and now disconnected: there is no one left to wait for.
        Stop(stop_reason_, TurnOutcome::Status::kFailed, true);
        break;
      }
      if (std::chrono::steady_clock::now() - last_contact > FromSeconds(identity_.orphan_seconds)) {
        spdlog::error("router unreachable for more than {} s; giving up", identity_.orphan_seconds);
        exit_code_ = kExitOrphaned;
        Stop("router unreachable", TurnOutcome::Status::kFailed, true);
        break;
      }
      auto jitter = std::chrono::milliseconds(rng() % (backoff.count() / 2 + 1));
      co_await Sleep(backoff + jitter);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
    if (!stopping_) Stop("worker exiting", TurnOutcome::Status::kFailed, true);
  }

  asio::awaitable<void> Sleep(Duration d) {
    backoff_timer_.expires_after(d);
    boost::system::error_code ec;
    co_await backoff_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // One connection, from connect to its end.
  asio::awaitable<ConnectionEnd> RunConnection(bool* welcomed) {
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = co_await resolver.async_resolve(
        identity_.router_host, identity_.router_port,
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      spdlog::warn("cannot resolve router {}: {}", identity_.router_host, ec.message());
      co_return ConnectionEnd::kLost;
    }
    socket_ = std::make_unique<tcp::socket>(io_);
    asio::steady_timer connect_timer(io_, kConnectTimeout);
    connect_timer.async_wait([this](const boost::system::error_code& e) {
      if (!e && socket_ && !connected_) socket_->close();
    });
    co_await asio::async_connect(*socket_, endpoints,
                                 asio::redirect_error(asio::use_awaitable, ec));
    connect_timer.cancel();
    if (ec || !socket_->is_open()) {
      spdlog::debug("cannot connect to router {}:{}: {}", identity_.router_host,
                    identity_.router_port, ec ? ec.message() : "timed out");
      socket_.reset();
      co_return ConnectionEnd::kLost;
    }
    socket_->set_option(tcp::no_delay(true), ec);
    socket_->set_option(asio::socket_base::keep_alive(true), ec);
    connected_ = true;
    welcomed_ = false;
    write_queue_.clear();
    writing_ = false;
    last_heard_ = std::chrono::steady_clock::now();
    SendHello();
    StartHeartbeat();

    protocol::LineFramer framer(kMaxLineBytes);
    ConnectionEnd end = ConnectionEnd::kLost;
    while (socket_ && socket_->is_open()) {
      auto area = framer.Prepare(64 * 1024);
      std::size_t n = co_await socket_->async_read_some(
          asio::buffer(area.data(), area.size()), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!stopping_) spdlog::warn("connection to router lost: {}", ec.message());
        break;
      }
      framer.Commit(n);
      last_heard_ = std::chrono::steady_clock::now();
      bool rejected = false;
      while (auto item = framer.Next()) {
        if (item->kind == protocol::LineFramer::Item::Kind::kTooLong) {
          spdlog::error("router sent a line over {} bytes; reconnecting", kMaxLineBytes);
          break;
        }
        if (!HandleLine(item->line)) {
          rejected = true;
          break;
        }
      }
      if (rejected) {
        end = ConnectionEnd::kRejected;
        break;
      }
    }
    *welcomed = welcomed_;
    connected_ = false;
    welcomed_ = false;
    if (socket_) {
      socket_->close(ec);
      socket_.reset();
    }
    heartbeat_timer_.cancel();
    if (stopping_ && end != ConnectionEnd::kRejected) end = ConnectionEnd::kStopping;
    co_return end;
  }

  void SendHello() {
    protocol::Hello hello;
    hello.swarm_id = identity_.swarm_id;
    hello.node_id = identity_.node_id;
    hello.secret = identity_.secret;
    hello.instance = instance_;
    hello.pid = ::getpid();
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    hello.hostname = host;
    hello.version = CODESWARM_VERSION;
    hello.holding = held_;
    WriteLine(protocol::FormatMessage("hello", protocol::HelloToJson(hello)));
  }

  // Returns false when the router refused us for good.
  bool HandleLine(std::string_view line) {
    Result<protocol::WorkerLine> split = protocol::SplitWorkerLine(line);
    if (!split.ok()) {
      spdlog::warn("ignoring malformed line from router: {}", split.status().message());
      return true;
    }
    std::string_view verb = split->verb;
    if (verb == "reject") {
      Result<std::string> reason = protocol::ParseStringField(split->body, "reason");
      spdlog::error("router refused this worker: {}", reason.ok() ? *reason : "no reason given");
      return false;
    }
    if (verb == "welcome") return HandleWelcome(split->body);
    if (!welcomed_) {
      spdlog::warn("router sent {} before welcome; ignoring it", std::string(verb));
      return true;
    }
    if (verb == "inject") {
      HandleInject(split->body);
    } else if (verb == "ack") {
      Result<uint64_t> seq = protocol::ParseSeqField(split->body, "seq");
      if (seq.ok()) outbox_.Ack(*seq);
      if (final_ack_wait_ && outbox_.acked() >= outbox_.last_seq()) FinishShutdown();
    } else if (verb == "shutdown") {
      Result<std::string> reason = protocol::ParseStringField(split->body, "reason");
      Stop(reason.ok() ? *reason : "the router asked this worker to stop",
           TurnOutcome::Status::kInterrupted, false);
    } else if (verb == "interrupt") {
      Result<std::string> id = protocol::ParseStringField(split->body, "injection_id");
      if (id.ok() && runner_) runner_->Interrupt(*id);
    } else if (verb == "ping") {
      WriteLine("pong {}\n");
    } else if (verb == "pong") {
      // Any line is a sign of life.
    } else {
      spdlog::warn("ignoring unknown message \"{}\" from router", std::string(verb));
    }
    return true;
  }

  bool HandleWelcome(std::string_view body) {
    Result<protocol::Welcome> welcome = protocol::ParseWelcome(body);
    if (!welcome.ok()) {
      spdlog::error("cannot understand the router's welcome: {}", welcome.status().message());
      return false;
    }
    heartbeat_ = FromSeconds(welcome->heartbeat_seconds);
    timeout_ = FromSeconds(welcome->timeout_seconds);
    if (!runner_ && !stopping_) {
      json::error_code ec;
      json::value agent = json::parse(welcome->agent_json, ec);
      Result<AgentSettings> settings =
          ec || !agent.is_object() ? Result<AgentSettings>(Status::InvalidArgument("not an object"))
                                   : ParseAgentSettings(agent.as_object(), "agent");
      if (!settings.ok()) {
        spdlog::error("cannot use the agent settings the router sent: {}",
                      settings.status().message());
        return false;
      }
      AgentContext context;
      context.swarm_id = identity_.swarm_id;
      context.node_id = identity_.node_id;
      context.system_prompt = welcome->system_prompt;
      context.work_dir = std::filesystem::current_path().string();
      runner_ = std::make_unique<TurnRunner>(
          *settings, context,
          [this](const std::string& id, const std::string& event, std::string data) {
            QueueEvent(id, event, std::move(data));
          });
      runner_->Start();
      spdlog::info("swarm {} node {}: agent {} ready to start", identity_.swarm_id,
                   identity_.node_id, settings->kind);
    }
    welcomed_ = true;
    outbox_.Ack(welcome->ack_seq);
    outbox_.Rewind();
    FlushOutbox();
    spdlog::info("connected to router {}:{} (router has events up to {})", identity_.router_host,
                 identity_.router_port, welcome->ack_seq);
    return true;
  }

  void HandleInject(std::string_view body) {
    Result<protocol::Inject> inject = protocol::ParseInject(body);
    if (!inject.ok()) {
      spdlog::error("ignoring bad inject from router: {}", inject.status().message());
      return;
    }
    // Acknowledge every time (the router resends until it hears this), run only once.
    WriteLine(protocol::FormatMessage("received", json::object{{"injection_id", inject->injection_id}}));
    if (!seen_.insert(inject->injection_id).second) return;
    spdlog::debug("received injection {} ({} bytes)", inject->injection_id, inject->content.size());
    held_.push_back(inject->injection_id);
    runner_->Enqueue(TurnRequest{inject->injection_id, std::move(inject->content), ++turns_});
  }

  // Called on the agent thread. Wakes the loop only when the queue was empty: while an agent
  // streams, the loop takes many events per wakeup instead of one.
  void QueueEvent(const std::string& injection_id, const std::string& event, std::string data) {
    bool wake;
    {
      std::lock_guard lock(events_mu_);
      wake = events_.empty();
      events_.push_back(PendingEvent{injection_id, event, std::move(data)});
    }
    if (wake) asio::post(io_, [this] { TakeEvents(); });
  }

  void TakeEvents() {
    std::vector<PendingEvent> events;
    {
      std::lock_guard lock(events_mu_);
      events.swap(events_);
    }
    for (const PendingEvent& e : events) OnEvent(e.injection_id, e.event, e.data);
  }

  void OnEvent(const std::string& injection_id, const std::string& event, const std::string& data) {
    if (event != "assistant_delta") spdlog::debug("{} {}", injection_id, event);
    if (outbox_.Add(injection_id, event, data) == 0) {
      spdlog::warn("router not taking events; dropped an assistant_delta ({} dropped so far)",
                   outbox_.dropped());
    }
    if (event == "turn_complete") std::erase(held_, injection_id);
    // Events arrive one handler each; flushing once after those already queued turns a burst
    // into one write instead of a write per event.
    if (!flush_posted_) {
      flush_posted_ = true;
      asio::post(io_, [this] {
        flush_posted_ = false;
        FlushOutbox();
      });
    }
  }

  void FlushOutbox() {
    if (!connected_ || !welcomed_) return;
    std::string batch;
    while (const std::string* line = outbox_.NextUnsent()) {
      batch += *line;
      outbox_.MarkSent();
    }
    if (!batch.empty()) WriteLine(std::move(batch));
  }

  void WriteLine(std::string line) {
    if (!connected_) return;
    write_queue_.push_back(std::move(line));
    if (!writing_) WriteMore();
  }

  void WriteMore() {
    if (write_queue_.empty() || !socket_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    std::size_t count = std::min<std::size_t>(write_queue_.size(), 64);
    std::vector<asio::const_buffer> buffers;
    for (std::size_t i = 0; i < count; ++i) buffers.push_back(asio::buffer(write_queue_[i]));
    asio::async_write(*socket_, buffers,
                      [this, count](const boost::system::error_code& ec, std::size_t) {
                        if (ec) {
                          writing_ = false;
                          write_queue_.clear();
                          if (socket_) socket_->close();
                          return;
                        }
                        write_queue_.erase(write_queue_.begin(),
                                           write_queue_.begin() + static_cast<long>(count));
                        WriteMore();
                      });
  }

  void StartHeartbeat() {
    heartbeat_timer_.expires_after(heartbeat_);
    heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || !connected_) return;
      if (std::chrono::steady_clock::now() - last_heard_ > timeout_) {
        spdlog::warn("no sign of life from the router for {} s; reconnecting", ToSeconds(timeout_));
        if (socket_) socket_->close();
        return;
      }
      WriteLine("ping {}\n");
      StartHeartbeat();
    });
  }

  // Stops taking turns and ends the ones held with `ending` and `reason`. With `leave` (a signal,
  // the orphan timeout) the worker then says bye and exits. Without it (the router's `shutdown`
  // during a terminate) it reports `drained` and waits, connected, for the backend to stop it —
  // so a Slurm job is cancelled, not completed, and nothing is left for the kill to cut short.
  void Stop(const std::string& reason, TurnOutcome::Status ending, bool leave) {
    if (leave) leave_ = true;
    if (stopping_) {
      if (leave && runner_stopped_) Leave();
      return;
    }
    stopping_ = true;
    stop_reason_ = reason;
    spdlog::info("stopping: {}", reason);
    backoff_timer_.cancel();
    // Tell the router first, so it stops sending work here and says so to its clients.
    if (connected_ && welcomed_) {
      WriteLine(protocol::FormatMessage("draining", json::object{{"reason", reason}}));
    }
    if (!runner_) {
      OnRunnerStopped();
      return;
    }
    // Ending the running turn may take the agent a moment; the loop keeps serving meanwhile.
    shutdown_thread_ = std::thread([this, reason, ending] {
      runner_->Shutdown(reason, ending);
      asio::post(io_, [this] { OnRunnerStopped(); });
    });
  }

  void OnRunnerStopped() {
    runner_stopped_ = true;
    FlushOutbox();
    if (leave_ || !connected_ || !welcomed_) {
      Leave();
      return;
    }
    WriteLine("drained {}\n");
  }

  // Says bye after the last events, waits up to kFinalAckWait for the router's ack, exits.
  void Leave() {
    if (leaving_) return;
    leaving_ = true;
    if (!connected_ || !welcomed_) {
      FinishShutdown();
      return;
    }
    WriteLine(protocol::FormatMessage("bye", json::object{{"reason", stop_reason_}}));
    if (outbox_.acked() >= outbox_.last_seq()) {
      FinishShutdown();
      return;
    }
    final_ack_wait_ = true;
    final_timer_.expires_after(kFinalAckWait);
    final_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) FinishShutdown();
    });
  }

  void FinishShutdown() {
    if (finished_) return;
    finished_ = true;
    if (!outbox_.empty() && outbox_.acked() < outbox_.last_seq()) {
      spdlog::warn("exiting with {} events the router has not acknowledged",
                   outbox_.last_seq() - outbox_.acked());
    }
    io_.stop();
  }

  asio::io_context& io_;
  const WorkerIdentity identity_;
  const std::string instance_;
  asio::signal_set signals_{io_, SIGTERM, SIGINT, SIGUSR1};
  asio::steady_timer backoff_timer_{io_};
  asio::steady_timer heartbeat_timer_{io_};
  asio::steady_timer final_timer_{io_};
  std::unique_ptr<tcp::socket> socket_;
  bool connected_ = false;
  bool welcomed_ = false;
  std::deque<std::string> write_queue_;
  bool writing_ = false;
  SteadyTime last_heard_;
  Duration heartbeat_ = 5s;
  Duration timeout_ = 20s;

  Outbox outbox_;
  std::unique_ptr<TurnRunner> runner_;
  std::vector<std::string> held_;   // received, turn_complete not yet emitted, in order
  std::set<std::string> seen_;      // every injection id ever received
  int turns_ = 0;

  bool flush_posted_ = false;
  struct PendingEvent {
    std::string injection_id;
    std::string event;
    std::string data;
  };
  std::mutex events_mu_;
  std::vector<PendingEvent> events_;  // guarded by events_mu_: from the agent thread
  bool stopping_ = false;        // takes no more turns
  bool leave_ = false;           // exits once its turns have ended
  bool runner_stopped_ = false;  // every held turn has ended
  bool leaving_ = false;
  bool final_ack_wait_ = false;
  bool finished_ = false;
  std::string stop_reason_;
  std::thread shutdown_thread_;
  int exit_code_ = kExitOk;
};

// Kills and reaps every process still below this worker. As a child subreaper the worker
// inherits whatever its agent started and left behind (a tool's server, a login shell's
// background job), so nothing it ran outlives it.
void KillLeftovers() {
  std::vector<ProcessRef> left = DescendantsOf(::getpid());
  if (!left.empty()) spdlog::info("killing {} processes the agent left behind", left.size());
  KillProcesses(left);
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t reaped = ::waitpid(-1, nullptr, WNOHANG);
    if (reaped < 0) break;  // no children left
    if (reaped == 0) std::this_thread::sleep_for(10ms);
  }
}

}  // namespace

int RunWorker() {
  Result<WorkerIdentity> identity = ReadWorkerIdentity([](const char* name) { return std::getenv(name); });
  if (!identity.ok()) {
    std::fprintf(stderr, "codeswarm worker: %s\n", identity.status().message().c_str());
    return kExitBadEnvironment;
  }
  // The secret proves this worker to the router; the agent and the commands it runs must not
  // inherit it.
  ::unsetenv("CODESWARM_SECRET");
  std::string level = identity->log_level;
  if (Status s = InitLogging(level, "", "worker"); !s.ok()) {
    std::fprintf(stderr, "codeswarm worker: %s\n", s.message().c_str());
    return kExitBadEnvironment;
  }
  ::signal(SIGPIPE, SIG_IGN);
  spdlog::info("worker for swarm {} node {} starting; router {}:{}", identity->swarm_id,
               identity->node_id, identity->router_host, identity->router_port);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  int exit_code;
  {
    asio::io_context io;
    WorkerRuntime runtime(io, *identity);
    runtime.Start();
    io.run();
    exit_code = runtime.exit_code();
  }  // the agent is stopped here
  KillLeftovers();
  spdlog::info("worker exiting with code {}", exit_code);
  return exit_code;
}

}  // namespace codeswarm::worker
