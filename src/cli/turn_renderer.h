// Renders the runtime events of agent turns (docs/PROTOCOL.md, "Runtime events") for `inject`
// and `attach`: streamed text, the final text when nothing was streamed, and one closing line
// per turn with its outcome and token count.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cli/event.h"
#include "cli/stream_printer.h"

namespace codeswarm::cli {

enum class TurnOutcome { kCompleted, kFailed, kInterrupted };

// Not thread-safe. Borrows the printer.
class TurnRenderer {
 public:
  explicit TurnRenderer(StreamPrinter& printer) : printer_(printer) {}

  // turn_started, assistant_delta, assistant, usage, turn_complete.
  static bool IsRuntimeEvent(std::string_view name);

  // Renders one runtime event; other events and events without a node_id are ignored. Returns
  // the turn's outcome for turn_complete ("completed (N tokens, $C)", "failed: <error>", ...).
  // A turn_complete with an unknown status counts as failed.
  std::optional<TurnOutcome> Render(const Event& event);

 private:
  struct TurnState {
    bool streamed = false;
    std::optional<int64_t> total_tokens;
    std::optional<double> cost_usd;  // absent when the model has no price
  };
  // Keyed by (injection_id, node_id); an entry lives from the turn's first event to its end.
  std::map<std::pair<std::string, int64_t>, TurnState> turns_;
  StreamPrinter& printer_;
};

}  // namespace codeswarm::cli
