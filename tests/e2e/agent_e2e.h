// Helpers for end-to-end tests of real agents through the real router and workers: launch a
// swarm with given agent settings, inject, and collect what each node streamed.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "e2e/harness.h"
#include "e2e/stub_server.h"

namespace codeswarm::e2e {

// What one node reported for one injection, from the events the client received.
struct NodeTurn {
  std::vector<std::string> events;  // event names in order, inject_ack first
  std::string streamed;             // the assistant_delta pieces joined
  int deltas = 0;
  std::optional<std::string> content;  // the assistant event's text
  std::optional<boost::json::object> usage;
  std::vector<boost::json::object> approvals;  // approval events' data
  std::string status;  // turn_complete's status, or "inject_failed"
  std::string error;   // turn_complete's error ("" when null), or inject_failed's reason
};

// Launches a swarm (payload `agent` merged over the config's) and waits until its nodes are
// connected. Returns the swarm id ("" after a test failure).
std::string LaunchSwarm(ProtocolClient& client, int nodes, const boost::json::object& agent,
                        const std::string& system_prompt);
// Terminates a swarm and waits for the answer.
void TerminateSwarm(ProtocolClient& client, const std::string& swarm);

struct Injection {
  std::string id;
  std::vector<int> nodes;
};
// Sends an inject and waits for its acknowledgement.
Injection Inject(ProtocolClient& client, const std::string& swarm, const std::string& content,
                 boost::json::value nodes = "all");
// Waits until every node of `injection` ended (turn_complete or inject_failed), then returns
// what each reported.
std::map<int, NodeTurn> WaitTurns(ProtocolClient& client, const Injection& injection,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(60));
std::map<int, NodeTurn> InjectAndWait(ProtocolClient& client, const std::string& swarm,
                                      const std::string& content, boost::json::value nodes = "all");
// Waits until each node of `injection` streamed at least one assistant_delta.
void WaitFirstDeltas(ProtocolClient& client, const Injection& injection);

// The directory node `node` of `swarm` works in, for a RouterProcess on `dir` (default
// cluster_subdir).
std::string NodeDir(const TempDir& dir, const std::string& swarm, int node);

// A value of the JSON object at `key` as an integer (0 when absent).
int64_t IntField(const boost::json::object& object, const char* key);

// The fixture of an agent's suite: one stub model server and one router (its agent pointed at
// the stub) for the whole suite; each test launches its own 2-node swarm, terminated after it.
// A suite's SetUpTestSuite calls StartSuite and its TearDownTestSuite StopSuite; gtest runs
// suites one after another, so they share these members in turn.
class AgentE2E : public ::testing::Test {
 protected:
  struct Suite {
    std::string agent_kind;       // "codex", "claude", "openai": also the key of its settings
    std::string request_path;     // the model API path of its requests ("/v1/responses", ...)
    std::string binary_variable;  // names the real CLI to run ("" when the agent has none)
  };
  using Env = std::vector<std::pair<std::string, std::string>>;
  // The router's config and environment, made once the suite's directory and stub exist.
  using MakeConfig = std::function<boost::json::object(const TempDir&, const StubModelServer&)>;
  using MakeEnv = std::function<Env(const TempDir&, const StubModelServer&)>;

  // Starts the stub and the router (nothing when the suite's CLI is not installed: each test
  // then fails in SetUp with how to install it).
  static void StartSuite(Suite suite, const MakeConfig& config, const MakeEnv& env);
  static void StopSuite();
  // The suite's real CLI, from its variable ("" when unset).
  static std::string Binary();

  void SetUp() override;
  void TearDown() override;

  // Launches the test's 2-node swarm with `settings` as the agent's (merged over the config's).
  void Launch(boost::json::object settings = {},
              const std::string& system_prompt = "You are a test node.",
              boost::json::object agent = {});
  // The recorded model requests of this suite's API whose prompt contains `needle`.
  std::vector<boost::json::object> RequestsFor(const std::string& needle);

  // Scenarios every agent goes through, on the launched swarm:
  // streams a slow turn on both nodes (40 deltas 250 ms apart), interrupts it after the first
  // deltas and expects each node to end it `interrupted` within `within`;
  void InterruptASlowTurn(std::chrono::milliseconds within);
  // node 0 says "alpha one" (the stub replies "Reply to alpha."), node 1 "beta one", then node 0
  // "alpha two": returns the model request of that last turn ({} after a failure).
  boost::json::object SecondTurnRequest();
  // every injection, twice in a row, fails on both nodes with `error` (the agent cannot start);
  void ExpectEveryInjectionFails(const std::string& error);
  // after a turn, terminating the swarm leaves none of its processes (2 workers and at least
  // one agent process each) behind.
  void ExpectTerminateLeavesNoProcess();

  static inline Suite suite_;
  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<StubModelServer> stub_;
  static inline std::unique_ptr<RouterProcess> router_;
  std::unique_ptr<ProtocolClient> client_;
  std::string swarm_;
};

}  // namespace codeswarm::e2e
