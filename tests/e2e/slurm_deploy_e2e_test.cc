// Deploy on the real Slurm cluster (see slurm_e2e_fixture.h): a router off the cluster (every
// Slurm command through the login alias) with no cluster.slurm.worker_command, and a workspace
// where no codeswarm exists, installs its own binary there and the nodes run it. The router is
// the static binary (scripts/build.sh --static: build-static/codeswarm, or
// $CODESWARM_STATIC_BINARY), as it must be to deploy; without it the test is skipped, unless
// CODESWARM_REQUIRE_STATIC=1 (scripts/test.sh), which makes that a failure. The dynamically
// linked build, as the router, refuses to deploy and says where the static one comes from.
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fstream>

#include "e2e/deploy_probe.h"
#include "e2e/slurm_e2e_fixture.h"

namespace codeswarm::e2e {
namespace {

using namespace slurm_test;  // NOLINT: the fixture and its helpers

std::string Sha256Of(const std::string& path) {
  RunResult summed = Slurm({"sha256sum", path});
  return summed.stdout_text.substr(0, 64);
}

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class SlurmDeployE2ETest : public SlurmE2ETest {
 protected:
  // The fixture's configuration without a worker_command: the nodes run what the router deploys.
  json::object DeployConfig() {
    json::object config = SlurmConfig();
    config.at("cluster").at("slurm").as_object().erase("worker_command");
    return config;
  }

  std::string BinDir() const { return dir_.path() + "/ws/swarms/bin"; }
};

TEST_F(SlurmDeployE2ETest, StaticRouterDeploysItselfOnceAndReplacesADamagedCopy) {
  const std::string binary = StaticBinary();
  if (!fs::exists(binary)) {
    if (Env("CODESWARM_REQUIRE_STATIC") == "1") FAIL() << "no static binary at " << binary;
    GTEST_SKIP() << "no static binary at " << binary << ": scripts/build.sh --static";
  }
  const std::string sha = Sha256Of(binary);
  const std::string deployed = BinDir() + "/codeswarm-" CODESWARM_VERSION "-" + sha.substr(0, 12);
  ASSERT_FALSE(fs::exists(BinDir())) << "the workspace must hold no codeswarm beforehand";

  RouterProcess router(dir_, DeployConfig());
  router.UseBinary(binary);
  router.Start();
  ProtocolClient client(router.port());

  // First launch: the binary is copied, then the nodes run it.
  RunFourNodesOn(client, deployed, "first");
  ASSERT_TRUE(fs::exists(deployed)) << router.log();
  EXPECT_EQ(Contents(deployed), Contents(binary));
  struct stat first {};
  ASSERT_EQ(::stat(deployed.c_str(), &first), 0);
  EXPECT_EQ(first.st_mode & 0777, 0755u);
  EXPECT_EQ(first.st_uid, login_uid_);  // written over ssh, as the login user
  EXPECT_EQ(Count(router.log(), "deploy: copied " + std::to_string(fs::file_size(binary)) +
                                    " bytes to " + env_.ssh_host + ":" + deployed),
            1)
      << router.log();

  // Second launch: the same file, untouched.
  RunFourNodesOn(client, deployed, "second");
  struct stat second {};
  ASSERT_EQ(::stat(deployed.c_str(), &second), 0);
  EXPECT_EQ(second.st_ino, first.st_ino);
  EXPECT_EQ(second.st_mtim.tv_sec, first.st_mtim.tv_sec);
  EXPECT_EQ(second.st_mtim.tv_nsec, first.st_mtim.tv_nsec);
  EXPECT_EQ(Count(router.log(), "deploy: copied"), 1) << router.log();

  // A byte changed in place: the next launch replaces the file, and the nodes run the good one.
  // (A file being executed cannot be opened for writing: wait for the last workers to exit.)
  ASSERT_TRUE(Eventually([&] { return ProcessesRunning(deployed).empty(); }, kSlurmWait));
  {
    std::fstream file(deployed, std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(fs::file_size(deployed) / 2);
    file.seekg(middle);
    const char was = static_cast<char>(file.get());
    file.seekp(middle);
    file.put(static_cast<char>(~was));
    file.close();
    ASSERT_FALSE(file.fail()) << "cannot write " << deployed << ": " << std::strerror(errno);
  }
  ASSERT_NE(Sha256Of(deployed), sha);
  RunFourNodesOn(client, deployed, "third");
  EXPECT_EQ(Sha256Of(deployed), sha);
  struct stat third {};
  ASSERT_EQ(::stat(deployed.c_str(), &third), 0);
  EXPECT_NE(third.st_ino, first.st_ino);  // a new file, renamed into place
  EXPECT_EQ(Count(router.log(), "(replacing another file)"), 1) << router.log();
  EXPECT_EQ(Count(router.log(), "deploy: copied"), 2) << router.log();
  // Nothing else in the directory: no temporary file left behind.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(BinDir())) names.push_back(entry.path());
  EXPECT_EQ(names, std::vector<std::string>{deployed});

  // `codeswarm deploy` finds it there (sharing the router's ssh connection).
  RunOptions options;
  options.timeout = 60s;
  Result<RunResult> by_hand =
      RunCommand({binary, "--config", router.config_path(), "deploy"}, options);
  ASSERT_TRUE(by_hand.ok());
  EXPECT_EQ(by_hand->status.code, 0) << by_hand->stderr_text;
  EXPECT_EQ(by_hand->stdout_text, "already there: " + env_.ssh_host + ":" + deployed + "\n");
  Result<RunResult> as_json =
      RunCommand({binary, "--config", router.config_path(), "--json", "deploy"}, options);
  ASSERT_TRUE(as_json.ok());
  EXPECT_EQ(as_json->status.code, 0) << as_json->stderr_text;
  json::object line = json::parse(as_json->stdout_text).as_object();
  EXPECT_EQ(Str(line.at("event")), "deployed");
  EXPECT_EQ(Str(line.at("data").at("action")), "already_there");
  EXPECT_EQ(Str(line.at("data").at("path")), deployed);
  EXPECT_EQ(Str(line.at("data").at("sha256")), sha);
  router.Stop();
}

TEST_F(SlurmDeployE2ETest, DynamicRouterRefusesTheLaunchAndSaysWhereTheStaticBuildIs) {
  RouterProcess router(dir_, DeployConfig());  // the build's codeswarm: dynamically linked
  router.Start();
  ProtocolClient client(router.port());
  json::object answer = Launch(client, 2);
  ASSERT_EQ(EventOf(answer), "command_rejected") << json::serialize(answer);
  EXPECT_EQ(Field(answer, "code"), "launch_failed");
  const std::string reason = Field(answer, "reason");
  EXPECT_NE(reason.find("is dynamically linked"), std::string::npos) << reason;
  EXPECT_NE(reason.find("`scripts/build.sh --static` writes build-static/codeswarm"),
            std::string::npos)
      << reason;
  EXPECT_FALSE(fs::exists(BinDir()));  // nothing was copied (nor submitted: no swarm directory)
  EXPECT_FALSE(fs::exists(dir_.path() + "/ws/swarms"));

  CliResult cli = RunCli(router.config_path(), {"deploy"});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_TRUE(cli.out.empty()) << cli.out;
  EXPECT_NE(cli.err.find("is dynamically linked"), std::string::npos) << cli.err;
  EXPECT_FALSE(fs::exists(BinDir()));
  router.Stop();
}

}  // namespace
}  // namespace codeswarm::e2e
