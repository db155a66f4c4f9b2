// RouterCore: swarm and node lifecycle — polling the backend, losing nodes, termination.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "protocol/worker_protocol.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace json = boost::json;

namespace {

std::string Seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

// The provider's "killed by signal 9 (SIGKILL)", "exit code 3", "exited", as a clause.
std::string WorkerProcessEnded(const std::string& detail) {
  if (detail.starts_with("exit code")) return "worker process ended with " + detail;
  return "worker process " + (detail.empty() ? std::string("ended") : detail);
}

}  // namespace

void RouterCore::SchedulePoll(Duration delay) {
  if (shut_down_) return;
  CancelTimer(poll_timer_);
  poll_timer_ = executor_.RunAfter(delay, [this] {
    poll_timer_.reset();
    Poll();
  });
}

void RouterCore::Poll() {
  std::vector<std::string> job_ids;
  for (const auto& [id, swarm] : swarms_) {
    if (swarm->status == SwarmStatus::kPending || swarm->status == SwarmStatus::kRunning) {
      job_ids.push_back(swarm->job_id);
    }
  }
  if (job_ids.empty() || poll_in_flight_) {
    SchedulePoll(provider_.PollInterval());
    return;
  }
  poll_in_flight_ = true;
  using States = Result<std::map<std::string, provider::JobState>>;
  executor_.RunBlockingValue<States>(
      [&provider = provider_, job_ids] { return provider.JobStates(job_ids); },
      [this, alive = alive_](States states) {
        if (!*alive) return;
        poll_in_flight_ = false;
        if (!states.ok()) {
          // The backend did not answer (controller down, ssh failing): nothing is known, so
          // nothing changes; try again next interval.
          spdlog::warn("{} backend status check failed: {}", provider_.name(),
                       states.status().message());
        } else {
          for (auto& [id, swarm] : swarms_) {
            if (swarm->status != SwarmStatus::kPending && swarm->status != SwarmStatus::kRunning) {
              continue;
            }
            auto state = states->find(swarm->job_id);
            if (state != states->end()) ApplyJobState(*swarm, state->second);
          }
        }
        SchedulePoll(std::exchange(poll_again_, false) ? Duration::zero()
                                                       : provider_.PollInterval());
      });
}

void RouterCore::ApplyJobState(Swarm& swarm, const provider::JobState& state) {
  if (state.phase == provider::JobPhase::kEnded) {
    swarm.backend_state = state.backend_state;
    std::string reason = state.reason.empty() ? "job ended (" + state.backend_state + ")"
                                              : state.reason;
    EndSwarm(swarm, SwarmStatus::kEnded, reason);
    return;
  }
  if (state.cannot_start && swarm.status == SwarmStatus::kPending) {
    // Waiting would be silent forever: stop the job and say why.
    swarm.backend_state = state.backend_state;
    StartTermination(swarm, SwarmStatus::kEnded,
                     "the job can never start: " +
                         (state.reason.empty() ? state.backend_state : state.reason));
    return;
  }
  if (!state.nodes.empty()) swarm.process_state_known = true;
  for (const provider::NodeHealth& health : state.nodes) {
    if (health.alive || health.node_id < 0 || health.node_id >= swarm.node_count) continue;
    Node& node = swarm.nodes[static_cast<std::size_t>(health.node_id)];
    if (node.conn == NodeConn::kLost || node.conn == NodeConn::kExited) continue;
    node.gone_reason = "worker lost: " + WorkerProcessEnded(health.detail);
    // A connected node goes when its connection closes (its last events may still be in
    // flight); one that is not connected goes now.
    if (node.conn == NodeConn::kWaiting || node.conn == NodeConn::kDisconnected) {
      LoseNode(swarm, node, NodeConn::kLost, node.gone_reason, "failed");
    }
  }
  SwarmStatus status = swarm.status;
  if (state.phase == provider::JobPhase::kRunning) status = SwarmStatus::kRunning;
  if (state.phase == provider::JobPhase::kPending && swarm.ConnectedCount() == 0) {
    status = SwarmStatus::kPending;
  }
  bool changed = status != swarm.status || state.backend_state != swarm.backend_state ||
                 state.reason != swarm.reason;
  if (!changed) return;
  swarm.status = status;
  swarm.backend_state = state.backend_state;
  swarm.reason = state.reason;
  Persist(swarm);
  EmitSwarmUpdate(swarm);
}

