// The router's own configuration keys (router.*_write_timeout_seconds, the worker liveness
// keys); the rest of the config parser is tested in config_test.cc.
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

TEST(RouterConfigTest, DeadWorkersAreLostWithinTenSecondsByDefault) {
  auto defaults = ParseConfig("{}", "test", "/", {});
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(defaults->router.heartbeat_seconds, 2);
  EXPECT_EQ(defaults->router.worker_timeout_seconds, 5);
  EXPECT_EQ(defaults->router.worker_lost_seconds, 10);
  auto config = ParseConfig(R"({"router":{"heartbeat_seconds":0.5,"worker_timeout_seconds":1.5,)"
                            R"("worker_lost_seconds":2.5}})",
                            "test", "/", {});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->router.worker_lost_seconds, 2.5);
}

TEST(RouterConfigTest, LostBoundTooShortForAWorkerToReconnectIsRefusedWithTheReason) {
  // The old default timeout with the new bound: a silent connection would be noticed too late.
  auto config = ParseConfig(R"({"router":{"worker_timeout_seconds":20}})", "my.json", "/", {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "my.json: router.worker_lost_seconds: must be at least worker_timeout_seconds + 2 x "
            "heartbeat_seconds (24 s here), or a worker whose connection went silent is lost "
            "before it can reconnect; raise it or lower those two");
}

TEST(RouterConfigTest, RemovedReconnectKeyNamesItsReplacement) {
  auto config = ParseConfig(R"({"router":{"worker_reconnect_seconds":30}})", "my.json", "/", {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "my.json: router.worker_reconnect_seconds: replaced by router.worker_lost_seconds: the "
            "time from a worker's last sign of life to its node being lost (default 10)");
}

}  // namespace
}  // namespace codeswarm
