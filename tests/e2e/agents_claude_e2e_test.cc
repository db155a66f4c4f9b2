// The claude agent end to end: the real router, real worker processes and the real Claude Code
// binary ($CODESWARM_CLAUDE_BIN, installed by scripts/test-env.d/20-agents.sh) against the stub
// model server's Anthropic Messages API (tests/stub/anthropic_api.py) on 127.0.0.1.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "e2e/agent_e2e.h"
#include "e2e/stub_server.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::seconds;

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

class ClaudeE2E : public AgentE2E {
 protected:
  static void SetUpTestSuite() {
    StartSuite(
        {"claude", "/v1/messages", "CODESWARM_CLAUDE_BIN"},
        [](const TempDir& dir, const StubModelServer&) {
          fs::create_directories(dir.path() + "/home");
          return json::object{{"agent",
                               {{"kind", "claude"},
                                {"claude",
                                 {{"binary", Binary()},
                                  {"model", "claude-stub-model"},
                                  {"config_dir", dir.path() + "/claude-config"}}}}}};
        },
        // Claude Code offline (shared/reference/README.md): the stub as its API, a scratch
        // home, no traffic of its own, and no retries so that API errors end a turn at once.
        // The router's environment reaches its workers and theirs the agent.
        [](const TempDir& dir, const StubModelServer& stub) {
          return Env{{"ANTHROPIC_BASE_URL", stub.url()},
                     {"ANTHROPIC_API_KEY", "dummy"},
                     {"HOME", dir.path() + "/home"},
                     {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
                     {"DISABLE_TELEMETRY", "1"},
                     {"DISABLE_AUTOUPDATER", "1"},
                     {"DISABLE_ERROR_REPORTING", "1"},
                     {"CLAUDE_CODE_MAX_RETRIES", "0"}};
        });
  }
  static void TearDownTestSuite() { StopSuite(); }

  // The claude process of `node`: the swarm's process that runs claude in the node's directory.
  pid_t ClaudeProcessOf(int node) {
    std::string node_dir = fs::canonical(NodeDir(*dir_, swarm_, node)).string();
    std::string binary = fs::canonical(Binary()).string();
    for (const ProcessInfo& p : ProcessesOfSwarm(swarm_)) {
      std::error_code ec;
      std::string proc = "/proc/" + std::to_string(p.pid);
      if (fs::read_symlink(proc + "/cwd", ec).string() == node_dir &&
          fs::read_symlink(proc + "/exe", ec).string() == binary) {
        return p.pid;
      }
    }
    return 0;
  }
};

// Every message of a Messages API request with `role`, its text blocks and tool results as one
// string each.
std::vector<std::string> MessageTexts(const json::object& request, const std::string& role) {
  std::vector<std::string> out;
  for (const json::value& m : request.at("body").at("messages").as_array()) {
    if (Str(m.at("role")) != role) continue;
    out.push_back(json::serialize(m.at("content")));
  }
  return out;
}

bool AnyContains(const std::vector<std::string>& texts, const std::string& needle) {
  for (const std::string& t : texts) {
    if (Contains(t, needle)) return true;
  }
  return false;
}

TEST_F(ClaudeE2E, TwoNodesStreamDeltasFinalTextAndUsage) {
  Launch();
  stub_->AddRule({{"match", "[stream]"},
                  {"deltas", json::array{"Hello", " from", " the", " stub", " model."}},
                  {"usage", {{"input_tokens", 120}, {"cached_tokens", 20},
                             {"cache_creation_tokens", 3}, {"output_tokens", 5}}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Say hello [stream]");
  ASSERT_EQ(turns.size(), 2u);
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    EXPECT_EQ(t.error, "");
    EXPECT_EQ(t.deltas, 5) << "node " << node;
    EXPECT_EQ(t.streamed, "Hello from the stub model.");
    EXPECT_EQ(t.content, "Hello from the stub model.");
    ASSERT_TRUE(t.usage) << "node " << node;
    EXPECT_EQ(IntField(*t.usage, "input_tokens"), 143);  // 120 + cache reads 20 + writes 3
    EXPECT_EQ(IntField(*t.usage, "cached_input_tokens"), 23);
    EXPECT_EQ(IntField(*t.usage, "output_tokens"), 5);
    EXPECT_EQ(IntField(*t.usage, "total_tokens"), 148);
    std::vector<std::string> expected = {"inject_ack", "inject_delivered", "turn_started"};
    expected.insert(expected.end(), 5, "assistant_delta");
    expected.insert(expected.end(), {"assistant", "usage", "turn_complete"});
    EXPECT_EQ(t.events, expected) << "node " << node;
  }
  EXPECT_EQ(RequestsFor("[stream]").size(), 2u);  // one model call per node
}

TEST_F(ClaudeE2E, SystemPromptIsAppendedToClaudeCodesOwn) {
  Launch({}, "You are swarm node tester SYS-7f3a.");
  InjectAndWait(*client_, swarm_, "Who are you? [sys]");
  std::vector<json::object> requests = RequestsFor("[sys]");
  ASSERT_EQ(requests.size(), 2u);  // one per node
  for (const json::object& r : requests) {
    std::string system = json::serialize(r.at("body").at("system"));
    EXPECT_TRUE(Contains(system, "You are swarm node tester SYS-7f3a.")) << system.substr(0, 2000);
    EXPECT_GT(system.size(), 5000u);  // Claude Code's own prompt is still there
  }
}

TEST_F(ClaudeE2E, SystemPromptCanReplaceClaudeCodesOwn) {
  Launch({{"replace_system_prompt", true}}, "REPLACED-PROMPT-91c2: you only say hello.");
  InjectAndWait(*client_, swarm_, "hi [replace]", 0);
  std::vector<json::object> requests = RequestsFor("[replace]");
  ASSERT_EQ(requests.size(), 1u);
  const json::array& system = requests[0].at("body").at("system").as_array();
  ASSERT_FALSE(system.empty());
  EXPECT_EQ(Str(system.back().at("text")), "REPLACED-PROMPT-91c2: you only say hello.");
  EXPECT_LT(json::serialize(system).size(), 1000u) << json::serialize(system);
}

TEST_F(ClaudeE2E, SecondTurnKeepsEachNodesConversation) {
  Launch();
  json::object request = SecondTurnRequest();
  ASSERT_FALSE(request.empty());
  std::vector<std::string> user = MessageTexts(request, "user");
  EXPECT_TRUE(AnyContains(user, "alpha one"));
  EXPECT_FALSE(AnyContains(user, "beta one"));  // node 1's conversation is its own
  EXPECT_TRUE(AnyContains(MessageTexts(request, "assistant"), "Reply to alpha."));
}

TEST_F(ClaudeE2E, AcceptedToolPermissionIsReportedAndTheToolRuns) {
  Launch({{"approval_decision", "accept"}});
  stub_->AddRule({{"match", "[tool]"},
                  {"tool_use", {{"name", "Bash"},
                                {"input", {{"command", "touch made_by_claude.txt"},
                                           {"description", "make a file"}}}}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Make a file [tool]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    ASSERT_EQ(t.approvals.size(), 1u) << "node " << node;
    EXPECT_EQ(Str(t.approvals[0].at("kind")), "tool");
    EXPECT_EQ(Str(t.approvals[0].at("subject")), "Bash: touch made_by_claude.txt");
    EXPECT_EQ(Str(t.approvals[0].at("decision")), "accept");
    EXPECT_EQ(t.content, "Done. The tool call finished.");
    EXPECT_TRUE(fs::exists(NodeDir(*dir_, swarm_, node) + "/made_by_claude.txt")) << "node " << node;
  }
}

TEST_F(ClaudeE2E, DeclinedToolPermissionIsReportedAndTheToolDoesNotRun) {
  Launch({{"approval_decision", "decline"}});
  stub_->AddRule({{"match", "[notool]"},
                  {"tool_use", {{"name", "Bash"}, {"input", {{"command", "touch must_not_exist.txt"}}}}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Make a file [notool]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    ASSERT_EQ(t.approvals.size(), 1u) << "node " << node;
    EXPECT_EQ(Str(t.approvals[0].at("kind")), "tool");
    EXPECT_EQ(Str(t.approvals[0].at("subject")), "Bash: touch must_not_exist.txt");
    EXPECT_EQ(Str(t.approvals[0].at("decision")), "decline");
    EXPECT_FALSE(fs::exists(NodeDir(*dir_, swarm_, node) + "/must_not_exist.txt")) << "node " << node;
  }
  // The model was told why.
  bool told = false;
  for (const json::object& r : RequestsFor("[notool]")) {
    told = told || AnyContains(MessageTexts(r, "user"), "denied by the Codeswarm approval policy");
  }
  EXPECT_TRUE(told);
}

TEST_F(ClaudeE2E, InterruptEndsASlowTurnAsInterruptedAndTheNodeGoesOn) {
  Launch();
  InterruptASlowTurn(seconds(5));
  std::map<int, NodeTurn> next = InjectAndWait(*client_, swarm_, "Quick one");
  for (auto& [node, t] : next) EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
}

TEST_F(ClaudeE2E, Http401EndsTheTurnFailedWithTheMessage) {
  Launch();
  stub_->AddRule({{"match", "[401]"}, {"status", 401}, {"error_message", "invalid x-api-key (stub)"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [401]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    // Claude Code 2.1.331 words a 401 its own way; the adapter adds the status.
    EXPECT_EQ(t.error, "Invalid API key · Fix external API key (HTTP 401)");
    EXPECT_FALSE(t.content) << *t.content;  // claude's error notice is not the model's answer
  }
}

TEST_F(ClaudeE2E, Http500EndsTheTurnFailedWithTheMessageAndTheNodeGoesOn) {
  Launch();
  stub_->AddRule({{"match", "[500]"}, {"status", 500}, {"error_message", "model server exploded"}, {"times", 2}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [500]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_EQ(t.error.rfind("API Error: 500 model server exploded", 0), 0u) << t.error;
  }
  std::map<int, NodeTurn> next = InjectAndWait(*client_, swarm_, "and now?");
  for (auto& [node, t] : next) EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
}

TEST_F(ClaudeE2E, CutStreamEndsTheTurnFailed) {
  Launch();
  // claude retries a broken stream once without streaming: that request is cut too.
  stub_->AddRule({{"match", "[cut]"}, {"cut_after", 3}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [cut]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_TRUE(Contains(t.error, "Connection dropped")) << t.error;
  }
}

TEST_F(ClaudeE2E, HungModelEndsInTheTurnTimeout) {
  Launch({}, "You are a test node.", {{"turn_timeout_seconds", 1}});
  stub_->AddRule({{"match", "[hang]"}, {"initial_delay_ms", 20000}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [hang]", 0);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error, "turn timed out after 1 s");
}

TEST_F(ClaudeE2E, ClaudeKilledMidTurnFailsItsTurnsWithTheExitStatus) {
  Launch();
  json::array pieces;
  for (int i = 0; i < 20; ++i) pieces.emplace_back(" slow");
  stub_->AddRule({{"match", "[victim]"}, {"deltas", pieces}, {"delay_ms", 100}});
  Injection slow = Inject(*client_, swarm_, "Take your time [victim]");
  WaitFirstDeltas(*client_, slow);
  pid_t victim = ClaudeProcessOf(0);
  ASSERT_NE(victim, 0) << "no claude process found for node 0";
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  std::map<int, NodeTurn> turns = WaitTurns(*client_, slow);
  const std::string died = "claude exited (killed by signal 9 (SIGKILL))";
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error.rfind(died, 0), 0u) << turns[0].error;
  EXPECT_EQ(turns[1].status, "completed") << turns[1].error;
  std::map<int, NodeTurn> later = InjectAndWait(*client_, swarm_, "are you there?", 0);
  EXPECT_EQ(later[0].status, "failed");
  EXPECT_EQ(later[0].error.rfind(died, 0), 0u) << later[0].error;
}

TEST_F(ClaudeE2E, MissingBinaryFailsEveryInjectionNamingTheCause) {
  Launch({{"binary", "/nonexistent/claude"}});
  ExpectEveryInjectionFails(
      "agent failed to start: cannot start /nonexistent/claude: No such file or directory (see "
      "agent.claude.binary)");
}

TEST_F(ClaudeE2E, ClaudeRefusingItsCommandLineFailsStartWithItsMessage) {
  Launch({{"extra_args", json::array{"--no-such-flag"}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello", 0);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error,
            "agent failed to start: claude exited (exit code 1); last stderr: error: unknown option "
            "'--no-such-flag'");
}

TEST_F(ClaudeE2E, TerminateLeavesNoClaudeProcess) {
  Launch();
  ExpectTerminateLeavesNoProcess();
}

}  // namespace
}  // namespace codeswarm::e2e