void RouterCore::AbandonLaunch(Swarm& swarm, const std::string& request_id, ClientId client,
                               const std::string& reason) {
  const std::string swarm_id = swarm.swarm_id;
  spdlog::warn("launch of swarm {} failed: {}", swarm_id, reason);
  for (Node& node : swarm.nodes) {
    LoseNode(swarm, node, NodeConn::kExited, "launch failed: " + reason, "failed");
  }
  for (const Swarm::TerminateWaiter& w : swarm.terminate_waiters) {
    events_.Broadcast("swarm_terminated", json::object{{"request_id", w.request_id},
                                                       {"swarm_id", swarm_id},
                                                       {"job_id", ""}});
  }
  swarms_.erase(swarm_id);
  Reject(client, protocol::Rejection{request_id, "swarm_launch",
                                     protocol::RejectCode::kLaunchFailed, reason});
}

void RouterCore::CancelOrphanJob(const std::string& job_id) {
  executor_.RunBlockingValue<Status>(
      [&provider = provider_, job_id] { return provider.Terminate(job_id); },
      [backend = std::string(provider_.name()), job_id](Status s) {
        if (s.ok()) {
          spdlog::info("{} job {} cancelled", backend, job_id);
        } else {
          spdlog::error("cannot cancel {} job {}: {}; cancel it with the backend's own tools",
                        backend, job_id, s.message());
        }
      });
}

void RouterCore::SetStatus(Swarm& swarm, SwarmStatus status) {
  if (swarm.status == status) return;
  swarm.status = status;
  Persist(swarm);
  EmitSwarmUpdate(swarm);
}

void RouterCore::EmitSwarmUpdate(const Swarm& swarm) {
  events_.Broadcast("swarm_update", json::object{{"swarm_id", swarm.swarm_id},
                                                 {"job_id", swarm.job_id},
                                                 {"status", SwarmStatusName(swarm.status)},
                                                 {"backend_state", swarm.backend_state},
                                                 {"reason", swarm.reason},
                                                 {"node_count", swarm.node_count},
                                                 {"nodes_connected", swarm.ConnectedCount()}});
}

void RouterCore::EmitInjectFailed(const Swarm& swarm, Node& node, const Delivery& delivery,
                                  const std::string& reason) {
  node.RememberFinished(delivery.injection_id);
  ForgetDelivery(swarm, node, delivery.injection_id);
  json::object data = NodeIds(swarm, node);
  data["request_id"] = delivery.request_id;
  data["injection_id"] = delivery.injection_id;
  data["reason"] = reason;
  events_.Broadcast("inject_failed", data);
}

void RouterCore::EmitTurnComplete(const Swarm& swarm, Node& node, const Delivery& delivery,
                                  std::string_view status, const std::string& error) {
  node.RememberFinished(delivery.injection_id);
  ForgetDelivery(swarm, node, delivery.injection_id);
  json::object data = NodeIds(swarm, node);
  data["injection_id"] = delivery.injection_id;
  data["status"] = status;
  data["error"] = error;
  events_.Broadcast("turn_complete", data);
  CountTurnEnd(&delivery, status);
}

void RouterCore::LoseNode(Swarm& swarm, Node& node, NodeConn new_state, const std::string& reason,
                          std::string_view turn_status) {
  CancelTimer(node.reconnect_timer);
  CancelTimer(node.ack_timer);
  for (const Delivery& d : node.deliveries) {
    if (d.state == Delivery::State::kQueued) {
      EmitInjectFailed(swarm, node, d, reason);
    } else {
      EmitTurnComplete(swarm, node, d, turn_status, reason);
    }
  }
  node.deliveries.clear();
  if (node.conn_id != 0) {
    auto it = worker_conns_.find(node.conn_id);
    if (it != worker_conns_.end()) {
      it->second.swarm = nullptr;  // whatever it still sends is no longer ours to forward
      it->second.link->Close(reason);
    }
    node.conn_id = 0;
    node.link = nullptr;
  }
  bool announce = new_state == NodeConn::kLost && node.conn != NodeConn::kLost;
  node.conn = new_state;
  node.state_reason = reason;
  if (announce) {
    spdlog::warn("swarm {} node {} lost: {}", swarm.swarm_id, node.node_id, reason);
    json::object data = NodeIds(swarm, node);
    data["reason"] = reason;
    events_.Broadcast("node_lost", data);
  }
}

