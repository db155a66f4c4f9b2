#include "cli/dialer.h"

#include <algorithm>

namespace codeswarm::cli {

Result<std::unique_ptr<LineConnection>> DialWithBackoff(Dialer& dialer, const Clock& clock,
                                                        SteadyTime deadline, Duration pause_first,
                                                        const Backoff& backoff) {
  if (pause_first > Duration::zero() &&
      !dialer.Pause(std::min(deadline, clock.Now() + pause_first))) {
    return Status::Unavailable("interrupted");
  }
  Duration pause = backoff.first_pause;
  std::string last_error = "no time was left to try";
  while (clock.Now() < deadline) {
    Result<std::unique_ptr<LineConnection>> connection = dialer.Dial(deadline);
    if (connection.ok()) return connection;
    last_error = connection.status().message();
    const SteadyTime next_attempt = std::min(deadline, clock.Now() + pause);
    if (!dialer.Pause(next_attempt)) return Status::Unavailable("interrupted");
    pause = std::min<Duration>(pause * 2, backoff.max_pause);
  }
  return Status::Timeout(last_error);
}

}  // namespace codeswarm::cli
