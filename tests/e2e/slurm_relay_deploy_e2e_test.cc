// The laptop topology on the real Slurm cluster (see slurm_e2e_fixture.h): a router off the
// cluster (every Slurm command through the login alias) in relay mode — it opens no worker
// listener at all — with no cluster.slurm.worker_command and a workspace where no codeswarm
// exists. It deploys its own static binary, runs `codeswarm relay` on the login node from that
// copy, and the 4 nodes of a swarm, running the same copy, reach it through the relay only. The
// router is the static binary (build-static/codeswarm or $CODESWARM_STATIC_BINARY), as it must
// be to deploy: skipped without it, unless CODESWARM_REQUIRE_STATIC=1 (scripts/test.sh).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

#include "e2e/deploy_probe.h"
#include "e2e/slurm_e2e_fixture.h"

namespace codeswarm::e2e {
namespace {

using namespace slurm_test;  // NOLINT: the fixture and its helpers

// Whether anything accepts a TCP connection on 127.0.0.1:`port`.
bool SomethingListensOn(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return connected;
}

TEST_F(SlurmE2ETest, LaptopTopologyDeploysRunsTheRelayFromTheCopyAndNodesReachOnlyTheRelay) {
  const std::string binary = StaticBinary();
  if (!fs::exists(binary)) {
    if (Env("CODESWARM_REQUIRE_STATIC") == "1") FAIL() << "no static binary at " << binary;
    GTEST_SKIP() << "no static binary at " << binary << ": scripts/build.sh --static";
  }
  const std::string bin_dir = dir_.path() + "/ws/swarms/bin";
  ASSERT_FALSE(fs::exists(bin_dir)) << "the workspace must hold no codeswarm beforehand";

  json::object config = SlurmConfig();
  json::object& slurm = config.at("cluster").at("slurm").as_object();
  slurm.erase("worker_command");
  slurm["connect"] = "relay";
  RouterProcess router(dir_, config);
  router.UseBinary(binary);
  router.Start();
  ProtocolClient client(router.port());

  // Before any launch: the binary is deployed and the relay on the login node runs that copy;
  // the router listens for no worker.
  std::string deployed;
  ASSERT_TRUE(Eventually([&] {
    if (!fs::exists(bin_dir)) return false;
    for (const auto& entry : fs::directory_iterator(bin_dir)) {
      const std::string name = entry.path().filename();
      if (name.rfind("codeswarm-", 0) == 0) deployed = entry.path();
    }
    return !deployed.empty() && !ProcessesRunning(deployed).empty();
  }, kSlurmWait)) << router.log();
  EXPECT_FALSE(SomethingListensOn(router.worker_port())) << "relay mode opens no worker port";
  EXPECT_EQ(Count(router.log(), "deploy: copied"), 1) << router.log();

  ASSERT_NO_FATAL_FAILURE(RunFourNodesOn(client, deployed, "first")) << router.log();
  RunFourNodesOn(client, deployed, "second");
  // The second launch (and the relay) copied nothing more.
  EXPECT_EQ(Count(router.log(), "deploy: copied"), 1) << router.log();
  router.Stop();
  // No relay outlives its router on the login node.
  EXPECT_TRUE(Eventually([&] { return ProcessesRunning(deployed).empty(); }, kSlurmWait));
}

}  // namespace
}  // namespace codeswarm::e2e
