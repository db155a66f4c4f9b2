// The end-to-end scenarios that every agent goes through (AgentE2E), and those of the agent
// CLIs, codex and claude (CliAgentE2E): the real router and worker processes, the real agent
// (CLI or HTTP client) against the stub model server on 127.0.0.1. Each agent's file
// instantiates them with its AgentUnderTest, which says where the agents differ; what only one
// agent does is tested in its own file.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/agent_e2e.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

// `pieces` pieces `delay_ms` apart: a turn that is still streaming when a test acts on it.
json::object SlowRule(const std::string& match, int pieces, int delay_ms) {
  json::array deltas;
  for (int i = 0; i < pieces; ++i) deltas.emplace_back(" slow");
  return {{"match", match}, {"deltas", deltas}, {"delay_ms", delay_ms}};
}

void ExpectAllFailed(const std::map<int, NodeTurn>& turns) {
  EXPECT_EQ(turns.size(), 2u);
  for (const auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_EQ(t.events.back(), "turn_complete") << "node " << node;
  }
}

void ExpectAllCompleted(const std::map<int, NodeTurn>& turns) {
  EXPECT_EQ(turns.size(), 2u);
  for (const auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
  }
}

// --- Every agent

TEST_P(AgentE2E, TwoNodesStreamDeltasFinalTextAndUsage) {
  Launch();
  AgentUnderTest::Usage usage = agent().StreamUsage();
  stub_->AddRule({{"match", "[stream]"},
                  {"deltas", json::array{"Hello", " from", " the", " stub", " model."}},
                  {"usage", usage.reported}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Say hello [stream]");
  ASSERT_EQ(turns.size(), 2u);
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    EXPECT_EQ(t.error, "");
    EXPECT_EQ(t.deltas, 5) << "node " << node;
    EXPECT_EQ(t.streamed, "Hello from the stub model.");
    EXPECT_EQ(t.content, "Hello from the stub model.");
    ASSERT_TRUE(t.usage) << "node " << node;
    EXPECT_EQ(IntField(*t.usage, "input_tokens"), usage.input);
    EXPECT_EQ(IntField(*t.usage, "cached_input_tokens"), usage.cached);
    EXPECT_EQ(IntField(*t.usage, "output_tokens"), usage.output);
    EXPECT_EQ(IntField(*t.usage, "reasoning_output_tokens"), usage.reasoning);
    EXPECT_EQ(IntField(*t.usage, "total_tokens"), usage.total);
    // The router's estimate, from these counts and the swarm's model (StubModelPrices).
    const json::value* model = t.usage->if_contains("model");
    ASSERT_TRUE(model != nullptr && model->is_string()) << json::serialize(*t.usage);
    if (model->get_string().empty()) {
      EXPECT_TRUE(t.usage->at("cost_usd").is_null()) << json::serialize(*t.usage);
      EXPECT_TRUE(t.usage->contains("cost_note"));
    } else {
      const double expected =
          ((usage.input - usage.cached) * kStubPrice[0] + usage.cached * kStubPrice[1] +
           (usage.output - usage.reasoning) * kStubPrice[2] + usage.reasoning * kStubPrice[3]) /
          1e6;
      EXPECT_NEAR(t.usage->at("cost_usd").to_number<double>(), expected, 1e-12)
          << json::serialize(*t.usage);
    }
    std::vector<std::string> expected = {"inject_ack", "inject_delivered", "turn_started"};
    expected.insert(expected.end(), 5, "assistant_delta");
    expected.insert(expected.end(), {"assistant", "usage", "turn_complete"});
    EXPECT_EQ(t.events, expected) << "node " << node;
  }
  std::vector<json::object> requests = RequestsFor("[stream]");
  EXPECT_EQ(requests.size(), 2u);  // one model call per node
  for (const json::object& r : requests) agent().ExpectStreamRequest(r);
}

TEST_P(AgentE2E, SystemPromptReachesTheModel) {
  const std::string prompt = "You are swarm node tester SYS-7f3a.";
  Launch({}, prompt);
  InjectAndWait(*client_, swarm_, "Who are you? [sys]");
  std::vector<json::object> requests = RequestsFor("[sys]");
  ASSERT_EQ(requests.size(), 2u);  // one per node
  for (const json::object& r : requests) agent().ExpectSystemPrompt(r, prompt);
}

TEST_P(AgentE2E, SecondTurnKeepsEachNodesConversation) {
  Launch();
  stub_->AddRule({{"match", "alpha one"}, {"reply", "Reply to alpha."}});
  stub_->AddRule({{"match", "beta one"}, {"reply", "Reply to beta."}});
  InjectAndWait(*client_, swarm_, "alpha one", 0);
  InjectAndWait(*client_, swarm_, "beta one", 1);
  std::map<int, NodeTurn> second = InjectAndWait(*client_, swarm_, "alpha two", 0);
  EXPECT_EQ(second[0].status, "completed") << second[0].error;
  std::vector<json::object> requests = RequestsFor("alpha two");
  ASSERT_EQ(requests.size(), 1u);
  std::vector<std::string> user = agent().TextsOf(requests[0], "user");
  EXPECT_TRUE(AnyContains(user, "alpha one"));
  EXPECT_FALSE(AnyContains(user, "beta one"));  // node 1's conversation is its own
  EXPECT_TRUE(AnyContains(agent().TextsOf(requests[0], "assistant"), "Reply to alpha."));
  agent().ExpectSecondTurn(requests[0]);
}

TEST_P(AgentE2E, InterruptEndsASlowTurnAndTheNodeGoesOn) {
  Launch();
  stub_->AddRule(SlowRule("[slow]", 40, 250));
  Injection slow = Inject(*client_, swarm_, "Take your time [slow]");
  WaitFirstDeltas(*client_, slow);
  auto interrupted_at = std::chrono::steady_clock::now();
  json::object ack = client_->Answer(client_->Send("interrupt", {{"swarm_id", swarm_}}));
  EXPECT_EQ(Str(ack.at("event")), "interrupt_ack") << json::serialize(ack);
  std::map<int, NodeTurn> turns = WaitTurns(*client_, slow);
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted_at, agent().interrupt_within());
  EXPECT_EQ(turns.size(), 2u);
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "interrupted") << "node " << node << ": " << t.error;
    EXPECT_EQ(t.error, "interrupted by request");
    EXPECT_GE(t.deltas, 1);
    EXPECT_LT(t.deltas, 40);
    EXPECT_EQ(t.events.back(), "turn_complete");
  }
  ExpectAllCompleted(InjectAndWait(*client_, swarm_, "Quick one [after]"));
  for (const json::object& r : RequestsFor("[after]")) agent().ExpectAfterInterrupt(r);
}

