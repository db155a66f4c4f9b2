// RouterCore::MetricsText and the counters behind it. Names and meanings: docs/METRICS.md.
#include "router/router_metrics.h"

#include <boost/json.hpp>

#include "router/prometheus_text.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace json = boost::json;

void LatencyHistogram::Observe(double seconds) {
  if (!(seconds >= 0)) seconds = 0;  // a clock that went back (or NaN) counts as instant
  ++count_;
  sum_ += seconds;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++buckets_[i];
      return;
    }
  }
}

uint64_t LatencyHistogram::CumulativeCount(std::size_t i) const {
  uint64_t total = 0;
  for (std::size_t j = 0; j <= i && j < buckets_.size(); ++j) total += buckets_[j];
  return total;
}

void RouterMetrics::CountTurn(std::string_view status) {
  auto it = turns_by_outcome.find(status);
  if (it == turns_by_outcome.end()) it = turns_by_outcome.emplace(std::string(status), 0).first;
  ++it->second;
}

void RouterMetrics::CountUsage(const std::string& model, const TokenUsage& tokens,
                               const std::optional<double>& cost_usd) {
  ModelUsageTotals& totals = usage_by_model[model];
  totals.tokens.input += tokens.input;
  totals.tokens.cached_input += tokens.cached_input;
  totals.tokens.output += tokens.output;
  totals.tokens.reasoning_output += tokens.reasoning_output;
  if (cost_usd) {
    totals.cost_usd += *cost_usd;
    totals.priced = true;
  }
}

std::string TurnStatusOf(std::string_view turn_complete_data) {
  json::error_code ec;
  json::value data = json::parse(turn_complete_data, ec);
  if (ec || !data.is_object()) return "unknown";
  const json::value* status = data.as_object().if_contains("status");
  if (status == nullptr || !status->is_string()) return "unknown";
  return std::string(status->get_string());
}

std::string RouterCore::MetricsText() const {
  PrometheusText out;
  out.Family("codeswarm_swarms", "gauge", "Swarms the router knows, by status.");
  std::map<std::string_view, int> by_status;
  for (SwarmStatus status :
       {SwarmStatus::kLaunching, SwarmStatus::kPending, SwarmStatus::kRunning,
        SwarmStatus::kTerminating, SwarmStatus::kTerminated, SwarmStatus::kEnded}) {
    by_status[SwarmStatusName(status)] = 0;
  }
  int nodes_connected = 0;
  for (const auto& [id, swarm] : swarms_) {
    ++by_status[SwarmStatusName(swarm->status)];
    nodes_connected += swarm->ConnectedCount();
  }
  for (const auto& [status, count] : by_status) {
    out.Sample("codeswarm_swarms", {{"status", std::string(status)}}, count);
  }
  out.Family("codeswarm_nodes_connected", "gauge", "Nodes whose worker is connected.");
  out.Sample("codeswarm_nodes_connected", nodes_connected);
  out.Family("codeswarm_clients_connected", "gauge", "Client connections (CLI, web page).");
  out.Sample("codeswarm_clients_connected", static_cast<double>(live_after_.size()));

  out.Family("codeswarm_turns_total", "counter",
             "Turns ended (turn_complete), by outcome: completed, failed, interrupted.");
  for (std::string_view outcome : {"completed", "failed", "interrupted"}) {
    auto it = metrics_.turns_by_outcome.find(outcome);
    const uint64_t n = it == metrics_.turns_by_outcome.end() ? 0 : it->second;
    out.Sample("codeswarm_turns_total", {{"outcome", std::string(outcome)}},
               static_cast<double>(n));
  }
  for (const auto& [outcome, n] : metrics_.turns_by_outcome) {
    if (outcome == "completed" || outcome == "failed" || outcome == "interrupted") continue;
    out.Sample("codeswarm_turns_total", {{"outcome", outcome}}, static_cast<double>(n));
  }

  const LatencyHistogram& latency = metrics_.inject_to_turn_complete;
  out.Family("codeswarm_inject_to_turn_complete_seconds", "histogram",
             "Seconds from an inject's acceptance to its turn_complete, per node.");
  for (std::size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
    out.Sample("codeswarm_inject_to_turn_complete_seconds_bucket",
               {{"le", PrometheusText::FormatValue(LatencyHistogram::kBounds[i])}},
               static_cast<double>(latency.CumulativeCount(i)));
  }
  out.Sample("codeswarm_inject_to_turn_complete_seconds_bucket", {{"le", "+Inf"}},
             static_cast<double>(latency.count()));
  out.Sample("codeswarm_inject_to_turn_complete_seconds_sum", latency.sum());
  out.Sample("codeswarm_inject_to_turn_complete_seconds_count",
             static_cast<double>(latency.count()));

  out.Family("codeswarm_worker_events_forwarded_total", "counter",
             "Runtime events taken from workers and sent on to clients.");
  out.Sample("codeswarm_worker_events_forwarded_total",
             static_cast<double>(metrics_.worker_events_forwarded));

  out.Family("codeswarm_tokens_total", "counter",
             "Tokens of usage events, by model and kind (cached_input is a part of input, "
             "reasoning_output a part of output).");
  for (const auto& [model, totals] : metrics_.usage_by_model) {
    const std::pair<std::string_view, int64_t> kinds[] = {
        {"input", totals.tokens.input},
        {"cached_input", totals.tokens.cached_input},
        {"output", totals.tokens.output},
        {"reasoning_output", totals.tokens.reasoning_output}};
    for (const auto& [kind, n] : kinds) {
      out.Sample("codeswarm_tokens_total", {{"model", model}, {"kind", std::string(kind)}},
                 static_cast<double>(n));
    }
  }
  out.Family("codeswarm_cost_usd_total", "counter",
             "Estimated USD of usage events, by model (models without a price are left out).");
  for (const auto& [model, totals] : metrics_.usage_by_model) {
    if (totals.priced) out.Sample("codeswarm_cost_usd_total", {{"model", model}}, totals.cost_usd);
  }
  return out.text();
}

}  // namespace codeswarm::router
