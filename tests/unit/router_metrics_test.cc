// The router's estimated costs (usage events, status, list) and its Prometheus text.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "router/prometheus_text.h"
#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

// Parses Prometheus text: every line is a HELP, a TYPE or a sample of the family declared last.
// Returns sample -> value ("name{labels}" as written), failing the test on any malformed line.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? )"
      R"(([-+0-9.eE]+|\+Inf|NaN))");
  std::map<std::string, double> samples;
  std::set<std::string> families;
  std::string family;
  std::istringstream in(text);
  std::string line;
  std::string helped;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      helped = m[1];
      EXPECT_TRUE(families.insert(helped).second) << "family twice: " << line;
    } else if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(m[1], helped) << "TYPE without its HELP: " << line;
      family = m[1];
    } else if (std::regex_match(line, m, kSample)) {
      const std::string name = m[1];
      EXPECT_EQ(name.rfind(family, 0), 0u) << "sample outside its family: " << line;
      samples[line.substr(0, line.rfind(' '))] = std::stod(line.substr(line.rfind(' ') + 1));
    } else {
      ADD_FAILURE() << "malformed line: " << line;
    }
  }
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  return samples;
}

TEST(PrometheusTextTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(PrometheusText::EscapeLabelValue("a\\b\"c\nd"), R"(a\\b\"c\nd)");
  PrometheusText out;
  out.Family("x_total", "counter", "Help with a \\ and\na newline.");
  out.Sample("x_total", {{"model", "we\"ird"}}, 2);
  EXPECT_EQ(out.text(),
            "# HELP x_total Help with a \\\\ and\\na newline.\n# TYPE x_total counter\n"
            "x_total{model=\"we\\\"ird\"} 2\n");
  EXPECT_EQ(PrometheusText::FormatValue(0.25), "0.25");
  EXPECT_EQ(PrometheusText::FormatValue(1e300 * 1e10), "+Inf");
}

class RouterCostTest : public RouterCoreTest {
 protected:
  RouterCostTest() {
    pricing_.Set("mock", ModelPrice{2.0, 0.5, 10.0, 20.0});
    MakeCore();
  }

  // A turn whose usage is `usage` on node 0 of a connected swarm.
  void RunTurnWithUsage(const std::string& swarm, const std::string& usage, uint64_t seq = 1) {
    const std::string injection = Inject(swarm);
    const std::string s = std::to_string(seq);
    WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
    WorkerSays(swarm, 0, "event " + s + " " + injection + " turn_started {}");
    WorkerSays(swarm, 0, "event " + std::to_string(seq + 1) + " " + injection + " usage " + usage);
    executor_.Advance(std::chrono::seconds(3));
    WorkerSays(swarm, 0,
               "event " + std::to_string(seq + 2) + " " + injection +
                   R"( turn_complete {"status":"completed","error":null})");
  }

  json::object Status(const std::string& swarm) {
    core_->OnClientLine(kClient, Command("swarm_status", R"({"swarm_id":")" + swarm + "\"}"));
    return clients_.Last("swarm_status").at("data").as_object();
  }
};

constexpr const char* kUsage =
    R"({"input_tokens":1000000,"cached_input_tokens":400000,"output_tokens":100000,)"
    R"("reasoning_output_tokens":50000,"total_tokens":1100000})";
constexpr double kUsageCost = 1.2 + 0.2 + 0.5 + 1.0;

TEST_F(RouterCostTest, UsageEventsCarryTheirEstimatedCost) {
  const std::string swarm = Launch(1);
  Connect(swarm, 0);
  RunTurnWithUsage(swarm, kUsage);
  const json::object usage = clients_.Last("usage").at("data").as_object();
  EXPECT_EQ(usage.at("total_tokens"), 1100000);  // the worker's fields stay
  EXPECT_NEAR(usage.at("cost_usd").as_double(), kUsageCost, 1e-9);
  EXPECT_EQ(usage.at("model"), "mock");
  EXPECT_FALSE(usage.contains("cost_note"));
}

TEST_F(RouterCostTest, StatusAndListSumTheCostPerNodeAndPerSwarm) {
  const std::string swarm = Launch(2);
  Connect(swarm, 0);
  Connect(swarm, 1);
  RunTurnWithUsage(swarm, kUsage, 1);
  RunTurnWithUsage(swarm, kUsage, 4);
  const json::object status = Status(swarm);
  EXPECT_NEAR(status.at("cost_usd").as_double(), 2 * kUsageCost, 1e-9);
  EXPECT_EQ(status.at("model"), "mock");
  const json::array& nodes = status.at("nodes").as_array();
  EXPECT_NEAR(nodes.at(0).at("cost_usd").as_double(), 2 * kUsageCost, 1e-9);
  EXPECT_EQ(nodes.at(1).at("cost_usd").as_double(), 0.0);

  core_->OnClientLine(kClient, Command("swarm_list", "{}"));
  const json::object listed =
      clients_.Last("swarm_list").at("data").at("swarms").at(swarm).as_object();
  EXPECT_NEAR(listed.at("cost_usd").as_double(), 2 * kUsageCost, 1e-9);
}

