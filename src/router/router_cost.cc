// RouterCore: estimated cost. The router knows no agent: a swarm's model is what the agent
// settings validator named at launch, and a turn's tokens are its worker's usage event.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "common/json_reader.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace json = boost::json;

namespace {

int64_t CountAt(const json::object& usage, std::string_view key) {
  const json::value* v = usage.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

}  // namespace

const ModelPrice* RouterCore::SwarmPrice(const Swarm& swarm) const {
  if (swarm.model.empty()) return nullptr;
  return options_.pricing.Find(swarm.model);
}

std::string RouterCore::CostUnknownReason(const Swarm& swarm) const {
  if (swarm.model.empty()) {
    return "the agent settings name no model (the " + swarm.agent_kind +
           " agent's own default), so its price is unknown; set the agent's model";
  }
  return "no price for model " + JsonQuote(swarm.model) + "; add it to the config's pricing";
}

std::string RouterCore::PriceUsage(const Swarm& swarm, Node& node, std::string_view usage_data) {
  json::error_code ec;
  json::value parsed = json::parse(usage_data, ec);
  if (ec || !parsed.is_object()) return std::string(usage_data);  // forwarded as the worker sent it
  json::object& usage = parsed.as_object();
  node.total_tokens += CountAt(usage, "total_tokens");
  const TokenUsage tokens{CountAt(usage, "input_tokens"), CountAt(usage, "cached_input_tokens"),
                          CountAt(usage, "output_tokens"),
                          CountAt(usage, "reasoning_output_tokens")};
  std::optional<double> cost;
  if (const ModelPrice* price = SwarmPrice(swarm)) {
    cost = EstimateCostUsd(*price, tokens);
    node.cost_usd += *cost;
    usage["cost_usd"] = *cost;
    usage.erase("cost_note");
  } else {
    usage["cost_usd"] = nullptr;
    usage["cost_note"] = CostUnknownReason(swarm);
  }
  usage["model"] = swarm.model;
  metrics_.CountUsage(swarm.model, tokens, cost);
  return json::serialize(usage);
}

void RouterCore::AddCostFields(const Swarm& swarm, const Node* node, json::object& data) const {
  if (node == nullptr) data["model"] = swarm.model;
  if (SwarmPrice(swarm) == nullptr) {
    data["cost_usd"] = nullptr;
    if (node == nullptr) data["cost_note"] = CostUnknownReason(swarm);
    return;
  }
  if (node != nullptr) {
    data["cost_usd"] = node->cost_usd;
    return;
  }
  double total = 0;
  for (const Node& n : swarm.nodes) total += n.cost_usd;
  data["cost_usd"] = total;
}

void RouterCore::CountTurnEnd(const Delivery* delivery, std::string_view status) {
  metrics_.CountTurn(status);
  if (delivery == nullptr || !delivery->accepted_at) return;
  const Duration took = clock_.Now() - *delivery->accepted_at;
  metrics_.inject_to_turn_complete.Observe(std::chrono::duration<double>(took).count());
}

}  // namespace codeswarm::router
