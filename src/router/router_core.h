// RouterCore: the one authority on swarm state. It decides and records; the Asio layer
// (server.cc, sessions) only moves bytes, and providers only run backends. Everything here runs
// on the router's loop thread; blocking provider calls go through Executor::RunBlocking.
//
// The promise it keeps (docs/PROTOCOL.md): every command gets exactly one answer; every targeted
// node of an inject gets inject_ack, then inject_delivered or inject_failed; every delivered
// injection ends in exactly one turn_complete, whatever dies on the way.
#pragma once

#include <boost/json/fwd.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/agent_settings_validator.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/client_protocol.h"
#include "provider/cluster_provider.h"
#include "router/channels.h"
#include "router/event_emitter.h"
#include "router/router_metrics.h"
#include "common/executor.h"
#include "router/store.h"
#include "router/swarm.h"

namespace codeswarm::router {

struct RouterOptions {
  int max_nodes = 256;
  std::string backend = "local";
  // host:port the workers dial.
  std::string worker_address;
  // Where swarm directories go: <swarms_root>/<swarm_id>.
  std::string swarms_root;
  // The config's agent section (serialized object), merged under each launch's override.
  std::string default_agent_json = "{}";
  // Checks each launch's merged agent settings and names their kind. Required: unset, every
  // launch is rejected (main wires in the worker's ValidateAgentSettings).
  AgentSettingsValidator validate_agent;
  double heartbeat_seconds = 2;
  double worker_timeout_seconds = 5;
  // From a worker's last sign of life to its node being lost (docs/RELIABILITY.md, "A dead
  // worker's node is lost within a bound"): a node whose connection dropped has until then to
  // come back.
  double worker_lost_seconds = 10;
  double worker_orphan_seconds = 900;
  std::string worker_log_level = "info";
  // After a terminate, how long to wait for worker connections to close (so their own final
  // events arrive) before the router ends their turns itself.
  double terminate_drain_seconds = 2;
  // Event journal retention (docs/CONFIG_SCHEMA.md): events older than this, or beyond the
  // newest journal_max_bytes, are pruned, except those of unfinished turns of live swarms.
  double journal_retention_seconds = 7 * 86400;
  int64_t journal_max_bytes = int64_t{1} << 30;
  // While workers stream, their events are journaled (and then sent) at most this often; zero:
  // after every read.
  Duration journal_commit_interval = std::chrono::milliseconds(2);
  // While the journal cannot be written, worker events are held in memory up to about this many
  // bytes of event lines; beyond it they are left with the workers (docs/RELIABILITY.md).
  std::size_t storage_hold_bytes = std::size_t{16} << 20;
  // USD per million tokens per model (the config's `pricing`): usage events, status and the
  // metrics carry estimated costs of the models found here.
  PricingTable pricing = PricingTable::Defaults();
};

class RouterCore {
 public:
  // Borrows everything; all must outlive the core.
  RouterCore(RouterOptions options, Executor& executor, ClientChannel& clients, Store& store,
             provider::ClusterProvider& provider, const Clock& clock);
  ~RouterCore();
  RouterCore(const RouterCore&) = delete;
  RouterCore& operator=(const RouterCore&) = delete;

  // Loads the registry from the store and starts polling the provider (which reconciles the
  // loaded swarms with the backend). Fails only when the store cannot be read.
  Status Start();
  // Stops polling and timers. Swarms and workers keep running; a new router picks them up.
  void Shutdown();
  // Writes the event journal on `journal`'s pool (one thread: writes stay in order) instead of
  // on the loop, which then keeps reading workers while a batch is committed. Borrowed; must
  // outlive the core. Call before Start.
  void UseJournalThread(Executor& journal);

  // --- client sessions
  // A client connected: it gets every event broadcast from now on, held (ClientChannel) until
  // its first command, or kLiveJoinDelay if it sends none. A first `subscribe` drops what was
  // held and replays up to that moment instead, so the replay comes before anything live.
  // (A client the core never heard of here is treated as having got nothing live: a subscribe
  // replays up to the head.)
  void OnClientConnected(ClientId client);
  static constexpr Duration kLiveJoinDelay = std::chrono::milliseconds(100);
  void OnClientClosed(ClientId client);
  void OnClientLine(ClientId client, std::string_view line);
  void OnClientLineTooLong(ClientId client, std::size_t limit);

  // --- worker sessions
  // `proven_swarm`: the swarm whose key the connection's TLS handshake proved (hello must be
  // for it).
  void OnWorkerConnected(ConnId conn, WorkerConnection* link, std::string proven_swarm);
  void OnWorkerLine(ConnId conn, std::string_view line);
  // All lines of one read have been handled: acknowledge events.
  void OnWorkerBatchEnd(ConnId conn);
  void OnWorkerDisconnected(ConnId conn, std::string_view reason);

  // For tests and status: the swarm or null.
  const Swarm* FindSwarm(const std::string& swarm_id) const;

  // The router's metrics in the Prometheus text format (router_metrics.cc, docs/METRICS.md).
  std::string MetricsText() const;

