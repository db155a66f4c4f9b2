// The worker's state and decisions, with no I/O: connecting and reconnecting with backoff, hello
// and welcome, injections acknowledged on receipt and queued as turns, the outbox of runtime
// events resent after a reconnect until the router acknowledges them, heartbeats, and the ways a
// worker stops (the router's shutdown, a signal, the orphan timeout, a refusal). The Asio shell
// (worker_runtime.cc) owns the socket, the signals and the loop; tests drive this class by hand.
// See docs/WORKER_PROTOCOL.md.
//
// Threading: every method runs on the loop thread (the executor's), except the events the turns
// emit, which may come from any thread and are posted to the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/executor.h"
#include "worker/agent.h"
#include "worker/turns.h"
#include "worker/outbox.h"
#include "worker/worker_identity.h"

namespace codeswarm::worker {

// The worker process's exit codes.
enum ExitCode {
  kExitOk = 0,
  kExitBadEnvironment = 2,
  kExitOrphaned = 3,
  kExitRejected = 4,
};

// The connection to the router, as the core sees it.
class RouterLink {
 public:
  virtual ~RouterLink() = default;
  // Starts one attempt to connect. The core then hears OnConnected or OnConnectFailed, and after
  // OnConnected exactly one OnDisconnected.
  virtual void Connect() = 0;
  // Queues complete lines (newlines included) on the current connection; dropped when there is
  // none.
  virtual void Send(std::string lines) = 0;
  // Closes the current connection (or attempt); the core hears its end as above.
  virtual void Disconnect() = 0;
};

struct WorkerCoreOptions {
  WorkerIdentity identity;
  std::string instance;  // differs for every worker process
  int64_t pid = 0;
  std::string hostname;
  std::string version;
  std::string work_dir;
  uint32_t backoff_seed = 0;  // jitter of the reconnect backoff
};

class WorkerCore {
 public:
  static constexpr Duration kConnectTimeout = std::chrono::seconds(10);
  static constexpr Duration kFinalAckWait = std::chrono::seconds(2);
  static constexpr Duration kFirstBackoff = std::chrono::milliseconds(100);
  // The reconnect backoff doubles up to the router's heartbeat interval, never beyond this.
  static constexpr Duration kMaxBackoff = std::chrono::seconds(5);

  // Borrows link, executor and clock: they outlive the core. `finished` is called once, on the
  // loop thread, with the exit code when the worker is done.
  WorkerCore(WorkerCoreOptions options, RouterLink& link, Executor& executor, const Clock& clock,
             TurnsMaker make_turns, std::function<void(int exit_code)> finished);
  ~WorkerCore();
  WorkerCore(const WorkerCore&) = delete;
  WorkerCore& operator=(const WorkerCore&) = delete;

  // Connects (after the identity's connect delay).
  void Start();

  // From the link.
  void OnConnected();
  void OnConnectFailed(std::string_view reason);
  void OnLine(std::string_view line);
  void OnDisconnected(std::string_view reason);

  // SIGUSR1 (the walltime warning the batch script forwards) drains: turns end interrupted.
  // SIGTERM/SIGINT without the router's `shutdown` first come from outside (scancel, kill):
  // the turns they cut short failed. Either way the worker then leaves.
  void OnSignal(int signal_number);

  // For tests and logs.
  bool connected() const { return link_state_ != LinkState::kDown; }
  bool welcomed() const { return link_state_ == LinkState::kWelcomed; }
  const Outbox& outbox() const { return outbox_; }
  const std::vector<std::string>& held() const { return held_; }
  // Approval requests waiting for a person, by approval id (their injection).
  std::map<std::string, std::string> pending_approvals() const;

