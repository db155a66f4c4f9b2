// The local provider against real processes: a shell script stands in for `codeswarm worker`.
#include "provider/local_provider.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/subprocess.h"
#include "provider/local_job_manifest.h"
#include "provider/process_handle.h"
#include "provider/provider_factory.h"
#include "support/temp_dir.h"

namespace codeswarm::provider {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Records what it was given (cwd.txt, then env.txt, whose presence means "ready"), then behaves
// as its swarm id says: "stubborn*" ignores SIGTERM, "exits*" exits with its node id, anything
// else sleeps.
constexpr char kFakeWorker[] = R"(#!/bin/sh
case "$CODESWARM_SWARM_ID" in
  stubborn*) trap '' TERM ;;
esac
pwd -P > cwd.txt
env > env.tmp && mv env.tmp env.txt
echo "worker $CODESWARM_NODE_ID up"
case "$CODESWARM_SWARM_ID" in
  exits*) exit "$CODESWARM_NODE_ID" ;;
esac
exec sleep 30
)";

template <typename Predicate>
bool Eventually(Predicate done) {
  auto deadline = steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Fields 3 (state) and 5 (process group) of /proc/<pid>/stat; state '\0' when there is no such
// process.
struct ProcStat {
  char state = '\0';
  pid_t pgrp = 0;
};

ProcStat ReadProcStat(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(stat.substr(close + 1));
  ProcStat out;
  pid_t ppid = 0;
  fields >> out.state >> ppid >> out.pgrp;
  return out;
}

bool Running(pid_t pid) {
  char state = ReadProcStat(pid).state;
  return state != '\0' && state != 'Z';
}

bool Gone(pid_t pid) { return !fs::exists("/proc/" + std::to_string(pid)); }

std::map<std::string, std::string> ParseEnv(const std::string& text) {
  std::map<std::string, std::string> env;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

class LocalProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Unique to this test: finds every worker it started, wherever it ended up.
    secret_ = "secret-" + fs::path(dir_).filename().string();
    std::ofstream(dir_ + "/fake_worker.sh") << kFakeWorker;
    ::setenv("CODESWARM_TEST_INHERITED", "kept", 1);
    config_.cluster.workspace_root = dir_ + "/workspace";
    config_.cluster.cluster_subdir = "swarms";
    config_.cluster.local.worker_command = {"/bin/sh", dir_ + "/fake_worker.sh"};
    config_.cluster.local.terminate_grace_seconds = 2;
    config_.cluster.local.poll_interval_seconds = 0.25;
  }

  void TearDown() override {
    // Short-lived helpers of the fake worker (env, mv) share its process group: they are killed
    // with it, and need a moment to die.
    Eventually([&] { return WorkersOfThisTest().empty(); });
    std::vector<pid_t> leftovers = WorkersOfThisTest();
    std::string described;
    for (pid_t pid : leftovers) {
      std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      described += " " + std::to_string(pid) + " (" + ReadProcStat(pid).state + " " + cmdline + ")";
    }
    EXPECT_TRUE(leftovers.empty()) << "still running:" << described;
    for (pid_t pid : leftovers) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);  // fails harmlessly when it is not our child
    }
  }

  // Live processes (not zombies) whose environment carries this test's secret.
  std::vector<pid_t> WorkersOfThisTest() const {
    const std::string needle = "CODESWARM_SECRET=" + secret_;
    std::vector<pid_t> pids;
    for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string environ = ReadFile(entry.path() / "environ");
      for (std::size_t at = 0; (at = environ.find(needle, at)) != std::string::npos; ++at) {
        bool whole = (at == 0 || environ[at - 1] == '\0') &&
                     (at + needle.size() == environ.size() || environ[at + needle.size()] == '\0');
        if (whole && Running(std::stoi(name))) {
          pids.push_back(std::stoi(name));
          break;
        }
      }
    }
    return pids;
  }

  std::unique_ptr<LocalProvider> NewProvider() {
    Result<std::unique_ptr<LocalProvider>> provider = LocalProvider::Create(config_);
    EXPECT_TRUE(provider.ok()) << provider.status().message();
    return std::move(*provider);
  }

  LaunchSpec Spec(const std::string& swarm_id, int node_count) const {
    LaunchSpec spec;
    spec.swarm_id = swarm_id;
    spec.node_count = node_count;
    spec.router_address = "127.0.0.1:9";
    spec.secret = secret_;
    spec.swarm_dir = SwarmDir(swarm_id).string();
    spec.worker_orphan_seconds = 12.5;
    spec.worker_log_level = "debug";
    return spec;
  }

  fs::path SwarmDir(const std::string& swarm_id) const {
    return fs::path(config_.SwarmsRoot()) / swarm_id;
  }
  fs::path NodeDir(const std::string& swarm_id, int node_id) const {
    return SwarmDir(swarm_id) / ("node-" + std::to_string(node_id));
  }

  bool WaitUntilReady(const std::string& swarm_id, int node_count) const {
    for (int k = 0; k < node_count; ++k) {
      if (!Eventually([&] { return fs::exists(NodeDir(swarm_id, k) / "env.txt"); })) return false;
    }
    return true;
  }

  std::vector<pid_t> WorkerPids(const std::string& swarm_id) const {
    Result<LocalJobManifest> manifest =
        ReadLocalJobManifest((SwarmDir(swarm_id) / "job.json").string());
    EXPECT_TRUE(manifest.ok()) << manifest.status().message();
    std::vector<pid_t> pids;
    if (manifest.ok()) {
      for (const auto& node : manifest->nodes) pids.push_back(node.process.pid);
    }
    return pids;
  }

  JobState StateOf(ClusterProvider& provider, const std::string& job_id) {
    Result<std::map<std::string, JobState>> states = provider.JobStates({job_id});
    EXPECT_TRUE(states.ok()) << states.status().message();
    return states.ok() ? states->at(job_id) : JobState{};
  }

  // Writes a job.json by hand, as an earlier router would have.
  void WriteManifest(const std::string& swarm_id, const std::string& boot_id,
                     std::vector<ProcessIdentity> processes) {
    LocalJobManifest manifest{"local-" + swarm_id, swarm_id, boot_id, "", {}};
    for (std::size_t k = 0; k < processes.size(); ++k) {
      manifest.nodes.push_back({static_cast<int>(k), processes[k]});
    }
    fs::create_directories(SwarmDir(swarm_id));
    ASSERT_TRUE(WriteFileAtomically((SwarmDir(swarm_id) / "job.json").string(),
                                    SerializeLocalJobManifest(manifest))
                    .ok());
  }

  test_support::TempDir tmp_{"cs-local"};
  const std::string dir_ = tmp_.path();
  std::string secret_;
  Config config_;
};

