// RouterCore: approvals a person decides. The worker asks (an approval_request event), a client
// answers (approval_decide), the router checks the answer against what waits and forwards it;
// the worker's approval event closes the request. The router knows no agent and keeps no time:
// the worker declines a request nobody answered in time.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "router/router_core.h"

namespace codeswarm::router {
namespace json = boost::json;
using protocol::RejectCode;

namespace {

void RememberAnswered(Node& node, const std::string& approval_id, std::string how) {
  node.answered_approvals.emplace_back(approval_id, std::move(how));
  while (node.answered_approvals.size() > Node::kRememberAnswered) {
    node.answered_approvals.pop_front();
  }
}

std::string StringField(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

void RouterCore::TrackApproval(Node& node, std::string_view event, std::string_view injection_id,
                               std::string_view data) {
  if (event == "turn_complete") {
    DropApprovalsOfTurn(node, injection_id, "its turn ended");
    return;
  }
  json::error_code ec;
  json::value parsed = json::parse(data, ec);
  if (ec || !parsed.is_object()) return;
  const json::object& fields = parsed.get_object();
  const std::string approval_id = StringField(fields, "approval_id");
  if (approval_id.empty()) return;  // answered by the policy: nothing waits
  if (event == "approval_request") {
    node.approvals[approval_id] = Node::WaitingApproval{
        std::string(injection_id), StringField(fields, "kind"), StringField(fields, "subject"), ""};
  } else if (event == "approval") {
    node.approvals.erase(approval_id);
    std::string by = StringField(fields, "decided_by");
    RememberAnswered(node, approval_id,
                     StringField(fields, "decision") + (by.empty() ? "" : ", decided by " + by));
  }
}

void RouterCore::AdoptWaitingApprovals(Node& node,
                                       const std::vector<protocol::PendingApproval>& waiting) {
  // The worker is the truth: what it still waits on, with no decision forwarded on this
  // connection yet (one sent on a connection that dropped may never have arrived).
  node.approvals.clear();
  for (const protocol::PendingApproval& a : waiting) {
    node.approvals[a.approval_id] = Node::WaitingApproval{a.injection_id, a.kind, a.subject, ""};
  }
}

void RouterCore::DropApprovalsOfTurn(Node& node, std::string_view injection_id,
                                     const std::string& why) {
  for (auto it = node.approvals.begin(); it != node.approvals.end();) {
    if (it->second.injection_id != injection_id) {
      ++it;
      continue;
    }
    RememberAnswered(node, it->first, "dropped: " + why);
    it = node.approvals.erase(it);
  }
}

json::array RouterCore::WaitingApprovalsJson(const Node& node) const {
  json::array out;
  for (const auto& [id, waiting] : node.approvals) {
    out.push_back(json::object{{"approval_id", id},
                               {"injection_id", waiting.injection_id},
                               {"kind", waiting.kind},
                               {"subject", waiting.subject},
                               {"decided", !waiting.decision.empty()}});
  }
  return out;
}

void RouterCore::HandleApprovalDecide(ClientId client, const protocol::Command& command) {
  const auto& decide = std::get<protocol::ApprovalDecidePayload>(command.payload);
  Swarm* swarm = MutableSwarm(decide.swarm_id);
  if (swarm == nullptr) {
    Reject(client, command, RejectCode::kUnknownSwarm,
           "unknown swarm_id \"" + decide.swarm_id + "\"");
    return;
  }
  if (IsFinal(swarm->status)) {
    Reject(client, command, RejectCode::kSwarmEnded,
           "swarm " + swarm->swarm_id + " is " + std::string(SwarmStatusName(swarm->status)) +
               "; nothing in it waits for a decision");
    return;
  }
  if (decide.node_id >= swarm->node_count) {
    Reject(client, command, RejectCode::kInvalidPayload,
           "payload.node_id: node " + std::to_string(decide.node_id) +
               " is out of range (swarm " + swarm->swarm_id + " has nodes 0-" +
               std::to_string(swarm->node_count - 1) + ")");
    return;
  }
  Node& node = swarm->nodes[static_cast<std::size_t>(decide.node_id)];
  const std::string where = "node " + std::to_string(node.node_id) + " of swarm " + swarm->swarm_id;
  auto waiting = node.approvals.find(decide.approval_id);
  if (waiting == node.approvals.end()) {
    for (auto it = node.answered_approvals.rbegin(); it != node.answered_approvals.rend(); ++it) {
      if (it->first != decide.approval_id) continue;
      Reject(client, command, RejectCode::kAlreadyDecided,
             "approval " + decide.approval_id + " of " + where + " was already answered (" +
                 it->second + ")");
      return;
    }
    if (node.link == nullptr && node.conn != NodeConn::kLost && node.conn != NodeConn::kExited) {
      // E.g. a router that restarted before the worker said hello again: only the worker knows.
      Reject(client, command, RejectCode::kNodeUnreachable,
             where + " is " + std::string(node.StateName()) +
                 ": the router cannot tell whether its agent waits on " + decide.approval_id +
                 "; try again once it reconnects");
      return;
    }
    Reject(client, command, RejectCode::kUnknownApproval,
           where + " has no approval request " + decide.approval_id +
               " waiting (swarm_status lists the waiting ones under approvals_waiting)");
    return;
  }
  if (!waiting->second.decision.empty()) {
    Reject(client, command, RejectCode::kAlreadyDecided,
           "approval " + decide.approval_id + " of " + where + " was already decided (" +
               waiting->second.decision + "); its approval event follows");
    return;
  }
  if (node.link == nullptr) {
    Reject(client, command, RejectCode::kNodeUnreachable,
           where + " is " + std::string(node.StateName()) +
               "; its worker still waits for this decision: try again once it reconnects "
               "(the request is declined when its time runs out)");
    return;
  }
  waiting->second.decision = decide.decision;
  node.link->Send(protocol::FormatMessage(
      "approval_decide",
      protocol::ApprovalDecisionToJson({decide.approval_id, decide.decision})));
  spdlog::info("{}: approval {} decided by a person: {}", where, decide.approval_id,
               decide.decision);
  json::object ack = NodeIds(*swarm, node);
  ack["request_id"] = command.request_id;
  ack["injection_id"] = waiting->second.injection_id;
  ack["approval_id"] = decide.approval_id;
  ack["decision"] = decide.decision;
  events_.Broadcast("approval_decide_ack", ack);
}

}  // namespace codeswarm::router
