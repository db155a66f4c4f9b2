// Slurm end to end (see slurm_e2e_fixture.h): swarms run, end, time out and drain as Slurm jobs.
#include "e2e/slurm_e2e_fixture.h"

namespace codeswarm::e2e {
namespace {

using namespace slurm_test;  // NOLINT: the fixture and its helpers

TEST_F(SlurmE2ETest, FourNodeSwarmThroughTheLoginAliasRunsOnFourSlurmNodes) {
  RouterProcess router(dir_, SlurmConfig());
  router.Start();
  ProtocolClient client(router.port());
  json::object launched = LaunchAndWait(client, 4, "You are a node of a Slurm swarm.");
  ASSERT_FALSE(launched.empty());
  const std::string swarm = Str(launched.at("swarm_id"));
  const std::string job = Str(launched.at("job_id"));
  EXPECT_EQ(Str(launched.at("backend")), "slurm");

  // One worker per Slurm node, started by srun as tasks 0..3 of this very job.
  std::vector<pid_t> workers = WorkerPids(swarm);
  ASSERT_EQ(workers.size(), 4u);
  std::set<std::string> nodes, procids;
  for (pid_t pid : workers) {
    EXPECT_EQ(ProcEnv(pid, "SLURM_JOB_ID"), job);
    nodes.insert(ProcEnv(pid, "SLURMD_NODENAME"));
    procids.insert(ProcEnv(pid, "SLURM_PROCID"));
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"n1", "n2", "n3", "n4"}));
  EXPECT_EQ(procids, (std::set<std::string>{"0", "1", "2", "3"}));

  std::string injection = InjectAndWait(client, swarm, "hello Slurm", 4);
  for (int node = 0; node < 4; ++node) {
    EXPECT_EQ(client.Sequence(injection, node), kFullTurn) << "node " << node;
  }
  std::map<int64_t, std::string> text;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "assistant") && Field(e, "injection_id") == injection) {
      text[e.at("data").at("node_id").as_int64()] = Field(e, "content");
    }
  }
  for (int node = 0; node < 4; ++node) {
    EXPECT_EQ(text[node], "node " + std::to_string(node) + " heard: hello Slurm");
  }

  // The router learns RUNNING from its next squeue poll, which may trail the workers: it
  // announces the change with a swarm_update (unless the launch already saw RUNNING).
  if (Str(launched.at("backend_state")) != "RUNNING") {
    bool announced = false;
    for (const json::object& e : client.events()) {
      announced = announced || (IsEvent(e, "swarm_update") && Field(e, "swarm_id") == swarm &&
                                Field(e, "backend_state") == "RUNNING");
    }
    if (!announced) {
      client.WaitFor(
          [&](const json::object& e) {
            return IsEvent(e, "swarm_update") && Field(e, "swarm_id") == swarm &&
                   Field(e, "backend_state") == "RUNNING";
          },
          kSlurmWait);
    }
  }
  json::object status = Status(client, swarm);
  EXPECT_EQ(Str(status.at("status")), "running");
  EXPECT_EQ(Str(status.at("backend_state")), "RUNNING");
  EXPECT_EQ(Str(status.at("reason")), "running on n[1-4]");
  EXPECT_EQ(status.at("nodes_connected").as_int64(), 4);
  // The CLI shows the same.
  CliResult cli = RunCli(router.config_path(), {"--no-autostart", "status", swarm});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("backend state:  RUNNING"), std::string::npos) << cli.out;

  std::string rid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  EXPECT_EQ(EventOf(client.Answer(rid, kSlurmWait)), "swarm_terminated");
  router.Stop();
  // The router closed its shared ssh connection on the way out.
  EXPECT_TRUE(
      Eventually([&] { return ProcessesMentioning(router.state_dir() + "/ssh").empty(); }, 5s));
}

TEST_F(SlurmE2ETest, TerminateCancelsTheJobEndsTheRunningTurnAndLeavesNoWorker) {
  RouterProcess router(dir_, SlurmConfig());
  router.Start();
  ProtocolClient client(router.port());
  json::object launched = LaunchAndWait(client, 2);
  ASSERT_FALSE(launched.empty());
  const std::string swarm = Str(launched.at("swarm_id"));
  const std::string job = Str(launched.at("job_id"));
  ASSERT_EQ(WorkerPids(swarm).size(), 2u);

  std::string rid =
      client.Send("inject", {{"swarm_id", swarm}, {"nodes", 0}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid, kSlurmWait), "injection_id");
  client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_started"); }, kSlurmWait);

  std::string trid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  json::object answer = client.Answer(trid, kSlurmWait);
  ASSERT_EQ(EventOf(answer), "swarm_terminated") << json::serialize(answer);
  std::vector<std::string> seq = client.Sequence(injection, 0);
  ASSERT_FALSE(seq.empty());
  EXPECT_EQ(seq.back(), "turn_complete");
  EXPECT_EQ(std::count(seq.begin(), seq.end(), "turn_complete"), 1);

  EXPECT_TRUE(Eventually([&] { return SqueueField(job, "%T") == "CANCELLED"; }, 30s))
      << "squeue says " << SqueueField(job, "%T");
  EXPECT_TRUE(Eventually([&] { return ProcessesOfSwarm(swarm).empty(); }, 30s))
      << ProcessesOfSwarm(swarm).size() << " processes of the swarm are left";
  EXPECT_EQ(Str(Status(client, swarm).at("status")), "terminated");
}

