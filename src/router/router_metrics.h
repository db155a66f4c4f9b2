// What the router counts for its Prometheus metrics (RouterCore::MetricsText, docs/METRICS.md):
// the counters only the moment of an event can tell (turns by outcome, latencies, usage). Gauges
// (swarms, nodes, clients) are read from the core's state when the text is made. Counters start
// at zero with each router process, as Prometheus expects of counters.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/pricing.h"

namespace codeswarm::router {

// The seconds from an inject's acceptance to its turn_complete on one node.
class LatencyHistogram {
 public:
  // Upper bounds in seconds; agent turns take from about a second to many minutes.
  static constexpr std::array<double, 12> kBounds = {0.5, 1,   2,   5,   10,   30,
                                                     60,  120, 300, 600, 1800, 3600};
  void Observe(double seconds);
  // Cumulative count of observations <= kBounds[i].
  uint64_t CumulativeCount(std::size_t i) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::array<uint64_t, kBounds.size()> buckets_{};  // not cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Tokens and estimated cost of one model, summed over the usage events of this process.
struct ModelUsageTotals {
  TokenUsage tokens;
  double cost_usd = 0;
  bool priced = false;  // the model had a price (cost_usd means something)
};

struct RouterMetrics {
  // By turn_complete status: completed, failed, interrupted.
  std::map<std::string, uint64_t, std::less<>> turns_by_outcome;
  LatencyHistogram inject_to_turn_complete;
  uint64_t worker_events_forwarded = 0;
  // By model name ("" when the agent settings name none).
  std::map<std::string, ModelUsageTotals, std::less<>> usage_by_model;

  void CountTurn(std::string_view status);
  void CountUsage(const std::string& model, const TokenUsage& tokens,
                  const std::optional<double>& cost_usd);
};

// The `status` of a turn_complete event's data ("completed", ...), or "unknown".
std::string TurnStatusOf(std::string_view turn_complete_data);

}  // namespace codeswarm::router
