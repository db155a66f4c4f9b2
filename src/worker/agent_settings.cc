#include "worker/agent_settings.h"

#include <boost/json.hpp>

#include "common/json_reader.h"

namespace codeswarm {
namespace json = boost::json;

const std::vector<std::string_view>& AgentKinds() {
  static const std::vector<std::string_view> kKinds = {"mock", "codex", "claude", "openai"};
  return kKinds;
}

namespace {

void ReadMock(JsonObjectReader& parent, MockAgentSettings* mock) {
  const json::object* object = parent.Object("mock");
  if (object == nullptr) return;
  JsonObjectReader r(*object, parent.PathOf("mock"), parent.errors());
  r.String("reply", &mock->reply);
  r.Int("chunks", 1, 1000000, &mock->chunks);
  r.Int("chunk_delay_ms", 0, 3600000, &mock->chunk_delay_ms);
  r.Enum("fail", {"none", "turn", "crash"}, &mock->fail);
  r.Int("fail_after_chunks", 0, 1000000, &mock->fail_after_chunks);
  r.Finish();
}

const std::vector<std::string_view> kDecisions = {"accept", "decline"};

void ReadCodex(JsonObjectReader& parent, CodexAgentSettings* codex) {
  const json::object* object = parent.Object("codex");
  if (object == nullptr) return;
  JsonObjectReader r(*object, parent.PathOf("codex"), parent.errors());
  r.NonEmptyString("binary", &codex->binary);
  r.String("model", &codex->model);
  r.String("model_provider", &codex->model_provider);
  r.Enum("sandbox", {"read-only", "workspace-write", "danger-full-access"}, &codex->sandbox);
  r.Enum("approval_policy", {"untrusted", "on-request", "never"}, &codex->approval_policy);
  r.Enum("approval_decision", kDecisions, &codex->approval_decision);
  r.String("codex_home", &codex->codex_home);
  r.StringList("config", &codex->config);
  r.Bool("replace_base_instructions", &codex->replace_base_instructions);
  r.Finish();
}

void ReadClaude(JsonObjectReader& parent, ClaudeAgentSettings* claude) {
  const json::object* object = parent.Object("claude");
  if (object == nullptr) return;
  JsonObjectReader r(*object, parent.PathOf("claude"), parent.errors());
  r.NonEmptyString("binary", &claude->binary);
  r.String("model", &claude->model);
  r.Enum("approval_decision", kDecisions, &claude->approval_decision);
  r.StringList("allowed_tools", &claude->allowed_tools);
  r.StringList("extra_args", &claude->extra_args);
  r.String("config_dir", &claude->config_dir);
  r.Bool("replace_system_prompt", &claude->replace_system_prompt);
  r.Finish();
}

void ReadOpenAi(JsonObjectReader& parent, OpenAiAgentSettings* openai) {
  const json::object* object = parent.Object("openai");
  if (object == nullptr) return;
  JsonObjectReader r(*object, parent.PathOf("openai"), parent.errors());
  r.String("base_url", &openai->base_url);
  r.String("model", &openai->model);
  r.String("api_key_env", &openai->api_key_env);
  r.Number("connect_timeout_seconds", 0.1, 600, &openai->connect_timeout_seconds);
  r.Number("idle_timeout_seconds", 1, 86400, &openai->idle_timeout_seconds);
  r.Int("max_retries", 0, 100, &openai->max_retries);
  r.Number("temperature", 0, 2, &openai->temperature);
  r.Int("max_tokens", 1, 10000000, &openai->max_tokens);
  r.Finish();
}

}  // namespace

Result<AgentSettings> ParseAgentSettings(const json::object& object, const std::string& path) {
  JsonErrors errors;
  AgentSettings settings;
  JsonObjectReader r(object, path, &errors);
  r.Enum("kind", AgentKinds(), &settings.kind);
  r.Number("turn_timeout_seconds", 0, 7 * 24 * 3600, &settings.turn_timeout_seconds);
  ReadMock(r, &settings.mock);
  ReadCodex(r, &settings.codex);
  ReadClaude(r, &settings.claude);
  ReadOpenAi(r, &settings.openai);
  r.Finish();
  if (errors.empty() && settings.kind == "openai") {
    // Needed before any node starts, so a bad launch is rejected, not failed node by node.
    if (settings.openai.base_url.empty()) errors.Add(path + ".openai.base_url: missing (required for kind \"openai\")");
    if (settings.openai.model.empty()) errors.Add(path + ".openai.model: missing (required for kind \"openai\")");
  }
  if (!errors.empty()) return errors.ToStatus();
  return settings;
}

Result<AgentSummary> ValidateAgentSettings(const json::object& object, const std::string& path) {
  Result<AgentSettings> settings = ParseAgentSettings(object, path);
  if (!settings.ok()) return settings.status();
  AgentSummary summary{settings->kind, ""};
  if (settings->kind == "mock") summary.model = "mock";
  if (settings->kind == "codex") summary.model = settings->codex.model;
  if (settings->kind == "claude") summary.model = settings->claude.model;
  if (settings->kind == "openai") summary.model = settings->openai.model;
  return summary;
}

}  // namespace codeswarm