TEST_F(RouterCostTest, NodeCostsSurviveARouterRestart) {
  const std::string swarm = Launch(1);
  Connect(swarm, 0);
  RunTurnWithUsage(swarm, kUsage);
  MakeCore();  // a new router on the same store
  const json::object status = Status(swarm);
  EXPECT_NEAR(status.at("cost_usd").as_double(), kUsageCost, 1e-9);
  EXPECT_EQ(status.at("model"), "mock");  // from the stored agent settings
}

TEST_F(RouterCostTest, AModelWithoutAPriceHasNoCostAndSaysWhyNotZero) {
  const std::string swarm =
      Launch(1, R"(,"agent":{"kind":"codex","codex":{"model":"my-private-model"}})");
  Connect(swarm, 0);
  RunTurnWithUsage(swarm, kUsage);
  const json::object usage = clients_.Last("usage").at("data").as_object();
  EXPECT_TRUE(usage.at("cost_usd").is_null());
  EXPECT_EQ(usage.at("cost_note"),
            "no price for model \"my-private-model\"; add it to the config's pricing");
  const json::object status = Status(swarm);
  EXPECT_TRUE(status.at("cost_usd").is_null());
  EXPECT_EQ(status.at("cost_note"), usage.at("cost_note"));
  EXPECT_TRUE(status.at("nodes").at(0).at("cost_usd").is_null());
}

TEST_F(RouterCostTest, SettingsThatNameNoModelHaveNoCost) {
  const std::string swarm = Launch(1, R"(,"agent":{"kind":"claude"})");
  const json::object status = Status(swarm);
  EXPECT_TRUE(status.at("cost_usd").is_null());
  EXPECT_EQ(status.at("model"), "");
  EXPECT_NE(std::string(status.at("cost_note").as_string()).find("name no model"),
            std::string::npos);
}

TEST_F(RouterCostTest, MetricsCountSwarmsTurnsLatencyTokensAndCost) {
  const std::string swarm = Launch(1);
  Connect(swarm, 0);
  RunTurnWithUsage(swarm, kUsage);
  const std::map<std::string, double> m = ParseMetrics(core_->MetricsText());
  EXPECT_EQ(m.at(R"(codeswarm_swarms{status="running"})"), 1);
  EXPECT_EQ(m.at(R"(codeswarm_swarms{status="ended"})"), 0);
  EXPECT_EQ(m.at("codeswarm_nodes_connected"), 1);
  EXPECT_EQ(m.at(R"(codeswarm_turns_total{outcome="completed"})"), 1);
  EXPECT_EQ(m.at(R"(codeswarm_turns_total{outcome="failed"})"), 0);
  // The turn took 3 s of the core's clock from its inject.
  EXPECT_EQ(m.at(R"(codeswarm_inject_to_turn_complete_seconds_bucket{le="2"})"), 0);
  EXPECT_EQ(m.at(R"(codeswarm_inject_to_turn_complete_seconds_bucket{le="5"})"), 1);
  EXPECT_EQ(m.at(R"(codeswarm_inject_to_turn_complete_seconds_bucket{le="+Inf"})"), 1);
  EXPECT_EQ(m.at("codeswarm_inject_to_turn_complete_seconds_count"), 1);
  EXPECT_NEAR(m.at("codeswarm_inject_to_turn_complete_seconds_sum"), 3, 1e-9);
  EXPECT_EQ(m.at("codeswarm_worker_events_forwarded_total"), 3);
  EXPECT_EQ(m.at(R"(codeswarm_tokens_total{model="mock",kind="input"})"), 1000000);
  EXPECT_EQ(m.at(R"(codeswarm_tokens_total{model="mock",kind="reasoning_output"})"), 50000);
  EXPECT_NEAR(m.at(R"(codeswarm_cost_usd_total{model="mock"})"), kUsageCost, 1e-9);
}

TEST_F(RouterCostTest, MetricsEscapeModelNamesAndLeaveUnpricedModelsOutOfCost) {
  const std::string swarm =
      Launch(1, R"(,"agent":{"kind":"codex","codex":{"model":"we\"ird\\model"}})");
  Connect(swarm, 0);
  RunTurnWithUsage(swarm, kUsage);
  const std::string text = core_->MetricsText();
  const std::map<std::string, double> m = ParseMetrics(text);
  EXPECT_EQ(m.at(R"(codeswarm_tokens_total{model="we\"ird\\model",kind="output"})"), 100000);
  EXPECT_EQ(text.find("codeswarm_cost_usd_total{"), std::string::npos) << text;
}

TEST_F(RouterCostTest, TurnsTheRouterEndsCountByOutcome) {
  const std::string swarm = Launch(1);
  Connect(swarm, 0);
  const std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}"));
  executor_.RunPending();
  executor_.Advance(std::chrono::seconds(3));
  executor_.Advance(std::chrono::seconds(3));  // the worker never went: the router ends the turn
  ASSERT_EQ(clients_.Last("turn_complete").at("data").at("status"), "interrupted");
  const std::map<std::string, double> m = ParseMetrics(core_->MetricsText());
  EXPECT_EQ(m.at(R"(codeswarm_turns_total{outcome="interrupted"})"), 1);
  EXPECT_EQ(m.at(R"(codeswarm_turns_total{outcome="completed"})"), 0);
  EXPECT_EQ(m.at(R"(codeswarm_inject_to_turn_complete_seconds_count)"), 1);
  EXPECT_EQ(m.at(R"(codeswarm_swarms{status="terminated"})"), 1);
}

}  // namespace
}  // namespace codeswarm::router::testing
