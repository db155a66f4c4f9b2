// A Slurm launch from off the cluster (a login alias, no worker_command) runs the deployed
// binary: the submission checks it on the cluster, the first launch installs it, later ones copy
// nothing, a damaged copy is replaced, and a dynamically linked router launches nothing. Against
// the fake runner (the command sequence), then the real scripts in a real shell with a stand-in
// sbatch. (The real thing: tests/e2e/slurm_deploy_e2e_test.cc.)
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "provider/deploy.h"
#include "provider/slurm_provider.h"
#include "support/temp_dir.h"
#include "unit/deploy_fakes.h"
#include "unit/slurm_fakes.h"

namespace codeswarm::provider {
namespace {

namespace fs = std::filesystem;

Config OffClusterConfig(const std::string& workspace_root) {
  Config config;
  config.cluster.backend = "slurm";
  config.cluster.workspace_root = workspace_root;
  config.ssh.login_alias = "hpc";
  return config;
}

LaunchSpec Spec(const std::string& workspace_root, const std::string& swarm_id) {
  LaunchSpec spec;
  spec.swarm_id = swarm_id;
  spec.node_count = 2;
  spec.router_address = "10.0.0.1:8766";
  spec.secret = "secret";
  spec.swarm_dir = workspace_root + "/swarms/" + swarm_id;
  return spec;
}

class SlurmDeployTest : public ::testing::Test {
 protected:
  SlurmDeployTest() {
    WriteStandInBinary(binary_, "");
    auto runner = std::make_unique<FakeCommandRunner>();
    runner_ = runner.get();
    provider_ = std::make_unique<SlurmProvider>(OffClusterConfig("/scratch/ws"), std::move(runner),
                                                binary_);
    deployed_ = "/scratch/ws/swarms/bin/" + InspectBinary(binary_, CODESWARM_VERSION)->FileName();
    sha256_ = InspectBinary(binary_, CODESWARM_VERSION)->sha256;
  }

