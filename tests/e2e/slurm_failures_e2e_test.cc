// Slurm end to end (see slurm_e2e_fixture.h): what Slurm refuses, workers that cannot start, and
// hostile values, each reported with a reason a person can act on.
#include "e2e/slurm_e2e_fixture.h"

namespace codeswarm::e2e {
namespace {

using namespace slurm_test;  // NOLINT: the fixture and its helpers

TEST_F(SlurmE2ETest, UnknownPartitionIsRejectedWithSlurmsReason) {
  // Shell syntax in the name too: sbatch must receive it verbatim (it quotes it back).
  const std::string partition = "no-such $(touch pwned) 'q'";
  RouterProcess router(dir_, SlurmConfig({{"partition", partition}}));
  router.Start();
  ProtocolClient client(router.port());
  json::object answer = Launch(client, 2);
  ASSERT_EQ(EventOf(answer), "command_rejected") << json::serialize(answer);
  EXPECT_EQ(Field(answer, "code"), "launch_failed");
  EXPECT_NE(Field(answer, "reason").find("invalid partition specified: " + partition),
            std::string::npos)
      << Field(answer, "reason");
  EXPECT_NE(Field(answer, "reason").find("Invalid partition name specified"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_.path() + "/ws/swarms/pwned"));
}

TEST_F(SlurmE2ETest, TooManyNodesIsReportedWithSlurmsReasonAndTheJobCancelled) {
  RouterProcess router(dir_, SlurmConfig({{"poll_interval_seconds", 2}}));
  router.Start();
  ProtocolClient client(router.port());
  json::object answer = Launch(client, 5);  // the cluster has 4 nodes
  ASSERT_EQ(EventOf(answer), "swarm_launched") << json::serialize(answer);
  const std::string swarm = Field(answer, "swarm_id");
  const std::string job = Field(answer, "job_id");
  EXPECT_EQ(Field(answer, "status"), "pending");
  // A prompt for a swarm that never starts fails with the reason.
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "anyone?"}});
  json::object ack = client.Answer(rid, kSlurmWait);
  ASSERT_EQ(EventOf(ack), "inject_ack") << json::serialize(ack);

  json::object ended = WaitEnded(client, swarm);
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(Field(ended, "status"), "ended");
  EXPECT_EQ(Field(ended, "backend_state"), "PENDING");
  const std::string reason = Field(ended, "reason");
  EXPECT_EQ(reason.rfind("the job can never start: Partition", 0), 0u) << reason;
  int failed = 0;
  for (const json::object& e : client.events()) {
    if (!IsEvent(e, "inject_failed")) continue;
    ++failed;
    EXPECT_NE(Field(e, "reason").find("the job can never start: Partition"), std::string::npos)
        << Field(e, "reason");
  }
  EXPECT_EQ(failed, 5);  // one per node
  EXPECT_TRUE(Eventually([&] { return SqueueField(job, "%T") == "CANCELLED"; }, 30s))
      << "the impossible job was left " << SqueueField(job, "%T");
}

TEST_F(SlurmE2ETest, WorkersThatCannotStartAreReportedWithTheReason) {
  RouterProcess router(dir_, SlurmConfig({{"worker_command", "/nonexistent/codeswarm"}}));
  router.Start();
  ProtocolClient client(router.port());
  json::object answer = Launch(client, 2);
  ASSERT_EQ(EventOf(answer), "swarm_launched") << json::serialize(answer);
  const std::string swarm = Field(answer, "swarm_id");
  json::object ended = WaitEnded(client, swarm);
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(Field(ended, "status"), "ended");
  EXPECT_EQ(Field(ended, "backend_state"), "FAILED");
  EXPECT_NE(Field(ended, "reason").find("the Slurm job failed"), std::string::npos);
  EXPECT_NE(Field(ended, "reason")
                .find("codeswarm: cannot run the worker command "
                      "/nonexistent/codeswarm on "),
            std::string::npos)
      << Field(ended, "reason");
}

TEST_F(SlurmE2ETest, HostileConfigValuesAndPromptsNeverReachAShell) {
  // Every one of these would create a file named "pwned" (or the marker) if a shell ran it.
  const std::string marker = dir_.path() + "/pwned-marker";
  const std::string evil = "it's \"q\" $(touch pwned) `touch pwned` ; touch pwned";
  // A workspace and a worker path full of shell syntax; the worker is the real binary.
  const std::string workspace = dir_.path() + "/ws " + evil;
  const std::string bin_dir = dir_.path() + "/bin " + evil;
  fs::create_directories(bin_dir);
  UserDirectory(workspace);
  fs::create_symlink(CODESWARM_BINARY, bin_dir + "/codeswarm");
  json::object config =
      SlurmConfig({{"worker_command", bin_dir + "/codeswarm"},
                   {"account", "acct " + evil},
                   {"extra_directives", json::array{"--comment=$(touch${IFS}pwned)"}}});
  config["cluster"].as_object()["workspace_root"] = workspace;
  RouterProcess router(dir_, config);
  router.Start();
  ProtocolClient client(router.port());

  const std::string hostile_prompt =
      "sys $(touch " + marker + ") `touch " + marker + "` 'x' \"y\"\nline 2";
  json::object launched = LaunchAndWait(client, 2, hostile_prompt);
  ASSERT_FALSE(launched.empty()) << router.log();
  const std::string swarm = Str(launched.at("swarm_id"));
  const std::string job = Str(launched.at("job_id"));
  // Slurm received every value verbatim.
  EXPECT_EQ(SqueueField(job, "%a"), "acct " + evil);
  EXPECT_EQ(SqueueField(job, "%k"), "$(touch${IFS}pwned)");
  EXPECT_EQ(SqueueField(job, "%Z"), workspace + "/swarms/" + swarm);
  EXPECT_TRUE(fs::exists(workspace + "/swarms/" + swarm + "/node-1/worker.log"));

  const std::string content = "echo $(touch " + marker + ") `touch " + marker + "`;\n'\"\\ done";
  std::string injection = InjectAndWait(client, swarm, content, 2);
  for (int node = 0; node < 2; ++node) {
    EXPECT_EQ(client.Sequence(injection, node), kFullTurn);
  }
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "assistant") && Field(e, "injection_id") == injection) {
      EXPECT_EQ(
          Field(e, "content"),
          "node " + std::to_string(e.at("data").at("node_id").as_int64()) + " heard: " + content);
    }
  }
  std::string rid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  client.Answer(rid, kSlurmWait);

  EXPECT_FALSE(fs::exists(marker));
  std::vector<std::string> pwned;
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path())) {
    if (entry.path().filename() == "pwned") pwned.push_back(entry.path().string());
  }
  // Where a shell would have run: the login user's home (the remote side) and ours.
  for (const std::string& home : {login_home_, Env("HOME")}) {
    if (!home.empty() && fs::exists(home + "/pwned")) pwned.push_back(home + "/pwned");
  }
  EXPECT_TRUE(pwned.empty()) << "a shell ran a config value: " << pwned.front();
}

TEST_F(SlurmE2ETest, ConfigValueWithALineBreakStopsTheRouterWithTheKeysPath) {
  json::object config = SlurmConfig({{"partition", "debug\ntouch pwned"}});
  RouterProcess router(dir_, config);  // writes the config file
  auto r = RunCommand({CODESWARM_BINARY, "--config", router.config_path(), "router"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->status.success());
  EXPECT_NE((r->stdout_text + r->stderr_text)
                .find("cluster.slurm.partition: must be one line without control characters"),
            std::string::npos)
      << r->stdout_text << r->stderr_text;
}

}  // namespace
}  // namespace codeswarm::e2e
