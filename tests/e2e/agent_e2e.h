// Helpers for end-to-end tests of real agents through the real router and workers: launch a
// swarm with given agent settings, inject, and collect what each node streamed.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
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

// The agent routers' `pricing`: the stub's model names ("stub-model", "claude-stub-model") at
// kStubPrice.
inline constexpr double kStubPrice[4] = {1, 0.1, 10, 20};  // input, cached, output, reasoning
boost::json::object StubModelPrices();

// A value of the JSON object at `key` as an integer (0 when absent).
int64_t IntField(const boost::json::object& object, const char* key);
// Whether one of `texts` contains `needle`.
bool AnyContains(const std::vector<std::string>& texts, const std::string& needle);

// One agent as the end-to-end scenarios drive it: how its router is set up, and what it makes
// of the scenarios where agents differ (an error worded its own way, a request in its own API).
// One instance per agent, in its test file (agents_<kind>_e2e_test.cc); the scenarios are in
// agents_e2e_test.cc.
class AgentUnderTest {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;
  // `kind`: "codex", "claude", "openai", also the key of its settings; `request_path`: the
  // model API path of its requests ("/v1/responses", ...); `binary_variable`: the environment
  // variable that names its real CLI ("" when it has none).
  AgentUnderTest(std::string kind, std::string request_path, std::string binary_variable = "")
      : kind_(std::move(kind)),
        request_path_(std::move(request_path)),
        binary_variable_(std::move(binary_variable)) {}
  virtual ~AgentUnderTest() = default;

  const std::string& kind() const { return kind_; }
  const std::string& request_path() const { return request_path_; }
  const std::string& binary_variable() const { return binary_variable_; }
  // The router's config and environment, made once the suite's directory and stub exist.
  virtual boost::json::object Config(const TempDir& dir, const StubModelServer& stub) const = 0;
  virtual Env Environment(const TempDir& dir, const StubModelServer& stub) const = 0;
  // Steers the stub before each test (after its Reset).
  virtual void Prepare(StubModelServer&) const {}

  // The texts of the messages of a model request that have `role` ("user", "assistant"), one
  // string each.
  virtual std::vector<std::string> TextsOf(const boost::json::object& request,
                                           const std::string& role) const = 0;

  // --- Every agent (AgentE2E). `endpoint` is the stub's URL of request_path().
  // The router's config prices the stub's model names (StubModelPrices); the usage events of
  // an agent whose settings name no model (codex: its own default) have no cost.
  struct Usage {
    boost::json::object reported;  // the stub rule's "usage"
    int64_t input, cached, output, reasoning, total;  // the usage event's fields
  };
  virtual Usage StreamUsage() const = 0;
  // A request of a streamed turn, beyond its prompt.
  virtual void ExpectStreamRequest(const boost::json::object&) const {}
  // The model request of a turn in a swarm launched with system prompt `prompt`.
  virtual void ExpectSystemPrompt(const boost::json::object& request,
                                  const std::string& prompt) const = 0;
  // The request of node 0's "alpha two" after its "alpha one" ("Reply to alpha.") and node 1's
  // "beta one", beyond holding the first and not the second.
  virtual void ExpectSecondTurn(const boost::json::object&) const {}
  // How soon an interrupted turn ends; the next turn's request (system prompt "You are a test
  // node.", prompt "Quick one [after]").
  virtual std::chrono::milliseconds interrupt_within() const { return std::chrono::seconds(5); }
  virtual void ExpectAfterInterrupt(const boost::json::object&) const {}
  // How many requests a turn makes when every one fails with a retryable error.
  virtual int attempts_per_turn() const { return 1; }
  // The failed turn after an HTTP 401 "invalid x-api-key (stub)" / 500 "model server exploded",
  // a stream cut after 3 pieces (`requests`: how many requests the swarm made), a stream that
  // ends in the error `message`.
  virtual void ExpectHttp401(const NodeTurn& turn, const std::string& endpoint) const = 0;
  virtual void ExpectHttp500(const NodeTurn& turn, const std::string& endpoint) const = 0;
  virtual void ExpectCutStream(const NodeTurn& turn, const std::string& endpoint,
                               std::size_t requests) const = 0;
  virtual void ExpectStreamError(const NodeTurn& turn, const std::string& message) const = 0;

