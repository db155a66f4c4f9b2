// Deploying the binary: the remote command sequence against the fake runner (what runs, with
// which values, what is copied when), and the real scripts run by a real /bin/sh from the quoted
// line ssh would send (ShellLineRunner), in a directory whose name is hostile to shells.
#include "provider/deploy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/run_command.h"
#include "support/temp_dir.h"
#include "unit/deploy_fakes.h"
#include "unit/slurm_fakes.h"

namespace codeswarm::provider {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// sha256sum's opinion of `path`, to check ours against.
std::string Sha256Sum(const std::string& path) {
  Result<RunResult> summed = RunCommand({"sha256sum", path}, {});
  EXPECT_TRUE(summed.ok() && summed->status.success());
  return summed.ok() ? summed->stdout_text.substr(0, 64) : "";
}

ino_t InodeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

class DeployTest : public ::testing::Test {
 protected:
  DeployTest() { WriteStandInBinary(binary_, ""); }

  test_support::TempDir tmp_{"cs-deploy"};
  const std::string binary_ = tmp_.path() + "/codeswarm";
  FakeCommandRunner runner_;
  BinaryDeployer deployer_{runner_, "hpc", "/scratch/ws/swarms/bin", binary_};
};

TEST_F(DeployTest, TheFileIsNamedByVersionAndTheFirst12HexOfItsSha256) {
  Result<DeployableBinary> binary = InspectBinary(binary_, "9.9.9");
  ASSERT_TRUE(binary.ok()) << binary.status().message();
  const std::string sha = Sha256Sum(binary_);
  EXPECT_EQ(binary->sha256, sha);
  EXPECT_EQ(binary->size, fs::file_size(binary_));
  EXPECT_EQ(binary->FileName(), "codeswarm-9.9.9-" + sha.substr(0, 12));
  EXPECT_EQ(*deployer_.RemotePath(),
            "/scratch/ws/swarms/bin/codeswarm-" CODESWARM_VERSION "-" + sha.substr(0, 12));
}

TEST_F(DeployTest, TheRightFileInPlaceIsCheckedOnceAndNothingIsCopied) {
  runner_.Expect("codeswarm-deploy-check", FakeCommandRunner::Exit(0));
  Result<DeployOutcome> deployed = deployer_.Deploy();
  ASSERT_TRUE(deployed.ok()) << deployed.status().message();
  EXPECT_EQ(deployed->action, DeployOutcome::Action::kAlreadyThere);
  EXPECT_EQ(deployed->bytes_copied, 0u);
  EXPECT_EQ(deployed->host, "hpc");
  std::vector<RecordedCommand> commands = runner_.commands();
  ASSERT_EQ(commands.size(), 1u);
  // A fixed script; the path and the checksum as positional parameters, checked remotely.
  EXPECT_EQ(commands[0].argv,
            (std::vector<std::string>{"/bin/sh", "-c", std::string(DeployCheckScript()),
                                      "codeswarm-deploy-check", *deployer_.RemotePath(),
                                      Sha256Sum(binary_)}));
  EXPECT_NE(commands[0].argv[2].find("sha256sum"), std::string::npos);
  EXPECT_TRUE(commands[0].stdin_data.empty());
}

TEST_F(DeployTest, AMissingFileIsStreamedOnStdinWithTheChecksumTheRemoteSideVerifies) {
  runner_.Expect("codeswarm-deploy-check", FakeCommandRunner::Exit(kDeployMissingExit));
  Result<DeployOutcome> deployed = deployer_.Deploy();
  ASSERT_TRUE(deployed.ok()) << deployed.status().message();
  EXPECT_EQ(deployed->action, DeployOutcome::Action::kCopied);
  EXPECT_EQ(deployed->bytes_copied, fs::file_size(binary_));
  std::vector<RecordedCommand> installs = runner_.Scripts("codeswarm-deploy-install");
  ASSERT_EQ(installs.size(), 1u);
  const std::vector<std::string>& argv = installs[0].argv;
  ASSERT_EQ(argv.size(), 7u);
  EXPECT_EQ(argv[4], "/scratch/ws/swarms/bin");
  EXPECT_EQ(argv[5], deployed->binary.FileName());
  EXPECT_EQ(argv[6], Sha256Sum(binary_));
  EXPECT_EQ(installs[0].stdin_data, Slurp(binary_));
  for (const char* step : {"sha256sum", "chmod 0755", "mv -f"}) {
    EXPECT_NE(argv[2].find(step), std::string::npos) << step;
  }
  EXPECT_EQ(runner_.commands().size(), 2u);
}

TEST_F(DeployTest, ADifferentFileIsReplaced) {
  runner_.Expect("codeswarm-deploy-check",
                 FakeCommandRunner::Exit(kDeployDifferentExit, "", "codeswarm: not ours"));
  Result<DeployOutcome> deployed = deployer_.Deploy();
  ASSERT_TRUE(deployed.ok()) << deployed.status().message();
  EXPECT_EQ(deployed->action, DeployOutcome::Action::kReplaced);
  EXPECT_EQ(runner_.Scripts("codeswarm-deploy-install").size(), 1u);
}

TEST_F(DeployTest, AFailedCopySaysWhereAndInTheRemoteSidesWords) {
  runner_.Expect("codeswarm-deploy-check", FakeCommandRunner::Exit(kDeployMissingExit));
  runner_.Expect("codeswarm-deploy-install",
                 FakeCommandRunner::Exit(99, "", "codeswarm: the copy arrived damaged\n"));
  Result<DeployOutcome> deployed = deployer_.Deploy();
  ASSERT_FALSE(deployed.ok());
  EXPECT_EQ(deployed.status().message(),
            "cannot copy codeswarm to hpc:" + *deployer_.RemotePath() +
                " on the fake cluster: codeswarm: the copy arrived damaged (exit code 99)");
}

TEST_F(DeployTest, ADynamicallyLinkedBinaryIsRefusedBeforeAnyRemoteCommand) {
  WriteStandInBinary(binary_, "/lib64/ld-linux-x86-64.so.2");
  Result<DeployOutcome> deployed = deployer_.Deploy();
  ASSERT_FALSE(deployed.ok());
  EXPECT_EQ(deployed.status().code(), Status::Code::kFailedPrecondition);
  const std::string& message = deployed.status().message();
  EXPECT_NE(message.find("is dynamically linked (it needs /lib64/ld-linux-x86-64.so.2"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("`scripts/build.sh --static` writes build-static/codeswarm"),
            std::string::npos)
      << message;
  EXPECT_TRUE(runner_.commands().empty());
  EXPECT_FALSE(deployer_.RemotePath().ok());
}

TEST_F(DeployTest, TheRunningTestBinaryIsTheDynamicBuildAndIsRefused) {
  BinaryDeployer self(runner_, "hpc", "/scratch/ws/swarms/bin");  // /proc/self/exe
  Result<DeployOutcome> deployed = self.Deploy();
  ASSERT_FALSE(deployed.ok());
  EXPECT_NE(deployed.status().message().find("this codeswarm (" + SelfExecutablePath() +
                                             ") is dynamically linked"),
            std::string::npos)
      << deployed.status().message();
  EXPECT_TRUE(runner_.commands().empty());
}

TEST_F(DeployTest, AFileThatIsNotAnElfExecutableIsRefused) {
  std::ofstream(binary_) << "#!/bin/sh\necho hi\n";
  Result<DeployableBinary> binary = InspectBinary(binary_, "1");
  ASSERT_FALSE(binary.ok());
  EXPECT_EQ(binary.status().message(), binary_ + " is not a 64-bit ELF executable");
}

// ---- the real scripts, through a real shell --------------------------------------------------

class DeployShellTest : public ::testing::Test {
 protected:
  DeployShellTest() { WriteStandInBinary(binary_, "", std::string(100000, 'x')); }

  std::string Installed() { return *deployer_.RemotePath(); }
  std::vector<std::string> Leftovers() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(bin_dir_)) {
      if (entry.path().string() != Installed()) names.push_back(entry.path().filename());
    }
    return names;
  }

