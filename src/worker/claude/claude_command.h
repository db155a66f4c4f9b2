// The command line and environment of a node's Claude Code process. Pure: unit-tested without
// a process.
//
//   <binary> -p --input-format stream-json --output-format stream-json --verbose
//            --include-partial-messages --permission-prompt-tool stdio
//            [--model=<model>] [--allowedTools=<tool>]... [--append-system-prompt=<prompt>]
//            [--system-prompt=<prompt>, with replace_system_prompt] <extra_args>...
//
// Values ride in the `--flag=value` form, one argv element each, so a value that starts with
// "-" (a system prompt such as "--model x") can never be taken for an option, and nothing is
// ever parsed by a shell. Environment: the worker's, plus CLAUDE_CONFIG_DIR when config_dir is
// set, minus the worker's swarm secret (CODESWARM_SECRET), which the agent has no business
// reading. Authentication (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ...) comes from that
// inherited environment; Codeswarm never stores it.
#pragma once

#include <string>

#include "common/subprocess.h"
#include "worker/agent.h"
#include "worker/agent_settings.h"

namespace codeswarm::worker::claude {

// Spawn options for claude in `context.work_dir` (also the working directory, empty: inherited),
// stdin and stdout piped, stderr appended to `stderr_path`, in a process group of its own.
SpawnOptions ClaudeSpawnOptions(const ClaudeAgentSettings& settings, const AgentContext& context,
                                const std::string& stderr_path);

}  // namespace codeswarm::worker::claude
