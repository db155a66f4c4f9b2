#include "provider/process_handle.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/subprocess.h"
#include "provider/local_job_manifest.h"
#include "support/temp_dir.h"

namespace codeswarm::provider {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

bool ProcExists(pid_t pid) { return fs::exists("/proc/" + std::to_string(pid)); }

Subprocess SpawnOrDie(std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.new_process_group = true;
  Result<Subprocess> child = Subprocess::Spawn(options);
  EXPECT_TRUE(child.ok()) << child.status().message();
  return std::move(*child);
}

// Polls `done` every 10 ms for up to 5 s.
template <typename Predicate>
bool Eventually(Predicate done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

TEST(ProcessIdentityTest, StartTimeOfARunningProcessIsStableAndOfAGoneOneNotFound) {
  Result<uint64_t> mine = ReadProcessStartTime(::getpid());
  ASSERT_TRUE(mine.ok()) << mine.status().message();
  EXPECT_EQ(*ReadProcessStartTime(::getpid()), *mine);

  Subprocess child = SpawnOrDie({"true"});
  pid_t pid = child.pid();
  child.Wait();
  EXPECT_TRUE(ReadProcessStartTime(pid).status().IsNotFound());
}

TEST(ProcessIdentityTest, BootIdIsAUuid) {
  Result<std::string> boot_id = ReadBootId();
  ASSERT_TRUE(boot_id.ok()) << boot_id.status().message();
  EXPECT_EQ(boot_id->size(), 36u) << *boot_id;
}

TEST(WorkerProcessTest, ChildIsReapedWhenItsEndIsSeen) {
  Result<WorkerProcess> worker = WorkerProcess::FromChild(SpawnOrDie({"/bin/sh", "-c", "exit 3"}));
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  pid_t pid = worker->identity().pid;
  EXPECT_GT(worker->identity().start_time, 0u);
  ASSERT_TRUE(Eventually([&] { return worker->CheckEnded().has_value(); }));
  EXPECT_EQ(*worker->CheckEnded(), "exit code 3");
  EXPECT_FALSE(ProcExists(pid));  // reaped: no zombie
  EXPECT_FALSE(worker->DupPidfd().valid());
  EXPECT_TRUE(worker->SignalGroup(SIGKILL).ok());
}

TEST(WorkerProcessTest, WhatIsLeftOfADeadWorkersGroupIsKilled) {
  test_support::TempDir tmp("cs-process");
  const std::string& dir = tmp.path();
  const std::string pid_file = dir + "/grandchild.pid";
  Result<WorkerProcess> worker = WorkerProcess::FromChild(
      SpawnOrDie({"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; exit 0"}));
  ASSERT_TRUE(worker.ok());
  ASSERT_TRUE(Eventually([&] { return worker->CheckEnded().has_value(); }));
  pid_t grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_GT(grandchild, 0);
  // Killed; reaped by whoever inherited it.
  EXPECT_TRUE(Eventually([&] {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string pid, name, state;
    return !(stat >> pid >> name >> state) || state == "Z";
  }));
}

TEST(WorkerProcessTest, AdoptsARunningProcessAndSeesItEnd) {
  Subprocess child = SpawnOrDie({"sleep", "30"});
  Result<uint64_t> start_time = ReadProcessStartTime(child.pid());
  ASSERT_TRUE(start_time.ok());
  Result<WorkerProcess> adopted = WorkerProcess::Adopt({child.pid(), *start_time});
  ASSERT_TRUE(adopted.ok()) << adopted.status().message();
  EXPECT_TRUE(adopted->adopted());
  EXPECT_FALSE(adopted->CheckEnded().has_value());

  ASSERT_TRUE(adopted->SignalGroup(SIGTERM).ok());
  std::vector<UniqueFd> pidfds;
  pidfds.push_back(adopted->DupPidfd());
  EXPECT_TRUE(WaitForExits(pidfds, std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  EXPECT_EQ(adopted->CheckEnded().value_or(""), "exited");
  EXPECT_EQ(child.Wait().signal, SIGTERM);
}

TEST(WorkerProcessTest, ProcessWithAnotherStartTimeIsNotAdopted) {
  Subprocess child = SpawnOrDie({"sleep", "30"});
  Result<uint64_t> start_time = ReadProcessStartTime(child.pid());
  ASSERT_TRUE(start_time.ok());
  Result<WorkerProcess> adopted = WorkerProcess::Adopt({child.pid(), *start_time + 1});
  EXPECT_TRUE(adopted.status().IsNotFound()) << adopted.status().message();
  child.Signal(SIGKILL);
  child.Wait();
}

TEST(WorkerProcessTest, WaitForExitsTimesOutWhileAProcessRuns) {
  Subprocess child = SpawnOrDie({"sleep", "30"});
  Result<WorkerProcess> worker = WorkerProcess::FromChild(std::move(child));
  ASSERT_TRUE(worker.ok());
  std::vector<UniqueFd> pidfds;
  pidfds.push_back(worker->DupPidfd());
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(WaitForExits(pidfds, start + milliseconds(50)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(50));
  ASSERT_TRUE(worker->SignalGroup(SIGKILL).ok());
  EXPECT_TRUE(WaitForExits(pidfds, std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  EXPECT_EQ(worker->CheckEnded().value_or(""), "killed by signal 9 (SIGKILL)");
}

TEST(LocalJobManifestTest, RoundTrips) {
  LocalJobManifest manifest{
      "local-s-1", "s-1", "boot", "2026-01-01T00:00:00.000Z", {{0, {100, 5}}, {1, {101, 6}}}};
  Result<LocalJobManifest> parsed = ParseLocalJobManifest(SerializeLocalJobManifest(manifest));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->job_id, "local-s-1");
  EXPECT_EQ(parsed->swarm_id, "s-1");
  EXPECT_EQ(parsed->boot_id, "boot");
  ASSERT_EQ(parsed->nodes.size(), 2u);
  EXPECT_EQ(parsed->nodes[1].node_id, 1);
  EXPECT_EQ(parsed->nodes[1].process.pid, 101);
  EXPECT_EQ(parsed->nodes[1].process.start_time, 6u);
}

TEST(LocalJobManifestTest, BadFieldsAreReportedWithTheirPath) {
  Result<LocalJobManifest> parsed = ParseLocalJobManifest(
      R"({"format":"codeswarm.local_job.v1","job_id":"local-s","swarm_id":"s",)"
      R"("boot_id":"b","nodes":[{"node_id":0,"pid":"12","start_time":1}],"later":true})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("nodes[0].pid"), std::string::npos)
      << parsed.status().message();
  EXPECT_EQ(parsed.status().message().find("later"), std::string::npos);
}

TEST(LocalJobManifestTest, AtomicWriteReplacesTheFileAndLeavesNoTemporary) {
  test_support::TempDir tmp("cs-process");
  const std::string& dir = tmp.path();
  const std::string path = dir + "/job.json";
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());
  std::string text;
  std::ifstream(path) >> text;
  EXPECT_EQ(text, "new");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_TRUE(ReadLocalJobManifest(dir + "/none.json").status().IsNotFound());
}

}  // namespace
}  // namespace codeswarm::provider
