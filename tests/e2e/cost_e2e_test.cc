// Estimated cost end to end: the real router with a pricing table in its config, real workers
// running the mock agent (which reports usage), read over the client protocol and by the CLI.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "e2e/router_e2e_fixture.h"

namespace codeswarm::e2e {
namespace {

using namespace router_test;  // NOLINT: the fixture and its helpers

// Half a dollar per input token, a dollar per output token: the cost of a turn is easy to
// check from its counts.
json::object PricedMock() {
  return json::object{
      {"pricing", json::object{{"mock", json::object{{"input", 500000}, {"output", 1000000}}}}}};
}

double Number(const json::value& v) { return v.to_number<double>(); }

TEST_F(RouterE2ETest, UsageEventsStatusAndListCarryTheEstimatedCost) {
  RouterProcess router(dir_, PricedMock());
  router.Start();
  ProtocolClient client(router.port());
  const std::string swarm = LaunchAndWait(client, 2);
  const std::string injection = InjectAndWait(client, swarm, "what does it cost", 2);

  std::map<int64_t, double> turn_cost;
  for (const json::object& e : client.events()) {
    if (!IsEvent(e, "usage") || Field(e, "injection_id") != injection) continue;
    const json::object& data = e.at("data").as_object();
    const double expected =
        0.5 * Number(data.at("input_tokens")) + 1.0 * Number(data.at("output_tokens"));
    ASSERT_GT(expected, 0) << json::serialize(data);
    EXPECT_NEAR(Number(data.at("cost_usd")), expected, 1e-9) << json::serialize(data);
    EXPECT_EQ(Str(data.at("model")), "mock");
    turn_cost[data.at("node_id").as_int64()] = expected;
  }
  ASSERT_EQ(turn_cost.size(), 2u);

  const json::object status = client.Answer(client.Send("swarm_status", {{"swarm_id", swarm}}));
  ASSERT_EQ(Str(status.at("event")), "swarm_status") << json::serialize(status);
  const json::object& data = status.at("data").as_object();
  EXPECT_NEAR(Number(data.at("cost_usd")), turn_cost[0] + turn_cost[1], 1e-9);
  for (const json::value& node : data.at("nodes").as_array()) {
    EXPECT_NEAR(Number(node.at("cost_usd")), turn_cost[node.at("node_id").as_int64()], 1e-9);
  }
  const json::object list = client.Answer(client.Send("swarm_list", {}));
  EXPECT_NEAR(Number(list.at("data").at("swarms").at(swarm).at("cost_usd")),
              turn_cost[0] + turn_cost[1], 1e-9);
}

TEST_F(RouterE2ETest, WithoutAPriceTheCostIsUnknownAndTheCliSaysWhy) {
  RouterProcess router(dir_);  // the built-in table has no price for the mock agent
  router.Start();
  ProtocolClient client(router.port());
  const std::string swarm = LaunchAndWait(client, 1);
  const std::string injection = InjectAndWait(client, swarm, "free?", 1);
  json::object usage;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "usage") && Field(e, "injection_id") == injection) usage = e;
  }
  ASSERT_FALSE(usage.empty()) << "no usage event";
  EXPECT_TRUE(usage.at("data").at("cost_usd").is_null()) << json::serialize(usage);
  EXPECT_EQ(Field(usage, "cost_note"),
            "no price for model \"mock\"; add it to the config's pricing");

  CliResult status = RunCli(router.config_path(), {"--no-autostart", "status", swarm});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_TRUE(
      std::regex_search(status.out, std::regex("\ncost: +unknown: no price for model \"mock\"")))
      << status.out;
}

TEST_F(RouterE2ETest, CliShowsTheCostOfEachTurnAndOfTheInjection) {
  RouterProcess router(dir_, PricedMock());
  router.Start();
  ProtocolClient client(router.port());
  const std::string swarm = LaunchAndWait(client, 2);
  CliResult injected =
      RunCli(router.config_path(), {"--no-autostart", "inject", swarm, "--prompt", "hi"});
  EXPECT_EQ(injected.exit_code, 0) << injected.out << injected.err;
  EXPECT_NE(injected.out.find("2/2 nodes completed, estimated cost $"), std::string::npos)
      << injected.out;
  CliResult status = RunCli(router.config_path(), {"--no-autostart", "status", swarm});
  EXPECT_NE(status.out.find("(estimated)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("COST"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace codeswarm::e2e
