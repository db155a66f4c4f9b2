// RouterCore: accepted means kept. Every injection a node owes is written to the Store with the
// journal transaction that carries its inject_ack (EventEmitter holds the ack until that commit),
// its state changes ride along with the events that cause them, and its ending removes it. A
// restarted router loads what is left: queued ones go to the worker when it connects, the ones a
// worker took wait for that worker's turn_complete, and those of swarms that are over end with
// a reason. Nothing runs twice: a worker is not sent what its hello says it holds, and a worker
// process never runs an injection id twice (it remembers the ids it has seen).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>

#include "router/router_core.h"

namespace codeswarm::router {
namespace {

std::string_view DeliveryStateName(Delivery::State state) {
  switch (state) {
    case Delivery::State::kQueued: return "queued";
    case Delivery::State::kDelivered: return "delivered";
    case Delivery::State::kRunning: return "running";
  }
  return "queued";
}

Delivery::State ParseDeliveryState(std::string_view name) {
  if (name == "delivered") return Delivery::State::kDelivered;
  if (name == "running") return Delivery::State::kRunning;
  return Delivery::State::kQueued;
}

}  // namespace

void RouterCore::KeepDelivery(const Swarm& swarm, const Node& node, const Delivery& delivery) {
  events_.RecordDelivery(DeliveryRecord{swarm.swarm_id, node.node_id, delivery.injection_id,
                                        delivery.request_id, delivery.content,
                                        std::string(DeliveryStateName(delivery.state)),
                                        delivery.instance, delivery.first_seq, false});
}

void RouterCore::ForgetDelivery(const Swarm& swarm, const Node& node,
                                const std::string& injection_id) {
  DeliveryRecord ended;
  ended.swarm_id = swarm.swarm_id;
  ended.node_id = node.node_id;
  ended.injection_id = injection_id;
  ended.ended = true;
  events_.RecordDelivery(std::move(ended));
}

void RouterCore::KeepCounters(const Swarm& swarm, const Node& node) {
  events_.RecordCounters(
      NodeCounters{swarm.swarm_id, node.node_id, node.turns_completed, node.total_tokens,
                   node.cost_usd});
}

Status RouterCore::LoadDeliveries() {
  Result<std::vector<NodeCounters>> counters = store_.LoadNodeCounters();
  if (!counters.ok()) return counters.status();
  for (const NodeCounters& c : *counters) {
    Swarm* swarm = MutableSwarm(c.swarm_id);
    if (swarm == nullptr || c.node_id < 0 || c.node_id >= swarm->node_count) continue;
    Node& node = swarm->nodes[static_cast<std::size_t>(c.node_id)];
    node.turns_completed = static_cast<int>(c.turns_completed);
    node.total_tokens = c.total_tokens;
    node.cost_usd = c.cost_usd;
  }
  Result<std::vector<DeliveryRecord>> records = store_.LoadDeliveries();
  if (!records.ok()) return records.status();
  int held = 0;
  int ended = 0;
  for (DeliveryRecord& r : *records) {
    Swarm* swarm = MutableSwarm(r.swarm_id);
    if (swarm == nullptr || r.node_id < 0 || r.node_id >= swarm->node_count) {
      r.ended = true;  // nobody left to answer to
      events_.RecordDelivery(std::move(r));
      continue;
    }
    Node& node = swarm->nodes[static_cast<std::size_t>(r.node_id)];
    Delivery delivery{r.injection_id, r.request_id, std::move(r.content),
                      ParseDeliveryState(r.state), r.first_seq, r.instance, std::nullopt};
    if (!IsFinal(swarm->status)) {
      node.deliveries.push_back(std::move(delivery));
      ++held;
      continue;
    }
    // The swarm ended before its endings were written (the router died in between): they are
    // written now, once, since the record goes with them.
    ++ended;
    const std::string reason = "swarm " + swarm->swarm_id + " is " +
                               std::string(SwarmStatusName(swarm->status)) +
                               (swarm->reason.empty() ? "" : ": " + swarm->reason);
    if (delivery.state == Delivery::State::kQueued) {
      EmitInjectFailed(*swarm, node, delivery, reason);
    } else {
      EmitTurnComplete(*swarm, node, delivery,
                       swarm->status == SwarmStatus::kTerminated ? "interrupted" : "failed",
                       reason);
    }
  }
  if (held + ended > 0) {
    spdlog::info("{} injections from before the restart are still owed ({} ended with their swarm)",
                 held + ended, ended);
  }
  return Status::Ok();
}

std::vector<std::string> RouterCore::TakeOverHeldInjections(
    const Swarm& swarm, Node& node, const std::string& instance,
    const std::vector<std::string>& holding) {
  // Taken, before this router started, by another worker process of this node: that process
  // is gone, so those turns can never complete.
  std::deque<Delivery> kept;
  for (Delivery& d : node.deliveries) {
    if (d.state != Delivery::State::kQueued && !d.instance.empty() && d.instance != instance) {
      EmitTurnComplete(swarm, node, d, "failed",
                       "worker restarted: the worker process of node " +
                           std::to_string(node.node_id) + " that took it is gone");
    } else {
      kept.push_back(std::move(d));
    }
  }
  node.deliveries = std::move(kept);
  // The worker may hold injections a previous router delivered: they still owe a turn_complete.
  std::vector<std::string> already_held;
  std::deque<Delivery> adopted;
  for (const std::string& id : holding) {
    Delivery* known = node.FindDelivery(id);
    if (known == nullptr) {
      adopted.push_back(Delivery{id, "", "", Delivery::State::kDelivered, 0, instance, std::nullopt});
      KeepDelivery(swarm, node, adopted.back());
    } else if (known->state == Delivery::State::kQueued) {
      already_held.push_back(id);  // it got it, but its `received` never reached the store
    }
  }
  for (auto it = adopted.rbegin(); it != adopted.rend(); ++it) node.deliveries.push_front(*it);
  return already_held;
}

}  // namespace codeswarm::router
