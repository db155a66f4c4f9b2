#include "cli/inject_follower.h"

#include <boost/json.hpp>

#include "cli/exit_codes.h"
#include "cli/render.h"

namespace codeswarm::cli {

InjectFollower::InjectFollower(std::string request_id, Output& output)
    : request_id_(std::move(request_id)),
      output_(output),
      printer_(output.human()),
      turns_(printer_) {}

void InjectFollower::OnEvent(const Event& event) {
  if (done()) return;
  if (!answered_ && event.RejectsRequest(request_id_)) {
    output_.Emit(event);
    answered_ = rejected_ = true;
    output_.Error(event.Str("reason"));
    return;
  }
  const bool ours = event.AnswersRequest(request_id_) ||
                    (!injection_id_.empty() && event.Str("injection_id") == injection_id_);
  if (!ours) return;
  if (event.name == "inject_ack") {
    output_.Emit(event);
    OnAck(event);
    return;
  }
  std::optional<int64_t> node = event.Int("node_id");
  if (!node || !nodes_.contains(*node)) return;
  output_.Emit(event);
  if (event.name == "inject_failed") {
    if (nodes_[*node] != NodeResult::kPending) return;
    printer_.NodeLine(*node, "not delivered: " + std::string(event.Str("reason")));
    EndNode(*node, NodeResult::kNotDelivered);
  } else if (TurnRenderer::IsRuntimeEvent(event.name)) {
    if (nodes_[*node] != NodeResult::kPending) return;
    if (event.name == "usage") CountCost(event);
    std::optional<TurnOutcome> outcome = turns_.Render(event);
    if (!outcome) return;
    EndNode(*node, *outcome == TurnOutcome::kCompleted ? NodeResult::kCompleted
                   : *outcome == TurnOutcome::kFailed  ? NodeResult::kFailed
                                                       : NodeResult::kInterrupted);
  }
}

void InjectFollower::OnAck(const Event& event) {
  answered_ = true;
  const bool first = injection_id_.empty();
  if (first) {
    injection_id_ = std::string(event.Str("injection_id"));
    swarm_id_ = std::string(event.Str("swarm_id"));
    // Every ack lists all targeted nodes, so the first one says how many answers to expect.
    if (const boost::json::value* list = event.data.if_contains("nodes");
        list && list->is_array()) {
      for (const boost::json::value& id : list->get_array()) {
        if (id.is_int64()) nodes_.emplace(id.get_int64(), NodeResult::kPending);
      }
    }
  }
  if (std::optional<int64_t> node = event.Int("node_id")) {
    nodes_.emplace(*node, NodeResult::kPending);
  }
  if (first) {
    std::vector<int64_t> ids;
    for (const auto& [id, result] : nodes_) ids.push_back(id);
    printer_.SetLineMode(ids.size() > 1);
    printer_.Line("injection " + injection_id_ + " into swarm " + swarm_id_ + ": " +
                  (ids.size() == 1 ? "node " : "nodes ") + FormatNodeList(ids));
  }
}

void InjectFollower::EndNode(int64_t node, NodeResult result) {
  nodes_[node] = result;
  if (done()) printer_.Line(Summary());
}

void InjectFollower::CountCost(const Event& event) {
  const boost::json::value* cost = event.data.if_contains("cost_usd");
  if (cost != nullptr && cost->is_number()) {
    cost_usd_ += cost->to_number<double>();
    ++priced_usages_;
  } else if (cost != nullptr && cost->is_null()) {
    cost_note_ = event.Str("cost_note").empty() ? "the model has no price"
                                                 : std::string(event.Str("cost_note"));
  }
}

bool InjectFollower::done() const {
  if (rejected_) return true;
  if (nodes_.empty()) return false;
  for (const auto& [id, result] : nodes_) {
    if (result == NodeResult::kPending) return false;
  }
  return true;
}

int InjectFollower::exit_code() const {
  if (rejected_) return kExitFailed;
  for (const auto& [id, result] : nodes_) {
    if (result != NodeResult::kCompleted) return kExitFailed;
  }
  return kExitOk;
}

std::vector<int64_t> InjectFollower::PendingNodes() const {
  std::vector<int64_t> pending;
  for (const auto& [id, result] : nodes_) {
    if (result == NodeResult::kPending) pending.push_back(id);
  }
  return pending;
}

std::string InjectFollower::Summary() const {
  std::map<NodeResult, int> counts;
  for (const auto& [id, result] : nodes_) ++counts[result];
  std::string summary = std::to_string(counts[NodeResult::kCompleted]) + "/" +
                        std::to_string(nodes_.size()) + " nodes completed";
  auto add = [&](NodeResult result, const char* label) {
    if (counts[result] > 0) summary += ", " + std::to_string(counts[result]) + " " + label;
  };
  add(NodeResult::kFailed, "failed");
  add(NodeResult::kInterrupted, "interrupted");
  add(NodeResult::kNotDelivered, "not delivered");
  if (!cost_note_.empty()) {
    summary += "; cost unknown: " + cost_note_;
  } else if (priced_usages_ > 0) {
    summary += ", estimated cost " + FormatUsd(cost_usd_);
  }
  return summary;
}

}  // namespace codeswarm::cli