void RouterCore::DisconnectNode(Swarm& swarm, Node& node, const std::string& reason) {
  node.conn = NodeConn::kDisconnected;
  node.state_reason = reason;
  spdlog::info("swarm {} node {} disconnected: {}", swarm.swarm_id, node.node_id, reason);
  json::object data = NodeIds(swarm, node);
  data["reason"] = reason;
  events_.Broadcast("node_disconnected", data);

  if (swarm.status == SwarmStatus::kTerminating) {
    if (swarm.termination == TerminationState::kDraining && swarm.AllConnectedDrained()) {
      TerminateJob(swarm);
    } else if (swarm.termination == TerminationState::kJobStopped &&
               swarm.ConnectedCount() == 0) {
      CompleteTermination(swarm);
    }
    return;
  }
  if (!node.gone_reason.empty()) {
    LoseNode(swarm, node, NodeConn::kLost, node.gone_reason, "failed");
    return;
  }
  ExpectWorkerBack(swarm, node, "its connection dropped: " + reason);
  // A worker process that died closed its connection: where the backend can tell, look now
  // rather than at the next poll, so the node is lost at once with the exit status.
  if (swarm.process_state_known) {
    if (poll_in_flight_) {
      poll_again_ = true;  // that poll may have looked before the process died
    } else {
      SchedulePoll(Duration::zero());
    }
  }
}

void RouterCore::ExpectWorkerBack(Swarm& swarm, Node& node, const std::string& why) {
  CancelTimer(node.reconnect_timer);
  // The bound runs from the last sign of life, not from when the silence was noticed: a
  // connection that went quiet is closed only worker_timeout_seconds later.
  const Duration bound = FromSeconds(options_.worker_lost_seconds);
  const Duration wait = std::max(Duration::zero(), bound - (clock_.Now() - node.last_heard));
  const std::string reason = "worker lost: no sign of life for " +
                             Seconds(options_.worker_lost_seconds) + " s (" + why + ")";
  node.reconnect_timer = executor_.RunAfter(
      wait, [this, swarm_id = swarm.swarm_id, node_id = node.node_id, reason] {
        Swarm* s = MutableSwarm(swarm_id);
        if (s == nullptr) return;
        Node& n = s->nodes[static_cast<std::size_t>(node_id)];
        n.reconnect_timer.reset();
        if (n.conn == NodeConn::kDisconnected) LoseNode(*s, n, NodeConn::kLost, reason, "failed");
      });
}

void RouterCore::ExpectWorkersAfterRestart(Swarm& swarm) {
  if (swarm.status != SwarmStatus::kRunning) return;
  for (Node& node : swarm.nodes) {
    // Only nodes known to have had a worker (the journal holds its events): one that never
    // connected may still be starting (a Slurm job's setup lines can take minutes).
    if (node.journal_instance.empty() || node.conn != NodeConn::kWaiting) continue;
    node.conn = NodeConn::kDisconnected;
    node.state_reason = "the router restarted";
    node.last_heard = clock_.Now();
    ExpectWorkerBack(swarm, node, "not back since the router restarted");
  }
}

void RouterCore::StartTermination(Swarm& swarm, SwarmStatus final_status,
                                  const std::string& reason) {
  swarm.termination = TerminationState::kDraining;
  swarm.terminate_status = final_status;
  swarm.terminate_reason = reason;
  SetStatus(swarm, SwarmStatus::kTerminating);
  spdlog::info("stopping swarm {} (job {}): {}", swarm.swarm_id, swarm.job_id, reason);
  // Connected workers are asked to end their turns themselves first (interrupted, with the
  // reason); the job is stopped once each has drained (or gone), or after the drain time, so
  // the backend's signals find nothing left to cut short.
  const std::string why = final_status == SwarmStatus::kTerminated ? "swarm terminated" : reason;
  for (Node& node : swarm.nodes) {
    if (node.link != nullptr) {
      node.link->Send(protocol::FormatMessage("shutdown", json::object{{"reason", why}}));
    }
  }
  if (swarm.AllConnectedDrained()) {
    TerminateJob(swarm);
    return;
  }
  swarm.terminate_timer =
      executor_.RunAfter(FromSeconds(options_.terminate_drain_seconds),
                         [this, swarm_id = swarm.swarm_id] {
                           Swarm* s = MutableSwarm(swarm_id);
                           if (s == nullptr) return;
                           s->terminate_timer.reset();
                           TerminateJob(*s);
                         });
}

