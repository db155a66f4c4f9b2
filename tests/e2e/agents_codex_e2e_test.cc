// The codex agent end to end: the real router, real worker processes and the real `codex`
// binary ($CODESWARM_CODEX_BIN, installed by scripts/test-env.d/20-agents.sh) against the stub
// model server on 127.0.0.1.
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

// A CODEX_HOME whose config.toml points codex at the stub, offline (see
// shared/reference/README.md: without the [features] switches codex reaches out at start).
std::string WriteCodexHome(const std::string& dir, int stub_port) {
  std::string home = dir + "/codex-home";
  fs::create_directories(home);
  WriteFile(home + "/config.toml", R"(model = "stub-model"
model_provider = "stub"
check_for_update_on_startup = false
[model_providers.stub]
name = "Local stub"
base_url = "http://127.0.0.1:)" + std::to_string(stub_port) + R"(/v1"
env_key = "STUB_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
[analytics]
enabled = false
[features]
plugins = false
remote_plugin = false
plugin_sharing = false
apps = false
tool_suggest = false
skill_mcp_dependency_install = false
image_generation = false
browser_use = false
computer_use = false
in_app_updates = false
)");
  return home;
}

class CodexE2E : public AgentE2E {
 protected:
  static void SetUpTestSuite() {
    StartSuite(
        {"codex", "/v1/responses", "CODESWARM_CODEX_BIN"},
        [](const TempDir& dir, const StubModelServer& stub) {
          std::string home = WriteCodexHome(dir.path(), stub.port());
          return json::object{
              {"agent",
               {{"kind", "codex"}, {"codex", {{"binary", Binary()}, {"codex_home", home}}}}}};
        },
        [](const TempDir&, const StubModelServer&) { return Env{{"STUB_API_KEY", "stub-key"}}; });
  }
  static void TearDownTestSuite() { StopSuite(); }
};

// The text of every input message of a Responses request, one string per message.
std::vector<std::string> InputTexts(const json::object& request, const std::string& role) {
  std::vector<std::string> out;
  for (const json::value& item : request.at("body").at("input").as_array()) {
    const json::object& o = item.as_object();
    if (!o.contains("role") || o.at("role") != role.c_str()) continue;
    std::string text;
    for (const json::value& part : o.at("content").as_array()) {
      if (const json::value* t = part.as_object().if_contains("text")) text += Str(*t);
    }
    out.push_back(text);
  }
  return out;
}

