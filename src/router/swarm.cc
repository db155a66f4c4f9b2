#include "router/swarm.h"

#include "common/json_reader.h"

namespace codeswarm::router {

std::string_view SwarmStatusName(SwarmStatus status) {
  switch (status) {
    case SwarmStatus::kLaunching: return "launching";
    case SwarmStatus::kPending: return "pending";
    case SwarmStatus::kRunning: return "running";
    case SwarmStatus::kTerminating: return "terminating";
    case SwarmStatus::kTerminated: return "terminated";
    case SwarmStatus::kEnded: return "ended";
  }
  return "unknown";
}

std::optional<SwarmStatus> ParseSwarmStatus(std::string_view name) {
  for (SwarmStatus s : {SwarmStatus::kLaunching, SwarmStatus::kPending, SwarmStatus::kRunning,
                        SwarmStatus::kTerminating, SwarmStatus::kTerminated, SwarmStatus::kEnded}) {
    if (SwarmStatusName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsFinal(SwarmStatus status) {
  return status == SwarmStatus::kTerminated || status == SwarmStatus::kEnded;
}

void Node::RememberFinished(const std::string& injection_id) {
  finished.push_back(injection_id);
  if (finished.size() > kRememberFinished) finished.pop_front();
}

bool Node::Finished(std::string_view injection_id) const {
  for (const std::string& id : finished) {
    if (id == injection_id) return true;
  }
  return false;
}

Delivery* Node::FindDelivery(std::string_view injection_id) {
  for (Delivery& d : deliveries) {
    if (d.injection_id == injection_id) return &d;
  }
  return nullptr;
}

std::string_view Node::StateName() const {
  switch (conn) {
    case NodeConn::kWaiting: return "waiting";
    case NodeConn::kDisconnected: return "disconnected";
    case NodeConn::kLost: return "lost";
    case NodeConn::kExited: return "exited";
    case NodeConn::kConnected:
      if (!draining.empty()) return "draining";
      return !deliveries.empty() && deliveries.front().state != Delivery::State::kQueued ? "busy"
                                                                                          : "idle";
  }
  return "unknown";
}

bool Swarm::AllConnectedDrained() const {
  for (const Node& node : nodes) {
    if (node.conn == NodeConn::kConnected && !node.drained) return false;
  }
  return true;
}

int Swarm::ConnectedCount() const {
  int n = 0;
  for (const Node& node : nodes) n += node.conn == NodeConn::kConnected ? 1 : 0;
  return n;
}

void Swarm::RefreshIds() {
  for (Node& node : nodes) {
    node.ids_json = "\"swarm_id\":" + JsonQuote(swarm_id) + ",\"job_id\":" + JsonQuote(job_id) +
                    ",\"node_id\":" + std::to_string(node.node_id);
  }
}

}  // namespace codeswarm::router
