// WorkerCore: the connection (connect, hello, welcome, heartbeats, reconnect) and how a worker
// stops. The turns are in worker_core_turns.cc.
#include "worker/worker_core.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>
#include <csignal>

#include "common/subprocess.h"
#include "protocol/worker_protocol.h"

namespace codeswarm::worker {
namespace json = boost::json;

WorkerCore::WorkerCore(WorkerCoreOptions options, RouterLink& link, Executor& executor,
                       const Clock& clock, TurnsMaker make_turns,
                       std::function<void(int)> finished)
    : options_(std::move(options)),
      link_(link),
      executor_(executor),
      clock_(clock),
      make_turns_(std::move(make_turns)),
      finished_(std::move(finished)),
      rng_(options_.backoff_seed) {}

WorkerCore::~WorkerCore() {
  // The turns' thread must be gone before the members it posts into.
  turns_.reset();
}

void WorkerCore::Start() {
  last_contact_ = clock_.Now();
  if (options_.identity.connect_delay_ms > 0) {
    reconnect_timer_ = executor_.RunAfter(
        std::chrono::milliseconds(options_.identity.connect_delay_ms), [this] {
          reconnect_timer_.reset();
          Connect();
        });
    return;
  }
  Connect();
}

void WorkerCore::Connect() {
  if (stop_state_ != StopState::kRunning || link_state_ != LinkState::kDown) return;
  link_state_ = LinkState::kConnecting;
  connect_timer_ = executor_.RunAfter(kConnectTimeout, [this] {
    connect_timer_.reset();
    if (link_state_ != LinkState::kConnecting) return;
    spdlog::debug("connecting to the router timed out");
    link_.Disconnect();
  });
  link_.Connect();
}

void WorkerCore::OnConnectFailed(std::string_view reason) {
  if (link_state_ != LinkState::kConnecting) return;
  spdlog::debug("cannot connect to router {}:{}: {}", options_.identity.router_host,
                options_.identity.router_port, reason);
  ConnectionEnded();
}

void WorkerCore::OnConnected() {
  if (link_state_ != LinkState::kConnecting) return;
  if (connect_timer_) executor_.Cancel(*std::exchange(connect_timer_, std::nullopt));
  link_state_ = LinkState::kHello;
  last_heard_ = clock_.Now();
  SendHello();
  Heartbeat();
}

void WorkerCore::OnDisconnected(std::string_view reason) {
  if (link_state_ == LinkState::kDown) return;
  if (stop_state_ == StopState::kRunning) spdlog::warn("connection to router lost: {}", reason);
  ConnectionEnded();
}

// Whatever ended the connection (or the attempt): reconnect, or stop for good.
void WorkerCore::ConnectionEnded() {
  if (link_state_ == LinkState::kWelcomed) {
    last_contact_ = clock_.Now();
    backoff_ = kFirstBackoff;
  }
  link_state_ = LinkState::kDown;
  CancelConnectionTimers();
  switch (stop_state_) {
    case StopState::kFinished:
      return;
    case StopState::kRunning:
      break;
    case StopState::kStopping:
      // The turns are still ending; with no one to report to, the worker leaves when they have.
      leave_ = true;
      return;
    case StopState::kDrained:
    case StopState::kLeaving:
      // There is no one left to wait for.
      Finish();
      return;
  }
  if (clock_.Now() - last_contact_ > FromSeconds(options_.identity.orphan_seconds)) {
    spdlog::error("router unreachable for more than {} s; giving up",
                  options_.identity.orphan_seconds);
    exit_code_ = kExitOrphaned;
    Stop("router unreachable", TurnOutcome::Status::kFailed, true);
    return;
  }
  ScheduleReconnect();
}

void WorkerCore::CancelConnectionTimers() {
  for (auto* timer : {&connect_timer_, &heartbeat_timer_}) {
    if (*timer) executor_.Cancel(*std::exchange(*timer, std::nullopt));
  }
}

void WorkerCore::ScheduleReconnect() {
  const auto backoff_ms = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_).count();
  const Duration jitter = std::chrono::milliseconds(rng_() % (backoff_ms / 2 + 1));
  reconnect_timer_ = executor_.RunAfter(backoff_ + jitter, [this] {
    reconnect_timer_.reset();
    Connect();
  });
  // The wait grows to one heartbeat interval (plus jitter) at most: the router gives up on a
  // node worker_lost_seconds after its last sign of life, and a worker that noticed its
  // connection go silent has about one heartbeat left for its tries (docs/CONFIG_SCHEMA.md).
  backoff_ = std::min(backoff_ * 2, std::clamp(heartbeat_, kFirstBackoff, kMaxBackoff));
}

