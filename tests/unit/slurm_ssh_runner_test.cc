// The ssh command line the Slurm provider's commands go through. (Real ssh to a real sshd is
// exercised by tests/e2e/slurm_e2e_test.cc.)
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "provider/ssh_command_runner.h"
#include "support/temp_dir.h"

namespace codeswarm::provider {
namespace {

namespace fs = std::filesystem;

class SlurmSshRunnerTest : public ::testing::Test {
 protected:
  test_support::TempDir tmp_{"cs-ssh"};
  const std::string dir_ = tmp_.path();
};

TEST_F(SlurmSshRunnerTest, SharesOneConnectionAndQuotesTheRemoteCommand) {
  SshRunnerOptions options;
  options.login_alias = "hpc-login";
  options.ssh_config = "/etc/cs/ssh_config";
  options.connect_timeout_seconds = 7.5;
  options.controlpersist_minutes = 10;
  options.control_dir = dir_ + "/ssh";
  auto runner = SshCommandRunner::Create(options);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  EXPECT_EQ((*runner)->SshArgv({"squeue", "-o", "%i|%T", "it's $(x)"}),
            (std::vector<std::string>{"ssh", "-F", "/etc/cs/ssh_config", "-T", "-o",
                                      "BatchMode=yes", "-o", "ConnectTimeout=8", "-o",
                                      "LogLevel=ERROR", "-o", "ControlMaster=auto", "-o",
                                      "ControlPersist=10m", "-o", "ControlPath=" + dir_ + "/ssh/%C",
                                      "--", "hpc-login", "'squeue' '-o' '%i|%T' 'it'\\''s $(x)'"}));
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/ssh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ((*runner)->Where(), "on login node hpc-login (ssh)");
}

TEST_F(SlurmSshRunnerTest, ZeroMinutesMeansNoSharedConnection) {
  SshRunnerOptions options;
  options.login_alias = "hpc";
  options.controlpersist_minutes = 0;
  auto runner = SshCommandRunner::Create(options);
  ASSERT_TRUE(runner.ok());
  std::vector<std::string> argv = (*runner)->SshArgv({"true"});
  EXPECT_NE(std::find(argv.begin(), argv.end(), "ControlPath=none"), argv.end());
  EXPECT_EQ(argv.front(), "ssh");
  EXPECT_EQ(argv[1], "-T");  // no -F: ssh's own configuration
}

TEST_F(SlurmSshRunnerTest, ControlDirFallsBackWhenTheSocketPathWouldBeTooLong) {
  auto short_dir = PrepareControlDir(dir_ + "/ssh");
  ASSERT_TRUE(short_dir.ok());
  EXPECT_EQ(*short_dir, dir_ + "/ssh");
  auto fallback = PrepareControlDir(dir_ + "/" + std::string(80, 'x'));
  ASSERT_TRUE(fallback.ok()) << fallback.status().message();
  EXPECT_EQ(*fallback, "/tmp/codeswarm-ssh-" + std::to_string(::geteuid()));
}

TEST_F(SlurmSshRunnerTest, AControlDirOthersCanEnterIsRefused) {
  fs::create_directories(dir_ + "/open");
  ::chmod((dir_ + "/open").c_str(), 0755);
  auto dir = PrepareControlDir(dir_ + "/open");
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("mode 0700"), std::string::npos);
}

}  // namespace
}  // namespace codeswarm::provider
