// Making a connection to the router again after losing one, for the commands that follow a
// stream of events (attach, a running inject) across a router restart.
#pragma once

#include <chrono>
#include <memory>

#include "cli/line_connection.h"
#include "common/clock.h"
#include "common/status.h"

namespace codeswarm::cli {

// Opens connections to the router. The real one dials TCP (SocketDialer); tests hand out
// in-memory connections.
class Dialer {
 public:
  virtual ~Dialer() = default;

  // One attempt to connect, given up at `deadline`. Errors say why, for the user.
  virtual Result<std::unique_ptr<LineConnection>> Dial(SteadyTime deadline) = 0;

  // Waits until `until` (the pause between attempts). Returns false when Ctrl-C came first.
  virtual bool Pause(SteadyTime until) = 0;
};

struct Backoff {
  std::chrono::milliseconds first_pause{100};  // after the first failed attempt
  std::chrono::milliseconds max_pause{2000};   // pauses double up to this
};

// Dials until a connection is made or `deadline` passes, pausing between attempts (and for
// `pause_first` before the first one). Errors: Unavailable("interrupted") after Ctrl-C; Timeout
// when the deadline passed, with the last attempt's error. Deadlines are read on `clock`.
Result<std::unique_ptr<LineConnection>> DialWithBackoff(Dialer& dialer, const Clock& clock,
                                                        SteadyTime deadline,
                                                        Duration pause_first = Duration::zero(),
                                                        const Backoff& backoff = {});

}  // namespace codeswarm::cli