TEST_P(AgentE2E, Http401EndsTheTurnFailedWithTheMessage) {
  Launch();
  stub_->AddRule(
      {{"match", "[401]"}, {"status", 401}, {"error_message", "invalid x-api-key (stub)"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [401]");
  ExpectAllFailed(turns);
  for (auto& [node, t] : turns) agent().ExpectHttp401(t, Endpoint());
  EXPECT_EQ(RequestsFor("[401]").size(), 2u);  // not retried
}

TEST_P(AgentE2E, Http500EndsTheTurnFailedWithTheMessageAndTheNodeGoesOn) {
  Launch();
  // Only for this turn's requests: claude's next request repeats this prompt with the new one.
  const int requests = 2 * agent().attempts_per_turn();
  stub_->AddRule({{"match", "[500]"}, {"status", 500}, {"error_message", "model server exploded"},
                  {"times", requests}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [500]");
  ExpectAllFailed(turns);
  for (auto& [node, t] : turns) agent().ExpectHttp500(t, Endpoint());
  EXPECT_EQ(RequestsFor("[500]").size(), static_cast<std::size_t>(requests));
  ExpectAllCompleted(InjectAndWait(*client_, swarm_, "and now?"));
}

TEST_P(AgentE2E, CutStreamEndsTheTurnFailed) {
  Launch();
  stub_->AddRule({{"match", "[cut]"}, {"cut_after", 3}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [cut]");
  ExpectAllFailed(turns);
  std::size_t requests = RequestsFor("[cut]").size();
  for (auto& [node, t] : turns) agent().ExpectCutStream(t, Endpoint(), requests);
}

TEST_P(AgentE2E, StreamErrorEndsTheTurnFailedWithTheMessage) {
  Launch();
  stub_->AddRule({{"match", "[fail]"}, {"stream_error", "the GPU caught fire"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [fail]");
  ExpectAllFailed(turns);
  for (auto& [node, t] : turns) agent().ExpectStreamError(t, "the GPU caught fire");
}

TEST_P(AgentE2E, HungModelEndsInTheTurnTimeout) {
  Launch({}, "You are a test node.", {{"turn_timeout_seconds", 1}});
  stub_->AddRule({{"match", "[hang]"}, {"initial_delay_ms", 20000}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [hang]", 0);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error, "turn timed out after 1 s");
}

// --- Agent CLIs

TEST_P(CliAgentE2E, SystemPromptCanReplaceTheAgentsOwn) {
  const std::string prompt = "REPLACED-PROMPT-91c2: you only say hello.";
  Launch(agent().ReplaceSystemPromptSettings(), prompt);
  InjectAndWait(*client_, swarm_, "hi [replace]", 0);
  std::vector<json::object> requests = RequestsFor("[replace]");
  ASSERT_EQ(requests.size(), 1u);
  agent().ExpectReplacedSystemPrompt(requests[0], prompt);
}

TEST_P(CliAgentE2E, AcceptedApprovalIsReportedAndTheCommandRuns) {
  EXPECT_EQ(RunApprovedCommand("accept", "made_by_agent.txt"), std::vector<bool>(2, true));
}

TEST_P(CliAgentE2E, DeclinedApprovalIsReportedAndTheCommandDoesNotRun) {
  EXPECT_EQ(RunApprovedCommand("decline", "must_not_exist.txt"), std::vector<bool>(2, false));
  agent().ExpectDeclineExplained(RequestsFor("[decline]"));
}

TEST_P(CliAgentE2E, AgentKilledMidTurnFailsItsTurnsWithTheExitStatus) {
  Launch();
  stub_->AddRule(SlowRule("[victim]", 20, 100));
  Injection slow = Inject(*client_, swarm_, "Take your time [victim]");
  WaitFirstDeltas(*client_, slow);
  pid_t victim = AgentProcessOf(0);
  ASSERT_NE(victim, 0) << "no " << agent().kind() << " process found for node 0";
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  std::map<int, NodeTurn> turns = WaitTurns(*client_, slow);
  const std::string died = agent().kind() + " exited (killed by signal 9 (SIGKILL))";
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error.rfind(died, 0), 0u) << turns[0].error;
  EXPECT_EQ(turns[1].status, "completed") << turns[1].error;
  std::map<int, NodeTurn> later = InjectAndWait(*client_, swarm_, "are you there?", 0);
  EXPECT_EQ(later[0].status, "failed");
  EXPECT_EQ(later[0].error.rfind(died, 0), 0u) << later[0].error;
}

TEST_P(CliAgentE2E, MissingBinaryFailsEveryInjectionNamingTheCause) {
  const std::string binary = "/nonexistent/" + agent().kind();
  Launch({{"binary", binary}});
  for (int round = 0; round < 2; ++round) {
    std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello");
    ASSERT_EQ(turns.size(), 2u);
    for (auto& [node, t] : turns) {
      EXPECT_EQ(t.status, "failed") << "node " << node;
      EXPECT_EQ(t.error, "agent failed to start: cannot start " + binary +
                             ": No such file or directory (see agent." + agent().kind() + ".binary)");
      EXPECT_EQ(t.events,
                (std::vector<std::string>{"inject_ack", "inject_delivered", "turn_complete"}));
    }
  }
}

TEST_P(CliAgentE2E, TerminateLeavesNoAgentProcess) {
  Launch();
  InjectAndWait(*client_, swarm_, "hello");
  std::vector<ProcessInfo> before = ProcessesOfSwarm(swarm_);
  EXPECT_GE(before.size(), 4u);  // 2 workers + their agents
  std::string swarm = std::exchange(swarm_, "");
  TerminateSwarm(*client_, swarm);
  EXPECT_TRUE(
      Eventually([&] { return ProcessesOfSwarm(swarm).empty(); }, std::chrono::seconds(10)));
  for (const ProcessInfo& p : before) {
    EXPECT_TRUE(
        Eventually([&] { return !ProcessState(p.pid).has_value(); }, std::chrono::seconds(10)))
        << "pid " << p.pid << " is still there";
  }
}

}  // namespace

std::vector<bool> CliAgentE2E::RunApprovedCommand(const std::string& decision,
                                                  const std::string& file) {
  const std::string command = "touch " + file, match = "[" + decision + "]";
  Launch(agent().ApprovalSettings(decision));
  stub_->AddRule(agent().CommandRule(match, command));
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Make a file " + match);
  ExpectAllCompleted(turns);
  std::vector<bool> made;
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.approvals.size(), 1u) << "node " << node;
    if (t.approvals.size() == 1) {
      agent().ExpectApproval(t.approvals[0], command);
      EXPECT_EQ(Str(t.approvals[0].at("decision")), decision);
    }
    if (decision == "accept") {
      EXPECT_EQ(t.content, "Done. The tool call finished.");
    }
    made.push_back(fs::exists(NodeDir(*dir_, swarm_, node) + "/" + file));
  }
  return made;
}

}  // namespace codeswarm::e2e
