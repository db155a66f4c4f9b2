// The local provider's tests share this fixture: a shell script stands in for `codeswarm worker`,
// and every process a test starts is found again by its secret (and must be gone at the end).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "provider/local_job_manifest.h"
#include "provider/local_provider.h"
#include "provider/process_handle.h"
#include "support/temp_dir.h"

namespace codeswarm::provider::local_test {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Records what it was given (cwd.txt, then env.txt, whose presence means "ready"), then behaves
// as its swarm id says: "stubborn*" ignores SIGTERM, "exits*" exits with its node id, anything
// else sleeps.
inline constexpr char kFakeWorker[] = R"(#!/bin/sh
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

inline std::string ReadFile(const fs::path& path) {
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

inline ProcStat ReadProcStat(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(stat.substr(close + 1));
  ProcStat out;
  pid_t ppid = 0;
  fields >> out.state >> ppid >> out.pgrp;
  return out;
}

inline bool Running(pid_t pid) {
  char state = ReadProcStat(pid).state;
  return state != '\0' && state != 'Z';
}

inline bool Gone(pid_t pid) { return !fs::exists("/proc/" + std::to_string(pid)); }

inline std::map<std::string, std::string> ParseEnv(const std::string& text) {
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

  std::unique_ptr<LocalProvider> NewProvider(const Clock& clock = SystemClock::Get()) {
    Result<std::unique_ptr<LocalProvider>> provider = LocalProvider::Create(config_, clock);
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

}  // namespace codeswarm::provider::local_test