void RouterCore::TerminateJob(Swarm& swarm) {
  CancelTimer(swarm.terminate_timer);
  if (swarm.termination == TerminationState::kStoppingJob ||
      swarm.termination == TerminationState::kJobStopped) {
    return;
  }
  swarm.termination = TerminationState::kStoppingJob;
  executor_.RunBlockingValue<Status>(
      [&provider = provider_, job_id = swarm.job_id] { return provider.Terminate(job_id); },
      [this, alive = alive_, swarm_id = swarm.swarm_id](Status s) {
        if (*alive) FinishTermination(swarm_id, std::move(s));
      });
}

void RouterCore::FinishTermination(const std::string& swarm_id, Status terminated) {
  Swarm* swarm = MutableSwarm(swarm_id);
  if (swarm == nullptr || swarm->status != SwarmStatus::kTerminating) return;
  if (!terminated.ok()) {
    std::string reason = "terminate failed: " + terminated.message();
    spdlog::error("swarm {}: {}", swarm_id, reason);
    swarm->termination = TerminationState::kNone;
    swarm->status = SwarmStatus::kRunning;  // the next poll corrects this if it is wrong
    swarm->reason = reason;
    Persist(*swarm);
    EmitSwarmUpdate(*swarm);
    for (const Swarm::TerminateWaiter& w : swarm->terminate_waiters) {
      Reject(w.client, protocol::Rejection{w.request_id, "swarm_terminate",
                                           protocol::RejectCode::kBackendError, reason});
    }
    swarm->terminate_waiters.clear();
    return;
  }
  swarm->termination = TerminationState::kJobStopped;
  if (swarm->ConnectedCount() == 0) {
    CompleteTermination(*swarm);
    return;
  }
  // The workers are gone; their connections close any moment now, carrying their last events.
  swarm->terminate_timer =
      executor_.RunAfter(FromSeconds(options_.terminate_drain_seconds), [this, swarm_id] {
        Swarm* s = MutableSwarm(swarm_id);
        if (s == nullptr) return;
        s->terminate_timer.reset();
        if (s->status == SwarmStatus::kTerminating) CompleteTermination(*s);
      });
}

void RouterCore::CompleteTermination(Swarm& swarm) {
  CancelTimer(swarm.terminate_timer);
  EndSwarm(swarm, swarm.terminate_status, swarm.terminate_reason);
  for (const Swarm::TerminateWaiter& w : swarm.terminate_waiters) {
    events_.Broadcast("swarm_terminated", json::object{{"request_id", w.request_id},
                                                       {"swarm_id", swarm.swarm_id},
                                                       {"job_id", swarm.job_id}});
  }
  swarm.terminate_waiters.clear();
}

void RouterCore::EndSwarm(Swarm& swarm, SwarmStatus status, const std::string& reason) {
  const bool terminated = status == SwarmStatus::kTerminated;
  for (Node& node : swarm.nodes) {
    if (node.conn == NodeConn::kLost || node.conn == NodeConn::kExited) continue;
    LoseNode(swarm, node, NodeConn::kExited,
             terminated ? "swarm terminated" : "job ended: " + reason,
             terminated ? "interrupted" : "failed");
  }
  CancelTimer(swarm.terminate_timer);
  swarm.status = status;
  swarm.reason = reason;
  swarm.ended_ms = events_.WallMillis();
  spdlog::info("swarm {} {}: {}", swarm.swarm_id, SwarmStatusName(status), reason);
  Persist(swarm);
  EmitSwarmUpdate(swarm);
}

}  // namespace codeswarm::router