TEST_F(LocalProviderTest, LaunchStartsEachNodeInItsDirectoryGroupAndEnvironment) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-env", 3));
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(*job, "local-s-env");
  ASSERT_TRUE(WaitUntilReady("s-env", 3));
  std::vector<pid_t> pids = WorkerPids("s-env");
  ASSERT_EQ(pids.size(), 3u);

  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE("node " + std::to_string(k));
    const fs::path node_dir = NodeDir("s-env", k);
    auto env = ParseEnv(ReadFile(node_dir / "env.txt"));
    EXPECT_EQ(env["CODESWARM_SWARM_ID"], "s-env");
    EXPECT_EQ(env["CODESWARM_NODE_ID"], std::to_string(k));
    EXPECT_EQ(env["CODESWARM_ROUTER_ADDR"], "127.0.0.1:9");
    EXPECT_EQ(env["CODESWARM_SECRET"], secret_);
    EXPECT_EQ(env["CODESWARM_ORPHAN_SECONDS"], "12.5");
    EXPECT_EQ(env["CODESWARM_LOG_LEVEL"], "debug");
    EXPECT_EQ(env["CODESWARM_TEST_INHERITED"], "kept");
    EXPECT_EQ(ReadFile(node_dir / "cwd.txt"), fs::canonical(node_dir).string() + "\n");
    EXPECT_EQ(fs::status(node_dir).permissions() & fs::perms::all, fs::perms::owner_all);
    EXPECT_TRUE(Eventually([&] {
      return ReadFile(node_dir / "worker.log") == "worker " + std::to_string(k) + " up\n";
    })) << ReadFile(node_dir / "worker.log");
    // Each worker leads its own process group.
    EXPECT_EQ(ReadProcStat(pids[k]).pgrp, pids[k]);
  }
  EXPECT_TRUE(provider->Terminate(*job).ok());
}

