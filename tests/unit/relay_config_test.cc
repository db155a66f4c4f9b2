// cluster.slurm.connect, relay_port and relay_host (docs/CONFIG_SCHEMA.md).
#include <gtest/gtest.h>

#include "common/config.h"

namespace codeswarm {
namespace {

Result<Config> Parse(const std::string& text) { return ParseConfig(text, "test", "/tmp", nullptr); }

TEST(RelayConfigTest, DirectIsTheDefaultAndRelayIsTakenWithItsPortAndHost) {
  auto defaults = Parse("{}");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(defaults->cluster.slurm.connect, "direct");
  EXPECT_EQ(defaults->cluster.slurm.relay_port, 0);
  EXPECT_EQ(defaults->cluster.slurm.relay_host, "");
  auto relay = Parse(
      R"({"cluster": {"slurm": {"connect": "relay", "relay_port": 40123, "relay_host": "10.1.0.2"}}})");
  ASSERT_TRUE(relay.ok()) << relay.status().message();
  EXPECT_EQ(relay->cluster.slurm.connect, "relay");
  EXPECT_EQ(relay->cluster.slurm.relay_port, 40123);
  EXPECT_EQ(relay->cluster.slurm.relay_host, "10.1.0.2");
}

TEST(RelayConfigTest, WrongValuesAreNamedByTheirKey) {
  auto mode = Parse(R"({"cluster": {"slurm": {"connect": "tunnel"}}})");
  ASSERT_FALSE(mode.ok());
  EXPECT_NE(mode.status().message().find("cluster.slurm.connect"), std::string::npos)
      << mode.status().message();
  auto port = Parse(R"({"cluster": {"slurm": {"relay_port": 70000}}})");
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.status().message().find("cluster.slurm.relay_port"), std::string::npos)
      << port.status().message();
  auto host = Parse("{\"cluster\": {\"slurm\": {\"relay_host\": \"a\\nb\"}}}");
  ASSERT_FALSE(host.ok());
  EXPECT_NE(host.status().message().find("cluster.slurm.relay_host"), std::string::npos)
      << host.status().message();
}

}  // namespace
}  // namespace codeswarm