 private:
  enum class LinkState {
    kDown,        // no connection; a reconnect may be scheduled
    kConnecting,  // an attempt is under way
    kHello,       // connected, hello sent, no welcome yet: nothing but welcome is taken
    kWelcomed,    // the router accepted us: events flow
  };
  enum class StopState {
    kRunning,   // takes turns
    kStopping,  // takes no more turns; the held ones are being ended
    kDrained,   // every turn ended; waits, connected, for the backend to stop the process
    kLeaving,   // said bye; waits for the router to acknowledge the last events
    kFinished,  // done; `finished_` has been called
  };

  void Connect();
  void ScheduleReconnect();
  void ConnectionEnded();
  void CancelConnectionTimers();
  void SendHello();
  void Send(std::string lines);
  void Heartbeat();
  // Returns false when the router refused this worker for good.
  bool HandleLine(std::string_view line);
  bool HandleWelcome(std::string_view body);
  bool MakeTurns(std::string_view agent_json, std::string_view system_prompt);
  void HandleInject(std::string_view body);
  void HandleAck(std::string_view body);
  // A person's decision the router forwards (approval_decide).
  void HandleApprovalDecide(std::string_view body);
  // Tracks approval_request / approval events: the timeout of each request, and what hello lists.
  void TrackApproval(const std::string& injection_id, const std::string& event,
                     const std::string& data);
  void TakeAgentEvents();
  void OnAgentEvent(const std::string& injection_id, const std::string& event,
                    const std::string& data);
  void FlushOutbox();
  // Stops taking turns and ends the held ones with `ending` and `reason`. With `leave` (a signal,
  // the orphan timeout, a refusal) the worker then says bye and exits. Without it (the router's
  // `shutdown` during a terminate) it reports `drained` and waits, connected, for the backend to
  // stop it — so a Slurm job is cancelled, not completed, and nothing is left for the kill to cut
  // short.
  void Stop(const std::string& reason, TurnOutcome::Status ending, bool leave);
  void OnTurnsStopped();
  void Leave();
  void Finish();
  bool AllAcked() const { return outbox_.acked() >= outbox_.last_seq(); }

  const WorkerCoreOptions options_;
  RouterLink& link_;
  Executor& executor_;
  const Clock& clock_;
  const TurnsMaker make_turns_;
  const std::function<void(int)> finished_;

  LinkState link_state_ = LinkState::kDown;
  StopState stop_state_ = StopState::kRunning;
  bool leave_ = false;  // exit once the turns have ended (else drain and wait)
  std::string stop_reason_;
  int exit_code_ = kExitOk;

  SteadyTime last_contact_;  // last time a router welcomed us (or start)
  SteadyTime last_heard_;    // last line on this connection
  Duration backoff_ = kFirstBackoff;
  std::mt19937 rng_;
  Duration heartbeat_ = std::chrono::seconds(5);
  Duration timeout_ = std::chrono::seconds(20);
  std::optional<TimerId> reconnect_timer_;
  std::optional<TimerId> connect_timer_;
  std::optional<TimerId> heartbeat_timer_;
  std::optional<TimerId> final_ack_timer_;

  Outbox outbox_;
  std::unique_ptr<Turns> turns_;
  Duration turn_timeout_{0};
  std::map<std::string, TimerId> turn_timers_;  // running turns with a time limit
  Duration approval_timeout_ = std::chrono::seconds(300);
  struct WaitingApproval {
    std::string injection_id;
    std::string kind;
    std::string subject;
    TimerId timer;  // declines it when no one decided in time
  };
  std::map<std::string, WaitingApproval> approvals_;  // by approval id
  std::vector<std::string> held_;  // received, turn_complete not yet emitted, in order
  std::set<std::string> seen_;     // every injection id ever received
  int turn_count_ = 0;
  bool flush_posted_ = false;

  struct AgentEvent {
    std::string injection_id;
    std::string event;
    std::string data;
  };
  std::mutex agent_events_mu_;
  std::vector<AgentEvent> agent_events_;  // guarded by agent_events_mu_: from the agent thread
};

}  // namespace codeswarm::worker
