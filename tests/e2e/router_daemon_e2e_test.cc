// The real router as a daemon: a restart keeps its swarms; a second router on the same address or
// state directory refuses to start.
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "e2e/router_e2e_fixture.h"

namespace codeswarm::e2e {
namespace {

using namespace router_test;  // NOLINT: the fixture and its helpers

TEST_F(RouterE2ETest, RestartedRouterStillListsTheSwarmAndItStillWorks) {
  RouterProcess router(dir_);
  router.Start();
  std::string swarm;
  {
    ProtocolClient client(router.port());
    swarm = LaunchAndWait(client, 2);
    InjectAndWait(client, swarm, "before restart", 2);
  }
  router.Stop();
  EXPECT_EQ(ProcessesOfSwarm(swarm).size(), 2u);  // workers outlive the router
  router.Start();
  ProtocolClient client(router.port());
  std::string rid = client.Send("swarm_list", {});
  json::object list = client.Answer(rid);
  ASSERT_TRUE(list.at("data").at("swarms").as_object().contains(swarm)) << json::serialize(list);
  EXPECT_EQ(Str(list.at("data").at("swarms").at(swarm).at("status")), "running");
  // The workers reconnect by themselves and take new work.
  Eventually([&] {
    std::string srid = client.Send("swarm_status", {{"swarm_id", swarm}});
    return client.Answer(srid).at("data").at("nodes_connected").as_int64() == 2;
  });
  std::string injection = InjectAndWait(client, swarm, "after restart", 2);
  EXPECT_EQ(client.Sequence(injection, 0), kFullTurn);
  std::string trid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  client.Answer(trid);
}

TEST_F(RouterE2ETest, SecondRouterOnTheSameAddressOrStateDirRefusesToStart) {
  RouterProcess router(dir_);
  router.Start();
  // Same config: same state directory.
  auto same = RunCommand({CODESWARM_BINARY, "--config", router.config_path(), "router"}, {});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->status.code, 1);
  EXPECT_NE((same->stdout_text + same->stderr_text).find("already using the state directory"),
            std::string::npos)
      << same->stdout_text << same->stderr_text;
  // Another state directory, same port.
  TempDir other;
  std::string config = dir_.path() + "/other.json";
  WriteFile(config, json::serialize(json::object{
                        {"router", {{"port", router.port()}, {"worker_port", FreePort()},
                                    {"state_dir", other.path()}}}}));
  auto port = RunCommand({CODESWARM_BINARY, "--config", config, "router"}, {});
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(port->status.code, 1);
  EXPECT_NE((port->stdout_text + port->stderr_text).find("address already in use"), std::string::npos)
      << port->stdout_text << port->stderr_text;
  EXPECT_TRUE(router.running());
}

}  // namespace
}  // namespace codeswarm::e2e
