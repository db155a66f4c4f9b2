// RouterCore against a state database that fails: what each failing Store call does to the
// commands and events (FailingStore forwards to an in-memory store unless told to fail).
#include <gtest/gtest.h>

#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(RouterCoreTest, LaunchWhoseRecordCannotBeSavedIsRejectedAndItsJobCancelled) {
  store_.fail_save = FailSavesWithStatus("running", Status::IoError("disk I/O error"));
  core_->OnClientLine(kClient, Command("swarm_launch", R"({"nodes":2})", "launch"));
  executor_.RunPending();
  json::object r = Rejection();
  EXPECT_EQ(r.at("request_id"), "launch");
  EXPECT_EQ(r.at("code"), "launch_failed");
  ASSERT_EQ(provider_.launched.size(), 1u);
  const std::string job = "job-" + provider_.launched[0].swarm_id;
  EXPECT_EQ(r.at("reason"), "job " + job +
                                " was started but the state database cannot record it (disk I/O "
                                "error), so it is being cancelled");
  // The job is not left running unwatched, and the swarm is not half there.
  EXPECT_EQ(provider_.terminated, std::vector<std::string>{job});
  EXPECT_TRUE(clients_.Events("swarm_launched").empty());
  EXPECT_EQ(core_->FindSwarm(provider_.launched[0].swarm_id), nullptr);
  core_->OnClientLine(kClient, Command("swarm_list", "{}"));
  EXPECT_TRUE(clients_.Last("swarm_list").at("data").at("swarms").as_object().empty());
}

TEST_F(RouterCoreTest, WorkerOfALaunchThatCouldNotBeRecordedIsDisconnected) {
  store_.fail_save = FailSavesWithStatus("running", Status::IoError("disk full"));
  core_->OnClientLine(kClient, Command("swarm_launch", R"({"nodes":1})", "launch"));
  // The worker connects while the backend call is still running.
  core_->OnClientLine(kClient, Command("swarm_list", "{}"));
  json::object swarms = clients_.Last("swarm_list").at("data").at("swarms").as_object();
  ASSERT_EQ(swarms.size(), 1u);
  const std::string swarm(swarms.begin()->key());
  FakeWorkerConnection& worker = Connect(swarm, 0);
  ASSERT_EQ(worker.WithVerb("welcome").size(), 1u);
  executor_.RunPending();
  EXPECT_TRUE(worker.closed);
  EXPECT_NE(worker.close_reason.find("state database cannot record it"), std::string::npos);
}

TEST_F(RouterCoreTest, TerminateStillStopsTheJobAndAnswersWhenTheStoreCannotRecordIt) {
  std::string swarm = Launch(1);
  store_.fail_save = [](const SwarmRecord&) -> std::optional<Status> {
    return Status::IoError("database is locked");
  };
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}", "t"));
  executor_.RunPending();
  // The backend is what a restarted router reconciles with: the job is stopped, so the swarm
  // will read as ended there even though the database still says running.
  EXPECT_EQ(provider_.terminated, std::vector<std::string>{"job-" + swarm});
  EXPECT_EQ(clients_.Last("swarm_terminated").at("data").at("request_id"), "t");
  EXPECT_EQ(core_->FindSwarm(swarm)->status, SwarmStatus::kTerminated);
  EXPECT_GE(store_.save_calls, 2);  // terminating, terminated: both tried
}

TEST_F(RouterCoreTest, EventsKeepFlowingInOrderWhenSeqsCannotBeReserved) {
  // A fresh core whose first reservation fails: it counts in memory from 1.
  store_.reserve_error = Status::IoError("disk I/O error");
  clients_.Clear();
  MakeCore();
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  RunTurn(swarm, 0, injection);
  ASSERT_GE(clients_.lines.size(), 9u);
  uint64_t expected = 1;
  for (const SentLine& line : clients_.lines) {
    if (line.to) continue;  // answers to one client carry no seq
    EXPECT_EQ(line.event.at("seq").as_int64(), static_cast<int64_t>(expected));
    ++expected;
  }
  EXPECT_EQ(clients_.Last("turn_complete").at("data").at("status"), "completed");
}

TEST_F(RouterCoreTest, StartFailsWithTheStoresReasonWhenTheRegistryCannotBeLoaded) {
  store_.load_error =
      Status::IoError("cannot read state database router.db: file is not a database");
  RouterCore core(RouterOptions{}, executor_, clients_, store_, provider_, clock_);
  Status started = core.Start();
  EXPECT_FALSE(started.ok());
  EXPECT_EQ(started.message(), "cannot read state database router.db: file is not a database");
}

}  // namespace
}  // namespace codeswarm::router::testing
