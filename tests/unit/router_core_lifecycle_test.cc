// RouterCore against fakes: termination and the backend's view of the job.
#include <gtest/gtest.h>

#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(RouterCoreTest, TerminateEndsTurnsBeforeAnsweringAndFailsQueuedInjections) {
  std::string swarm = Launch(2);
  FakeWorkerConnection& worker = Connect(swarm, 0);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  clients_.Clear();
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}", "t1"));
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}", "t2"));
  executor_.RunPending();
  // The worker is asked to stop first; the job is stopped once it has gone.
  EXPECT_EQ(worker.WithVerb("shutdown"),
            std::vector<std::string>{"shutdown {\"reason\":\"swarm terminated\"}\n"});
  EXPECT_TRUE(provider_.terminated.empty());
  core_->OnWorkerDisconnected(Conn(swarm, 0), "connection closed by the worker");
  executor_.RunPending();
  EXPECT_EQ(provider_.terminated, std::vector<std::string>{"job-" + swarm});
  std::vector<std::string> names = clients_.Names();
  // swarm_update(terminating), node 0's turn interrupted, node 1's injection failed, the final
  // swarm_update, then one answer per terminate request.
  auto pos = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) - names.begin();
  };
  EXPECT_LT(pos("turn_complete"), pos("swarm_terminated"));
  EXPECT_LT(pos("inject_failed"), pos("swarm_terminated"));
  json::object complete = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(complete.at("status"), "interrupted");
  EXPECT_EQ(complete.at("error"), "swarm terminated");
  auto answers = clients_.Events("swarm_terminated");
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].at("data").at("request_id"), "t1");
  EXPECT_EQ(answers[1].at("data").at("request_id"), "t2");
  EXPECT_EQ(core_->FindSwarm(swarm)->status, SwarmStatus::kTerminated);
}

TEST_F(RouterCoreTest, WorkerThatIgnoresShutdownIsStoppedThroughTheBackendAfterTheDrainTime) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}", "t"));
  executor_.Advance(1900ms);
  EXPECT_TRUE(provider_.terminated.empty());
  executor_.Advance(200ms);
  EXPECT_EQ(provider_.terminated, std::vector<std::string>{"job-" + swarm});
  executor_.Advance(3s);  // its connection never closed: the router ends the turns itself
  EXPECT_EQ(clients_.Last("swarm_terminated").at("data").at("request_id"), "t");
}

TEST_F(RouterCoreTest, TerminateFailureIsReportedAndTheSwarmKeepsRunning) {
  std::string swarm = Launch(1);
  provider_.terminate_error = Status::Unavailable("scancel: Unable to contact slurm controller");
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}", "t"));
  executor_.RunPending();
  json::object r = Rejection();
  EXPECT_EQ(r.at("code"), "backend_error");
  EXPECT_EQ(r.at("request_id"), "t");
  EXPECT_EQ(core_->FindSwarm(swarm)->status, SwarmStatus::kRunning);
}

TEST_F(RouterCoreTest, JobEndingOnItsOwnEndsTheSwarm) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
  provider_.states["job-" + swarm] =
      provider::JobState{provider::JobPhase::kEnded, "TIMEOUT", "job reached its time limit", false, {}};
  executor_.Advance(1s);
  json::object complete = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(complete.at("status"), "failed");
  EXPECT_EQ(complete.at("error"), "job ended: job reached its time limit");
  json::object update = clients_.Last("swarm_update").at("data").as_object();
  EXPECT_EQ(update.at("status"), "ended");
  EXPECT_EQ(update.at("backend_state"), "TIMEOUT");
}

TEST_F(RouterCoreTest, TerminatedSwarmAnswersTerminateAtOnce) {
  std::string swarm = Launch(1);
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}", "a"));
  executor_.RunPending();
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}", "b"));
  auto answers = clients_.Events("swarm_terminated");
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1].at("data").at("request_id"), "b");
  EXPECT_EQ(provider_.terminated.size(), 1u);
}

TEST_F(RouterCoreTest, JobThatCanNeverStartIsCancelledAndTheSwarmEndsWithTheReason) {
  std::string swarm = Launch(2);
  std::string injection = Inject(swarm);
  provider_.states["job-" + swarm] = provider::JobState{
      provider::JobPhase::kPending, "PENDING", "PartitionNodeLimit", true, {}};
  executor_.Advance(1s);
  executor_.Advance(1s);
  EXPECT_EQ(provider_.terminated, std::vector<std::string>{"job-" + swarm});
  EXPECT_EQ(core_->FindSwarm(swarm)->status, SwarmStatus::kEnded);
  EXPECT_EQ(core_->FindSwarm(swarm)->reason, "the job can never start: PartitionNodeLimit");
  ASSERT_EQ(clients_.Events("inject_failed").size(), 2u);
  EXPECT_EQ(clients_.Last("swarm_update").at("data").at("status"), "ended");
}

}  // namespace
}  // namespace codeswarm::router::testing