 private:
  struct WorkerConnInfo {
    WorkerConnection* link = nullptr;
    std::string proven_swarm;  // whose key the handshake proved
    Swarm* swarm = nullptr;    // null until hello is accepted
    int node_id = -1;
    std::string bye_reason;  // set when the worker said bye
  };

  void DispatchClientLine(ClientId client, std::string_view line);
  // Puts a connected client on the live stream (once; later calls do nothing).
  void JoinLive(ClientId client, HeldLines held);
  // Commands (router_commands.cc).
  void HandleLaunch(ClientId client, const protocol::Command& command);
  void HandleInject(ClientId client, const protocol::Command& command);
  void HandleInterrupt(ClientId client, const protocol::Command& command);
  // The swarm of a command that acts on a live swarm, or null after rejecting the command.
  Swarm* LiveSwarmOrReject(ClientId client, const protocol::Command& command,
                           const std::string& swarm_id);
  void HandleList(ClientId client, const protocol::Command& command);
  void HandleStatus(ClientId client, const protocol::Command& command);
  void HandleTerminate(ClientId client, const protocol::Command& command);
  // Journal replay (router_journal.cc).
  void HandleSubscribe(ClientId client, const protocol::Command& command);
  void OnJournalFlushed(const std::vector<NodeMark>& marks);
  Status LoadNodeMarks();
  void SchedulePrune(Duration delay);
  void PruneJournal();
  static constexpr Duration kPruneInterval = std::chrono::seconds(60);
  static constexpr std::size_t kReplayPage = 1024;
  void Reject(ClientId client, const protocol::Rejection& rejection);
  void Reject(ClientId client, const protocol::Command& command, protocol::RejectCode code,
              std::string reason);
  void FinishLaunch(const std::string& swarm_id, const std::string& request_id, ClientId client,
                    Result<std::pair<std::string, provider::JobState>> launched);
  // A launch that did not succeed: the swarm is forgotten, its nodes' connections closed, the
  // launch rejected with `reason` (launch_failed) and terminates that waited answered.
  void AbandonLaunch(Swarm& swarm, const std::string& request_id, ClientId client,
                     const std::string& reason);
  // Stops a job no swarm keeps (in the background; a failure is logged).
  void CancelOrphanJob(const std::string& job_id);

  // Workers (router_workers.cc).
  void DispatchWorkerLine(ConnId conn, std::string_view line);
  void HandleHello(ConnId conn, WorkerConnInfo& info, std::string_view body);
  void HandleReceived(Swarm& swarm, Node& node, std::string_view body);
  void MarkDelivered(const Swarm& swarm, const Node& node, Delivery& delivery);
  // Sends the worker an ack for everything of it the journal holds, now or shortly.
  void ScheduleAck(const Swarm& swarm, Node& node);
  void AckNode(Node& node);
  static constexpr uint64_t kAckEveryEvents = 256;
  static constexpr Duration kAckDelay = std::chrono::milliseconds(20);
  void HandleEvent(Swarm& swarm, Node& node, std::string_view body);
  void HandleDraining(Swarm& swarm, Node& node, std::string_view body);
  void SendInject(Node& node, const Delivery& delivery);
  void ProtocolViolation(ConnId conn, WorkerConnInfo& info, const std::string& what);

  // What nodes owe, kept in the Store with the journal (router_deliveries.cc).
  void KeepDelivery(const Swarm& swarm, const Node& node, const Delivery& delivery);
  void ForgetDelivery(const Swarm& swarm, const Node& node, const std::string& injection_id);
  void KeepCounters(const Swarm& swarm, const Node& node);
  // On start: every node's unfinished injections and counters; injections of swarms that are
  // over are ended with the swarm's reason.
  Status LoadDeliveries();
  // A worker's first hello since this router started: ends the turns another worker process of
  // the node took, adopts what the worker holds that the store did not know, and returns the
  // ids of queued injections it holds already (they are not sent again).
  std::vector<std::string> TakeOverHeldInjections(const Swarm& swarm, Node& node,
                                                  const std::string& instance,
                                                  const std::vector<std::string>& holding);

  // Logs jobs the backend runs for this router that no swarm knows.
  void WarnAboutUnknownJobs();

