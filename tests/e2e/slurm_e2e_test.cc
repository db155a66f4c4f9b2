// The real router with the Slurm provider, against the real Slurm cluster and ssh login node of
// scripts/slurm-up.sh (munged, slurmctld, slurmd n1..n4 and an sshd, all on this machine):
// every Slurm command goes through `ssh <login alias>`, the workers run under srun on n1..n4 and
// connect back over loopback. scripts/test.sh brings the cluster up (scripts/test-env.d/); run by
// hand with: eval "$(scripts/slurm-up.sh)" && ./build/tests/codeswarm_e2e_tests
// --gtest_filter='Slurm*'
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "common/clock.h"
#include "e2e/harness.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const std::vector<std::string> kFullTurn = {
    "inject_ack",      "inject_delivered", "turn_started", "assistant_delta", "assistant_delta",
    "assistant_delta", "assistant_delta",  "assistant",    "usage",           "turn_complete"};

// Slurm answers in seconds, over an ssh whose remote shell alone may take one: generous waits.
constexpr auto kSlurmWait = 90s;

// The event's name, or what stands for none when a wait timed out with an empty object.
std::string EventOf(const json::object& e) {
  const json::value* event = e.if_contains("event");
  return event == nullptr ? "(no answer in time)" : Str(*event);
}
bool IsEvent(const json::object& e, const char* name) { return EventOf(e) == name; }
std::string Field(const json::object& e, const char* key) { return Str(e.at("data").at(key)); }

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// What scripts/slurm-up.sh exports.
struct ClusterEnv {
  std::string partition = Env("CODESWARM_SLURM_PARTITION");
  std::string ssh_config = Env("CODESWARM_SSH_CONFIG");
  std::string ssh_host = Env("CODESWARM_SSH_HOST");
  std::string ssh_user = Env("CODESWARM_SSH_USER");  // the unprivileged login user
  std::string slurm_conf = Env("SLURM_CONF");
  bool complete() const {
    return !partition.empty() && !ssh_config.empty() && !ssh_host.empty() && !ssh_user.empty() &&
           !slurm_conf.empty();
  }
};

// A Slurm command run directly on this machine (the test's own view of the cluster).
RunResult Slurm(const std::vector<std::string>& argv) {
  RunOptions options;
  options.timeout = 30s;
  auto r = RunCommand(argv, options);
  EXPECT_TRUE(r.ok()) << argv.front() << ": " << r.status().message();
  return r.ok() ? *r : RunResult{};
}