bool AnyContains(const std::vector<std::string>& texts, const std::string& needle) {
  for (const std::string& t : texts) {
    if (t.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_F(CodexE2E, TwoNodesStreamDeltasFinalTextAndUsage) {
  Launch();
  stub_->AddRule({{"match", "[stream]"},
                  {"deltas", json::array{"Hello", " from", " the", " stub", " model."}},
                  {"usage", {{"input_tokens", 120}, {"cached_tokens", 20}, {"output_tokens", 5},
                             {"reasoning_tokens", 2}}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Say hello [stream]");
  ASSERT_EQ(turns.size(), 2u);
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    EXPECT_EQ(t.error, "");
    EXPECT_EQ(t.deltas, 5) << "node " << node;
    EXPECT_EQ(t.streamed, "Hello from the stub model.");
    EXPECT_EQ(t.content, "Hello from the stub model.");
    ASSERT_TRUE(t.usage) << "node " << node;
    EXPECT_EQ(IntField(*t.usage, "input_tokens"), 120);
    EXPECT_EQ(IntField(*t.usage, "cached_input_tokens"), 20);
    EXPECT_EQ(IntField(*t.usage, "output_tokens"), 5);
    EXPECT_EQ(IntField(*t.usage, "reasoning_output_tokens"), 2);
    EXPECT_EQ(IntField(*t.usage, "total_tokens"), 125);
    std::vector<std::string> expected = {"inject_ack", "inject_delivered", "turn_started"};
    expected.insert(expected.end(), 5, "assistant_delta");
    expected.insert(expected.end(), {"assistant", "usage", "turn_complete"});
    EXPECT_EQ(t.events, expected) << "node " << node;
  }
}

TEST_F(CodexE2E, SystemPromptReachesTheModel) {
  Launch({}, "You are swarm node tester SYS-7f3a.");
  InjectAndWait(*client_, swarm_, "Who are you? [sys]");
  std::vector<json::object> requests = RequestsFor("[sys]");
  ASSERT_EQ(requests.size(), 2u);  // one per node
  for (const json::object& r : requests) {
    EXPECT_TRUE(AnyContains(InputTexts(r, "developer"), "You are swarm node tester SYS-7f3a."))
        << json::serialize(r).substr(0, 2000);
  }
}

TEST_F(CodexE2E, SystemPromptCanReplaceCodexsBaseInstructions) {
  Launch({{"replace_base_instructions", true}}, "BASE-INSTRUCTIONS-91c2: you only say hello.");
  InjectAndWait(*client_, swarm_, "hi [base]", 0);
  std::vector<json::object> requests = RequestsFor("[base]");
  ASSERT_EQ(requests.size(), 1u);
  std::vector<std::string> developer = InputTexts(requests[0], "developer");
  ASSERT_FALSE(developer.empty());
  EXPECT_EQ(developer[0], "BASE-INSTRUCTIONS-91c2: you only say hello.");
  EXPECT_FALSE(AnyContains(developer, "You are a coding agent running in the Codex CLI"));
}

TEST_F(CodexE2E, SecondTurnKeepsEachNodesConversation) {
  Launch();
  json::object request = SecondTurnRequest();
  ASSERT_FALSE(request.empty());
  std::vector<std::string> user = InputTexts(request, "user");
  EXPECT_TRUE(AnyContains(user, "alpha one"));
  EXPECT_FALSE(AnyContains(user, "beta one"));  // node 1's conversation is its own
  EXPECT_TRUE(AnyContains(InputTexts(request, "assistant"), "Reply to alpha."));
}

TEST_F(CodexE2E, AcceptedCommandApprovalIsReportedAndTheCommandRuns) {
  Launch({{"approval_policy", "untrusted"}, {"approval_decision", "accept"}});
  stub_->AddRule({{"match", "[cmd]"}, {"tool_call", {{"command", "touch made_by_codex.txt"}}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Make a file [cmd]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    ASSERT_EQ(t.approvals.size(), 1u) << "node " << node;
    EXPECT_EQ(Str(t.approvals[0].at("kind")), "command");
    EXPECT_NE(Str(t.approvals[0].at("subject")).find("touch made_by_codex.txt"), std::string::npos)
        << Str(t.approvals[0].at("subject"));
    EXPECT_EQ(Str(t.approvals[0].at("decision")), "accept");
    EXPECT_EQ(t.content, "Done. The tool call finished.");
    EXPECT_TRUE(fs::exists(NodeDir(*dir_, swarm_, node) + "/made_by_codex.txt")) << "node " << node;
  }
}

TEST_F(CodexE2E, DeclinedCommandApprovalIsReportedAndTheCommandDoesNotRun) {
  Launch({{"approval_policy", "untrusted"}, {"approval_decision", "decline"}});
  stub_->AddRule({{"match", "[nocmd]"}, {"tool_call", {{"command", "touch must_not_exist.txt"}}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Make a file [nocmd]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    ASSERT_EQ(t.approvals.size(), 1u) << "node " << node;
    EXPECT_EQ(Str(t.approvals[0].at("kind")), "command");
    EXPECT_EQ(Str(t.approvals[0].at("decision")), "decline");
    EXPECT_FALSE(fs::exists(NodeDir(*dir_, swarm_, node) + "/must_not_exist.txt")) << "node " << node;
  }
}

TEST_F(CodexE2E, FileChangeApprovalNamesTheFile) {
  Launch({{"approval_policy", "untrusted"}, {"approval_decision", "accept"}});
  stub_->AddRule({{"match", "[patch]"},
                  {"tool_call",
                   {{"patch", "*** Begin Patch\n*** Add File: notes.txt\n+from the stub\n*** End Patch"}}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Write notes [patch]", 0);
  const NodeTurn& t = turns[0];
  EXPECT_EQ(t.status, "completed") << t.error;
  ASSERT_EQ(t.approvals.size(), 1u);
  EXPECT_EQ(Str(t.approvals[0].at("kind")), "file_change");
  EXPECT_EQ(Str(t.approvals[0].at("subject")), NodeDir(*dir_, swarm_, 0) + "/notes.txt");
  EXPECT_EQ(Str(t.approvals[0].at("decision")), "accept");
  EXPECT_EQ(ReadFile(NodeDir(*dir_, swarm_, 0) + "/notes.txt"), "from the stub\n");
}

TEST_F(CodexE2E, InterruptEndsASlowTurnAsInterruptedAndTheNodeGoesOn) {
  Launch();
  InterruptASlowTurn(std::chrono::seconds(5));
  std::map<int, NodeTurn> next = InjectAndWait(*client_, swarm_, "Quick one");
  for (auto& [node, t] : next) EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
}

TEST_F(CodexE2E, Http401EndsTheTurnFailedWithTheMessage) {
  Launch();
  stub_->AddRule({{"match", "[401]"}, {"status", 401}, {"error_message", "Incorrect API key (stub)"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [401]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_NE(t.error.find("401"), std::string::npos) << t.error;
    EXPECT_NE(t.error.find("Incorrect API key (stub)"), std::string::npos) << t.error;
  }
}

TEST_F(CodexE2E, Http500EndsTheTurnFailedWithTheMessage) {
  Launch();
  stub_->AddRule({{"match", "[500]"}, {"status", 500}, {"error_message", "model server exploded"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [500]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    // codex 0.169 replaces a 5xx body with its own words; its classification names the kind.
    EXPECT_NE(t.error.find("(internalServerError)"), std::string::npos) << t.error;
  }
}

TEST_F(CodexE2E, CutStreamEndsTheTurnFailed) {
  Launch();
  stub_->AddRule({{"match", "[cut]"}, {"cut_after", 3}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [cut]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_NE(t.error.find("stream"), std::string::npos) << t.error;
  }
}

TEST_F(CodexE2E, StreamErrorEndsTheTurnFailedWithTheMessage) {
  Launch();
  stub_->AddRule({{"match", "[fail]"}, {"stream_error", "the GPU caught fire"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [fail]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_NE(t.error.find("the GPU caught fire"), std::string::npos) << t.error;
  }
}

TEST_F(CodexE2E, HungModelEndsInTheTurnTimeout) {
  Launch({}, "You are a test node.", {{"turn_timeout_seconds", 1}});
  stub_->AddRule({{"match", "[hang]"}, {"initial_delay_ms", 20000}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [hang]", 0);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error, "turn timed out after 1 s");
}

TEST_F(CodexE2E, CodexKilledMidTurnFailsItsTurnsWithTheExitStatus) {
  Launch();
  json::array pieces;
  for (int i = 0; i < 20; ++i) pieces.emplace_back(" slow");
  stub_->AddRule({{"match", "[victim]"}, {"deltas", pieces}, {"delay_ms", 100}});
  Injection slow = Inject(*client_, swarm_, "Take your time [victim]");
  WaitFirstDeltas(*client_, slow);
  // Node 0's codex: the process of the swarm that runs in node 0's directory and is not the worker.
  std::string node0 = fs::canonical(NodeDir(*dir_, swarm_, 0)).string();
  pid_t victim = 0;
  for (const ProcessInfo& p : ProcessesOfSwarm(swarm_)) {
    std::error_code ec;
    std::string cwd = fs::read_symlink("/proc/" + std::to_string(p.pid) + "/cwd", ec).string();
    std::string exe = fs::read_symlink("/proc/" + std::to_string(p.pid) + "/exe", ec).string();
    if (cwd == node0 && exe == fs::canonical(Binary()).string()) victim = p.pid;
  }
  ASSERT_NE(victim, 0) << "no codex process found for node 0";
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  std::map<int, NodeTurn> turns = WaitTurns(*client_, slow);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error.rfind("codex exited (killed by signal 9 (SIGKILL))", 0), 0u) << turns[0].error;
  EXPECT_EQ(turns[1].status, "completed") << turns[1].error;
  std::map<int, NodeTurn> later = InjectAndWait(*client_, swarm_, "are you there?", 0);
  EXPECT_EQ(later[0].status, "failed");
  EXPECT_EQ(later[0].error.rfind("codex exited (killed by signal 9 (SIGKILL))", 0), 0u) << later[0].error;
}

TEST_F(CodexE2E, MissingBinaryFailsEveryInjectionNamingTheCause) {
  Launch({{"binary", "/nonexistent/codex"}});
  ExpectEveryInjectionFails(
      "agent failed to start: cannot start /nonexistent/codex: No such file or directory (see "
      "agent.codex.binary)");
}

TEST_F(CodexE2E, TerminateLeavesNoCodexProcess) {
  Launch();
  ExpectTerminateLeavesNoProcess();
}

}  // namespace
}  // namespace codeswarm::e2e
