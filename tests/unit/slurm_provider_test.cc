// The Slurm provider's logic against a fake command runner: which commands it runs, how many,
// and what it makes of the answers. (The real thing runs in tests/e2e/slurm_e2e_test.cc.)
#include "provider/slurm_provider.h"

#include <gtest/gtest.h>

#include "provider/provider_factory.h"
#include "unit/slurm_fakes.h"

namespace codeswarm::provider {
namespace {

using Argv = std::vector<std::string>;

Config SlurmConfig() {
  Config config;
  config.cluster.backend = "slurm";
  config.cluster.workspace_root = "/scratch/ws";
  config.cluster.slurm.partition = "debug";
  config.cluster.slurm.worker_command = "/opt/codeswarm";
  config.cluster.slurm.poll_interval_seconds = 2.5;
  return config;
}

LaunchSpec Spec(const std::string& swarm_id = "s-1", int nodes = 4) {
  LaunchSpec spec;
  spec.swarm_id = swarm_id;
  spec.node_count = nodes;
  spec.router_address = "10.0.0.1:8766";
  spec.secret = "secret";
  spec.swarm_dir = "/scratch/ws/swarms/" + swarm_id;
  return spec;
}

class SlurmProviderTest : public ::testing::Test {
 protected:
  SlurmProviderTest() {
    auto runner = std::make_unique<FakeCommandRunner>();
    runner_ = runner.get();
    provider_ = std::make_unique<SlurmProvider>(SlurmConfig(), std::move(runner));
  }

  FakeCommandRunner* runner_;
  std::unique_ptr<SlurmProvider> provider_;
};

TEST_F(SlurmProviderTest, LaunchSubmitsTheScriptOnStdinAndReturnsTheJobId) {
  runner_->Expect("/bin/sh", FakeCommandRunner::Exit(0, "4242\n"));
  Result<std::string> job = provider_->Launch(Spec());
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(*job, "4242");
  std::vector<RecordedCommand> commands = runner_->commands();
  ASSERT_EQ(commands.size(), 1u);
  const Argv& argv = commands[0].argv;
  // A fixed command; the values travel as positional parameters, the script on stdin.
  ASSERT_EQ(argv.size(), 6u);
  EXPECT_EQ(argv[0], "/bin/sh");
  EXPECT_EQ(argv[1], "-c");
  EXPECT_NE(argv[2].find("sbatch --parsable job.sbatch"), std::string::npos);
  EXPECT_EQ(argv[4], "/scratch/ws/swarms/s-1");
  EXPECT_EQ(argv[5], "4");
  EXPECT_EQ(commands[0].stdin_data.rfind("#!/bin/bash\n", 0), 0u);
  EXPECT_NE(commands[0].stdin_data.find("#SBATCH --partition=debug\n"), std::string::npos);
  EXPECT_NE(commands[0].stdin_data.find("worker='/opt/codeswarm'\n"), std::string::npos);
}

TEST_F(SlurmProviderTest, LaunchReadsTheJobIdAfterABannerAndWithoutTheClusterName) {
  runner_->Expect("/bin/sh", FakeCommandRunner::Exit(0, "Welcome to hpc!\n\n77;cluster2\n"));
  Result<std::string> job = provider_->Launch(Spec());
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(*job, "77");
}

TEST_F(SlurmProviderTest, RefusedSubmissionCarriesSbatchsOwnWords) {
  runner_->Expect("/bin/sh",
                  FakeCommandRunner::Exit(1, "",
                                          "sbatch: error: invalid partition specified: nope\n"
                                          "sbatch: error: Batch job submission failed: Invalid "
                                          "partition name specified\n"));
  Result<std::string> job = provider_->Launch(Spec());
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(),
            "cannot launch swarm s-1 on Slurm: sbatch failed on the fake cluster: invalid "
            "partition specified: nope; Batch job submission failed: Invalid partition name "
            "specified (exit code 1)");
  EXPECT_EQ(runner_->commands().size(), 1u);  // nothing was created, nothing to cancel
}

TEST_F(SlurmProviderTest, SubmissionThatMayHaveCreatedAJobCancelsItByName) {
  runner_->Expect("/bin/sh", Status::Timeout("ssh hpc /bin/sh did not finish within 60 s"));
  Result<std::string> job = provider_->Launch(Spec("s-9"));
  ASSERT_FALSE(job.ok());
  EXPECT_TRUE(job.status().IsTimeout());
  std::vector<RecordedCommand> commands = runner_->commands();
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_NE(commands[1].argv[2].find("scancel --name="), std::string::npos);
  EXPECT_EQ(commands[1].argv.back(), "codeswarm-s-9");

  runner_->Expect("/bin/sh", FakeCommandRunner::Exit(0, "Submitted batch job 12\n"));
  EXPECT_FALSE(provider_->Launch(Spec("s-9")).ok());
  EXPECT_EQ(runner_->commands().back().argv.back(), "codeswarm-s-9");
}

TEST_F(SlurmProviderTest, LaunchRefusesASwarmDirectoryOutsideTheSwarmsRoot) {
  LaunchSpec spec = Spec();
  spec.swarm_dir = "/elsewhere/s-1";
  Result<std::string> job = provider_->Launch(spec);
  ASSERT_FALSE(job.ok());
  EXPECT_TRUE(job.status().IsInvalidArgument());
  EXPECT_TRUE(runner_->commands().empty());
}

TEST_F(SlurmProviderTest, OneSqueueForManyJobs) {
  runner_->Expect(
      "squeue",
      FakeCommandRunner::Exit(0,
                              "1|RUNNING|n[1-4]|None|/scratch/ws/swarms/s-1|codeswarm-s-1\n"
                              "2|PENDING||Priority|/scratch/ws/swarms/s-2|codeswarm-s-2\n"
                              "3|PENDING||PartitionConfig|/scratch/ws/swarms/s-3|codeswarm-s-3\n"));
  auto states = provider_->JobStates({"1", "2", "3", "2"});
  ASSERT_TRUE(states.ok()) << states.status().message();
  ASSERT_EQ(states->size(), 3u);
  EXPECT_EQ(states->at("1").phase, JobPhase::kRunning);
  EXPECT_EQ(states->at("1").reason, "running on n[1-4]");
  EXPECT_EQ(states->at("2").phase, JobPhase::kPending);
  EXPECT_EQ(states->at("2").reason, "Priority");
  EXPECT_TRUE(states->at("3").cannot_start);
  ASSERT_EQ(runner_->commands().size(), 1u);
  EXPECT_EQ(runner_->commands()[0].argv,
            (Argv{"squeue", "-h", "-o", "%i|%T|%N|%r|%Z|%j", "-t", "all", "-j", "1,2,3"}));
}

TEST_F(SlurmProviderTest, JobsThatLeftTheQueueAreResolvedWithOneSacct) {
  runner_->Expect("squeue", FakeCommandRunner::Exit(
                                0, "1|RUNNING|n1|None|/scratch/ws/swarms/s-1|codeswarm-s-1\n"));
  runner_->Expect("sacct", FakeCommandRunner::Exit(
                               0,
                               "2|TIMEOUT|0:0|/scratch/ws/swarms/s-2|codeswarm-s-2\n"
                               "3|CANCELLED by 1000|0:15|/scratch/ws/swarms/s-3|codeswarm-s-3\n"));
  auto states = provider_->JobStates({"1", "2", "3", "4"});
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->at("2").phase, JobPhase::kEnded);
  EXPECT_EQ(states->at("2").backend_state, "TIMEOUT");
  EXPECT_EQ(states->at("3").backend_state, "CANCELLED");
  // Known nowhere: ended, never running.
  EXPECT_EQ(states->at("4").phase, JobPhase::kEnded);
  EXPECT_EQ(states->at("4").backend_state, "UNKNOWN");
  EXPECT_EQ(states->at("4").reason,
            "Slurm no longer lists job 4 and has no record of how it ended");
  auto sacct = runner_->Commands("sacct");
  ASSERT_EQ(sacct.size(), 1u);
  EXPECT_EQ(sacct[0], (Argv{"sacct", "-X", "-P", "-n", "-j", "2,3,4", "-o",
                            "JobID,State,ExitCode,WorkDir,JobName"}));
}

