#include "worker/claude/claude_command.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace codeswarm::worker::claude {
namespace {

const std::vector<std::string> kFixedArgs = {"-p",
                                             "--input-format",
                                             "stream-json",
                                             "--output-format",
                                             "stream-json",
                                             "--verbose",
                                             "--include-partial-messages",
                                             "--permission-prompt-tool",
                                             "stdio"};

std::vector<std::string> With(std::string binary, std::vector<std::string> more) {
  std::vector<std::string> argv = {std::move(binary)};
  argv.insert(argv.end(), kFixedArgs.begin(), kFixedArgs.end());
  argv.insert(argv.end(), more.begin(), more.end());
  return argv;
}

TEST(ClaudeCommandTest, DefaultsRunClaudeInStreamJsonMode) {
  AgentContext context;
  context.work_dir = "/w/node-0";
  SpawnOptions options = ClaudeSpawnOptions({}, context, "/w/node-0/claude.stderr.log");
  EXPECT_EQ(options.argv, With("claude", {}));
  EXPECT_EQ(options.cwd, "/w/node-0");
  EXPECT_EQ(options.stdin_mode, StdioMode::kPipe);
  EXPECT_EQ(options.stdout_mode, StdioMode::kPipe);
  EXPECT_EQ(options.stderr_mode, StdioMode::kFile);
  EXPECT_EQ(options.stderr_file, "/w/node-0/claude.stderr.log");
  EXPECT_TRUE(options.new_process_group);
  EXPECT_TRUE(options.env_overrides.empty());
}

TEST(ClaudeCommandTest, SettingsBecomeFlagsInOrder) {
  ClaudeAgentSettings settings;
  settings.binary = "/opt/claude/bin/claude";
  settings.model = "claude-stub-model";
  settings.allowed_tools = {"Read", "Bash(git *)"};
  settings.extra_args = {"--max-budget-usd", "1"};
  AgentContext context;
  context.system_prompt = "You review code.";
  SpawnOptions options = ClaudeSpawnOptions(settings, context, "e");
  EXPECT_EQ(options.argv, With("/opt/claude/bin/claude",
                               {"--model=claude-stub-model", "--allowedTools=Read",
                                "--allowedTools=Bash(git *)",
                                "--append-system-prompt=You review code.", "--max-budget-usd", "1"}));
}

TEST(ClaudeCommandTest, ReplaceSystemPromptUsesSystemPrompt) {
  ClaudeAgentSettings settings;
  settings.replace_system_prompt = true;
  AgentContext context;
  context.system_prompt = "Only this.";
  EXPECT_EQ(ClaudeSpawnOptions(settings, context, "e").argv.back(), "--system-prompt=Only this.");
}

TEST(ClaudeCommandTest, HostileValuesStayOneArgumentEach) {
  ClaudeAgentSettings settings;
  settings.model = "m --dangerously-skip-permissions";
  settings.allowed_tools = {"--dangerously-skip-permissions"};
  AgentContext context;
  context.system_prompt = "--model evil\n$(rm -rf /); `id` 'quoted' \"double\"";
  SpawnOptions options = ClaudeSpawnOptions(settings, context, "e");
  EXPECT_EQ(options.argv, With("claude", {"--model=m --dangerously-skip-permissions",
                                          "--allowedTools=--dangerously-skip-permissions",
                                          "--append-system-prompt=--model evil\n$(rm -rf /); `id` "
                                          "'quoted' \"double\""}));
  EXPECT_EQ(std::count(options.argv.begin(), options.argv.end(), "--dangerously-skip-permissions"), 0);
}

TEST(ClaudeCommandTest, ConfigDirSetsTheEnvironmentAndTheSecretStaysBehind) {
  ClaudeAgentSettings settings;
  settings.config_dir = "/scratch/claude-config";
  SpawnOptions options = ClaudeSpawnOptions(settings, {}, "e");
  ASSERT_EQ(options.env_overrides.size(), 1u);
  EXPECT_EQ(options.env_overrides[0].first, "CLAUDE_CONFIG_DIR");
  EXPECT_EQ(options.env_overrides[0].second, "/scratch/claude-config");
  EXPECT_NE(std::find(options.env_remove.begin(), options.env_remove.end(), "CODESWARM_SECRET"),
            options.env_remove.end());
}

}  // namespace
}  // namespace codeswarm::worker::claude
