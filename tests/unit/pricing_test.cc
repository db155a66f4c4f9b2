#include "common/pricing.h"

#include <gtest/gtest.h>

#include "common/config.h"
#include "worker/agent_settings.h"

namespace codeswarm {
namespace {

Result<Config> Parse(const std::string& text) {
  return ParseConfig(text, "c.json", "/", ValidateAgentSettings);
}

TEST(PricingTest, DefaultsPriceCommonModelsAndTheirDatedNames) {
  const PricingTable table = PricingTable::Defaults();
  ASSERT_NE(table.Find("gpt-5"), nullptr);
  EXPECT_DOUBLE_EQ(table.Find("gpt-5")->input, 1.25);
  ASSERT_NE(table.Find("claude-sonnet-4-5"), nullptr);
  EXPECT_EQ(table.Find("claude-sonnet-4-5-20250929"), table.Find("claude-sonnet-4-5"));
  EXPECT_EQ(table.Find("gpt-4o-2024-08-06"), table.Find("gpt-4o"));
  // Reasoning is billed as output unless a table says otherwise.
  EXPECT_DOUBLE_EQ(table.Find("o3")->reasoning, table.Find("o3")->output);
}

TEST(PricingTest, OnlyADateSuffixFallsBackToTheBaseName) {
  const PricingTable table = PricingTable::Defaults();
  EXPECT_EQ(table.Find("gpt-4o-audio-preview"), nullptr);
  EXPECT_EQ(table.Find("gpt-4o-123"), nullptr);
  EXPECT_EQ(table.Find("sonnet"), nullptr);  // claude's alias: which model it means varies
  EXPECT_EQ(table.Find(""), nullptr);
  EXPECT_EQ(table.Find("mock"), nullptr);
}

TEST(PricingTest, CostBillsCachedInputAndReasoningAtTheirOwnPrices) {
  const ModelPrice price{2.0, 0.5, 8.0, 16.0};
  // 600k fresh input, 400k cached, 50k plain output, 50k reasoning.
  const TokenUsage usage{1'000'000, 400'000, 100'000, 50'000};
  EXPECT_NEAR(EstimateCostUsd(price, usage), 1.2 + 0.2 + 0.4 + 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(EstimateCostUsd(price, TokenUsage{}), 0.0);
}

TEST(PricingTest, ConfusedCountsNeverMakeANegativeCost) {
  const ModelPrice price{1.0, 0.1, 2.0, 2.0};
  // A part larger than its whole counts as the whole; negative counts as zero.
  EXPECT_NEAR(EstimateCostUsd(price, TokenUsage{100, 500, -7, 3}), 100 * 0.1 / 1e6, 1e-15);
}

TEST(PricingTest, ConfigEntriesReplaceAndExtendTheDefaults) {
  Result<Config> config = Parse(R"({"pricing":{
      "gpt-5":{"input":1,"cached_input":0.1,"output":9,"reasoning":9.5},
      "my-vllm-model":{"input":0.2,"output":0.4}}})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const ModelPrice* gpt5 = config->pricing.Find("gpt-5");
  ASSERT_NE(gpt5, nullptr);
  EXPECT_DOUBLE_EQ(gpt5->input, 1);
  EXPECT_DOUBLE_EQ(gpt5->reasoning, 9.5);
  const ModelPrice* own = config->pricing.Find("my-vllm-model");
  ASSERT_NE(own, nullptr);
  EXPECT_DOUBLE_EQ(own->cached_input, 0.2);                     // unset: the input price
  EXPECT_DOUBLE_EQ(own->reasoning, 0.4);                        // unset: the output price
  EXPECT_NE(config->pricing.Find("claude-opus-4-1"), nullptr);  // defaults stay
}

TEST(PricingTest, EveryBadEntryIsReportedWithItsPath) {
  Result<Config> config = Parse(R"({"pricing":{
      "a":{"input":1},
      "b":{"input":-1,"output":"2"},
      "c":{"input":1,"output":2,"per_request":3},
      "d":7}})");
  ASSERT_FALSE(config.ok());
  const std::string& message = config.status().message();
  EXPECT_NE(message.find("pricing.a.output: missing (required)"), std::string::npos) << message;
  EXPECT_NE(message.find("pricing.b.input:"), std::string::npos) << message;
  EXPECT_NE(message.find("pricing.b.output: expected a number"), std::string::npos) << message;
  EXPECT_NE(message.find("pricing.c.per_request: unknown key"), std::string::npos) << message;
  EXPECT_NE(message.find("pricing.d: expected an object"), std::string::npos) << message;
  EXPECT_EQ(message.rfind("c.json: ", 0), 0u) << message;
}

TEST(PricingTest, PricingMustBeAnObject) {
  Result<Config> config = Parse(R"({"pricing":[]})");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("pricing: expected an object"), std::string::npos)
      << config.status().message();
}

}  // namespace
}  // namespace codeswarm