TEST_F(SlurmProviderTest, WithoutAccountingDatabaseTheCompletionLogIsUsedFromThenOn) {
  const char* disabled = "Slurm accounting storage is disabled\n";
  runner_->Expect("squeue", FakeCommandRunner::Exit(
                                1, "", "slurm_load_jobs error: Invalid job id specified\n"));
  runner_->Expect("sacct", FakeCommandRunner::Exit(1, "", disabled));
  runner_->Expect("sacct", FakeCommandRunner::Exit(0, "5|COMPLETED|0:0|/w|codeswarm-s-5\n"));
  auto states = provider_->JobStates({"5"});
  ASSERT_TRUE(states.ok()) << states.status().message();
  EXPECT_EQ(states->at("5").backend_state, "COMPLETED");

  runner_->Expect("squeue", FakeCommandRunner::Exit(0, ""));
  runner_->Expect("sacct", FakeCommandRunner::Exit(0, "6|CANCELLED|0:0|/w|codeswarm-s-6\n"));
  states = provider_->JobStates({"6"});
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->at("6").backend_state, "CANCELLED");
  auto sacct = runner_->Commands("sacct");
  ASSERT_EQ(sacct.size(), 3u);
  EXPECT_EQ(sacct[0][1], "-X");  // plain sacct, once
  EXPECT_EQ(sacct[1][1], "-c");
  EXPECT_EQ(sacct[2][1], "-c");  // straight to the completion log
}

