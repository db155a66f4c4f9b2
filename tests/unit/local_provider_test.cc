// The local provider against real processes: launching workers and reporting their state.
#include "provider/local_provider.h"

#include <gtest/gtest.h>

#include "unit/local_provider_fixture.h"

namespace codeswarm::provider {
namespace {

using namespace local_test;  // NOLINT: the fixture and its helpers

TEST_F(LocalProviderTest, LaunchStartsEachNodeInItsDirectoryGroupAndEnvironment) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-env", 3));
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(*job, "local-s-env");
  ASSERT_TRUE(WaitUntilReady("s-env", 3));
  std::vector<pid_t> pids = WorkerPids("s-env");
  ASSERT_EQ(pids.size(), 3u);

  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE("node " + std::to_string(k));
    const fs::path node_dir = NodeDir("s-env", k);
    auto env = ParseEnv(ReadFile(node_dir / "env.txt"));
    EXPECT_EQ(env["CODESWARM_SWARM_ID"], "s-env");
    EXPECT_EQ(env["CODESWARM_NODE_ID"], std::to_string(k));
    EXPECT_EQ(env["CODESWARM_ROUTER_ADDR"], "127.0.0.1:9");
    EXPECT_EQ(env["CODESWARM_SECRET"], secret_);
    EXPECT_EQ(env["CODESWARM_ORPHAN_SECONDS"], "12.5");
    EXPECT_EQ(env["CODESWARM_LOG_LEVEL"], "debug");
    EXPECT_EQ(env["CODESWARM_TEST_INHERITED"], "kept");
    EXPECT_EQ(ReadFile(node_dir / "cwd.txt"), fs::canonical(node_dir).string() + "\n");
    EXPECT_EQ(fs::status(node_dir).permissions() & fs::perms::all, fs::perms::owner_all);
    EXPECT_TRUE(Eventually([&] {
      return ReadFile(node_dir / "worker.log") == "worker " + std::to_string(k) + " up\n";
    })) << ReadFile(node_dir / "worker.log");
    // Each worker leads its own process group.
    EXPECT_EQ(ReadProcStat(pids[k]).pgrp, pids[k]);
  }
  EXPECT_TRUE(provider->Terminate(*job).ok());
}

TEST_F(LocalProviderTest, ManifestNamesEachWorkerByPidStartTimeAndBoot) {
  auto provider = NewProvider();
  ASSERT_TRUE(provider->Launch(Spec("s-manifest", 2)).ok());
  Result<LocalJobManifest> manifest =
      ReadLocalJobManifest((SwarmDir("s-manifest") / "job.json").string());
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  EXPECT_EQ(manifest->job_id, "local-s-manifest");
  EXPECT_EQ(manifest->swarm_id, "s-manifest");
  EXPECT_EQ(manifest->boot_id, *ReadBootId());
  ASSERT_EQ(manifest->nodes.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(manifest->nodes[k].node_id, k);
    EXPECT_EQ(manifest->nodes[k].process.start_time,
              *ReadProcessStartTime(manifest->nodes[k].process.pid));
  }
  EXPECT_TRUE(provider->Terminate("local-s-manifest").ok());
}

TEST_F(LocalProviderTest, JobStatesReportsRunningWorkers) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-run", 3));
  ASSERT_TRUE(job.ok());
  JobState state = StateOf(*provider, *job);
  EXPECT_EQ(state.phase, JobPhase::kRunning);
  EXPECT_EQ(state.backend_state, "RUNNING");
  EXPECT_EQ(state.reason, "3 of 3 workers running");
  ASSERT_EQ(state.nodes.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(state.nodes[k].node_id, k);
    EXPECT_TRUE(state.nodes[k].alive);
  }
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->contains(*job));
  EXPECT_TRUE(provider->Terminate(*job).ok());
}

TEST_F(LocalProviderTest, KilledWorkerIsReportedDeadAndReaped) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-kill", 3));
  ASSERT_TRUE(job.ok());
  const pid_t victim = WorkerPids("s-kill")[1];
  ASSERT_EQ(::kill(victim, SIGKILL), 0);

  JobState state;
  ASSERT_TRUE(Eventually([&] {
    state = StateOf(*provider, *job);
    return state.nodes.size() == 3 && !state.nodes[1].alive;
  }));
  EXPECT_EQ(state.phase, JobPhase::kRunning);
  EXPECT_EQ(state.nodes[1].detail, "killed by signal 9 (SIGKILL)");
  EXPECT_TRUE(state.nodes[0].alive);
  EXPECT_TRUE(state.nodes[2].alive);
  EXPECT_EQ(state.reason, "2 of 3 workers running; ended: node 1 killed by signal 9 (SIGKILL)");
  EXPECT_TRUE(Gone(victim)) << "zombie left behind";
  EXPECT_TRUE(provider->Terminate(*job).ok());
}