  // Lifecycle (router_lifecycle.cc).
  void SchedulePoll(Duration delay);
  void Poll();
  void ApplyJobState(Swarm& swarm, const provider::JobState& state);
  // Stops the job; the swarm then ends as `final_status` with `reason`.
  void StartTermination(Swarm& swarm, SwarmStatus final_status = SwarmStatus::kTerminated,
                        const std::string& reason = "terminated by request");
  // Asks the provider to stop the job (once).
  void TerminateJob(Swarm& swarm);
  void FinishTermination(const std::string& swarm_id, Status terminated);
  void CompleteTermination(Swarm& swarm);
  // Ends the swarm: every node finalized with `reason`, status `status`.
  void EndSwarm(Swarm& swarm, SwarmStatus status, const std::string& reason);
  // Gives up on a node: queued injections fail, delivered turns end with `turn_status`.
  void LoseNode(Swarm& swarm, Node& node, NodeConn new_state, const std::string& reason,
                std::string_view turn_status);
  void DisconnectNode(Swarm& swarm, Node& node, const std::string& reason);
  // The node is lost worker_lost_seconds after its last sign of life unless its worker
  // connects again; `why` goes into the reason.
  void ExpectWorkerBack(Swarm& swarm, Node& node, const std::string& why);
  // After a restart: nodes of a running swarm that had a worker are disconnected until it
  // comes back, and lost like any other if it does not.
  void ExpectWorkersAfterRestart(Swarm& swarm);
  void SetStatus(Swarm& swarm, SwarmStatus status);
  void EmitSwarmUpdate(const Swarm& swarm);
  void EmitInjectFailed(const Swarm& swarm, Node& node, const Delivery& delivery,
                        const std::string& reason);
  void EmitTurnComplete(const Swarm& swarm, Node& node, const Delivery& delivery,
                        std::string_view status, const std::string& error);
  // Saves the swarm's record. A failure is logged and returned; only a launch acts on it (a job
  // the database does not hold would be forgotten by the next router): for the other changes
  // the backend stays the truth that a restarted router reconciles with.
  Status Persist(const Swarm& swarm);
  void CancelTimer(std::optional<TimerId>& timer);

  // Cost (router_cost.cc). A worker's usage event data with the estimated cost added; counts
  // the tokens and cost into the node and the metrics.
  std::string PriceUsage(const Swarm& swarm, Node& node, std::string_view usage_data);
  // The model's price, or null when the swarm's model has none.
  const ModelPrice* SwarmPrice(const Swarm& swarm) const;
  // Why a swarm's cost is unknown (its model has no price), for `cost_note`.
  std::string CostUnknownReason(const Swarm& swarm) const;
  // Adds model, cost_usd (a number, or null with cost_note) to a summary of `swarm`, or of one
  // of its nodes when `node` is set.
  void AddCostFields(const Swarm& swarm, const Node* node, boost::json::object& data) const;
  // A turn ended with `status`: counted, and its latency observed when its start is known.
  void CountTurnEnd(const Delivery* delivery, std::string_view status);

  // Event data helpers (router_commands.cc).
  boost::json::object SwarmSummary(const Swarm& swarm) const;
  boost::json::object NodeIds(const Swarm& swarm, const Node& node) const;

  Swarm* MutableSwarm(const std::string& swarm_id);

  // Storage failure (router_storage.cc): while the state database cannot be written, launch and
  // inject are refused, events are held, and the write is retried with backoff.
  bool StorageFailing() const { return storage_error_.has_value(); }
  // Rejects `command` (code storage_failing) while storage fails; returns whether it did.
  bool RejectWhileStorageFails(ClientId client, const protocol::Command& command);
  // A write to the state database failed: enters the failing state (once) and retries.
  void OnStorageFailed(const Status& error);
  void ScheduleStorageRetry();
  void RetryStorage();
  void OnStorageRecovered();
  // Whether a worker event from `node` is taken now. False while the journal fails and what is
  // held has reached options_.storage_hold_bytes: the event stays with the worker (no ack), and
  // the connection takes no more until the journal recovers and closes it, so that the worker
  // reconnects and resends in order.
  bool TakesWorkerEvent(const Node& node);
  std::string StorageFailureText() const;
  static constexpr Duration kStorageRetryFirst = std::chrono::seconds(1);
  static constexpr Duration kStorageRetryMax = std::chrono::seconds(5);

  const RouterOptions options_;
  Executor& executor_;
  Store& store_;
  provider::ClusterProvider& provider_;
  const Clock& clock_;
  EventEmitter events_;
  RouterMetrics metrics_;

  std::map<std::string, std::unique_ptr<Swarm>> swarms_;
  std::map<ConnId, WorkerConnInfo> worker_conns_;
  std::optional<TimerId> poll_timer_;
  std::optional<TimerId> prune_timer_;
  std::optional<TimerId> stream_flush_timer_;
  std::optional<SteadyTime> last_stream_flush_;
  // Per connected client: the last seq it will not get live (it gets every event after it).
  std::map<ClientId, uint64_t> live_after_;
  // Connected clients that have not joined the live stream yet, with their join timer.
  std::map<ClientId, TimerId> joining_;
  // Storage failure: the error while failing; swarms whose record could not be saved; worker
  // connections whose events were left with the worker.
  std::optional<Status> storage_error_;
  SteadyTime storage_failed_at_{};
  Duration storage_retry_delay_ = kStorageRetryFirst;
  std::optional<TimerId> storage_retry_timer_;
  std::set<std::string> unsaved_swarms_;
  std::set<ConnId> refused_conns_;
  bool poll_in_flight_ = false;
  // A worker connection dropped while a poll was under way: poll again as soon as it is done.
  bool poll_again_ = false;
  bool shut_down_ = false;
  // Guards callbacks that outlive the core (pool work finishing after shutdown).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace codeswarm::router