void WorkerCore::SendHello() {
  protocol::Hello hello;
  hello.swarm_id = options_.identity.swarm_id;
  hello.node_id = options_.identity.node_id;
  hello.instance = options_.instance;
  hello.pid = options_.pid;
  hello.hostname = options_.hostname;
  hello.version = options_.version;
  hello.holding = held_;
  for (const auto& [approval_id, waiting] : approvals_) {
    hello.approvals.push_back({approval_id, waiting.injection_id, waiting.kind, waiting.subject});
  }
  Send(protocol::FormatMessage("hello", protocol::HelloToJson(hello)));
}

void WorkerCore::Send(std::string lines) {
  if (link_state_ == LinkState::kHello || link_state_ == LinkState::kWelcomed) {
    link_.Send(std::move(lines));
  }
}

void WorkerCore::Heartbeat() {
  heartbeat_timer_ = executor_.RunAfter(heartbeat_, [this] {
    heartbeat_timer_.reset();
    if (clock_.Now() - last_heard_ > timeout_) {
      spdlog::warn("no sign of life from the router for {} s; reconnecting", ToSeconds(timeout_));
      link_.Disconnect();
      return;
    }
    Send("ping {}\n");
    Heartbeat();
  });
}

void WorkerCore::OnLine(std::string_view line) {
  if (link_state_ != LinkState::kHello && link_state_ != LinkState::kWelcomed) return;
  last_heard_ = clock_.Now();
  if (HandleLine(line)) return;
  // Refused for good: no reconnect; end what is held and exit.
  exit_code_ = kExitRejected;
  link_state_ = LinkState::kDown;
  CancelConnectionTimers();
  link_.Disconnect();
  Stop("the router refused this worker", TurnOutcome::Status::kFailed, true);
}

bool WorkerCore::HandleLine(std::string_view line) {
  Result<protocol::WorkerLine> split = protocol::SplitWorkerLine(line);
  if (!split.ok()) {
    spdlog::warn("ignoring malformed line from router: {}", split.status().message());
    return true;
  }
  const std::string_view verb = split->verb;
  if (verb == "reject") {
    Result<std::string> reason = protocol::ParseStringField(split->body, "reason");
    spdlog::error("router refused this worker: {}", reason.ok() ? *reason : "no reason given");
    return false;
  }
  if (verb == "welcome") return HandleWelcome(split->body);
  if (link_state_ != LinkState::kWelcomed) {
    spdlog::warn("router sent {} before welcome; ignoring it", verb);
    return true;
  }
  if (verb == "inject") {
    HandleInject(split->body);
  } else if (verb == "ack") {
    HandleAck(split->body);
  } else if (verb == "shutdown") {
    Result<std::string> reason = protocol::ParseStringField(split->body, "reason");
    Stop(reason.ok() ? *reason : "the router asked this worker to stop",
         TurnOutcome::Status::kInterrupted, false);
  } else if (verb == "interrupt") {
    Result<std::string> id = protocol::ParseStringField(split->body, "injection_id");
    if (id.ok() && turns_) turns_->Interrupt(*id);
  } else if (verb == "approval_decide") {
    HandleApprovalDecide(split->body);
  } else if (verb == "ping") {
    Send("pong {}\n");
  } else if (verb != "pong") {  // a pong is only a sign of life
    spdlog::warn("ignoring unknown message \"{}\" from router", verb);
  }
  return true;
}