TEST_F(LocalProviderTest, ManifestNamesEachWorkerByPidStartTimeAndBoot) {
  auto provider = NewProvider();
  ASSERT_TRUE(provider->Launch(Spec("s-manifest", 2)).ok());
  Result<LocalJobManifest> manifest =
      ReadLocalJobManifest((SwarmDir("s-manifest") / "job.json").string());
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  EXPECT_EQ(manifest->job_id, "local-s-manifest");
  EXPECT_EQ(manifest->swarm_id, "s-manifest");
  EXPECT_EQ(manifest->boot_id, *ReadBootId());
  ASSERT_EQ(manifest->nodes.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(manifest->nodes[k].node_id, k);
    EXPECT_EQ(manifest->nodes[k].process.start_time,
              *ReadProcessStartTime(manifest->nodes[k].process.pid));
  }
  EXPECT_TRUE(provider->Terminate("local-s-manifest").ok());
}

TEST_F(LocalProviderTest, JobStatesReportsRunningWorkers) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-run", 3));
  ASSERT_TRUE(job.ok());
  JobState state = StateOf(*provider, *job);
  EXPECT_EQ(state.phase, JobPhase::kRunning);
  EXPECT_EQ(state.backend_state, "RUNNING");
  EXPECT_EQ(state.reason, "3 of 3 workers running");
  ASSERT_EQ(state.nodes.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(state.nodes[k].node_id, k);
    EXPECT_TRUE(state.nodes[k].alive);
  }
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->contains(*job));
  EXPECT_TRUE(provider->Terminate(*job).ok());
}

TEST_F(LocalProviderTest, KilledWorkerIsReportedDeadAndReaped) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-kill", 3));
  ASSERT_TRUE(job.ok());
  const pid_t victim = WorkerPids("s-kill")[1];
  ASSERT_EQ(::kill(victim, SIGKILL), 0);

  JobState state;
  ASSERT_TRUE(Eventually([&] {
    state = StateOf(*provider, *job);
    return state.nodes.size() == 3 && !state.nodes[1].alive;
  }));
  EXPECT_EQ(state.phase, JobPhase::kRunning);
  EXPECT_EQ(state.nodes[1].detail, "killed by signal 9 (SIGKILL)");
  EXPECT_TRUE(state.nodes[0].alive);
  EXPECT_TRUE(state.nodes[2].alive);
  EXPECT_EQ(state.reason, "2 of 3 workers running; ended: node 1 killed by signal 9 (SIGKILL)");
  EXPECT_TRUE(Gone(victim)) << "zombie left behind";
  EXPECT_TRUE(provider->Terminate(*job).ok());
}

TEST_F(LocalProviderTest, JobWhoseWorkersAllExitedHasEndedWithTheirStatuses) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("exits", 3));
  ASSERT_TRUE(job.ok());
  std::vector<pid_t> pids = WorkerPids("exits");
  JobState state;
  ASSERT_TRUE(Eventually([&] {
    state = StateOf(*provider, *job);
    return state.phase == JobPhase::kEnded;
  }));
  EXPECT_EQ(state.backend_state, "EXITED");
  EXPECT_EQ(state.reason,
            "all 3 workers exited: node 0 exit code 0, node 1 exit code 1, node 2 exit code 2");
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid));
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_FALSE(active->contains(*job));
  EXPECT_TRUE(provider->Terminate(*job).ok());
}

TEST_F(LocalProviderTest, TerminateLeavesNoProcessAndNoZombie) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-term", 3));
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(WaitUntilReady("s-term", 3));
  std::vector<pid_t> pids = WorkerPids("s-term");

  auto start = steady_clock::now();
  ASSERT_TRUE(provider->Terminate(*job).ok());
  // Workers that obey SIGTERM do not wait out the grace period.
  EXPECT_LT(steady_clock::now() - start, milliseconds(1500));
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid)) << pid;
  EXPECT_FALSE(fs::exists(SwarmDir("s-term") / "job.json"));
  EXPECT_TRUE(fs::exists(SwarmDir("s-term") / "job.ended.json"));

  JobState state = StateOf(*provider, *job);
  EXPECT_EQ(state.phase, JobPhase::kEnded);
  EXPECT_EQ(state.reason, "terminated");
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
  EXPECT_TRUE(provider->Terminate(*job).ok());  // again: already finished
}

