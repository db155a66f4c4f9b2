#include "common/config.h"

#include <gtest/gtest.h>

namespace codeswarm {
namespace {

TEST(ConfigTest, DefaultsUseTheLocalBackend) {
  auto config = ParseConfig("{}", "test", "/base");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->cluster.backend, "local");
  EXPECT_EQ(config->router.port, 8765);
  EXPECT_EQ(config->router.max_line_bytes, 1 << 20);
  EXPECT_EQ(config->cluster.workspace_root, config->router.state_dir + "/workspaces");
}

TEST(ConfigTest, RelativePathsAreRelativeToTheConfigFile) {
  auto config = ParseConfig(R"({"router":{"state_dir":"state"},"cluster":{"workspace_root":"../ws"}})",
                            "test", "/etc/codeswarm");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->router.state_dir, "/etc/codeswarm/state");
  EXPECT_EQ(config->cluster.workspace_root, "/etc/ws");
  EXPECT_EQ(config->SwarmsRoot(), "/etc/ws/swarms");
}

TEST(ConfigTest, ReportsEveryBadKeyWithItsPath) {
  auto config = ParseConfig(
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
            "cluster.backend: expected one of \"local\", got \"k8s\"; "
            "cluster.local.worker_command: must not be an empty list (leave it out to use this "
            "binary); "
            "agent.mock.chunks: expected an integer from 1 to 1000000, got integer -1; "
            "extra: unknown key");
}

TEST(ConfigTest, NotJsonNamesTheFile) {
  auto config = ParseConfig("{oops", "my.json", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().rfind("my.json: not valid JSON", 0), 0u);
}

TEST(ConfigTest, HeartbeatMustBeShorterThanTimeout) {
  auto config = ParseConfig(R"({"router":{"heartbeat_seconds":30,"worker_timeout_seconds":10}})",
                            "c", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("worker_timeout_seconds: must be longer"),
            std::string::npos);
}

TEST(ConfigTest, MissingExplicitFileIsAnError) {
  auto config = LoadConfig(std::string("/nonexistent/codeswarm.json"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("/nonexistent/codeswarm.json"), std::string::npos);
}

}  // namespace
}  // namespace codeswarm
