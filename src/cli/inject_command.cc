#include <boost/json.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/follow_stream.h"
#include "cli/inject_follower.h"
#include "cli/render.h"

namespace codeswarm::cli {
namespace {

std::string PendingText(const InjectFollower& follower) {
  std::vector<int64_t> pending = follower.PendingNodes();
  return "no result yet from " + std::string(pending.size() == 1 ? "node " : "nodes ") +
         FormatNodeList(pending);
}

// Explains a stream that stopped before every node ended. The turns themselves go on in the
// router; only this view of them stops.
int ReportUnfinishedStream(const Received& received, const InjectFollower& follower,
                           const Client& client, Output& output, double turn_timeout_seconds) {
  const std::string follow_hint =
      "; the turns go on (follow them with: codeswarm attach " + follower.swarm_id() + ")";
  switch (received.kind) {
    case Received::Kind::kInterrupted:
      output.err() << "interrupted: " << PendingText(follower) << follow_hint << std::endl;
      return kExitInterrupted;
    case Received::Kind::kTimeout:
      output.Error("gave up after --turn-timeout " + FormatSeconds(turn_timeout_seconds) +
                   " s: " + PendingText(follower) + follow_hint);
      return kExitFailed;
    case Received::Kind::kClosing:
      output.Emit(received.event);
      output.Error("the router closed the connection: " + received.message + "; " +
                   PendingText(follower));
      return kExitFailed;
    case Received::Kind::kLost:
    case Received::Kind::kEvent:
      break;
  }
  output.Error("lost the connection to the router at " + client.PeerName() + ": " +
               received.message + "; " + PendingText(follower));
  return kExitUnreachable;
}

}  // namespace

int Inject(Client& client, Output& output, const InjectRequest& request) {
  const Clock& clock = *request.clock;
  const SteadyTime answer_deadline = DeadlineIn(request.timeout_seconds, clock);
  // Subscribed first, from now and to every swarm (a swarm filter would answer an unknown swarm
  // before the inject does): after a lost connection, the stream resumes from the last event
  // handled, the acks included. The inject itself is sent once, whatever happens.
  FollowStream stream(client, output,
                      {"", std::nullopt, request.reconnect_seconds, request.skip_deltas}, clock);
  Received subscribed = stream.Subscribe(answer_deadline);
  if (subscribed.kind != Received::Kind::kEvent) {
    return ReportUnfinishedWait(subscribed, client, output, "subscribe", request.timeout_seconds);
  }
  if (subscribed.event.name != "subscribed") {
    output.err() << "warning: inject cannot follow the turns across a lost connection: "
                 << subscribed.event.Str("reason") << std::endl;
  }

  boost::json::object payload = {{"swarm_id", request.swarm_id},
                                 {"nodes", NodeSpecToJson(request.nodes)},
                                 {"content", request.content}};
  Result<std::string> request_id = client.Send("inject", payload, answer_deadline);
  if (!request_id.ok()) return ReportSendFailure(request_id.status(), client, output);

  InjectFollower follower(*request_id, output);
  SteadyTime turn_deadline = SteadyTime::max();
  while (!follower.done()) {
    Received received = stream.Next(follower.answered() ? turn_deadline : answer_deadline);
    if (received.kind != Received::Kind::kEvent) {
      if (!follower.answered()) {
        return ReportUnfinishedWait(received, client, output, "inject", request.timeout_seconds);
      }
      follower.EndOpenLine();
      output.Flush();
      return ReportUnfinishedStream(received, follower, client, output,
                                    request.turn_timeout_seconds);
    }
    if (received.event.name == "events_pruned") {
      output.Emit(received.event);
      output.err() << "warning: " << FormatPruned(received.event.data) << std::endl;
      continue;
    }
    const bool was_answered = follower.answered();
    follower.OnEvent(received.event);
    if (!was_answered && follower.answered()) {
      turn_deadline = DeadlineIn(request.turn_timeout_seconds, clock);
      if (!follower.swarm_id().empty()) stream.NarrowTo(follower.swarm_id());
    }
    output.Flush();
  }
  return follower.exit_code();
}

}  // namespace codeswarm::cli
