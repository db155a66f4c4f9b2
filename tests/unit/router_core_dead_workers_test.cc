// RouterCore against fakes: dead workers (docs/RELIABILITY.md, "A dead worker's node is lost
// within a bound"). A node is lost worker_lost_seconds (10 s here) after its worker's last sign
// of life, and at once when the backend says its process died; its turns end `failed` with
// "worker lost: ...", what it had not taken fails with that reason, and swarm_status says why.
#include <gtest/gtest.h>

#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

using namespace std::chrono_literals;

class DeadWorkerTest : public RouterCoreTest {
 protected:
  json::object NodeStatus(const std::string& swarm, int node) {
    core_->OnClientLine(kClient, Command("swarm_status", R"({"swarm_id":")" + swarm + "\"}"));
    return clients_.Last("swarm_status").at("data").at("nodes").at(node).as_object();
  }
  void Received(const std::string& swarm, int node, const std::string& injection) {
    WorkerSays(swarm, node, R"(received {"injection_id":")" + injection + "\"}");
  }
};

TEST_F(DeadWorkerTest, BoundRunsFromTheLastSignOfLifeNotFromWhenTheSilenceWasNoticed) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  Received(swarm, 0, injection);
  executor_.Advance(3s);
  WorkerSays(swarm, 0, "ping {}");  // the last sign of life: t = 3 s
  executor_.Advance(6s);            // the session closes the silent connection at t = 9 s
  core_->OnWorkerDisconnected(Conn(swarm, 0), "no heartbeat from the worker for more than 5 s");
  EXPECT_EQ(NodeStatus(swarm, 0).at("state"), "disconnected");
  executor_.Advance(3999ms);
  EXPECT_TRUE(clients_.Events("turn_complete").empty());
  executor_.Advance(1ms);  // t = 13 s
  const std::string reason =
      "worker lost: no sign of life for 10 s (its connection dropped: no heartbeat from the "
      "worker for more than 5 s)";
  json::object complete = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(complete.at("injection_id"), injection);
  EXPECT_EQ(complete.at("status"), "failed");
  EXPECT_EQ(complete.at("error"), reason);
  EXPECT_EQ(clients_.Last("node_lost").at("data").at("reason"), reason);
  json::object status = NodeStatus(swarm, 0);
  EXPECT_EQ(status.at("state"), "lost");
  EXPECT_EQ(status.at("reason"), reason);
}

TEST_F(DeadWorkerTest, WithoutProcessStateTheRouterWaitsForTheWorkerAndLooksNoFurther) {
  // Like Slurm: the backend says nothing of single worker processes.
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  executor_.Advance(1s);  // a poll, with no per-node state in it
  const int polls = provider_.polls;
  core_->OnWorkerDisconnected(Conn(swarm, 0), "connection reset by peer");
  executor_.Advance(0ms);
  EXPECT_EQ(provider_.polls, polls);  // nothing to learn before the next regular poll
  json::object status = NodeStatus(swarm, 0);
  EXPECT_EQ(status.at("state"), "disconnected");
  EXPECT_EQ(status.at("reason"), "connection reset by peer");
  executor_.Advance(8s);
  EXPECT_TRUE(clients_.Events("node_lost").empty());
  executor_.Advance(1s);  // 10 s after the hello, its last sign of life
  EXPECT_EQ(NodeStatus(swarm, 0).at("state"), "lost");
}