TEST_F(LocalProviderTest, WorkerThatIgnoresSigtermIsKilledAfterTheGracePeriod) {
  config_.cluster.local.terminate_grace_seconds = 0.3;
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("stubborn", 2));
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(WaitUntilReady("stubborn", 2));  // the trap is set
  std::vector<pid_t> pids = WorkerPids("stubborn");

  auto start = steady_clock::now();
  ASSERT_TRUE(provider->Terminate(*job).ok());
  auto took = steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(3000));
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid)) << pid;
}

TEST_F(LocalProviderTest, UnknownJobIsEndedAndTerminatingItIsOk) {
  auto provider = NewProvider();
  for (const std::string job_id : {"local-never-launched", "slurm-123", "local-..", "local-a/b"}) {
    SCOPED_TRACE(job_id);
    JobState state = StateOf(*provider, job_id);
    EXPECT_EQ(state.phase, JobPhase::kEnded);
    EXPECT_EQ(state.backend_state, "UNKNOWN");
    EXPECT_EQ(state.reason, "no such local job");
    EXPECT_TRUE(provider->Terminate(job_id).ok());
  }
}

TEST_F(LocalProviderTest, RestartedRouterAdoptsTheWorkersAndTerminatesThem) {
  const LaunchSpec spec = Spec("s-adopt", 2);
  // The first router is another process, which exits: its workers are orphaned, as after a
  // router crash, and are no longer children of anyone here.
  pid_t first_router = ::fork();
  ASSERT_GE(first_router, 0);
  if (first_router == 0) {
    Result<std::unique_ptr<LocalProvider>> first = LocalProvider::Create(config_);
    ::_exit(first.ok() && (*first)->Launch(spec).ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(first_router, &status, 0), first_router);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::vector<pid_t> pids = WorkerPids("s-adopt");
  ASSERT_EQ(pids.size(), 2u);
  for (pid_t pid : pids) EXPECT_TRUE(Running(pid));

  auto second = NewProvider();
  Result<std::map<std::string, JobState>> active = second->ListActiveJobs();
  ASSERT_TRUE(active.ok()) << active.status().message();
  ASSERT_TRUE(active->contains("local-s-adopt"));
  EXPECT_EQ(active->at("local-s-adopt").phase, JobPhase::kRunning);
  EXPECT_EQ(active->at("local-s-adopt").nodes.size(), 2u);

  // A provider asked directly, without listing first, adopts too.
  JobState state = StateOf(*NewProvider(), "local-s-adopt");
  EXPECT_EQ(state.phase, JobPhase::kRunning);
  EXPECT_EQ(state.reason, "2 of 2 workers running");

  ASSERT_TRUE(second->Terminate("local-s-adopt").ok());
  for (pid_t pid : pids) EXPECT_FALSE(Running(pid)) << pid;
  active = second->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
}

TEST_F(LocalProviderTest, ManifestWhosePidsNowNameOtherProcessesIsNotAdopted) {
  SpawnOptions options;
  options.argv = {"sleep", "30"};
  options.new_process_group = true;
  Result<Subprocess> bystander = Subprocess::Spawn(options);
  ASSERT_TRUE(bystander.ok());
  SpawnOptions short_lived;
  short_lived.argv = {"true"};
  Result<Subprocess> gone = Subprocess::Spawn(short_lived);
  ASSERT_TRUE(gone.ok());
  gone->Wait();
  // Node 0's pid was recycled for the bystander (another start time); node 1's is free.
  WriteManifest(
      "s-stale", *ReadBootId(),
      {{bystander->pid(), *ReadProcessStartTime(bystander->pid()) + 1}, {gone->pid(), 1}});

  auto provider = NewProvider();
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_FALSE(active->contains("local-s-stale"));
  JobState state = StateOf(*provider, "local-s-stale");
  EXPECT_EQ(state.phase, JobPhase::kEnded);
  ASSERT_EQ(state.nodes.size(), 2u);
  EXPECT_FALSE(state.nodes[0].alive);
  EXPECT_EQ(state.nodes[0].detail, "exited");
  EXPECT_EQ(state.reason, "all 2 workers exited: node 0 exited, node 1 exited");

  EXPECT_TRUE(provider->Terminate("local-s-stale").ok());
  EXPECT_FALSE(bystander->TryWait().has_value()) << "an unrelated process was signalled";
  bystander->Signal(SIGKILL);
  bystander->Wait();
}

TEST_F(LocalProviderTest, ManifestFromAnEarlierBootIsNotActive) {
  SpawnOptions options;
  options.argv = {"sleep", "30"};
  options.new_process_group = true;
  Result<Subprocess> bystander = Subprocess::Spawn(options);
  ASSERT_TRUE(bystander.ok());
  // Even pid and start time match: they are from another boot.
  WriteManifest("s-reboot", "00000000-0000-0000-0000-000000000000",
                {{bystander->pid(), *ReadProcessStartTime(bystander->pid())}});

  auto provider = NewProvider();
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
  JobState state = StateOf(*provider, "local-s-reboot");
  EXPECT_EQ(state.phase, JobPhase::kEnded);
  EXPECT_NE(state.reason.find("restarted"), std::string::npos) << state.reason;
  EXPECT_TRUE(provider->Terminate("local-s-reboot").ok());
  EXPECT_FALSE(bystander->TryWait().has_value());
  EXPECT_TRUE(fs::exists(SwarmDir("s-reboot") / "job.ended.json"));
  bystander->Signal(SIGKILL);
  bystander->Wait();
}

TEST_F(LocalProviderTest, MissingWorkerProgramFailsNamingTheNodeAndLeavesNothing) {
  config_.cluster.local.worker_command = {"/nonexistent/codeswarm-worker"};
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-missing", 2));
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("node 0"), std::string::npos) << job.status().message();
  EXPECT_NE(job.status().message().find("/nonexistent/codeswarm-worker"), std::string::npos);
  EXPECT_FALSE(fs::exists(SwarmDir("s-missing") / "job.json"));
  EXPECT_EQ(StateOf(*provider, "local-s-missing").reason, "no such local job");
}

