#include "worker/openai/retry_policy.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "common/text.h"

namespace codeswarm::worker::openai {

namespace {

// An HTTP date (RFC 9110 §5.6.7): IMF-fixdate, or the obsolete RFC 850 and asctime forms that
// a recipient must still accept. Always GMT.
std::optional<std::time_t> ParseHttpDate(const std::string& text) {
  static const char* const kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                         "%a %b %e %H:%M:%S %Y"};
  for (const char* format : kFormats) {
    std::tm fields{};
    const char* end = ::strptime(text.c_str(), format, &fields);
    if (end != nullptr && *end == '\0') return ::timegm(&fields);
  }
  return std::nullopt;
}

}  // namespace

bool IsRetryableStatus(int http_status) {
  return http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599);
}

std::optional<std::chrono::milliseconds> RetryDelay(const AttemptFailure& failure, int retries_done,
                                                    const RetryPolicy& policy, double jitter) {
  if (failure.answer_streamed || retries_done >= policy.max_retries) return std::nullopt;
  if (!failure.transport_error && !IsRetryableStatus(failure.http_status)) return std::nullopt;
  if (failure.retry_after) {
    return std::clamp(*failure.retry_after, std::chrono::milliseconds(0), policy.max_retry_after);
  }
  double exponential = static_cast<double>(policy.base_delay.count()) *
                       std::pow(2.0, std::min(retries_done, 30));
  double capped = std::min(exponential, static_cast<double>(policy.max_delay.count()));
  double jittered = capped / 2 + capped / 2 * std::clamp(jitter, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(jittered));
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, std::time_t now) {
  std::string_view trimmed = TrimWhitespace(value);
  if (trimmed.empty()) return std::nullopt;
  if (std::optional<long long> seconds = ParseInteger(trimmed)) {
    if (*seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(std::min<long long>(*seconds, 1LL << 31) * 1000);
  }
  std::optional<std::time_t> when = ParseHttpDate(std::string(trimmed));
  if (!when) return std::nullopt;
  return std::chrono::milliseconds(std::max<int64_t>(0, static_cast<int64_t>(*when - now)) * 1000);
}

}  // namespace codeswarm::worker::openai
