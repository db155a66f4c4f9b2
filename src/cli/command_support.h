// What every client command does the same way: deadlines, waiting for the answer to a request,
// and turning a wait that ended badly into a message and an exit code (see exit_codes.h).
#pragma once

#include <boost/json/fwd.hpp>

#include <functional>
#include <optional>
#include <string_view>

#include "cli/client.h"
#include "cli/event.h"
#include "cli/output.h"
#include "common/clock.h"

namespace codeswarm::cli {

// Default deadlines for the router's answer, in seconds (each command's --timeout).
inline constexpr double kDefaultTimeoutSeconds = 30;
// Launching waits for the backend to accept the job (sbatch over ssh can take a while).
inline constexpr double kLaunchTimeoutSeconds = 120;
// Terminating waits for the backend to stop the job, grace period included.
inline constexpr double kTerminateTimeoutSeconds = 60;
// Following commands (attach, inject) try this long to get a lost connection back: long enough
// for a router to be restarted by hand or by a supervisor.
inline constexpr double kDefaultReconnectSeconds = 60;

// The time `seconds` from now on `clock`; seconds <= 0 means no deadline.
SteadyTime DeadlineIn(double seconds, const Clock& clock = SystemClock::Get());

// Reports why a wait ended without what it waited for, and returns the exit code: timeout ->
// kExitFailed, connection lost -> kExitUnreachable, connection_closing -> kExitFailed (the event
// is emitted with --json), Ctrl-C -> kExitInterrupted. `what` completes "no answer from the
// router ... to <what> within N s". REQUIRES: received.kind != kEvent.
int ReportUnfinishedWait(const Received& received, const Client& client, Output& output,
                         std::string_view what, double timeout_seconds);

// Reports a failed Client::Send and returns the exit code (kExitInterrupted after Ctrl-C,
// kExitFailed on timeout, else kExitUnreachable).
int ReportSendFailure(const Status& status, const Client& client, Output& output);

struct Answer {
  std::optional<Event> event;  // the answer, when there was one that was not a rejection
  int exit_code = 0;           // why there is none, when there is none
};

// Sends `command` and waits up to `timeout_seconds` for its answer: the first event carrying its
// request_id. The answer is emitted (--json). A command_rejected answer is reported as
// "error: <reason>" and yields kExitFailed. Events before the answer go to `on_other` when set
// (a command may need those that concern it, e.g. a node connecting before the launch answer).
Answer Request(Client& client, Output& output, std::string_view command,
               const boost::json::object& payload, double timeout_seconds,
               const std::function<void(Event&&)>& on_other = nullptr);

}  // namespace codeswarm::cli
