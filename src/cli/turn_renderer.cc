#include "cli/turn_renderer.h"

#include <boost/json.hpp>

#include "cli/render.h"

namespace codeswarm::cli {

bool TurnRenderer::IsRuntimeEvent(std::string_view name) {
  return name == "turn_started" || name == "assistant_delta" || name == "assistant" ||
         name == "usage" || name == "turn_complete";
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
