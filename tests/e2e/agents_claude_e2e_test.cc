// The claude agent end to end: the real router, real worker processes and the real Claude Code
// binary ($CODESWARM_CLAUDE_BIN, installed by scripts/test-env.d/20-agents.sh) against the stub
// model server's Anthropic Messages API (tests/stub/anthropic_api.py) on 127.0.0.1. The
// scenarios shared with the other agents are in agents_e2e_test.cc; here is what they expect of
// claude, and what only claude does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "e2e/agent_e2e.h"
#include "e2e/stub_server.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

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

class Claude : public AgentUnderTest {
 public:
  Claude() : AgentUnderTest("claude", "/v1/messages", "CODESWARM_CLAUDE_BIN") {}

  json::object Config(const TempDir& dir, const StubModelServer&) const override {
    fs::create_directories(dir.path() + "/home");
    const char* binary = std::getenv("CODESWARM_CLAUDE_BIN");
    return json::object{{"agent",
                         {{"kind", "claude"},
                          {"claude",
                           {{"binary", binary != nullptr ? binary : ""},
                            {"model", "claude-stub-model"},
                            {"config_dir", dir.path() + "/claude-config"}}}}}};
  }
  // Claude Code offline (shared/reference/README.md): the stub as its API, a scratch home, no
  // traffic of its own, and no retries so that API errors end a turn at once. The router's
  // environment reaches its workers and theirs the agent.
  Env Environment(const TempDir& dir, const StubModelServer& stub) const override {
    return {{"ANTHROPIC_BASE_URL", stub.url()},
            {"ANTHROPIC_API_KEY", "dummy"},
            {"HOME", dir.path() + "/home"},
            {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
            {"DISABLE_TELEMETRY", "1"},
            {"DISABLE_AUTOUPDATER", "1"},
            {"DISABLE_ERROR_REPORTING", "1"},
            {"CLAUDE_CODE_MAX_RETRIES", "0"}};
  }

  std::vector<std::string> TextsOf(const json::object& request,
                                   const std::string& role) const override {
    return MessageTexts(request, role);
  }

  Usage StreamUsage() const override {
    // input counts cache reads (20) and writes (3) too.
    return {{{"input_tokens", 120}, {"cached_tokens", 20}, {"cache_creation_tokens", 3},
             {"output_tokens", 5}},
            143, 23, 5, 0, 148};
  }
  void ExpectSystemPrompt(const json::object& request, const std::string& prompt) const override {
    // Appended to Claude Code's own prompt, which is still there.
    std::string system = json::serialize(request.at("body").at("system"));
    EXPECT_TRUE(Contains(system, prompt)) << system.substr(0, 2000);
    EXPECT_GT(system.size(), 5000u);
  }
  void ExpectHttp401(const NodeTurn& t, const std::string&) const override {
    // Claude Code 2.1.331 words a 401 whose message says "x-api-key" its own way; the adapter
    // adds the status. (Another message it quotes: "Failed to authenticate. API Error: 401 ...".)
    EXPECT_EQ(t.error, "Invalid API key · Fix external API key (HTTP 401)");
    EXPECT_FALSE(t.content) << *t.content;  // claude's error notice is not the model's answer
  }
  void ExpectHttp500(const NodeTurn& t, const std::string&) const override {
    EXPECT_EQ(t.error.rfind("API Error: 500 model server exploded", 0), 0u) << t.error;
  }
  void ExpectCutStream(const NodeTurn& t, const std::string&, std::size_t) const override {
    // claude retries a broken stream once without streaming: that request is cut too.
    EXPECT_TRUE(Contains(t.error, "Connection dropped")) << t.error;
  }
  void ExpectStreamError(const NodeTurn& t, const std::string& message) const override {
    EXPECT_TRUE(Contains(t.error, message)) << t.error;
  }

  json::object ReplaceSystemPromptSettings() const override {
    return {{"replace_system_prompt", true}};
  }
  void ExpectReplacedSystemPrompt(const json::object& request,
                                  const std::string& prompt) const override {
    const json::array& system = request.at("body").at("system").as_array();
    ASSERT_FALSE(system.empty());
    EXPECT_EQ(Str(system.back().at("text")), prompt);
    EXPECT_LT(json::serialize(system).size(), 1000u) << json::serialize(system);
  }
  json::object ApprovalSettings(const std::string& decision) const override {
    return {{"approval_decision", decision}};
  }
  json::object CommandRule(const std::string& match, const std::string& command) const override {
    return {{"match", match},
            {"tool_use",
             {{"name", "Bash"}, {"input", {{"command", command}, {"description", "run a command"}}}}}};
  }
  void ExpectApproval(const json::object& approval, const std::string& command) const override {
    EXPECT_EQ(Str(approval.at("kind")), "tool");
    EXPECT_EQ(Str(approval.at("subject")), "Bash: " + command);
  }
  void ExpectDeclineExplained(const std::vector<json::object>& requests) const override {
    bool told = false;  // the model was told why
    for (const json::object& r : requests) {
      told = told || AnyContains(MessageTexts(r, "user"), "denied by the Codeswarm approval policy");
    }
    EXPECT_TRUE(told);
  }
};

using ClaudeE2E = OneAgentE2E<Claude>;
INSTANTIATE_TEST_SUITE_P(Claude, AgentE2E, ::testing::Values(&ClaudeE2E::kAgent), AgentName);
INSTANTIATE_TEST_SUITE_P(Claude, CliAgentE2E, ::testing::Values(&ClaudeE2E::kAgent), AgentName);

TEST_F(ClaudeE2E, ClaudeRefusingItsCommandLineFailsStartWithItsMessage) {
  Launch({{"extra_args", json::array{"--no-such-flag"}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello", 0);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error,
            "agent failed to start: claude exited (exit code 1); last stderr: error: unknown option "
            "'--no-such-flag'");
}

}  // namespace
}  // namespace codeswarm::e2e
