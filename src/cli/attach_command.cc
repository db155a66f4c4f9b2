#include <boost/json.hpp>

#include "cli/attach_renderer.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/follow_stream.h"
#include "cli/render.h"

namespace codeswarm::cli {

int Attach(Client& client, Output& output, const AttachRequest& request) {
  const std::string& swarm_id = request.swarm_id;
  FollowStream stream(
      client, output,
      {swarm_id, request.since_seq, request.reconnect_seconds, request.skip_deltas},
      *request.clock);
  // Events of the swarm that arrive before the status answer keep their place in the stream:
  // they are shown after its header rather than lost (deltas of a running turn, for instance).
  Answer answer = Request(client, output, "swarm_status", {{"swarm_id", swarm_id}},
                          request.timeout_seconds,
                          [&stream](Event&& event) { stream.Take(std::move(event)); });
  if (!answer.event) return answer.exit_code;
  output.human() << RenderSwarmHeader(answer.event->data) << "\n";
  // Requests made before this attach wait too; the stream shows only the new ones.
  if (std::string waiting = FormatWaitingApprovals(answer.event->data); !waiting.empty()) {
    output.human() << "waiting for a decision:\n" << waiting;
  }
  std::string_view status = answer.event->Str("status");
  const bool over = IsFinalSwarmStatus(status);
  if (over && !request.since_seq) {
    output.human() << "swarm " << swarm_id << " is " << status << "; nothing to follow\n";
    return kExitOk;
  }

  Received subscribed = stream.Subscribe(DeadlineIn(request.timeout_seconds, *request.clock));
  if (subscribed.kind != Received::Kind::kEvent) {
    return ReportUnfinishedWait(subscribed, client, output, "subscribe", request.timeout_seconds);
  }
  if (subscribed.event.name != "subscribed") {
    if (request.since_seq) {  // the events asked for cannot be had
      output.Emit(subscribed.event);
      output.Error(subscribed.event.Str("reason"));
      return kExitFailed;
    }
    output.err() << "warning: attach cannot resume after a lost connection: "
                 << subscribed.event.Str("reason") << std::endl;
  }
  if (over) {
    output.human() << "swarm " << swarm_id << " is " << status << "; its journaled events:\n";
  } else {
    output.human() << "following swarm " << swarm_id << " (Ctrl-C to stop)\n";
  }

  AttachRenderer renderer(swarm_id, output);
  while (!renderer.ended()) {
    output.Flush();
    Received received = stream.Next(SteadyTime::max());
    if (received.kind == Received::Kind::kEvent) {
      // A swarm that is over says so in its last event, but the journal may no longer hold it.
      if (over && received.event.name == "replay_complete") break;
      renderer.OnEvent(received.event);
      continue;
    }
    renderer.EndOpenLine();
    // Stopping to watch is what Ctrl-C is for here, not a failure.
    if (received.kind == Received::Kind::kInterrupted) return kExitOk;
    return ReportUnfinishedWait(received, client, output, "attach", 0);
  }
  renderer.EndOpenLine();
  return kExitOk;
}

}  // namespace codeswarm::cli
