// The router's own configuration keys (router.*_write_timeout_seconds); the rest of the config
// parser is tested in config_test.cc.
#include <gtest/gtest.h>

#include "common/config.h"

namespace codeswarm {
namespace {

TEST(RouterConfigTest, WriteTimeoutsDefaultToThirtySecondsAndAreRead) {
  auto defaults = ParseConfig("{}", "test", "/", {});
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(defaults->router.client_write_timeout_seconds, 30);
  EXPECT_EQ(defaults->router.worker_write_timeout_seconds, 30);
  auto config = ParseConfig(
      R"({"router":{"client_write_timeout_seconds":2.5,"worker_write_timeout_seconds":60}})",
      "test", "/", {});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->router.client_write_timeout_seconds, 2.5);
  EXPECT_EQ(config->router.worker_write_timeout_seconds, 60);
}

TEST(RouterConfigTest, WriteTimeoutOutOfRangeIsReportedWithItsPath) {
  auto config =
      ParseConfig(R"({"router":{"client_write_timeout_seconds":0}})", "my.json", "/", {});
  ASSERT_FALSE(config.ok());
  // (How the parser spells the bounds, "1E-1 to 8.64E4" today, is config_test.cc's business.)
  const std::string& message = config.status().message();
  EXPECT_EQ(
      message.rfind("my.json: router.client_write_timeout_seconds: expected a number from ", 0), 0u)
      << message;
  EXPECT_TRUE(message.ends_with(", got integer 0")) << message;
}

}  // namespace
}  // namespace codeswarm
