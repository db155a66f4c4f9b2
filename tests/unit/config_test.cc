#include "common/config.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "worker/agent_settings.h"

namespace codeswarm {
namespace {

// The loader as main wires it: the worker's agent validator checks the agent section.
Result<Config> Parse(std::string_view text, const std::string& source,
                     const std::string& base_dir) {
  return ParseConfig(text, source, base_dir, ValidateAgentSettings);
}

TEST(ConfigTest, DefaultsUseTheLocalBackend) {
  auto config = Parse("{}", "test", "/base");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->cluster.backend, "local");
  EXPECT_EQ(config->router.port, 8765);
  EXPECT_EQ(config->router.max_line_bytes, 1 << 20);
  EXPECT_EQ(config->cluster.workspace_root, config->router.state_dir + "/workspaces");
}

TEST(ConfigTest, RelativePathsAreRelativeToTheConfigFile) {
  auto config = Parse(R"({"router":{"state_dir":"state"},"cluster":{"workspace_root":"../ws"}})",
                            "test", "/etc/codeswarm");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->router.state_dir, "/etc/codeswarm/state");
  EXPECT_EQ(config->cluster.workspace_root, "/etc/ws");
  EXPECT_EQ(config->SwarmsRoot(), "/etc/ws/swarms");
}

TEST(ConfigTest, ReportsEveryBadKeyWithItsPath) {
  auto config = Parse(
      R"({"router":{"port":"8765","max_nodes":0,"colour":"red"},
          "cluster":{"backend":"k8s","local":{"worker_command":[]}},
          "agent":{"kind":"mock","mock":{"chunks":-1}},
          "extra":true})",
      "my.json", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "my.json: router.port: expected an integer from 1 to 65535, got string \"8765\"; "
            "router.max_nodes: expected an integer from 1 to 100000, got integer 0; "
            "router.colour: unknown key; "
            "cluster.backend: expected one of \"local\", \"slurm\", got \"k8s\"; "
            "cluster.local.worker_command: must not be an empty list (leave it out to use this "
            "binary); "
            "agent.mock.chunks: expected an integer from 1 to 1000000, got integer -1; "
            "extra: unknown key");
}

TEST(ConfigTest, SlurmSectionIsReadWithItsDefaults) {
  auto defaults = Parse(R"({"cluster":{"backend":"slurm"}})", "c", "/");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  const SlurmBackendConfig& d = defaults->cluster.slurm;
  EXPECT_EQ(d.agents_per_node, 1);
  EXPECT_EQ(d.job_name_prefix, "codeswarm-");
  EXPECT_EQ(d.drain_seconds, 120);
  EXPECT_EQ(d.poll_interval_seconds, 10);
  EXPECT_FALSE(d.login_alias.has_value());

  auto config = Parse(R"({"cluster":{"backend":"slurm","slurm":{
      "partition":"gpu","time_limit":"1-12:00","account":"a","qos":"q","agents_per_node":4,
      "extra_directives":["--gres=gpu:1","#SBATCH --exclusive"],"setup":["module load x"],
      "worker_command":"/opt/codeswarm","job_name_prefix":"cs.","poll_interval_seconds":2,
      "drain_seconds":0,"login_alias":"hpc"}},"ssh":{"ssh_config":"ssh.conf"}})",
                            "c", "/etc/cs");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const SlurmBackendConfig& s = config->cluster.slurm;
  EXPECT_EQ(s.partition, "gpu");
  EXPECT_EQ(s.time_limit, "1-12:00");
  EXPECT_EQ(s.agents_per_node, 4);
  EXPECT_EQ(s.extra_directives.size(), 2u);
  EXPECT_EQ(s.setup, std::vector<std::string>{"module load x"});
  EXPECT_EQ(s.drain_seconds, 0);
  EXPECT_EQ(config->SlurmLoginAlias(), "hpc");
  EXPECT_EQ(config->ssh.ssh_config, "/etc/cs/ssh.conf");  // relative to the config file
}

