#include "worker/codex/codex_protocol.h"

#include "worker/agent_process.h"

namespace codeswarm::worker::codex {
namespace json = boost::json;

SpawnOptions AppServerSpawnOptions(const CodexAgentSettings& settings, const AgentContext& context,
                                   const std::string& stderr_path) {
  std::vector<std::string> argv = {settings.binary, "app-server"};
  for (const std::string& override_value : settings.config) {
    argv.push_back("-c");
    argv.push_back(override_value);
  }
  SpawnOptions options = AgentSpawnOptions(std::move(argv), context.work_dir, stderr_path);
  if (!settings.codex_home.empty()) options.env_overrides.emplace_back("CODEX_HOME", settings.codex_home);
  return options;
}

json::object InitializeParams() {
  return {{"clientInfo", {{"name", "codeswarm"}, {"title", "Codeswarm"}, {"version", CODESWARM_VERSION}}},
          {"capabilities", {{"experimentalApi", false}}}};
}

json::object ThreadStartParams(const CodexAgentSettings& settings, const AgentContext& context) {
  json::object params{{"cwd", context.work_dir},
                      {"sandbox", settings.sandbox},
                      {"approvalPolicy", settings.approval_policy}};
  if (!settings.model.empty()) params["model"] = settings.model;
  if (!settings.model_provider.empty()) params["modelProvider"] = settings.model_provider;
  if (!context.system_prompt.empty()) {
    params[settings.replace_base_instructions ? "baseInstructions" : "developerInstructions"] =
        context.system_prompt;
  }
  return params;
}

json::object TurnStartParams(std::string_view thread_id, std::string_view prompt) {
  return {{"threadId", thread_id},
          {"input", json::array{json::object{{"type", "text"}, {"text", prompt}}}}};
}

json::object TurnInterruptParams(std::string_view thread_id, std::string_view turn_id) {
  return {{"threadId", thread_id}, {"turnId", turn_id}};
}

std::string RequestLine(int64_t id, std::string_view method, const json::object& params) {
  return json::serialize(json::object{{"method", method}, {"id", id}, {"params", params}});
}

std::string NotificationLine(std::string_view method) {
  return json::serialize(json::object{{"method", method}});
}

std::string ResultLine(const json::value& id, const json::object& result) {
  return json::serialize(json::object{{"id", id}, {"result", result}});
}

std::string ErrorLine(const json::value& id, int code, std::string_view message) {
  return json::serialize(
      json::object{{"id", id}, {"error", {{"code", code}, {"message", message}}}});
}

IncomingMessage ClassifyMessage(const json::object& message) {
  IncomingMessage m;
  const json::value* id = message.if_contains("id");
  const json::value* method = message.if_contains("method");
  if (method != nullptr && method->is_string()) m.method = std::string(method->get_string());
  const json::value* params = message.if_contains("params");
  if (params != nullptr && params->is_object()) m.params = &params->get_object();
  if (id != nullptr) m.id = *id;
  if (!m.method.empty()) {
    m.kind = id != nullptr ? IncomingMessage::Kind::kServerRequest
                           : IncomingMessage::Kind::kNotification;
    return m;
  }
  if (id == nullptr) return m;  // kInvalid
  m.kind = IncomingMessage::Kind::kResponse;
  m.result = message.if_contains("result");
  if (const json::value* error = message.if_contains("error")) {
    m.error = error->is_object() ? std::string(StringAt(error->get_object(), "message"))
                                 : json::serialize(*error);
    if (m.error.empty()) m.error = json::serialize(*error);
  }
  return m;
}

}  // namespace codeswarm::worker::codex