// squeue's word for a job ("" once the controller has forgotten it).
std::string SqueueField(const std::string& job_id, const std::string& format) {
  std::string out = Slurm({"squeue", "-h", "-t", "all", "-j", job_id, "-o", format}).stdout_text;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string ProcEnv(pid_t pid, const std::string& name) {
  std::string environ = ReadFile("/proc/" + std::to_string(pid) + "/environ");
  std::string needle = name + "=";
  std::size_t start = 0;
  while (start < environ.size()) {
    std::size_t end = environ.find('\0', start);
    if (end == std::string::npos) end = environ.size();
    if (environ.compare(start, needle.size(), needle) == 0) {
      return environ.substr(start + needle.size(), end - start - needle.size());
    }
    start = end + 1;
  }
  return "";
}

// The swarm's `codeswarm worker` processes (its batch shell and srun carry the swarm id too).
std::vector<pid_t> WorkerPids(const std::string& swarm_id) {
  std::vector<pid_t> pids;
  for (const ProcessInfo& p : ProcessesOfSwarm(swarm_id)) {
    std::string cmdline = ReadFile("/proc/" + std::to_string(p.pid) + "/cmdline");
    std::size_t arg1 = cmdline.find('\0');
    if (p.state != 'Z' && arg1 != std::string::npos &&
        cmdline.compare(arg1 + 1, 7, std::string("worker\0", 7)) == 0) {
      pids.push_back(p.pid);
    }
  }
  return pids;
}

// Processes whose command line mentions `text` (e.g. an ssh master for a control socket).
std::vector<pid_t> ProcessesMentioning(const std::string& text) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    if (cmdline.find(text) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

class SlurmE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.complete())
        << "Slurm test cluster not running: run scripts/slurm-up.sh "
           "(eval \"$(scripts/slurm-up.sh)\"; scripts/test.sh does it for you). Missing one of "
           "SLURM_CONF, CODESWARM_SLURM_PARTITION, CODESWARM_SSH_CONFIG, CODESWARM_SSH_HOST, "
           "CODESWARM_SSH_USER.";
    RunResult sinfo = Slurm({"sinfo", "-h", "-o", "%D"});
    ASSERT_TRUE(sinfo.status.success())
        << "Slurm test cluster not running: run scripts/slurm-up.sh (sinfo: " << sinfo.stderr_text
        << ")";
    const passwd* user = ::getpwnam(env_.ssh_user.c_str());
    ASSERT_NE(user, nullptr) << "no login user " << env_.ssh_user << ": run scripts/slurm-up.sh";
    login_uid_ = user->pw_uid;
    login_home_ = user->pw_dir;
    // The jobs run as the login user: it reaches the worker binary and a test's files through
    // this directory and owns its workspace, as a user owns their scratch space.
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);
    UserDirectory(dir_.path() + "/ws");
  }

  // Creates `path` owned by the login user.
  void UserDirectory(const std::string& path) {
    fs::create_directories(path);
    ASSERT_EQ(::chown(path.c_str(), login_uid_, static_cast<gid_t>(-1)), 0) << path;
  }

  void TearDown() override {
    // Nothing of a test may outlive it, whatever it asserted.
    for (const std::string& job_id : jobs_) Slurm({"scancel", job_id});
  }

  // The router's configuration: the Slurm backend through the ssh login alias. `slurm`
  // overrides keys of cluster.slurm.
  json::object SlurmConfig(json::object slurm = {}) {
    json::object defaults{{"partition", env_.partition},        {"time_limit", "10"},
                          {"poll_interval_seconds", 1},         {"drain_seconds", 30},
                          {"worker_command", CODESWARM_BINARY}, {"login_alias", env_.ssh_host}};
    for (auto& [key, value] : slurm) defaults[key] = value;
    return json::object{{"cluster", {{"backend", "slurm"}, {"slurm", defaults}}},
                        {"ssh", {{"ssh_config", env_.ssh_config}, {"controlpersist_minutes", 1}}}};
  }

  // Sends swarm_launch and returns its answer (remembering the job for TearDown).
  json::object Launch(ProtocolClient& client, int nodes, const std::string& system_prompt = "") {
    std::string rid =
        client.Send("swarm_launch", {{"nodes", nodes}, {"system_prompt", system_prompt}});
    json::object answer = client.Answer(rid, kSlurmWait);
    if (!answer.empty() && IsEvent(answer, "swarm_launched"))
      jobs_.push_back(Field(answer, "job_id"));
    return answer;
  }

  // Launches and waits for every node to connect; returns the swarm_launched data.
  json::object LaunchAndWait(ProtocolClient& client, int nodes,
                             const std::string& system_prompt = "") {
    json::object answer = Launch(client, nodes, system_prompt);
    EXPECT_EQ(EventOf(answer), "swarm_launched") << json::serialize(answer);
    if (answer.empty() || !IsEvent(answer, "swarm_launched")) return {};
    std::string swarm = Field(answer, "swarm_id");
    std::set<int64_t> connected;
    while (static_cast<int>(connected.size()) < nodes) {
      json::object e = client.WaitFor(
          [&](const json::object& e) {
            return IsEvent(e, "node_connected") && Field(e, "swarm_id") == swarm;
          },
          kSlurmWait);
      if (e.empty()) break;
      connected.insert(e.at("data").at("node_id").as_int64());
    }
    return answer.at("data").as_object();
  }

  // Injects and waits for every targeted node's turn_complete or inject_failed.
  std::string InjectAndWait(ProtocolClient& client, const std::string& swarm,
                            const std::string& content, int expected_nodes,
                            json::value nodes = "all") {
    std::string rid =
        client.Send("inject", {{"swarm_id", swarm}, {"nodes", nodes}, {"content", content}});
    json::object ack = client.Answer(rid, kSlurmWait);
    EXPECT_EQ(EventOf(ack), "inject_ack") << json::serialize(ack);
    std::string injection = Field(ack, "injection_id");
    std::set<int64_t> done;
    while (static_cast<int>(done.size()) < expected_nodes) {
      json::object e = client.WaitFor(
          [&](const json::object& e) {
            return (IsEvent(e, "turn_complete") || IsEvent(e, "inject_failed")) &&
                   Field(e, "injection_id") == injection;
          },
          kSlurmWait);
      if (e.empty()) break;
      done.insert(e.at("data").at("node_id").as_int64());
    }
    return injection;
  }

  // Waits for the swarm_update that ends the swarm.
  json::object WaitEnded(ProtocolClient& client, const std::string& swarm,
                         std::chrono::milliseconds timeout = kSlurmWait) {
    return client.WaitFor(
        [&](const json::object& e) {
          if (!IsEvent(e, "swarm_update") || Field(e, "swarm_id") != swarm) return false;
          std::string status = Field(e, "status");
          return status == "ended" || status == "terminated";
        },
        timeout);
  }

  json::object Status(ProtocolClient& client, const std::string& swarm) {
    std::string rid = client.Send("swarm_status", {{"swarm_id", swarm}});
    return client.Answer(rid, kSlurmWait).at("data").as_object();
  }

  ClusterEnv env_;
  TempDir dir_;
  uid_t login_uid_ = 0;
  std::string login_home_;
  std::vector<std::string> jobs_;
};

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