bool WorkerCore::HandleWelcome(std::string_view body) {
  Result<protocol::Welcome> welcome = protocol::ParseWelcome(body);
  if (!welcome.ok()) {
    spdlog::error("cannot understand the router's welcome: {}", welcome.status().message());
    return false;
  }
  heartbeat_ = FromSeconds(welcome->heartbeat_seconds);
  timeout_ = FromSeconds(welcome->timeout_seconds);
  if (!turns_ && stop_state_ == StopState::kRunning &&
      !MakeTurns(welcome->agent_json, welcome->system_prompt)) {
    return false;
  }
  link_state_ = LinkState::kWelcomed;
  outbox_.Ack(welcome->ack_seq);
  outbox_.Rewind();
  FlushOutbox();
  spdlog::info("connected to router {}:{} (router has events up to {})",
               options_.identity.router_host, options_.identity.router_port, welcome->ack_seq);
  return true;
}

void WorkerCore::OnSignal(int signal_number) {
  if (signal_number == SIGUSR1) {
    Stop("the job's time limit is near (SIGUSR1)", TurnOutcome::Status::kInterrupted, true);
  } else {
    Stop("worker terminated (" + SignalName(signal_number) + ")", TurnOutcome::Status::kFailed,
         true);
  }
}

void WorkerCore::Stop(const std::string& reason, TurnOutcome::Status ending, bool leave) {
  if (leave) leave_ = true;
  if (stop_state_ == StopState::kDrained && leave) Leave();
  if (stop_state_ != StopState::kRunning) return;
  stop_state_ = StopState::kStopping;
  stop_reason_ = reason;
  spdlog::info("stopping: {}", reason);
  if (reconnect_timer_) executor_.Cancel(*std::exchange(reconnect_timer_, std::nullopt));
  if (link_state_ == LinkState::kConnecting) link_.Disconnect();
  // Tell the router first, so it stops sending work here and says so to its clients.
  if (link_state_ == LinkState::kWelcomed) {
    Send(protocol::FormatMessage("draining", json::object{{"reason", reason}}));
  }
  if (!turns_) {
    OnTurnsStopped();
    return;
  }
  // Ending the running turn may take the agent a moment; the loop keeps serving meanwhile.
  Turns* turns = turns_.get();
  executor_.RunBlocking([turns, reason, ending] { turns->Shutdown(reason, ending); },
                        [this] { OnTurnsStopped(); });
}

void WorkerCore::OnTurnsStopped() {
  stop_state_ = StopState::kDrained;
  // The turns' last events (their turn_complete) are posted before this; take them first.
  TakeAgentEvents();
  FlushOutbox();
  if (leave_ || link_state_ != LinkState::kWelcomed) {
    Leave();
    return;
  }
  Send("drained {}\n");
}

// Says bye after the last events, waits up to kFinalAckWait for the router's ack, exits.
void WorkerCore::Leave() {
  if (stop_state_ == StopState::kLeaving || stop_state_ == StopState::kFinished) return;
  stop_state_ = StopState::kLeaving;
  if (link_state_ != LinkState::kWelcomed) {
    Finish();
    return;
  }
  Send(protocol::FormatMessage("bye", json::object{{"reason", stop_reason_}}));
  if (AllAcked()) {
    Finish();
    return;
  }
  final_ack_timer_ = executor_.RunAfter(kFinalAckWait, [this] {
    final_ack_timer_.reset();
    Finish();
  });
}

void WorkerCore::Finish() {
  if (stop_state_ == StopState::kFinished) return;
  stop_state_ = StopState::kFinished;
  for (auto* timer : {&reconnect_timer_, &connect_timer_, &heartbeat_timer_, &final_ack_timer_}) {
    if (*timer) executor_.Cancel(*std::exchange(*timer, std::nullopt));
  }
  for (const auto& [id, timer] : turn_timers_) executor_.Cancel(timer);
  turn_timers_.clear();
  for (const auto& [id, waiting] : approvals_) executor_.Cancel(waiting.timer);
  approvals_.clear();
  if (!AllAcked()) {
    spdlog::warn("exiting with {} events the router has not acknowledged",
                 outbox_.last_seq() - outbox_.acked());
  }
  finished_(exit_code_);
}

}  // namespace codeswarm::worker
