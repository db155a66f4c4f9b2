// The codex agent end to end: the real router, real worker processes and the real `codex`
// binary ($CODESWARM_CODEX_BIN, installed by scripts/test-env.d/20-agents.sh) against the stub
// model server's Responses API on 127.0.0.1. The scenarios shared with the other agents are in
// agents_e2e_test.cc; here is what they expect of codex, and what only codex does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

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

class Codex : public AgentUnderTest {
 public:
  Codex() : AgentUnderTest("codex", "/v1/responses", "CODESWARM_CODEX_BIN") {}

  json::object Config(const TempDir& dir, const StubModelServer& stub) const override {
    std::string home = WriteCodexHome(dir.path(), stub.port());
    const char* binary = std::getenv("CODESWARM_CODEX_BIN");
    return json::object{{"agent",
                         {{"kind", "codex"},
                          {"codex", {{"binary", binary != nullptr ? binary : ""},
                                     {"codex_home", home}}}}}};
  }
  Env Environment(const TempDir&, const StubModelServer&) const override {
    return {{"STUB_API_KEY", "stub-key"}};
  }

  std::vector<std::string> TextsOf(const json::object& request,
                                   const std::string& role) const override {
    return InputTexts(request, role);
  }

  Usage StreamUsage() const override {
    return {{{"input_tokens", 120}, {"cached_tokens", 20}, {"output_tokens", 5}, {"reasoning_tokens", 2}},
            120, 20, 5, 2, 125};
  }
  void ExpectSystemPrompt(const json::object& request, const std::string& prompt) const override {
    EXPECT_TRUE(AnyContains(InputTexts(request, "developer"), prompt))
        << json::serialize(request).substr(0, 2000);
  }
  void ExpectHttp401(const NodeTurn& t, const std::string&) const override {
    EXPECT_NE(t.error.find("401"), std::string::npos) << t.error;
    EXPECT_NE(t.error.find("invalid x-api-key (stub)"), std::string::npos) << t.error;
  }
  void ExpectHttp500(const NodeTurn& t, const std::string&) const override {
    // codex 0.169 replaces a 5xx body with its own words; its classification names the kind.
    EXPECT_NE(t.error.find("(internalServerError)"), std::string::npos) << t.error;
  }
  void ExpectCutStream(const NodeTurn& t, const std::string&, std::size_t) const override {
    EXPECT_NE(t.error.find("stream"), std::string::npos) << t.error;
  }
  void ExpectStreamError(const NodeTurn& t, const std::string& message) const override {
    EXPECT_NE(t.error.find(message), std::string::npos) << t.error;
  }

  json::object ReplaceSystemPromptSettings() const override {
    return {{"replace_base_instructions", true}};
  }
  void ExpectReplacedSystemPrompt(const json::object& request,
                                  const std::string& prompt) const override {
    std::vector<std::string> developer = InputTexts(request, "developer");
    ASSERT_FALSE(developer.empty());
    EXPECT_EQ(developer[0], prompt);
    EXPECT_FALSE(AnyContains(developer, "You are a coding agent running in the Codex CLI"));
  }
  json::object ApprovalSettings(const std::string& decision) const override {
    return {{"approval_policy", "untrusted"}, {"approval_decision", decision}};
  }
  json::object CommandRule(const std::string& match, const std::string& command) const override {
    return {{"match", match}, {"tool_call", {{"command", command}}}};
  }
  void ExpectApproval(const json::object& approval, const std::string& command) const override {
    EXPECT_EQ(Str(approval.at("kind")), "command");
    EXPECT_NE(Str(approval.at("subject")).find(command), std::string::npos)
        << Str(approval.at("subject"));
  }
};

using CodexE2E = OneAgentE2E<Codex>;
INSTANTIATE_TEST_SUITE_P(Codex, AgentE2E, ::testing::Values(&CodexE2E::kAgent), AgentName);
INSTANTIATE_TEST_SUITE_P(Codex, CliAgentE2E, ::testing::Values(&CodexE2E::kAgent), AgentName);

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

}  // namespace
}  // namespace codeswarm::e2e