  test_support::TempDir tmp_{"cs-slurm-deploy"};
  const std::string binary_ = tmp_.path() + "/codeswarm";
  FakeCommandRunner* runner_;
  std::unique_ptr<SlurmProvider> provider_;
  std::string deployed_;
  std::string sha256_;
};

TEST_F(SlurmDeployTest, TheFirstLaunchFindsNoBinaryInstallsItAndSubmitsAgain) {
  runner_->Expect("codeswarm-submit",
                  FakeCommandRunner::Exit(kDeployMissingExit, "", "codeswarm: x is not there"));
  runner_->Expect("codeswarm-submit", FakeCommandRunner::Exit(0, "4242\n"));
  Result<std::string> job = provider_->Launch(Spec("/scratch/ws", "s-1"));
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(*job, "4242");

  std::vector<RecordedCommand> commands = runner_->commands();
  ASSERT_EQ(commands.size(), 3u);
  for (int i : {0, 2}) {
    const std::vector<std::string>& argv = commands[i].argv;
    EXPECT_EQ(FakeCommandRunner::ScriptName(argv), "codeswarm-submit");
    // The check first (the deployed path and its sha256), then the submission's own values.
    EXPECT_EQ(argv[2].rfind(DeployCheckScript(), 0), 0u);
    EXPECT_EQ(std::vector<std::string>(argv.begin() + 4, argv.end()),
              (std::vector<std::string>{deployed_, sha256_, "/scratch/ws/swarms/s-1", "2"}));
    // The batch script runs the deployed binary.
    EXPECT_NE(commands[i].stdin_data.find("worker='" + deployed_ + "'"), std::string::npos)
        << commands[i].stdin_data;
  }
  EXPECT_EQ(FakeCommandRunner::ScriptName(commands[1].argv), "codeswarm-deploy-install");
  EXPECT_EQ(commands[1].argv[4], "/scratch/ws/swarms/bin");
  EXPECT_EQ(commands[1].stdin_data.size(), fs::file_size(binary_));
}

TEST_F(SlurmDeployTest, ALaunchThatFindsTheBinaryInPlaceIsOneCommandAndCopiesNothing) {
  runner_->Expect("codeswarm-submit", FakeCommandRunner::Exit(0, "4243\n"));
  Result<std::string> job = provider_->Launch(Spec("/scratch/ws", "s-2"));
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(runner_->commands().size(), 1u);
  EXPECT_TRUE(runner_->Scripts("codeswarm-deploy-install").empty());
}

TEST_F(SlurmDeployTest, ALaunchThatFindsADifferentCopyReplacesIt) {
  runner_->Expect("codeswarm-submit",
                  FakeCommandRunner::Exit(kDeployDifferentExit, "", "codeswarm: not ours"));
  runner_->Expect("codeswarm-submit", FakeCommandRunner::Exit(0, "4244\n"));
  Result<std::string> job = provider_->Launch(Spec("/scratch/ws", "s-3"));
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(runner_->Scripts("codeswarm-deploy-install").size(), 1u);
  EXPECT_EQ(runner_->Scripts("codeswarm-submit").size(), 2u);
}

TEST_F(SlurmDeployTest, AFailedInstallFailsTheLaunchWithTheReason) {
  runner_->Expect("codeswarm-submit", FakeCommandRunner::Exit(kDeployMissingExit));
  runner_->Expect("codeswarm-deploy-install",
                  FakeCommandRunner::Exit(1, "", "mkdir: cannot create directory: Read-only"));
  Result<std::string> job = provider_->Launch(Spec("/scratch/ws", "s-4"));
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(),
            "cannot launch swarm s-4 on Slurm: cannot copy codeswarm to hpc:" + deployed_ +
                " on the fake cluster: mkdir: cannot create directory: Read-only (exit code 1)");
  EXPECT_EQ(runner_->Scripts("codeswarm-submit").size(), 1u);
}

TEST_F(SlurmDeployTest, ADynamicallyLinkedRouterLaunchesNothingAndSaysWhereTheStaticOneIs) {
  WriteStandInBinary(binary_, "/lib64/ld-linux-x86-64.so.2");
  auto runner = std::make_unique<FakeCommandRunner>();
  FakeCommandRunner* fake = runner.get();
  SlurmProvider dynamic(OffClusterConfig("/scratch/ws"), std::move(runner), binary_);
  Result<std::string> job = dynamic.Launch(Spec("/scratch/ws", "s-5"));
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(job.status().message().rfind(
                "cannot launch swarm s-5 on Slurm: " + binary_ + " is dynamically linked", 0),
            0u)
      << job.status().message();
  EXPECT_NE(job.status().message().find("scripts/build.sh --static"), std::string::npos);
  EXPECT_TRUE(fake->commands().empty());
}

TEST_F(SlurmDeployTest, AWorkerCommandOrNoLoginAliasMeansNothingIsDeployed) {
  Config with_command = OffClusterConfig("/scratch/ws");
  with_command.cluster.slurm.worker_command = "/opt/codeswarm";
  Config on_cluster = OffClusterConfig("/scratch/ws");
  on_cluster.ssh.login_alias = "";
  EXPECT_FALSE(WorkersRunDeployedBinary(with_command));
  EXPECT_FALSE(WorkersRunDeployedBinary(on_cluster));
  EXPECT_TRUE(WorkersRunDeployedBinary(OffClusterConfig("/scratch/ws")));
  // Even a dynamically linked router launches then: it deploys nothing.
  WriteStandInBinary(binary_, "/lib64/ld-linux-x86-64.so.2");
  auto runner = std::make_unique<FakeCommandRunner>();
  FakeCommandRunner* fake = runner.get();
  fake->Expect("codeswarm-submit", FakeCommandRunner::Exit(0, "7\n"));
  SlurmProvider provider(with_command, std::move(runner), binary_);
  ASSERT_TRUE(provider.Launch(Spec("/scratch/ws", "s-6")).ok());
  ASSERT_EQ(fake->commands().size(), 1u);
  EXPECT_EQ(fake->commands()[0].argv.size(), 6u);  // the plain submission
  EXPECT_NE(fake->commands()[0].stdin_data.find("worker='/opt/codeswarm'"), std::string::npos);
}

// The same sequence with the real scripts: a real shell runs the quoted lines, sha256sum checks,
// and a stand-in sbatch answers with a job id.
TEST(SlurmDeployShellTest, InstallsOnTheFirstLaunchReusesOnTheNextReplacesADamagedCopy) {
  test_support::TempDir tmp("cs-slurm-deploy-sh");
  const std::string binary = tmp.path() + "/codeswarm";
  WriteStandInBinary(binary, "", std::string(50000, 'b'));
  const std::string stand_ins = tmp.path() + "/bin";
  fs::create_directories(stand_ins);
  std::ofstream(stand_ins + "/sbatch") << "#!/bin/sh\necho 4242\n";
  fs::permissions(stand_ins + "/sbatch", fs::perms::owner_all);
  const std::string workspace = tmp.path() + "/ws $(touch pwned) 'q'";
  SlurmProvider provider(OffClusterConfig(workspace), std::make_unique<ShellLineRunner>(stand_ins),
                         binary);
  const std::string deployed =
      workspace + "/swarms/bin/" + InspectBinary(binary, CODESWARM_VERSION)->FileName();

  ASSERT_FALSE(fs::exists(deployed));
  Result<std::string> first = provider.Launch(Spec(workspace, "s-1"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, "4242");
  std::ifstream copy(deployed, std::ios::binary), original(binary, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(copy), {}),
            std::string(std::istreambuf_iterator<char>(original), {}));
  struct stat before {};
  ASSERT_EQ(::stat(deployed.c_str(), &before), 0);
  EXPECT_TRUE(fs::exists(workspace + "/swarms/s-1/job.sbatch"));

  ASSERT_TRUE(provider.Launch(Spec(workspace, "s-2")).ok());
  struct stat after {};
  ASSERT_EQ(::stat(deployed.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // nothing copied

  fs::resize_file(deployed, 100);
  ASSERT_TRUE(provider.Launch(Spec(workspace, "s-3")).ok());
  EXPECT_EQ(fs::file_size(deployed), fs::file_size(binary));
  EXPECT_FALSE(fs::exists(tmp.path() + "/pwned"));
}

}  // namespace
}  // namespace codeswarm::provider
