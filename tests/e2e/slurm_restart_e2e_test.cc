// Slurm end to end (see slurm_e2e_fixture.h): swarms survive a router restart, and what happened
// while it was down is reconciled.
#include "e2e/slurm_e2e_fixture.h"

namespace codeswarm::e2e {
namespace {

using namespace slurm_test;  // NOLINT: the fixture and its helpers

TEST_F(SlurmE2ETest, SwarmKeepsWorkingThroughARouterRestart) {
  RouterProcess router(dir_, SlurmConfig());
  router.Start();
  std::string swarm, job;
  {
    ProtocolClient client(router.port());
    json::object launched = LaunchAndWait(client, 2);
    ASSERT_FALSE(launched.empty());
    swarm = Str(launched.at("swarm_id"));
    job = Str(launched.at("job_id"));
    InjectAndWait(client, swarm, "before restart", 2);
  }
  router.Stop();
  EXPECT_EQ(WorkerPids(swarm).size(), 2u);  // the job and its workers outlive the router
  EXPECT_EQ(SqueueField(job, "%T"), "RUNNING");

  router.Start();
  ProtocolClient client(router.port());
  // State reloaded, job reconciled with Slurm, workers back.
  EXPECT_TRUE(Eventually(
      [&] {
        json::object status = Status(client, swarm);
        return Str(status.at("backend_state")) == "RUNNING" &&
               status.at("nodes_connected").as_int64() == 2;
      },
      60s));
  json::object status = Status(client, swarm);
  EXPECT_EQ(Str(status.at("status")), "running");
  EXPECT_EQ(Str(status.at("job_id")), job);
  std::string injection = InjectAndWait(client, swarm, "after restart", 2);
  EXPECT_EQ(client.Sequence(injection, 1), kFullTurn);
  std::string rid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  client.Answer(rid, kSlurmWait);
}

TEST_F(SlurmE2ETest, JobCancelledWhileTheRouterWasDownIsReconciledOnStart) {
  RouterProcess router(dir_, SlurmConfig());
  router.Start();
  std::string swarm, job;
  {
    ProtocolClient client(router.port());
    json::object launched = LaunchAndWait(client, 1);
    ASSERT_FALSE(launched.empty());
    swarm = Str(launched.at("swarm_id"));
    job = Str(launched.at("job_id"));
  }
  router.Kill();  // a crash: no goodbye
  ASSERT_TRUE(Slurm({"scancel", job}).status.success());
  ASSERT_TRUE(Eventually([&] { return SqueueField(job, "%T") == "CANCELLED"; }, 30s));

  router.Start();
  ProtocolClient client(router.port());
  EXPECT_TRUE(Eventually([&] { return Str(Status(client, swarm).at("status")) == "ended"; }, 60s));
  json::object status = Status(client, swarm);
  EXPECT_EQ(Str(status.at("backend_state")), "CANCELLED");
  EXPECT_EQ(Str(status.at("reason")), "the Slurm job was cancelled");
}

}  // namespace
}  // namespace codeswarm::e2e
