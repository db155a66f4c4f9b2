#include "worker/claude/claude_command.h"

#include "worker/agent_process.h"

namespace codeswarm::worker::claude {

SpawnOptions ClaudeSpawnOptions(const ClaudeAgentSettings& settings, const AgentContext& context,
                                const std::string& stderr_path) {
  SpawnOptions options = AgentSpawnOptions(
      {settings.binary, "-p", "--input-format", "stream-json", "--output-format", "stream-json",
       "--verbose", "--include-partial-messages", "--permission-prompt-tool", "stdio"},
      context.work_dir, stderr_path);
  if (!settings.model.empty()) options.argv.push_back("--model=" + settings.model);
  for (const std::string& tool : settings.allowed_tools) {
    options.argv.push_back("--allowedTools=" + tool);
  }
  if (!context.system_prompt.empty()) {
    options.argv.push_back(
        (settings.replace_system_prompt ? "--system-prompt=" : "--append-system-prompt=") +
        context.system_prompt);
  }
  options.argv.insert(options.argv.end(), settings.extra_args.begin(), settings.extra_args.end());

  if (!settings.config_dir.empty()) {
    options.env_overrides.emplace_back("CLAUDE_CONFIG_DIR", settings.config_dir);
  }
  options.env_remove.push_back("CODESWARM_SECRET");
  return options;
}

}  // namespace codeswarm::worker::claude