  // --- Agent CLIs (CliAgentE2E): codex and claude.
  // Settings that make the swarm's system prompt replace the agent's own, and what the model
  // is then sent.
  virtual boost::json::object ReplaceSystemPromptSettings() const { return {}; }
  virtual void ExpectReplacedSystemPrompt(const boost::json::object&, const std::string&) const {}
  // Settings that ask before running a command and answer `decision`; a stub rule whose model
  // runs `command`; the approval event that reports it.
  virtual boost::json::object ApprovalSettings(const std::string&) const { return {}; }
  virtual boost::json::object CommandRule(const std::string&, const std::string&) const {
    return {};
  }
  virtual void ExpectApproval(const boost::json::object&, const std::string&) const {}
  // The requests of a turn whose command was declined.
  virtual void ExpectDeclineExplained(const std::vector<boost::json::object>&) const {}

 private:
  const std::string kind_;
  const std::string request_path_;
  const std::string binary_variable_;
};

// The fixture of every agent end-to-end test: one stub model server and one router (its agent
// pointed at the stub) per test suite, started by the first test; each test launches its own
// 2-node swarm, terminated after it. gtest runs suites one after another, so a suite serves one
// agent (the instantiations of AgentE2E are one suite per agent).
class AgentE2ETest : public ::testing::Test {
 protected:
  // Ends the suite's router and stub.
  static void TearDownTestSuite();

  // The SetUp of a test of `agent`: starts its stub and router unless the suite has them, and
  // connects a client. Fails (with how to install it) when the agent's CLI is not installed.
  void SetUpFor(const AgentUnderTest& agent);
  void TearDown() override;

  const AgentUnderTest& agent() const { return *agent_; }
  // The agent's real CLI, from its variable ("" when unset).
  static std::string Binary();
  // The stub's URL of the agent's model API.
  std::string Endpoint() const { return stub_->url() + agent_->request_path(); }

  // Launches the test's 2-node swarm with `settings` as the agent's (merged over the config's).
  void Launch(boost::json::object settings = {},
              const std::string& system_prompt = "You are a test node.",
              boost::json::object agent = {});
  // The recorded model requests of this suite's API whose prompt contains `needle`.
  std::vector<boost::json::object> RequestsFor(const std::string& needle);
  // The agent process of `node` of the launched swarm: the swarm's process that runs the
  // agent's binary in the node's directory (0 when there is none).
  pid_t AgentProcessOf(int node);

  static inline const AgentUnderTest* agent_ = nullptr;
  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<StubModelServer> stub_;
  static inline std::unique_ptr<RouterProcess> router_;
  std::unique_ptr<ProtocolClient> client_;
  std::string swarm_;
};

// The scenarios every agent goes through, and those of the agent CLIs: parameterized by agent,
// instantiated in each agent's file.
class AgentE2E : public AgentE2ETest, public ::testing::WithParamInterface<const AgentUnderTest*> {
 protected:
  void SetUp() override { SetUpFor(*GetParam()); }
};
class CliAgentE2E : public AgentE2E {
 protected:
  // A turn on both nodes in which the model asks to run `touch <file>` and the approval policy
  // answers `decision`: each node's turn completes, reporting that one approval. Returns
  // whether the file exists in each node's directory.
  std::vector<bool> RunApprovedCommand(const std::string& decision, const std::string& file);
};

// The fixture of the tests of one agent only (CodexE2E = OneAgentE2E<Codex>): `Agent` is its
// AgentUnderTest, kAgent its one instance, which its instantiations of AgentE2E share.
template <typename Agent>
class OneAgentE2E : public AgentE2ETest {
 public:
  static inline const Agent kAgent{};

 protected:
  void SetUp() override { SetUpFor(kAgent); }
};

// Names an instantiation's tests by the agent: "Codex/AgentE2E.HungModel.../codex".
std::string AgentName(const ::testing::TestParamInfo<const AgentUnderTest*>& info);
// How gtest prints the parameter (in listings, so in ctest's names): the agent's kind, not an
// address that changes from run to run.
inline void PrintTo(const AgentUnderTest* agent, std::ostream* os) { *os << agent->kind(); }

}  // namespace codeswarm::e2e