TEST_F(DeadWorkerTest, DeadLocalProcessIsLostAtOnceAndEverythingItHadFailsWithTheExitStatus) {
  std::string swarm = Launch(2);
  Connect(swarm, 0);
  Connect(swarm, 1);
  provider_.states["job-" + swarm].nodes = {{0, true, ""}, {1, true, ""}};
  executor_.Advance(1s);  // a poll: this backend knows each worker process
  std::string running = Inject(swarm, "1");
  Received(swarm, 1, running);
  WorkerSays(swarm, 1, "event 1 " + running + " turn_started {}");
  std::string held = Inject(swarm, "1");
  Received(swarm, 1, held);                 // queued at the worker behind the running turn
  std::string unsent = Inject(swarm, "1");  // the worker never said it got it

  provider_.states["job-" + swarm].nodes = {{0, true, ""},
                                            {1, false, "killed by signal 9 (SIGKILL)"}};
  const int polls = provider_.polls;
  clients_.Clear();
  core_->OnWorkerDisconnected(Conn(swarm, 1), "connection closed by the worker");
  executor_.Advance(0ms);  // no time passes: the router looks at once
  EXPECT_EQ(provider_.polls, polls + 1);
  const std::string reason = "worker lost: worker process killed by signal 9 (SIGKILL)";
  auto completes = clients_.Events("turn_complete");
  ASSERT_EQ(completes.size(), 2u);
  EXPECT_EQ(completes[0].at("data").at("injection_id"), running);
  EXPECT_EQ(completes[1].at("data").at("injection_id"), held);
  for (const json::object& c : completes) {
    EXPECT_EQ(c.at("data").at("status"), "failed");
    EXPECT_EQ(c.at("data").at("error"), reason);
  }
  json::object failed = clients_.Last("inject_failed").at("data").as_object();
  EXPECT_EQ(failed.at("injection_id"), unsent);
  EXPECT_EQ(failed.at("reason"), reason);
  EXPECT_EQ(clients_.Last("node_lost").at("data").at("reason"), reason);
  EXPECT_EQ(NodeStatus(swarm, 1).at("state"), "lost");
  EXPECT_EQ(NodeStatus(swarm, 1).at("reason"), reason);
  EXPECT_EQ(NodeStatus(swarm, 0).at("state"), "idle");

  Inject(swarm, "1");
  EXPECT_EQ(clients_.Last("inject_failed").at("data").at("reason"),
            "node 1 is lost (" + reason + ") and takes no more injections");
}

TEST_F(DeadWorkerTest, ConnectedNodeWhoseProcessDiedIsLostWhenItsConnectionCloses) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  Received(swarm, 0, injection);
  provider_.states["job-" + swarm].nodes = {{0, false, "exit code 3"}};
  executor_.Advance(1s);
  // Its last events may still be on the way: the connection decides.
  EXPECT_TRUE(clients_.Events("turn_complete").empty());
  core_->OnWorkerDisconnected(Conn(swarm, 0), "connection closed by the worker");
  EXPECT_EQ(clients_.Last("turn_complete").at("data").at("error"),
            "worker lost: worker process ended with exit code 3");
}

TEST_F(DeadWorkerTest, RestartedRouterWaitsTheBoundForWorkersItHadAndNoLongerForOthers) {
  std::string swarm = Launch(3);
  Connect(swarm, 0);
  Connect(swarm, 1);
  std::string injection = Inject(swarm, "[0,1]");
  RunTurn(swarm, 0, injection);  // the journal knows both nodes' workers
  RunTurn(swarm, 1, injection);

  clients_.Clear();
  links_.clear();
  MakeCore();  // a new router over the same store; node 2 never had a worker
  EXPECT_EQ(NodeStatus(swarm, 0).at("state"), "disconnected");
  EXPECT_EQ(NodeStatus(swarm, 0).at("reason"), "the router restarted");
  EXPECT_EQ(NodeStatus(swarm, 2).at("state"), "waiting");
  executor_.Advance(4s);
  Connect(swarm, 0);
  executor_.Advance(6s);
  EXPECT_EQ(NodeStatus(swarm, 0).at("state"), "idle");
  ASSERT_EQ(clients_.Events("node_lost").size(), 1u);
  json::object lost = clients_.Last("node_lost").at("data").as_object();
  EXPECT_EQ(lost.at("node_id"), 1);
  EXPECT_EQ(lost.at("reason"),
            "worker lost: no sign of life for 10 s (not back since the router restarted)");
  // One that never connected may still be starting (a Slurm job's setup): it is not lost.
  executor_.Advance(1min);
  EXPECT_EQ(NodeStatus(swarm, 2).at("state"), "waiting");
}

TEST_F(DeadWorkerTest, WorkerThatReconnectsWithinTheBoundKeepsItsTurnsAfterARestart) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string done = Inject(swarm);
  RunTurn(swarm, 0, done);
  std::string running = Inject(swarm);
  Received(swarm, 0, running);
  WorkerSays(swarm, 0, "event 7 " + running + " turn_started {}");

  clients_.Clear();
  links_.clear();
  MakeCore();
  executor_.Advance(9s);
  Connect(swarm, 0, "inst-a", "[\"" + running + "\"]");
  executor_.Advance(1min);
  EXPECT_TRUE(clients_.Events("node_lost").empty());
  WorkerSays(swarm, 0,
             "event 8 " + running + R"( turn_complete {"status":"completed","error":null})");
  EXPECT_EQ(clients_.Last("turn_complete").at("data").at("status"), "completed");
}

}  // namespace
}  // namespace codeswarm::router::testing
