// When the openai agent tries a request again, and after how long. Pure: the caller passes the
// randomness and the clock, so tests can pin both.
//
// Retried: connection errors and timeouts, HTTP 408, 429 and 5xx — but only while no answer text
// has reached the sink (a retry would stream it twice), and at most `max_retries` times. The delay
// is the server's Retry-After when it sent one (capped), else exponential backoff from
// `base_delay` doubling up to `max_delay`, with "equal jitter" (half fixed, half random) so that
// the nodes of a swarm do not all come back at the same moment. Everything else (401, 400, 404,
// a stream that the server ended with an error) is final.
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <string_view>

namespace codeswarm::worker::openai {

struct RetryPolicy {
  int max_retries = 3;
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{20000};
  std::chrono::milliseconds max_retry_after{60000};
};

// How one attempt failed.
struct AttemptFailure {
  bool transport_error = false;  // no HTTP answer: connection refused, reset, timed out
  int http_status = 0;           // else the status of the HTTP answer
  std::optional<std::chrono::milliseconds> retry_after;  // from the answer's Retry-After
  bool answer_streamed = false;  // some answer text already reached the sink
};

bool IsRetryableStatus(int http_status);

// The delay before the next attempt, or nullopt when `failure` is final. `retries_done` counts
// the retries already made (0 after the first attempt); `jitter` is uniform in [0, 1).
std::optional<std::chrono::milliseconds> RetryDelay(const AttemptFailure& failure, int retries_done,
                                                    const RetryPolicy& policy, double jitter);

// A Retry-After header value: delay-seconds, or an HTTP date (relative to `now`). nullopt when
// it is neither.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, std::time_t now);

}  // namespace codeswarm::worker::openai
