#include "common/pricing.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "common/json_reader.h"

namespace codeswarm {
namespace json = boost::json;

namespace {

// USD per million tokens: input, cached input, output (reasoning is billed as output by both
// vendors). Anthropic's cached input is the cache-read price; the usage events count cache
// writes as cached input too (docs/AGENTS.md), which Anthropic bills above the input price, so
// for claude turns that fill the cache the estimate is low.
struct DefaultPrice {
  const char* model;
  double input, cached_input, output;
};
constexpr DefaultPrice kDefaultPrices[] = {
    {"gpt-5", 1.25, 0.125, 10.00},
    {"gpt-5-codex", 1.25, 0.125, 10.00},
    {"gpt-5-mini", 0.25, 0.025, 2.00},
    {"gpt-5-nano", 0.05, 0.005, 0.40},
    {"gpt-5.1", 1.25, 0.125, 10.00},
    {"gpt-5.1-codex", 1.25, 0.125, 10.00},
    {"gpt-5.1-codex-mini", 0.25, 0.025, 2.00},
    {"gpt-4.1", 2.00, 0.50, 8.00},
    {"gpt-4.1-mini", 0.40, 0.10, 1.60},
    {"gpt-4.1-nano", 0.10, 0.025, 0.40},
    {"gpt-4o", 2.50, 1.25, 10.00},
    {"gpt-4o-mini", 0.15, 0.075, 0.60},
    {"o3", 2.00, 0.50, 8.00},
    {"o4-mini", 1.10, 0.275, 4.40},
    {"codex-mini-latest", 1.50, 0.375, 6.00},
    {"claude-opus-4-5", 5.00, 0.50, 25.00},
    {"claude-opus-4-1", 15.00, 1.50, 75.00},
    {"claude-opus-4", 15.00, 1.50, 75.00},
    {"claude-sonnet-4-5", 3.00, 0.30, 15.00},
    {"claude-sonnet-4", 3.00, 0.30, 15.00},
    {"claude-3-7-sonnet", 3.00, 0.30, 15.00},
    {"claude-haiku-4-5", 1.00, 0.10, 5.00},
    {"claude-3-5-haiku", 0.80, 0.08, 4.00},
};

bool AllDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

// "-20250929" or "-2024-08-06" at the end of a model name: the length of that suffix, or 0.
std::size_t DateSuffixLength(std::string_view model) {
  auto ends_with_date = [&](std::string_view shape) {
    if (model.size() <= shape.size()) return false;
    std::string_view tail = model.substr(model.size() - shape.size());
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == '-' ? tail[i] != '-' : !AllDigits(tail.substr(i, 1))) return false;
    }
    return true;
  };
  if (ends_with_date("-00000000")) return 9;
  if (ends_with_date("-0000-00-00")) return 11;
  return 0;
}

int64_t AtLeastZero(int64_t n) { return std::max<int64_t>(n, 0); }

// Reads a price (USD per million tokens) at `key` when present.
bool ReadPrice(JsonObjectReader& r, std::string_view key, double* out) {
  double value = 0;
  if (!r.Number(key, -1e300, 1e300, &value)) return false;
  if (value < 0 || value > 1e6) {
    r.Error(key, "expected USD per million tokens, from 0 to 1000000, got " +
                     DescribeJsonValue(*r.Raw(key)));
    return false;
  }
  *out = value;
  return true;
}

void ReadModelPrice(JsonObjectReader& pricing, const std::string& model, PricingTable* table) {
  const json::object* object = pricing.Object(model);
  if (object == nullptr) return;  // not an object: Object() recorded it
  JsonObjectReader r(*object, pricing.PathOf(model), pricing.errors());
  ModelPrice price;
  const bool input = r.Require("input") && ReadPrice(r, "input", &price.input);
  const bool output = r.Require("output") && ReadPrice(r, "output", &price.output);
  price.cached_input = price.input;
  price.reasoning = price.output;
  const bool cached = !r.Has("cached_input") || ReadPrice(r, "cached_input", &price.cached_input);
  const bool reasoning = !r.Has("reasoning") || ReadPrice(r, "reasoning", &price.reasoning);
  r.Finish();
  if (input && output && cached && reasoning) table->Set(model, price);
}

}  // namespace

PricingTable PricingTable::Defaults() {
  PricingTable table;
  for (const DefaultPrice& p : kDefaultPrices) {
    table.Set(p.model, ModelPrice{p.input, p.cached_input, p.output, p.output});
  }
  return table;
}

const ModelPrice* PricingTable::Find(std::string_view model) const {
  if (auto it = prices_.find(model); it != prices_.end()) return &it->second;
  const std::size_t suffix = DateSuffixLength(model);
  if (suffix == 0) return nullptr;
  auto it = prices_.find(model.substr(0, model.size() - suffix));
  return it == prices_.end() ? nullptr : &it->second;
}

double EstimateCostUsd(const ModelPrice& price, const TokenUsage& usage) {
  const int64_t input = AtLeastZero(usage.input);
  const int64_t cached = std::min(AtLeastZero(usage.cached_input), input);
  const int64_t output = AtLeastZero(usage.output);
  const int64_t reasoning = std::min(AtLeastZero(usage.reasoning_output), output);
  const double per_million = static_cast<double>(input - cached) * price.input +
                             static_cast<double>(cached) * price.cached_input +
                             static_cast<double>(output - reasoning) * price.output +
                             static_cast<double>(reasoning) * price.reasoning;
  return per_million / 1e6;
}

void ReadPricing(JsonObjectReader& root, PricingTable* table) {
  const json::object* object = root.Object("pricing");
  if (object == nullptr) return;
  JsonObjectReader r(*object, "pricing", root.errors());
  for (const auto& entry : *object) {
    const std::string model(entry.key());
    const bool printable = std::all_of(model.begin(), model.end(), [](char c) {
      return !std::iscntrl(static_cast<unsigned char>(c));
    });
    if (model.empty() || model.size() > 200 || !printable) {
      r.Error(model, "a model name must be 1 to 200 printable characters");
      r.Raw(model);
      continue;
    }
    ReadModelPrice(r, model, table);
  }
  r.Finish();
}

}  // namespace codeswarm
