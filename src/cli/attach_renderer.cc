#include "cli/attach_renderer.h"

#include "cli/render.h"

namespace codeswarm::cli {

AttachRenderer::AttachRenderer(std::string swarm_id, Output& output)
    : swarm_id_(std::move(swarm_id)), output_(output), printer_(output.human()), turns_(printer_) {
  printer_.SetLineMode(true);  // any number of nodes may be talking at once
}

void AttachRenderer::OnEvent(const Event& event) {
  if (ended_ || event.Str("swarm_id") != swarm_id_) return;
  output_.Emit(event);
  if (event.name == "swarm_update") {
    printer_.Line(FormatSwarmUpdate(event.data));
    ended_ = IsFinalSwarmStatus(event.Str("status"));
    return;
  }
  if (event.name == "events_pruned") {
    printer_.Line(FormatPruned(event.data));
    return;
  }
  if (event.name == "swarm_terminated") {
    printer_.Line("swarm " + swarm_id_ + " terminated");
    ended_ = true;
    return;
  }
  std::optional<int64_t> node = event.Int("node_id");
  if (!node) return;
  if (event.name == "turn_started") {
    printer_.NodeLine(*node,
                      "turn started (injection " + std::string(event.Str("injection_id")) + ")");
  } else if (TurnRenderer::IsRuntimeEvent(event.name)) {
    turns_.Render(event);
  } else if (std::string line = LifecycleLine(event); !line.empty()) {
    printer_.NodeLine(*node, line);
  }
}

std::string AttachRenderer::LifecycleLine(const Event& event) const {
  const std::string injection(event.Str("injection_id"));
  const std::string reason(event.Str("reason"));
  if (event.name == "inject_ack") return "injection " + injection + " acknowledged";
  if (event.name == "inject_delivered") return "injection " + injection + " delivered";
  if (event.name == "inject_failed") return "injection " + injection + " not delivered: " + reason;
  if (event.name == "node_disconnected") return "disconnected: " + reason;
  if (event.name == "node_lost") return "lost: " + reason;
  if (event.name == "node_connected") {
    std::string line = "connected";
    std::string_view host = event.Str("hostname");
    std::optional<int64_t> pid = event.Int("pid");
    if (!host.empty() && pid) {
      line += " (host " + std::string(host) + ", pid " + std::to_string(*pid) + ")";
    } else if (!host.empty()) {
      line += " (host " + std::string(host) + ")";
    }
    return line;
  }
  return "";
}

}  // namespace codeswarm::cli
