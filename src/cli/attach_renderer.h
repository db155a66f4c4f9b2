// Renders every event of one swarm for `codeswarm attach`: streamed turns like `inject` does, and
// one line per lifecycle event (acks, deliveries, nodes connecting and going away, swarm
// updates). Knows when the swarm is over. Does no I/O besides `output`.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "cli/event.h"
#include "cli/output.h"
#include "cli/stream_printer.h"
#include "cli/turn_renderer.h"

namespace codeswarm::cli {

// The approval requests swarm_status lists as waiting (nodes[].approvals_waiting), one line each
// ("[node N] " first); "" when none waits.
std::string FormatWaitingApprovals(const boost::json::object& status);

class AttachRenderer {
 public:
  // Borrows `output`.
  AttachRenderer(std::string swarm_id, Output& output);

  // Renders `event` when its data.swarm_id is this swarm (emits it with --json, unknown events
  // included); ignores it otherwise.
  void OnEvent(const Event& event);

  // The swarm was terminated or ended: nothing more will happen.
  bool ended() const { return ended_; }
  // Ends a half-printed line of streamed text.
  void EndOpenLine() { printer_.EndOpenLine(); }

 private:
  // One line for a lifecycle event, or "" for events shown otherwise or not at all.
  std::string LifecycleLine(const Event& event) const;

  const std::string swarm_id_;
  Output& output_;
  StreamPrinter printer_;
  TurnRenderer turns_;
  bool ended_ = false;
};

}  // namespace codeswarm::cli
