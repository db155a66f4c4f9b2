// The agent section of the config (and of swarm_launch) for the codex, claude and openai kinds.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "worker/agent_settings.h"

namespace codeswarm {
namespace {

namespace json = boost::json;

Result<AgentSettings> Parse(std::string_view text) {
  return ParseAgentSettings(json::parse(text).as_object(), "agent");
}

TEST(AgentSettingsTest, ValidatorNamesTheKindAndTheModelOfEachAgent) {
  auto summary = [](std::string_view text) {
    Result<AgentSummary> s = ValidateAgentSettings(json::parse(text).as_object(), "agent");
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? s->kind + "/" + s->model : std::string("error");
  };
  EXPECT_EQ(summary(R"({})"), "mock/mock");
  EXPECT_EQ(summary(R"({"kind":"codex","codex":{"model":"gpt-5"},"claude":{"model":"x"}})"),
            "codex/gpt-5");
  EXPECT_EQ(summary(R"({"kind":"codex"})"), "codex/");  // codex's own default: unknown here
  EXPECT_EQ(summary(R"({"kind":"claude","claude":{"model":"claude-sonnet-4-5"}})"),
            "claude/claude-sonnet-4-5");
  EXPECT_EQ(summary(R"({"kind":"openai","openai":{"base_url":"http://h/v1","model":"q"}})"),
            "openai/q");
}

TEST(AgentSettingsTest, CodexKeys) {
  Result<AgentSettings> s = Parse(R"({"kind":"codex","codex":{"binary":"/opt/codex","model":"m",
      "model_provider":"p","sandbox":"read-only","approval_policy":"untrusted",
      "approval_decision":"accept","codex_home":"/h","config":["a=1"],
      "replace_base_instructions":true}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->codex.binary, "/opt/codex");
  EXPECT_EQ(s->codex.sandbox, "read-only");
  EXPECT_EQ(s->codex.approval_policy, "untrusted");
  EXPECT_EQ(s->codex.approval_decision, "accept");
  EXPECT_EQ(s->codex.config, std::vector<std::string>{"a=1"});
  EXPECT_TRUE(s->codex.replace_base_instructions);
  EXPECT_FALSE(Parse(R"({"kind":"codex"})")->codex.replace_base_instructions);
}

TEST(AgentSettingsTest, CodexErrorsNameTheKey) {
  Result<AgentSettings> s = Parse(
      R"({"kind":"codex","codex":{"approval_decision":"maybe","replace_base_instructions":"yes"}})");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("agent.codex.approval_decision"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("agent.codex.replace_base_instructions"), std::string::npos)
      << s.status().message();
}

TEST(AgentSettingsTest, ClaudeKeys) {
  Result<AgentSettings> s = Parse(R"j({"kind":"claude","claude":{"binary":"/opt/claude","model":"m",
      "approval_decision":"accept","allowed_tools":["Read","Bash(git *)"],"extra_args":["--x"],
      "config_dir":"/c","replace_system_prompt":true}})j");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->claude.binary, "/opt/claude");
  EXPECT_EQ(s->claude.model, "m");
  EXPECT_EQ(s->claude.approval_decision, "accept");
  EXPECT_EQ(s->claude.allowed_tools, (std::vector<std::string>{"Read", "Bash(git *)"}));
  EXPECT_EQ(s->claude.extra_args, std::vector<std::string>{"--x"});
  EXPECT_EQ(s->claude.config_dir, "/c");
  EXPECT_TRUE(s->claude.replace_system_prompt);
  Result<AgentSettings> defaults = Parse(R"({"kind":"claude"})");
  EXPECT_EQ(defaults->claude.binary, "claude");
  EXPECT_EQ(defaults->claude.approval_decision, "decline");
  EXPECT_FALSE(defaults->claude.replace_system_prompt);
}

TEST(AgentSettingsTest, ClaudeErrorsNameTheKey) {
  Result<AgentSettings> s = Parse(
      R"({"kind":"claude","claude":{"binary":"","replace_system_prompt":1,"allowed_tools":"Read"}})");
  ASSERT_FALSE(s.ok());
  for (const char* key : {"agent.claude.binary", "agent.claude.replace_system_prompt",
                          "agent.claude.allowed_tools"}) {
    EXPECT_NE(s.status().message().find(key), std::string::npos) << s.status().message();
  }
}

TEST(AgentSettingsTest, OpenAiNeedsBaseUrlAndModel) {
  Result<AgentSettings> s = Parse(R"({"kind":"openai"})");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("agent.openai.base_url: missing"), std::string::npos);
  EXPECT_NE(s.status().message().find("agent.openai.model: missing"), std::string::npos);
  s = Parse(R"({"kind":"openai","openai":{"base_url":"http://gpu:8000/v1","model":"m",
      "api_key_env":"VLLM_API_KEY","max_retries":0,"idle_timeout_seconds":30}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->openai.api_key_env, "VLLM_API_KEY");
  EXPECT_EQ(s->openai.max_retries, 0);
  EXPECT_EQ(s->openai.idle_timeout_seconds, 30);
}

}  // namespace
}  // namespace codeswarm
