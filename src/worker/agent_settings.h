// Settings of the agent a swarm runs: `agent.kind` selects the adapter, and each kind has its
// own sub-object. They come from the config's `agent` section, optionally overridden per swarm by
// the `agent` object of swarm_launch, and reach each worker in its welcome message. Only the
// worker side knows them: the config loader and the router carry the section as opaque JSON and
// check it through the AgentSettingsValidator that main builds from ValidateAgentSettings.
#pragma once

#include <boost/json/fwd.hpp>

#include <string>
#include <vector>

#include "common/agent_settings_validator.h"
#include "common/status.h"

namespace codeswarm {

struct MockAgentSettings {
  // Placeholders: {prompt}, {node_id}, {turn}, {system_prompt}.
  std::string reply = "node {node_id} heard: {prompt}";
  int chunks = 4;
  int chunk_delay_ms = 0;
  // "none", "turn" (the turn fails with an error) or "crash" (the worker process dies).
  std::string fail = "none";
  // How many deltas are streamed before a failure happens.
  int fail_after_chunks = 1;
};

// How an adapter answers an agent's request for permission (run a command, change files, use a
// tool): "accept" or "decline". Each answer is reported as an `approval` event.
inline constexpr std::string_view kDefaultApprovalDecision = "decline";

struct CodexAgentSettings {
  std::string binary = "codex";
  std::string model;           // empty: codex's own default
  std::string model_provider;  // empty: codex's own default
  // codex's sandbox for commands: read-only | workspace-write | danger-full-access.
  std::string sandbox = "workspace-write";
  // When codex asks before acting: untrusted | on-request | never.
  std::string approval_policy = "on-request";
  // How its requests are answered.
  std::string approval_decision = std::string(kDefaultApprovalDecision);
  std::string codex_home;                 // CODEX_HOME; empty: inherited
  std::vector<std::string> config;        // extra `-c key=value` overrides
  // The swarm's system prompt is given as codex's developer instructions (after codex's own
  // prompt, which teaches the model its tools); true: as base instructions, replacing it.
  bool replace_base_instructions = false;
};

struct ClaudeAgentSettings {
  std::string binary = "claude";
  std::string model;  // empty: claude's own default
  std::string approval_decision = std::string(kDefaultApprovalDecision);
  std::vector<std::string> allowed_tools;  // --allowedTools
  std::vector<std::string> extra_args;     // appended to the command line
  std::string config_dir;                  // CLAUDE_CONFIG_DIR; empty: inherited
  // The swarm's system prompt is appended to Claude Code's own (which teaches the model its
  // tools: --append-system-prompt); true: it replaces it (--system-prompt).
  bool replace_system_prompt = false;
};

struct OpenAiAgentSettings {
  std::string base_url;  // e.g. http://gpu-node:8000/v1 (POST <base_url>/chat/completions)
  std::string model;
  // The environment variable that holds the API key (the key itself is never in config, state
  // or logs). Empty: no Authorization header (a local vLLM without --api-key).
  std::string api_key_env = "OPENAI_API_KEY";
  double connect_timeout_seconds = 10;
  // Longest silence on the stream before the request is abandoned.
  double idle_timeout_seconds = 300;
  int max_retries = 3;  // on connection errors, 429 and 5xx, with backoff
  double temperature = -1;  // < 0: not sent
  int max_tokens = 0;       // 0: not sent
};

struct AgentSettings {
  std::string kind = "mock";
  // 0 = no limit. A turn that runs longer is interrupted and ends as failed.
  double turn_timeout_seconds = 0;
  MockAgentSettings mock;
  CodexAgentSettings codex;
  ClaudeAgentSettings claude;
  OpenAiAgentSettings openai;
};

// The agent kinds this build knows.
const std::vector<std::string_view>& AgentKinds();

// Validates `object` (found at `path`, e.g. "agent" or "payload.agent") and returns the settings,
// or an error naming every bad key with its path.
Result<AgentSettings> ParseAgentSettings(const boost::json::object& object,
                                         const std::string& path);

// ParseAgentSettings in the shape of an AgentSettingsValidator: the agent kind and model (the
// mock agent's model is "mock"), or the errors.
Result<AgentSummary> ValidateAgentSettings(const boost::json::object& object,
                                          const std::string& path);

}  // namespace codeswarm
