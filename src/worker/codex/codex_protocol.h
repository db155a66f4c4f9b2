// The messages Codeswarm exchanges with `codex app-server` (JSON-RPC over stdio, one JSON object
// per line, no "jsonrpc" field), built and classified without any I/O. The parameter names are
// those of the schema that `codex app-server generate-json-schema` prints for the pinned
// version (0.169.0).
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/subprocess.h"
#include "worker/agent.h"
#include "worker/agent_settings.h"
#include "worker/json_fields.h"

namespace codeswarm::worker::codex {

// How `codex app-server` is started for a node: argv (no shell: every setting is one argv
// element, whatever it contains), the node's directory as working directory, CODEX_HOME when
// configured, its own process group (so stopping it also stops the commands it runs), stdin and
// stdout as pipes and stderr appended to `stderr_path`.
SpawnOptions AppServerSpawnOptions(const CodexAgentSettings& settings, const AgentContext& context,
                                   const std::string& stderr_path);

boost::json::object InitializeParams();
// cwd = the node's directory; the system prompt as developer instructions (or as the base
// instructions, replacing codex's own, with `replace_base_instructions`); model, provider,
// sandbox and approval policy from the settings (empty ones are left to codex's config).
boost::json::object ThreadStartParams(const CodexAgentSettings& settings,
                                      const AgentContext& context);
boost::json::object TurnStartParams(std::string_view thread_id, std::string_view prompt);
boost::json::object TurnInterruptParams(std::string_view thread_id, std::string_view turn_id);

// Lines to send (each without its newline).
std::string RequestLine(int64_t id, std::string_view method, const boost::json::object& params);
std::string NotificationLine(std::string_view method);
std::string ResultLine(const boost::json::value& id, const boost::json::object& result);
std::string ErrorLine(const boost::json::value& id, int code, std::string_view message);

// One message from codex, by shape: a response to one of our requests (has "id" and "result" or
// "error"), a notification (has "method", no "id"), or a request of the server's own (has
// "method" and "id", e.g. an approval).
struct IncomingMessage {
  enum class Kind { kResponse, kNotification, kServerRequest, kInvalid };
  Kind kind = Kind::kInvalid;
  boost::json::value id;  // responses and server requests
  std::string method;     // notifications and server requests
  const boost::json::object* params = nullptr;  // may be null; points into the parsed message
  const boost::json::value* result = nullptr;   // responses
  std::string error;      // responses with "error": its message
};

// REQUIRES: `message` outlives the returned value (params and result point into it).
IncomingMessage ClassifyMessage(const boost::json::object& message);

}  // namespace codeswarm::worker::codex
