// The local provider against real processes: a restarted router finds the workers of an earlier
// one through job.json, and never takes another process for one of them.
#include "provider/local_provider.h"

#include <gtest/gtest.h>

#include "common/subprocess.h"

#include "unit/local_provider_fixture.h"

namespace codeswarm::provider {
namespace {

using namespace local_test;  // NOLINT: the fixture and its helpers

TEST_F(LocalProviderTest, RestartedRouterAdoptsTheWorkersAndTerminatesThem) {
  const LaunchSpec spec = Spec("s-adopt", 2);
  // The first router is another process, which exits: its workers are orphaned, as after a
  // router crash, and are no longer children of anyone here.
  pid_t first_router = ::fork();
  ASSERT_GE(first_router, 0);
  if (first_router == 0) {
    Result<std::unique_ptr<LocalProvider>> first = LocalProvider::Create(config_);
    ::_exit(first.ok() && (*first)->Launch(spec).ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(first_router, &status, 0), first_router);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::vector<pid_t> pids = WorkerPids("s-adopt");
  ASSERT_EQ(pids.size(), 2u);
  for (pid_t pid : pids) EXPECT_TRUE(Running(pid));

  auto second = NewProvider();
  Result<std::map<std::string, JobState>> active = second->ListActiveJobs();
  ASSERT_TRUE(active.ok()) << active.status().message();
  ASSERT_TRUE(active->contains("local-s-adopt"));
  EXPECT_EQ(active->at("local-s-adopt").phase, JobPhase::kRunning);
  EXPECT_EQ(active->at("local-s-adopt").nodes.size(), 2u);

  // A provider asked directly, without listing first, adopts too.
  JobState state = StateOf(*NewProvider(), "local-s-adopt");
  EXPECT_EQ(state.phase, JobPhase::kRunning);
  EXPECT_EQ(state.reason, "2 of 2 workers running");

  ASSERT_TRUE(second->Terminate("local-s-adopt").ok());
  for (pid_t pid : pids) EXPECT_FALSE(Running(pid)) << pid;
  active = second->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
}

TEST_F(LocalProviderTest, ManifestWhosePidsNowNameOtherProcessesIsNotAdopted) {
  SpawnOptions options;
  options.argv = {"sleep", "30"};
  options.new_process_group = true;
  Result<Subprocess> bystander = Subprocess::Spawn(options);
  ASSERT_TRUE(bystander.ok());
  SpawnOptions short_lived;
  short_lived.argv = {"true"};
  Result<Subprocess> gone = Subprocess::Spawn(short_lived);
  ASSERT_TRUE(gone.ok());
  gone->Wait();
  // Node 0's pid was recycled for the bystander (another start time); node 1's is free.
  WriteManifest(
      "s-stale", *ReadBootId(),
      {{bystander->pid(), *ReadProcessStartTime(bystander->pid()) + 1}, {gone->pid(), 1}});

  auto provider = NewProvider();
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_FALSE(active->contains("local-s-stale"));
  JobState state = StateOf(*provider, "local-s-stale");
  EXPECT_EQ(state.phase, JobPhase::kEnded);
  ASSERT_EQ(state.nodes.size(), 2u);
  EXPECT_FALSE(state.nodes[0].alive);
  EXPECT_EQ(state.nodes[0].detail, "exited");
  EXPECT_EQ(state.reason, "all 2 workers exited: node 0 exited, node 1 exited");

  EXPECT_TRUE(provider->Terminate("local-s-stale").ok());
  EXPECT_FALSE(bystander->TryWait().has_value()) << "an unrelated process was signalled";
  bystander->Signal(SIGKILL);
  bystander->Wait();
}

TEST_F(LocalProviderTest, ManifestFromAnEarlierBootIsNotActive) {
  SpawnOptions options;
  options.argv = {"sleep", "30"};
  options.new_process_group = true;
  Result<Subprocess> bystander = Subprocess::Spawn(options);
  ASSERT_TRUE(bystander.ok());
  // Even pid and start time match: they are from another boot.
  WriteManifest("s-reboot", "00000000-0000-0000-0000-000000000000",
                {{bystander->pid(), *ReadProcessStartTime(bystander->pid())}});

  auto provider = NewProvider();
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
  JobState state = StateOf(*provider, "local-s-reboot");
  EXPECT_EQ(state.phase, JobPhase::kEnded);
  EXPECT_NE(state.reason.find("restarted"), std::string::npos) << state.reason;
  EXPECT_TRUE(provider->Terminate("local-s-reboot").ok());
  EXPECT_FALSE(bystander->TryWait().has_value());
  EXPECT_TRUE(fs::exists(SwarmDir("s-reboot") / "job.ended.json"));
  bystander->Signal(SIGKILL);
  bystander->Wait();
}

}  // namespace
}  // namespace codeswarm::provider
