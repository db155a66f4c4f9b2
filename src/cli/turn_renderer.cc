#include "cli/turn_renderer.h"

#include <boost/json.hpp>

#include "cli/render.h"

namespace codeswarm::cli {

namespace {

std::string_view AskWhat(std::string_view kind) {
  if (kind == "command") return "asks to run a command: ";
  if (kind == "file_change") return "asks to change files: ";
  return "asks to use a tool: ";
}

}  // namespace

std::string FormatApprovalOutcome(const Event& event) {
  std::string_view decision = event.Str("decision");
  std::string_view by = event.Str("decided_by");
  std::string line = std::string(event.Str("approval_id").empty() ? "approval"
                                                                  : event.Str("approval_id"));
  line += decision == "accept" ? ": accepted" : ": declined";
  if (by == "person") line += " by a person";
  if (by == "policy") line += " by the configured policy";
  if (by == "timeout" || by == "turn_ended") line += " (" + std::string(event.Str("reason")) + ")";
  line += " — " + std::string(event.Str("subject"));
  return line;
}

std::string FormatApprovalRequest(const std::string& swarm_id, int64_t node_id,
                                  std::string_view approval_id, std::string_view kind,
                                  std::string_view subject) {
  const std::string args =
      swarm_id + " " + std::to_string(node_id) + " " + std::string(approval_id);
  return std::string(AskWhat(kind)) + std::string(subject) + " (approval " +
         std::string(approval_id) + "): codeswarm approve " + args + " | codeswarm deny " + args;
}

bool TurnRenderer::IsRuntimeEvent(std::string_view name) {
  return name == "turn_started" || name == "assistant_delta" || name == "assistant" ||
         name == "usage" || name == "approval_request" || name == "approval" ||
         name == "turn_complete";
}

std::optional<TurnOutcome> TurnRenderer::Render(const Event& event) {
  std::optional<int64_t> node = event.Int("node_id");
  if (!node || !IsRuntimeEvent(event.name)) return std::nullopt;
  auto key = std::make_pair(std::string(event.Str("injection_id")), *node);

  if (event.name == "assistant_delta") {
    std::string_view delta = event.Str("delta");
    if (!delta.empty()) turns_[key].streamed = true;
    printer_.Text(*node, delta);
  } else if (event.name == "assistant") {
    // The final text repeats what was streamed; show it only when nothing was.
    if (!turns_[key].streamed) printer_.Text(*node, event.Str("content"));
  } else if (event.name == "usage") {
    if (std::optional<int64_t> tokens = event.Int("total_tokens")) {
      turns_[key].total_tokens = tokens;
    }
    if (const boost::json::value* cost = event.data.if_contains("cost_usd");
        cost != nullptr && cost->is_number()) {
      turns_[key].cost_usd = cost->to_number<double>();
    }
  } else if (event.name == "approval_request") {
    printer_.NodeLine(*node, FormatApprovalRequest(std::string(event.Str("swarm_id")), *node,
                                                   event.Str("approval_id"), event.Str("kind"),
                                                   event.Str("subject")));
  } else if (event.name == "approval") {
    printer_.NodeLine(*node, FormatApprovalOutcome(event));
  } else if (event.name == "turn_complete") {
    TurnState state = turns_[key];
    turns_.erase(key);
    std::string_view status = event.Str("status");
    std::string_view error = event.Str("error");
    std::string detail = error.empty() ? "" : ": " + std::string(error);
    if (status == "completed") {
      std::string usage;
      if (state.total_tokens) usage = std::to_string(*state.total_tokens) + " tokens";
      if (state.cost_usd) usage += (usage.empty() ? "" : ", ") + FormatUsd(*state.cost_usd);
      printer_.NodeLine(*node, usage.empty() ? "completed" : "completed (" + usage + ")");
      return TurnOutcome::kCompleted;
    }
    if (status == "interrupted") {
      printer_.NodeLine(*node, "interrupted" + detail);
      return TurnOutcome::kInterrupted;
    }
    printer_.NodeLine(*node,
                      (status == "failed" ? std::string("failed")
                                          : "ended with status \"" + std::string(status) + "\"") +
                          detail);
    return TurnOutcome::kFailed;
  }
  return std::nullopt;
}

}  // namespace codeswarm::cli