TEST_F(SlurmE2ETest, ExternalScancelIsReportedWithinOnePollInterval) {
  const double poll_seconds = 2;
  RouterProcess router(dir_, SlurmConfig({{"poll_interval_seconds", poll_seconds}}));
  router.Start();
  ProtocolClient client(router.port());
  json::object launched = LaunchAndWait(client, 2);
  ASSERT_FALSE(launched.empty());
  const std::string swarm = Str(launched.at("swarm_id"));
  const std::string job = Str(launched.at("job_id"));
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid, kSlurmWait), "injection_id");
  for (int started = 0; started < 2; ++started) {
    client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_started"); }, kSlurmWait);
  }

  // Someone cancels the job behind the router's back.
  const auto cancelled_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(Slurm({"scancel", job}).status.success());
  // The next poll reports it: the job ending (COMPLETING, while its processes stop) or already
  // CANCELLED. Bound: one interval, plus the squeue round trips through ssh of the poll in
  // flight and of the next one.
  json::object noticed = client.WaitFor(
      [&](const json::object& e) {
        return IsEvent(e, "swarm_update") && Field(e, "swarm_id") == swarm &&
               Field(e, "backend_state") != "RUNNING";
      },
      kSlurmWait);
  const double latency = ToSeconds(std::chrono::steady_clock::now() - cancelled_at);
  ASSERT_FALSE(noticed.empty());
  EXPECT_LT(latency, poll_seconds + 8) << "noticed after " << latency << " s";
  std::cout << "[          ] external scancel reported after " << latency << " s ("
            << Field(noticed, "backend_state") << ")\n";
  json::object ended = Field(noticed, "status") == "ended" ? noticed : WaitEnded(client, swarm);
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(Field(ended, "status"), "ended");
  EXPECT_EQ(Field(ended, "backend_state"), "CANCELLED");
  EXPECT_EQ(Field(ended, "reason"), "the Slurm job was cancelled");

  // Both running turns ended exactly once, and the swarm status says what Slurm said.
  for (int node = 0; node < 2; ++node) {
    std::vector<std::string> seq = client.Sequence(injection, node);
    EXPECT_EQ(std::count(seq.begin(), seq.end(), "turn_complete"), 1) << "node " << node;
  }
  json::object status = Status(client, swarm);
  EXPECT_EQ(Str(status.at("status")), "ended");
  EXPECT_EQ(Str(status.at("backend_state")), "CANCELLED");
  rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "too late"}});
  EXPECT_EQ(Field(client.Answer(rid, kSlurmWait), "code"), "swarm_ended");
  EXPECT_TRUE(Eventually([&] { return WorkerPids(swarm).empty(); }, 30s));
}

// Slurm checks time limits about every 30 s: a 1-minute job ends 60-90 s after it starts.

TEST_F(SlurmE2ETest, SlowJobThatReachesItsTimeLimitIsReportedAsTimeout) {
  RouterProcess router(dir_, SlurmConfig({{"time_limit", "1"}, {"drain_seconds", 0}}));
  router.Start();
  ProtocolClient client(router.port());
  json::object launched = LaunchAndWait(client, 1);
  ASSERT_FALSE(launched.empty());
  const std::string swarm = Str(launched.at("swarm_id"));
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid, kSlurmWait), "injection_id");

  json::object ended = WaitEnded(client, swarm, 180s);
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(Field(ended, "status"), "ended");
  EXPECT_EQ(Field(ended, "backend_state"), "TIMEOUT");
  EXPECT_EQ(Field(ended, "reason"), "the Slurm job reached its time limit");
  std::vector<std::string> seq = client.Sequence(injection, 0);
  EXPECT_EQ(seq.back(), "turn_complete");
  EXPECT_EQ(std::count(seq.begin(), seq.end(), "turn_complete"), 1);
}

// --signal=B:USR1@60 with a 1-minute limit: the warning comes at Slurm's first time check.

TEST_F(SlurmE2ETest, SlowWalltimeWarningDrainsEveryWorkerAndEndsTheRunningTurn) {
  RouterProcess router(dir_, SlurmConfig({{"time_limit", "1"}, {"drain_seconds", 60}}));
  router.Start();
  ProtocolClient client(router.port());
  json::object launched = LaunchAndWait(client, 2);
  ASSERT_FALSE(launched.empty());
  const std::string swarm = Str(launched.at("swarm_id"));
  std::string rid =
      client.Send("inject", {{"swarm_id", swarm}, {"nodes", 0}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid, kSlurmWait), "injection_id");

  const std::string warning = "the job's time limit is near (SIGUSR1)";
  std::set<int64_t> draining;
  while (draining.size() < 2) {
    json::object e =
        client.WaitFor([&](const json::object& e) { return IsEvent(e, "node_draining"); }, 120s);
    ASSERT_FALSE(e.empty());
    EXPECT_EQ(Field(e, "reason"), warning);
    draining.insert(e.at("data").at("node_id").as_int64());
  }
  // The workers said bye and exited, so the job ends before its limit.
  json::object ended = WaitEnded(client, swarm);
  EXPECT_EQ(Field(ended, "backend_state"), "COMPLETED");
  // The running turn ended once, by the worker itself, saying why.
  int completes = 0;
  for (const json::object& e : client.events()) {
    if (!IsEvent(e, "turn_complete") || Field(e, "injection_id") != injection) continue;
    ++completes;
    EXPECT_EQ(Field(e, "status"), "interrupted");
    EXPECT_EQ(Field(e, "error"), warning);
  }
  EXPECT_EQ(completes, 1);
}

}  // namespace
}  // namespace codeswarm::e2e
