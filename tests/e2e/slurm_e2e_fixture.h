// The real router with the Slurm provider, against the real Slurm cluster and ssh login node of
// scripts/slurm-up.sh (munged, slurmctld, slurmd n1..n4 and an sshd, all on this machine):
// every Slurm command goes through `ssh <login alias>`, the workers run under srun on n1..n4 and
// connect back over loopback. scripts/test.sh brings the cluster up (scripts/test-env.d/); run by
// hand with: eval "$(scripts/slurm-up.sh)" && ./build/tests/codeswarm_e2e_tests
// --gtest_filter='Slurm*'
#pragma once

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "common/clock.h"
#include "common/run_command.h"
#include "e2e/harness.h"

namespace codeswarm::e2e::slurm_test {

namespace json = boost::json;
namespace fs = std::filesystem;

inline const std::vector<std::string> kFullTurn = {
    "inject_ack",      "inject_delivered", "turn_started", "assistant_delta", "assistant_delta",
    "assistant_delta", "assistant_delta",  "assistant",    "usage",           "turn_complete"};

// Slurm answers in seconds, over an ssh whose remote shell alone may take one: generous waits.
inline constexpr auto kSlurmWait = 90s;

// The event's name, or what stands for none when a wait timed out with an empty object.
inline std::string EventOf(const json::object& e) {
  const json::value* event = e.if_contains("event");
  return event == nullptr ? "(no answer in time)" : Str(*event);
}
inline bool IsEvent(const json::object& e, const char* name) { return EventOf(e) == name; }
inline std::string Field(const json::object& e, const char* key) { return Str(e.at("data").at(key)); }

inline std::string Env(const char* name) {
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
inline RunResult Slurm(const std::vector<std::string>& argv) {
  RunOptions options;
  options.timeout = 30s;
  auto r = RunCommand(argv, options);
  EXPECT_TRUE(r.ok()) << argv.front() << ": " << r.status().message();
  return r.ok() ? *r : RunResult{};
}

// squeue's word for a job ("" once the controller has forgotten it).
inline std::string SqueueField(const std::string& job_id, const std::string& format) {
  std::string out = Slurm({"squeue", "-h", "-t", "all", "-j", job_id, "-o", format}).stdout_text;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline std::string ProcEnv(pid_t pid, const std::string& name) {
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
// The executable of process `pid` ("" when it is gone).
inline std::string ExeOf(pid_t pid) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
}

inline std::vector<pid_t> WorkerPids(const std::string& swarm_id) {
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
inline std::vector<pid_t> ProcessesMentioning(const std::string& text) {
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

  // Launches 4 nodes, checks that each worker's executable is `exe` and that each takes a whole
  // turn of `prompt`, and terminates the swarm.
  void RunFourNodesOn(ProtocolClient& client, const std::string& exe, const std::string& prompt) {
    json::object launched = LaunchAndWait(client, 4);
    ASSERT_FALSE(launched.empty());
    const std::string swarm = Str(launched.at("swarm_id"));
    std::vector<pid_t> workers = WorkerPids(swarm);
    ASSERT_EQ(workers.size(), 4u);
    for (pid_t pid : workers) EXPECT_EQ(ExeOf(pid), exe) << "worker " << pid;
    std::string injection = InjectAndWait(client, swarm, prompt, 4);
    for (int node = 0; node < 4; ++node) {
      EXPECT_EQ(client.Sequence(injection, node), kFullTurn) << "node " << node;
    }
    std::string rid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
    EXPECT_EQ(EventOf(client.Answer(rid, kSlurmWait)), "swarm_terminated");
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

}  // namespace codeswarm::e2e::slurm_test