TEST_F(SlurmProviderTest, AccountingThatCannotBeReadStillEndsTheJob) {
  runner_->Expect("squeue", FakeCommandRunner::Exit(0, ""));
  runner_->Expect(
      "sacct", FakeCommandRunner::Exit(1, "", "sacct: error: Problem talking to the database\n"));
  runner_->Expect("sacct", FakeCommandRunner::Exit(1, "", "sacct: error: no completion log\n"));
  auto states = provider_->JobStates({"7"});
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->at("7").phase, JobPhase::kEnded);
  EXPECT_EQ(states->at("7").reason,
            "Slurm no longer lists job 7 and has no record of how it ended (sacct: Problem "
            "talking to the database (exit code 1); sacct -c: no completion log (exit code 1))");
}

TEST_F(SlurmProviderTest, ASqueueThatFailsIsAnErrorNotAnEnding) {
  // The controller is down: nothing is known, so the router must change nothing.
  runner_->Expect(
      "squeue",
      FakeCommandRunner::Exit(
          1, "", "squeue: error: Unable to contact slurm controller (connect failure)\n"));
  auto states = provider_->JobStates({"1"});
  ASSERT_FALSE(states.ok());
  EXPECT_EQ(states.status().message(),
            "squeue failed on the fake cluster: Unable to contact slurm controller (connect "
            "failure) (exit code 1)");
  EXPECT_TRUE(runner_->Commands("sacct").empty());
}

TEST_F(SlurmProviderTest, AFailedJobsReasonQuotesItsErrorFile) {
  runner_->Expect("squeue",
                  FakeCommandRunner::Exit(
                      0, "8|FAILED|n1|NonZeroExitCode|/scratch/ws/swarms/s-8|codeswarm-s-8\n"));
  runner_->Expect("tail", FakeCommandRunner::Exit(
                              0,
                              "==> /scratch/ws/swarms/s-8/slurm-8.err <==\n"
                              "codeswarm: cannot run the worker command /bad on n1: not found "
                              "or not executable\n"));
  auto states = provider_->JobStates({"8"});
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->at("8").reason,
            "the Slurm job failed: codeswarm: cannot run the worker command /bad on n1: not "
            "found or not executable");
  EXPECT_EQ(runner_->Commands("tail")[0],
            (Argv{"tail", "-v", "-n", "20", "--", "/scratch/ws/swarms/s-8/slurm-8.err"}));
}

TEST_F(SlurmProviderTest, InvalidJobIdsAreEndedWithoutAskingSlurm) {
  auto states = provider_->JobStates({"local-s-1", "1;touch x"});
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->at("1;touch x").phase, JobPhase::kEnded);
  EXPECT_TRUE(runner_->commands().empty());
  EXPECT_TRUE(provider_->Terminate("1 2").IsInvalidArgument());
  EXPECT_TRUE(runner_->commands().empty());
}

TEST_F(SlurmProviderTest, TerminateIsOneScancel) {
  EXPECT_TRUE(provider_->Terminate("4242").ok());
  runner_->Expect("scancel", FakeCommandRunner::Exit(
                                 8, "", "scancel: error: Unable to contact slurm controller\n"));
  Status failed = provider_->Terminate("4242");
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("Unable to contact slurm controller"), std::string::npos);
  EXPECT_EQ(runner_->Commands("scancel"),
            (std::vector<Argv>{{"scancel", "4242"}, {"scancel", "4242"}}));
}

TEST_F(SlurmProviderTest, ListActiveJobsKeepsOnlyThisConfigurationsSwarms) {
  runner_->Expect("squeue", FakeCommandRunner::Exit(
                                0,
                                "1|RUNNING|n1|None|/scratch/ws/swarms/s-1|codeswarm-s-1\n"
                                "2|RUNNING|n2|None|/home/me|codeswarm-s-2\n"  // elsewhere
                                "3|PENDING||Priority|/scratch/ws/swarms/s-3|my-own-job\n"
                                "4|PENDING||Resources|/scratch/ws/swarms/s-4|codeswarm-s-4\n"));
  auto active = provider_->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->size(), 2u);
  EXPECT_TRUE(active->contains("1"));
  EXPECT_TRUE(active->contains("4"));
  EXPECT_EQ(runner_->commands()[0].argv, (Argv{"squeue", "-h", "-o", "%i|%T|%N|%r|%Z|%j", "--me"}));
}

TEST_F(SlurmProviderTest, PollIntervalComesFromTheConfig) {
  EXPECT_EQ(provider_->PollInterval(), FromSeconds(2.5));
  EXPECT_EQ(provider_->name(), "slurm");
}

TEST(SlurmProviderFactoryTest, TheSlurmBackendIsBuiltFromTheConfig) {
  Config config = SlurmConfig();
  config.ssh.login_alias = "";  // local Slurm commands: nothing to prepare
  Result<std::unique_ptr<ClusterProvider>> provider = MakeProvider(config);
  ASSERT_TRUE(provider.ok()) << provider.status().message();
  EXPECT_EQ((*provider)->name(), "slurm");
  EXPECT_EQ((*provider)->PollInterval(), FromSeconds(2.5));
}

}  // namespace
}  // namespace codeswarm::provider