TEST_F(LocalProviderTest, FailureOnALaterNodeKillsAndReapsTheEarlierOnes) {
  fs::create_directories(SwarmDir("s-partial"));
  std::ofstream(SwarmDir("s-partial") / "node-2") << "a file where a directory must go";
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-partial", 3));
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("node 2"), std::string::npos) << job.status().message();
  EXPECT_TRUE(Eventually([&] { return WorkersOfThisTest().empty(); }));
  EXPECT_FALSE(fs::exists(SwarmDir("s-partial") / "job.json"));
}

TEST_F(LocalProviderTest, LaunchRejectsSpecsItCannotTrack) {
  auto provider = NewProvider();
  LaunchSpec elsewhere = Spec("s-bad", 1);
  elsewhere.swarm_dir = dir_ + "/elsewhere/s-bad";
  EXPECT_TRUE(provider->Launch(elsewhere).status().IsInvalidArgument());
  LaunchSpec bad_id = Spec("s-bad", 1);
  bad_id.swarm_id = "../s-bad";
  EXPECT_TRUE(provider->Launch(bad_id).status().IsInvalidArgument());
  EXPECT_TRUE(provider->Launch(Spec("s-bad", 0)).status().IsInvalidArgument());
  EXPECT_FALSE(fs::exists(dir_ + "/elsewhere"));
  EXPECT_FALSE(fs::exists(SwarmDir("s-bad")));
}

TEST_F(LocalProviderTest, RunningJobCannotBeLaunchedAgainButAnEndedOneCan) {
  auto provider = NewProvider();
  ASSERT_TRUE(provider->Launch(Spec("s-dup", 1)).ok());
  EXPECT_EQ(provider->Launch(Spec("s-dup", 1)).status().code(), Status::Code::kAlreadyExists);
  // Another router process sees the running workers through job.json.
  EXPECT_EQ(NewProvider()->Launch(Spec("s-dup", 1)).status().code(), Status::Code::kAlreadyExists);
  ASSERT_TRUE(provider->Terminate("local-s-dup").ok());
  ASSERT_TRUE(provider->Launch(Spec("s-dup", 1)).ok());
  EXPECT_EQ(StateOf(*provider, "local-s-dup").phase, JobPhase::kRunning);
  EXPECT_TRUE(provider->Terminate("local-s-dup").ok());
}