TEST(ConfigTest, SlurmLoginAliasOverridesTheSshOneEvenWhenEmpty) {
  auto ssh_only = Parse(R"({"ssh":{"login_alias":"login1"}})", "c", "/");
  ASSERT_TRUE(ssh_only.ok());
  EXPECT_EQ(ssh_only->SlurmLoginAlias(), "login1");
  auto local = Parse(R"({"ssh":{"login_alias":"login1"},
                               "cluster":{"slurm":{"login_alias":""}}})", "c", "/");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->SlurmLoginAlias(), "");
}

TEST(ConfigTest, SlurmValuesThatCouldEscapeTheirLineAreErrors) {
  auto config = Parse(R"json({"cluster":{"slurm":{
      "partition":"debug\ntouch /tmp/pwned","time_limit":"an hour","agents_per_node":0,
      "extra_directives":["--comment=ok","echo hi"],"setup":["a\nb"],
      "job_name_prefix":"cs $(x)","drain_seconds":-1,"login_alias":"-oProxyCommand=x"}},
      "ssh":{"login_alias":"two words"}})json", "c.json", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "c.json: cluster.slurm.partition: must be one line without control characters; "
            "cluster.slurm.time_limit: expected Slurm's format: minutes, MM:SS, HH:MM:SS, D-HH, "
            "D-HH:MM or D-HH:MM:SS, got \"an hour\"; "
            "cluster.slurm.agents_per_node: expected an integer from 1 to 4096, got integer 0; "
            "cluster.slurm.extra_directives[1]: expected an sbatch option such as "
            "\"--gres=gpu:1\" (optionally after \"#SBATCH \"); "
            "cluster.slurm.setup[0]: must be one line without control characters; "
            "cluster.slurm.job_name_prefix: expected 1 to 64 of A-Z a-z 0-9 . _ + -; "
            "cluster.slurm.drain_seconds: expected an integer from 0 to 65535, got integer -1; "
            "cluster.slurm.login_alias: must be an ssh host name or alias (no spaces, not "
            "starting with '-'); "
            "ssh.login_alias: must be an ssh host name or alias (no spaces, not starting with "
            "'-')");
}

TEST(ConfigTest, NotJsonNamesTheFile) {
  auto config = Parse("{oops", "my.json", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().rfind("my.json: not valid JSON", 0), 0u);
}

TEST(ConfigTest, HeartbeatMustBeShorterThanTimeout) {
  auto config = Parse(R"({"router":{"heartbeat_seconds":30,"worker_timeout_seconds":10}})",
                            "c", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("worker_timeout_seconds: must be longer"),
            std::string::npos);
}

TEST(ConfigTest, MissingExplicitFileIsAnError) {
  auto config = LoadConfig(std::string("/nonexistent/codeswarm.json"), ValidateAgentSettings);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("/nonexistent/codeswarm.json"), std::string::npos);
}

TEST(ConfigTest, AgentSectionIsCheckedOnlyByTheGivenValidator) {
  std::vector<std::string> paths;
  AgentSettingsValidator validator = [&paths](const boost::json::object& agent,
                                              const std::string& path) -> Result<AgentSummary> {
    paths.push_back(path);
    if (agent.contains("kind")) return Status::InvalidArgument(path + ".kind: not today");
    return AgentSummary{"any", ""};
  };
  auto accepted = ParseConfig(R"({"agent":{"anything":{"goes":1}}})", "c", "/", validator);
  ASSERT_TRUE(accepted.ok()) << accepted.status().message();
  EXPECT_EQ(accepted->agent_json, R"({"anything":{"goes":1}})");

  auto rejected = ParseConfig(R"({"agent":{"kind":"mock"}})", "c", "/", validator);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().message(), "c: agent.kind: not today");
  EXPECT_EQ(paths, (std::vector<std::string>{"agent", "agent"}));
}

TEST(ConfigTest, AgentSectionWithoutAValidatorIsAnErrorNotSilentlyAccepted) {
  auto config = ParseConfig(R"({"agent":{"kind":"mock"}})", "c", "/", AgentSettingsValidator());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "c: agent: this build cannot check agent settings");
  EXPECT_TRUE(ParseConfig("{}", "c", "/", AgentSettingsValidator()).ok());
}

TEST(ConfigTest, AgentSectionMustBeAnObject) {
  auto config = Parse(R"({"agent":"mock"})", "c", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "c: agent: expected an object, got string \"mock\"");
}

}  // namespace
}  // namespace codeswarm
