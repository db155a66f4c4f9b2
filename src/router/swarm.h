// The router's in-memory model of swarms, nodes and the injections each node owes an answer
// for. Owned and mutated only on the router's loop thread (by RouterCore).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/channels.h"
#include "common/clock.h"
#include "common/executor.h"

namespace codeswarm::router {

enum class SwarmStatus { kLaunching, kPending, kRunning, kTerminating, kTerminated, kEnded };
std::string_view SwarmStatusName(SwarmStatus status);
std::optional<SwarmStatus> ParseSwarmStatus(std::string_view name);
// Terminated or ended: takes no more injections, has no job.
bool IsFinal(SwarmStatus status);

enum class NodeConn { kWaiting, kConnected, kDisconnected, kLost, kExited };

// How far a swarm's termination has come (router_lifecycle.cc). Each step moves forward only,
// except that a failed provider call returns to kNone. Meaningful while the swarm is launching
// or terminating; once the swarm is final it no longer matters.
enum class TerminationState {
  // No termination asked for.
  kNone,
  // swarm_terminate arrived while the provider was still launching the job (there is no job id
  // yet); FinishLaunch starts the termination once the launch has answered.
  kRequestedWhileLaunching,
  // Status terminating: the connected workers were sent `shutdown` and the router waits until
  // each has drained (or gone), or until the drain time passes, before it stops the job, so the
  // backend's signals find no turn left to cut short.
  kDraining,
  // The provider is stopping the job (a blocking call on the pool). If it fails, the swarm goes
  // back to running, kNone, and the waiting swarm_terminate commands are rejected.
  kStoppingJob,
  // The provider has stopped the job. The router waits for the last worker connections to
  // close (they carry the workers' final events), or the drain time, then ends the swarm and
  // answers the waiting swarm_terminate commands.
  kJobStopped,
};

// One (injection, node): a prompt this node must either fail to receive (inject_failed) or answer
// with exactly one turn_complete. The Store keeps a copy of each (router_deliveries.cc), so one
// a router accepted outlives the router.
struct Delivery {
  enum class State {
    kQueued,     // acknowledged to the client; not yet confirmed received by the worker
    kDelivered,  // the worker said `received`
    kRunning,    // turn_started seen
  };
  std::string injection_id;
  std::string request_id;
  std::string content;
  State state = State::kQueued;
  // The seq of its inject_ack: the journal keeps everything from here while the turn is
  // unfinished. 0 when unknown (adopted from a worker after a restart): keep everything.
  uint64_t first_seq = 0;
  // The worker process (instance) that took it; empty while queued.
  std::string instance;
  // When the router accepted the inject (for the latency metric); unset when this router did
  // not (loaded from the store, adopted from a worker).
  std::optional<SteadyTime> accepted_at;
};

struct Node {
  int node_id = 0;
  NodeConn conn = NodeConn::kWaiting;
  ConnId conn_id = 0;                  // 0 when not connected
  WorkerConnection* link = nullptr;    // borrowed; valid while conn_id != 0
  std::string instance;                // worker process instance last seen
  uint64_t last_seq = 0;               // highest event seq received from `instance`
  uint64_t journaled_seq = 0;          // highest seq of `instance` the journal holds
  uint64_t acked_seq = 0;              // highest seq acknowledged to the worker (<= journaled)
  // The instance whose events the journal holds up to last_seq when this router started (a
  // worker that outlived the previous router); empty when none.
  std::string journal_instance;
  std::optional<TimerId> ack_timer;    // a pending acknowledgement
  std::deque<Delivery> deliveries;     // in injection order
  // While disconnected: gives up on the node worker_lost_seconds after its last sign of life.
  std::optional<TimerId> reconnect_timer;
  SteadyTime last_heard{};             // the last read from its worker (or the router's start)
  // Set when its worker process is known to be gone (the provider says it died, or it said
  // bye): why, for the node's end once its connection closes. Empty while it may live.
  std::string gone_reason;
  // Why it is disconnected, lost or exited (swarm_status shows it); empty otherwise.
  std::string state_reason;
  std::string draining;                // why the worker stopped taking turns; empty if it takes them
  bool drained = false;                // it has ended every turn it held and waits to be stopped
  std::string hostname;
  int64_t pid = 0;
  int turns_completed = 0;
  int64_t total_tokens = 0;
  // Estimated USD of its usage events (meaningful when the swarm's model has a price).
  double cost_usd = 0;
  // `"swarm_id":"…","job_id":"…","node_id":N`: the id fields every event of this node starts with.
  std::string ids_json;

  // Injections whose turn ended here (the worker's turn_complete, or an ending the router wrote
  // itself), newest last, at most kRememberFinished of them: later events of these are dropped,
  // while events of an injection this router never heard of (a turn a previous router
  // delivered, still streaming) are taken.
  static constexpr std::size_t kRememberFinished = 1024;
  std::deque<std::string> finished;
  void RememberFinished(const std::string& injection_id);
  bool Finished(std::string_view injection_id) const;

  Delivery* FindDelivery(std::string_view injection_id);
  // "waiting", "idle", "busy", "draining", "disconnected", "lost", "exited".
  std::string_view StateName() const;
};

struct Swarm {
  std::string swarm_id;
  std::string job_id;
  std::string backend;
  std::string secret;
  std::string system_prompt;
  std::string agent_json;  // merged agent settings sent to every worker
  std::string agent_kind;
  // The model its agent settings name; empty when they leave it to the agent's default.
  std::string model;
  int node_count = 0;
  SwarmStatus status = SwarmStatus::kLaunching;
  std::string backend_state;
  std::string reason;
  int64_t created_ms = 0;
  int64_t ended_ms = 0;
  std::vector<Node> nodes;
  // swarm_terminate commands waiting for the termination to finish.
  struct TerminateWaiter {
    ClientId client = 0;
    std::string request_id;
  };
  std::vector<TerminateWaiter> terminate_waiters;
  TerminationState termination = TerminationState::kNone;
  // How the swarm ends once its termination completes.
  SwarmStatus terminate_status = SwarmStatus::kTerminated;
  std::string terminate_reason;
  std::optional<TimerId> terminate_timer;
  // The backend reports each worker process's state (local does, Slurm does not): a dropped
  // connection is worth a look at once, since a dead process explains it.
  bool process_state_known = false;

  int ConnectedCount() const;
  // Every connected node has drained (after a `shutdown`): the job can be stopped.
  bool AllConnectedDrained() const;
  // Recomputes every node's ids_json (after job_id is known).
  void RefreshIds();
};

}  // namespace codeswarm::router