TEST_F(LocalProviderTest, SlowTerminateDoesNotHoldUpCallsAboutOtherJobs) {
  config_.cluster.local.terminate_grace_seconds = 1;
  auto provider = NewProvider();
  ASSERT_TRUE(provider->Launch(Spec("stubborn-slow", 1)).ok());
  ASSERT_TRUE(provider->Launch(Spec("s-other", 1)).ok());
  ASSERT_TRUE(WaitUntilReady("stubborn-slow", 1));

  std::atomic<bool> terminated{false};
  std::thread terminator([&] {
    EXPECT_TRUE(provider->Terminate("local-stubborn-slow").ok());
    terminated = true;
  });
  std::this_thread::sleep_for(milliseconds(100));
  auto start = steady_clock::now();
  EXPECT_EQ(StateOf(*provider, "local-s-other").phase, JobPhase::kRunning);
  EXPECT_TRUE(provider->ListActiveJobs().ok());
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  EXPECT_FALSE(terminated) << "the grace period was not waited out";
  terminator.join();
  EXPECT_TRUE(provider->Terminate("local-s-other").ok());
}

TEST_F(LocalProviderTest, ConcurrentCallsWhileLaunchingAndTerminating) {
  config_.cluster.local.terminate_grace_seconds = 0.5;
  auto provider = NewProvider();
  constexpr int kJobs = 6;
  std::vector<std::string> job_ids;
  for (int i = 0; i < kJobs; ++i) job_ids.push_back("local-s-conc-" + std::to_string(i));

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto poll = [&] {
    while (!done) {
      if (!provider->JobStates(job_ids).ok()) ++failures;
      if (!provider->ListActiveJobs().ok()) ++failures;
    }
  };
  std::thread poller_a(poll);
  std::thread poller_b(poll);
  // Two launch/terminate streams over disjoint jobs, so terminates also overlap.
  auto churn = [&](int first) {
    for (int i = first; i < kJobs; i += 2) {
      if (!provider->Launch(Spec("s-conc-" + std::to_string(i), 2)).ok()) ++failures;
      if (!provider->Terminate(job_ids[i]).ok()) ++failures;
    }
  };
  std::thread churn_even(churn, 0);
  std::thread churn_odd(churn, 1);
  churn_even.join();
  churn_odd.join();
  done = true;
  poller_a.join();
  poller_b.join();

  EXPECT_EQ(failures, 0);
  Result<std::map<std::string, JobState>> states = provider->JobStates(job_ids);
  ASSERT_TRUE(states.ok());
  for (const auto& [job_id, state] : *states) EXPECT_EQ(state.phase, JobPhase::kEnded) << job_id;
}

TEST(ProviderFactoryTest, BuildsTheLocalProviderFromConfig) {
  Config config;
  config.cluster.local.poll_interval_seconds = 0.25;
  Result<std::unique_ptr<ClusterProvider>> provider = MakeProvider(config);
  ASSERT_TRUE(provider.ok()) << provider.status().message();
  EXPECT_EQ((*provider)->name(), "local");
  EXPECT_EQ((*provider)->PollInterval(), milliseconds(250));
}

TEST(ProviderFactoryTest, UnknownBackendIsNamedWithTheKnownOnes) {
  Config config;
  config.cluster.backend = "kubernetes";
  Result<std::unique_ptr<ClusterProvider>> provider = MakeProvider(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_TRUE(provider.status().IsInvalidArgument());
  EXPECT_EQ(provider.status().message(), "unknown cluster backend \"kubernetes\" (known: local, slurm)");
}

TEST(ProviderFactoryTest, WorkerEnvironmentFollowsTheWorkerProtocol) {
  LaunchSpec spec;
  spec.swarm_id = "s-1";
  spec.router_address = "node7:8766";
  spec.secret = "abc";
  spec.worker_orphan_seconds = 900;
  spec.worker_log_level = "warn";
  std::vector<std::pair<std::string, std::string>> expected = {
      {"CODESWARM_SWARM_ID", "s-1"},
      {"CODESWARM_ROUTER_ADDR", "node7:8766"},
      {"CODESWARM_SECRET", "abc"},
      {"CODESWARM_ORPHAN_SECONDS", "900"},
      {"CODESWARM_LOG_LEVEL", "warn"}};
  EXPECT_EQ(WorkerEnvironment(spec), expected);
  EXPECT_EQ(JobPhaseName(JobPhase::kPending), "pending");
  EXPECT_EQ(JobPhaseName(JobPhase::kRunning), "running");
  EXPECT_EQ(JobPhaseName(JobPhase::kEnded), "ended");
}

}  // namespace
}  // namespace codeswarm::provider
