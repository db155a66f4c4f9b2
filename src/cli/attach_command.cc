#include <boost/json.hpp>

#include <vector>

#include "cli/attach_renderer.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/render.h"

namespace codeswarm::cli {
namespace {

// Events of the swarm that arrive before the status answer are shown after its header rather
// than lost (deltas of a running turn, for instance); this many at most.
constexpr std::size_t kMaxEarlyEvents = 10000;

}  // namespace

int Attach(Client& client, Output& output, const std::string& swarm_id, double timeout_seconds) {
  std::vector<Event> early_events;
  auto keep_early = [&](Event&& event) {
    if (event.Str("swarm_id") == swarm_id && early_events.size() < kMaxEarlyEvents) {
      early_events.push_back(std::move(event));
    }
  };
  Answer answer = Request(client, output, "swarm_status", {{"swarm_id", swarm_id}}, timeout_seconds,
                          keep_early);
  if (!answer.event) return answer.exit_code;
  output.human() << RenderSwarmHeader(answer.event->data) << "\n";
  std::string_view status = answer.event->Str("status");
  if (IsFinalSwarmStatus(status)) {
    output.human() << "swarm " << swarm_id << " is " << status << "; nothing to follow\n";
    return kExitOk;
  }
  output.human() << "following swarm " << swarm_id << " (Ctrl-C to stop)\n";

  AttachRenderer renderer(swarm_id, output);
  for (const Event& event : early_events) renderer.OnEvent(event);
  while (!renderer.ended()) {
    output.Flush();
    Received received = client.Next(SteadyTime::max());
    if (received.kind == Received::Kind::kEvent) {
      renderer.OnEvent(received.event);
      continue;
    }
    renderer.EndOpenLine();
    // Stopping to watch is what Ctrl-C is for here, not a failure.
    if (received.kind == Received::Kind::kInterrupted) return kExitOk;
    return ReportUnfinishedWait(received, client, output, "attach", 0);
  }
  return kExitOk;
}

}  // namespace codeswarm::cli
