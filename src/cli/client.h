// The blocking protocol client: sends command envelopes and hands back the router's events one
// at a time. It knows the envelope format (docs/PROTOCOL.md) but nothing about what a command
// means; the commands decide which events are theirs.
#pragma once

#include <boost/json/fwd.hpp>

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "cli/dialer.h"
#include "cli/event.h"
#include "cli/line_connection.h"
#include "common/clock.h"
#include "common/status.h"

namespace codeswarm::cli {

// What Client::Next returns.
struct Received {
  enum class Kind {
    kEvent,        // `event` is the next event
    kTimeout,      // the deadline passed first
    kLost,         // the connection closed or broke without a reason; `message` says how
    kClosing,      // the router sent connection_closing: `event` is it, `message` its reason
    kInterrupted,  // Ctrl-C
  };
  Kind kind = Kind::kEvent;
  Event event;
  std::string message;
};

// A fresh request id, "cli-<pid>-<n>" with n counting from 1 in each process. Thread-safe.
std::string NewRequestId();

// Not thread-safe.
class Client {
 public:
  // `warnings` receives a note for each line skipped because it is not an event; `debug` (or
  // null) receives every raw line, "> " + sent and "< " + received. `dialer` (or null: never)
  // makes new connections for Reconnect.
  Client(std::unique_ptr<LineConnection> connection, std::ostream& warnings, std::ostream* debug,
         std::unique_ptr<Dialer> dialer = nullptr);

  // Sends `command` with `payload` under a fresh request id, and returns that id. Errors:
  // the connection broke (IoError), the deadline passed (Timeout) or Ctrl-C (Unavailable).
  Result<std::string> Send(std::string_view command, const boost::json::object& payload,
                           SteadyTime deadline);

  // The next event, or why there is none before `deadline`. Lines that are not events (bad
  // JSON, over-long lines, other envelope types) are skipped with a warning.
  Received Next(SteadyTime deadline);

  // "HOST:PORT" of the router, for messages.
  std::string PeerName() const { return connection_->PeerName(); }

  // Whether Reconnect can work at all (the client has a dialer).
  bool can_reconnect() const { return dialer_ != nullptr; }
  // Drops the connection and dials the router again (after `pause_first`), with pauses between
  // attempts, until one is made or `deadline` (read on `clock`) passes. Errors as
  // DialWithBackoff's (Unavailable after Ctrl-C, Timeout with the last attempt's error);
  // FailedPrecondition without a dialer. After an error the old connection is gone: Next
  // reports it lost.
  Status Reconnect(SteadyTime deadline, const Clock& clock = SystemClock::Get(),
                   Duration pause_first = Duration::zero());

 private:
  std::unique_ptr<LineConnection> connection_;
  std::ostream& warnings_;
  std::ostream* const debug_;
  const std::unique_ptr<Dialer> dialer_;
};

}  // namespace codeswarm::cli
