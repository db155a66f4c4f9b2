// The provider factory and the backend-neutral helpers of cluster_provider.h.
#include "provider/provider_factory.h"

#include <gtest/gtest.h>

#include <chrono>

#include "provider/cluster_provider.h"

namespace codeswarm::provider {
namespace {

using std::chrono::milliseconds;

TEST(ProviderFactoryTest, BuildsTheLocalProviderFromConfig) {
  Config config;
  config.cluster.local.poll_interval_seconds = 0.25;
  Result<std::unique_ptr<ClusterProvider>> provider = MakeProvider(config);
  ASSERT_TRUE(provider.ok()) << provider.status().message();
  EXPECT_EQ((*provider)->name(), "local");
  EXPECT_EQ((*provider)->PollInterval(), milliseconds(250));
}

TEST(ProviderFactoryTest, UnknownBackendIsNamedWithTheKnownOnes) {
  Config config;
  config.cluster.backend = "kubernetes";
  Result<std::unique_ptr<ClusterProvider>> provider = MakeProvider(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_TRUE(provider.status().IsInvalidArgument());
  EXPECT_EQ(provider.status().message(), "unknown cluster backend \"kubernetes\" (known: local, slurm)");
}

TEST(ProviderFactoryTest, WorkerEnvironmentFollowsTheWorkerProtocol) {
  LaunchSpec spec;
  spec.swarm_id = "s-1";
  spec.router_address = "node7:8766";
  spec.secret = "abc";
  spec.worker_orphan_seconds = 900;
  spec.worker_log_level = "warn";
  std::vector<std::pair<std::string, std::string>> expected = {
      {"CODESWARM_SWARM_ID", "s-1"},
      {"CODESWARM_ROUTER_ADDR", "node7:8766"},
      {"CODESWARM_SECRET", "abc"},
      {"CODESWARM_ORPHAN_SECONDS", "900"},
      {"CODESWARM_LOG_LEVEL", "warn"}};
  EXPECT_EQ(WorkerEnvironment(spec), expected);
  EXPECT_EQ(JobPhaseName(JobPhase::kPending), "pending");
  EXPECT_EQ(JobPhaseName(JobPhase::kRunning), "running");
  EXPECT_EQ(JobPhaseName(JobPhase::kEnded), "ended");
}

}  // namespace
}  // namespace codeswarm::provider