  test_support::TempDir tmp_{"cs-deploy-sh"};
  const std::string binary_ = tmp_.path() + "/codeswarm";
  // Quotes, a command substitution, spaces: any of them unquoted would break or run something.
  const std::string bin_dir_ = tmp_.path() + "/it's \"a\" $(touch pwned) `touch pwned` dir/bin";
  ShellLineRunner runner_;
  BinaryDeployer deployer_{runner_, "localhost", bin_dir_, binary_};
};

TEST_F(DeployShellTest, CopiesIntoAFreshDirectoryThenReusesTheFile) {
  Result<DeployOutcome> first = deployer_.Deploy();
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->action, DeployOutcome::Action::kCopied);
  EXPECT_EQ(Slurp(Installed()), Slurp(binary_));
  EXPECT_EQ(fs::status(Installed()).permissions() & fs::perms::all,
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                fs::perms::others_read | fs::perms::others_exec);
  const ino_t inode = InodeOf(Installed());

  Result<DeployOutcome> second = deployer_.Deploy();
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->action, DeployOutcome::Action::kAlreadyThere);
  EXPECT_EQ(InodeOf(Installed()), inode);  // not rewritten

  EXPECT_TRUE(Leftovers().empty());
  EXPECT_FALSE(fs::exists(tmp_.path() + "/pwned"));
  EXPECT_FALSE(fs::exists("pwned"));
}

TEST_F(DeployShellTest, APartialACorruptAndANonExecutableCopyAreEachReplaced) {
  ASSERT_TRUE(deployer_.Deploy().ok());
  const std::string good = Slurp(binary_);
  auto damage = [&](const std::function<void()>& how, const char* what) {
    how();
    Result<DeployOutcome> deployed = deployer_.Deploy();
    ASSERT_TRUE(deployed.ok()) << what << ": " << deployed.status().message();
    EXPECT_EQ(deployed->action, DeployOutcome::Action::kReplaced) << what;
    EXPECT_EQ(Slurp(Installed()), good) << what;
    EXPECT_TRUE(fs::status(Installed()).permissions() ==
                (fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                 fs::perms::others_read | fs::perms::others_exec))
        << what;
  };
  damage([&] { fs::resize_file(Installed(), good.size() / 2); }, "partial");
  damage(
      [&] {
        std::fstream file(Installed(), std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(5000);
        file.put('y');
      },
      "one byte changed in place");
  damage([&] { fs::permissions(Installed(), fs::perms::owner_read | fs::perms::owner_write); },
         "not executable");
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(DeployShellTest, ACopyThatArrivesDamagedIsNotInstalledAndLeavesNothing) {
  ASSERT_TRUE(deployer_.Binary().ok());                       // the checksum is taken now
  WriteStandInBinary(binary_, "", std::string(100000, 'z'));  // and the bytes change after
  Result<DeployOutcome> deployed = deployer_.Install(DeployOutcome::Action::kCopied);
  ASSERT_FALSE(deployed.ok());
  EXPECT_NE(deployed.status().message().find("codeswarm: the copy arrived damaged (sha256 "),
            std::string::npos)
      << deployed.status().message();
  EXPECT_FALSE(fs::exists(Installed()));
  EXPECT_TRUE(Leftovers().empty());
}

}  // namespace
}  // namespace codeswarm::provider
