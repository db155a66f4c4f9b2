#include "cli/command_support.h"

#include <boost/json.hpp>

#include <string>

#include "cli/exit_codes.h"
#include "cli/render.h"

namespace codeswarm::cli {

SteadyTime DeadlineIn(double seconds, const Clock& clock) {
  // Beyond ~30 years is "never"; it also keeps the conversion below from overflowing.
  if (seconds <= 0 || seconds > 1e9) return SteadyTime::max();
  return clock.Now() + FromSeconds(seconds);
}

int ReportUnfinishedWait(const Received& received, const Client& client, Output& output,
                         std::string_view what, double timeout_seconds) {
  switch (received.kind) {
    case Received::Kind::kTimeout:
      output.Error("no answer from the router at " + client.PeerName() + " to " +
                   std::string(what) + " within " + FormatSeconds(timeout_seconds) + " s");
      return kExitFailed;
    case Received::Kind::kClosing:
      output.Emit(received.event);
      output.Error("the router closed the connection: " + received.message);
      return kExitFailed;
    case Received::Kind::kInterrupted:
      output.err() << "interrupted" << std::endl;
      return kExitInterrupted;
    case Received::Kind::kLost:
    case Received::Kind::kEvent:
      break;
  }
  output.Error("lost the connection to the router at " + client.PeerName() + ": " +
               received.message);
  return kExitUnreachable;
}

int ReportSendFailure(const Status& status, const Client& client, Output& output) {
  if (status.IsUnavailable()) {
    output.err() << "interrupted" << std::endl;
    return kExitInterrupted;
  }
  output.Error(status.message() + " (router at " + client.PeerName() + ")");
  return status.IsTimeout() ? kExitFailed : kExitUnreachable;
}

Answer Request(Client& client, Output& output, std::string_view command,
               const boost::json::object& payload, double timeout_seconds,
               const std::function<void(Event&&)>& on_other) {
  const SteadyTime deadline = DeadlineIn(timeout_seconds);
  Result<std::string> request_id = client.Send(command, payload, deadline);
  if (!request_id.ok()) {
    return {std::nullopt, ReportSendFailure(request_id.status(), client, output)};
  }
  while (true) {
    Received received = client.Next(deadline);
    if (received.kind != Received::Kind::kEvent) {
      return {std::nullopt, ReportUnfinishedWait(received, client, output, std::string(command),
                                                 timeout_seconds)};
    }
    const bool rejected = received.event.RejectsRequest(*request_id);
    if (!rejected && !received.event.AnswersRequest(*request_id)) {
      if (on_other) on_other(std::move(received.event));
      continue;
    }
    output.Emit(received.event);
    if (rejected) {
      output.Error(received.event.Str("reason"));
      return {std::nullopt, kExitFailed};
    }
    return {std::move(received.event), kExitOk};
  }
}

}  // namespace codeswarm::cli
