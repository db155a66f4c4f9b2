// What tokens cost: the `pricing` section of the config, a table of USD per million tokens per
// model, and the estimate of a turn's cost from its `usage` event. See docs/CONFIG_SCHEMA.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace codeswarm {

class JsonObjectReader;

// USD per million tokens.
struct ModelPrice {
  double input = 0;
  double cached_input = 0;  // input tokens read from the provider's prompt cache
  double output = 0;
  double reasoning = 0;  // output tokens spent on reasoning
};

// One `usage` event (docs/PROTOCOL.md): cached_input is a part of input, reasoning_output a part
// of output.
struct TokenUsage {
  int64_t input = 0;
  int64_t cached_input = 0;
  int64_t output = 0;
  int64_t reasoning_output = 0;
};

// Where the built-in prices come from, for the docs and `codeswarm config`-style output.
inline constexpr std::string_view kDefaultPricesSource =
    "list prices of OpenAI (openai.com/api/pricing) and Anthropic (anthropic.com/pricing) as "
    "published in November 2025";

class PricingTable {
 public:
  // The built-in prices of common OpenAI and Anthropic models (kDefaultPricesSource).
  static PricingTable Defaults();

  void Set(std::string model, ModelPrice price) { prices_[std::move(model)] = price; }
  // The price of `model`: its own entry, else that of the name without a date suffix
  // ("claude-sonnet-4-5-20250929" -> "claude-sonnet-4-5", "gpt-4o-2024-08-06" -> "gpt-4o");
  // null when neither is in the table.
  const ModelPrice* Find(std::string_view model) const;
  const std::map<std::string, ModelPrice, std::less<>>& prices() const { return prices_; }

 private:
  std::map<std::string, ModelPrice, std::less<>> prices_;
};

// The estimated USD cost of `usage` at `price`. Negative counts (a confused adapter) count as
// zero, and a part larger than its whole as the whole.
double EstimateCostUsd(const ModelPrice& price, const TokenUsage& usage);

// Reads the config's optional `pricing` object into `table` (entries replace or extend the
// defaults already there). Errors go to the reader's JsonErrors with their paths.
void ReadPricing(JsonObjectReader& root, PricingTable* table);

}  // namespace codeswarm