TEST_F(LocalProviderTest, JobWhoseWorkersAllExitedHasEndedWithTheirStatuses) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("exits", 3));
  ASSERT_TRUE(job.ok());
  std::vector<pid_t> pids = WorkerPids("exits");
  JobState state;
  ASSERT_TRUE(Eventually([&] {
    state = StateOf(*provider, *job);
    return state.phase == JobPhase::kEnded;
  }));
  EXPECT_EQ(state.backend_state, "EXITED");
  EXPECT_EQ(state.reason,
            "all 3 workers exited: node 0 exit code 0, node 1 exit code 1, node 2 exit code 2");
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid));
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_FALSE(active->contains(*job));
  EXPECT_TRUE(provider->Terminate(*job).ok());
}

TEST_F(LocalProviderTest, UnknownJobIsEndedAndTerminatingItIsOk) {
  auto provider = NewProvider();
  for (const std::string job_id : {"local-never-launched", "slurm-123", "local-..", "local-a/b"}) {
    SCOPED_TRACE(job_id);
    JobState state = StateOf(*provider, job_id);
    EXPECT_EQ(state.phase, JobPhase::kEnded);
    EXPECT_EQ(state.backend_state, "UNKNOWN");
    EXPECT_EQ(state.reason, "no such local job");
    EXPECT_TRUE(provider->Terminate(job_id).ok());
  }
}

TEST_F(LocalProviderTest, MissingWorkerProgramFailsNamingTheNodeAndLeavesNothing) {
  config_.cluster.local.worker_command = {"/nonexistent/codeswarm-worker"};
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-missing", 2));
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("node 0"), std::string::npos) << job.status().message();
  EXPECT_NE(job.status().message().find("/nonexistent/codeswarm-worker"), std::string::npos);
  EXPECT_FALSE(fs::exists(SwarmDir("s-missing") / "job.json"));
  EXPECT_EQ(StateOf(*provider, "local-s-missing").reason, "no such local job");
}

TEST_F(LocalProviderTest, FailureOnALaterNodeKillsAndReapsTheEarlierOnes) {
  fs::create_directories(SwarmDir("s-partial"));
  std::ofstream(SwarmDir("s-partial") / "node-2") << "a file where a directory must go";
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-partial", 3));
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("node 2"), std::string::npos) << job.status().message();
  EXPECT_TRUE(Eventually([&] { return WorkersOfThisTest().empty(); }));
  EXPECT_FALSE(fs::exists(SwarmDir("s-partial") / "job.json"));
}

TEST_F(LocalProviderTest, LaunchRejectsSpecsItCannotTrack) {
  auto provider = NewProvider();
  LaunchSpec elsewhere = Spec("s-bad", 1);
  elsewhere.swarm_dir = dir_ + "/elsewhere/s-bad";
  EXPECT_TRUE(provider->Launch(elsewhere).status().IsInvalidArgument());
  LaunchSpec bad_id = Spec("s-bad", 1);
  bad_id.swarm_id = "../s-bad";
  EXPECT_TRUE(provider->Launch(bad_id).status().IsInvalidArgument());
  EXPECT_TRUE(provider->Launch(Spec("s-bad", 0)).status().IsInvalidArgument());
  EXPECT_FALSE(fs::exists(dir_ + "/elsewhere"));
  EXPECT_FALSE(fs::exists(SwarmDir("s-bad")));
}

TEST_F(LocalProviderTest, RunningJobCannotBeLaunchedAgainButAnEndedOneCan) {
  auto provider = NewProvider();
  ASSERT_TRUE(provider->Launch(Spec("s-dup", 1)).ok());
  EXPECT_EQ(provider->Launch(Spec("s-dup", 1)).status().code(), Status::Code::kAlreadyExists);
  // Another router process sees the running workers through job.json.
  EXPECT_EQ(NewProvider()->Launch(Spec("s-dup", 1)).status().code(), Status::Code::kAlreadyExists);
  ASSERT_TRUE(provider->Terminate("local-s-dup").ok());
  ASSERT_TRUE(provider->Launch(Spec("s-dup", 1)).ok());
  EXPECT_EQ(StateOf(*provider, "local-s-dup").phase, JobPhase::kRunning);
  EXPECT_TRUE(provider->Terminate("local-s-dup").ok());
}

}  // namespace
}  // namespace codeswarm::provider
