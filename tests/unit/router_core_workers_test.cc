// RouterCore against fakes: worker connections (hello, acknowledgements, reconnects, crashes,
// draining).
#include <gtest/gtest.h>

#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(RouterCoreTest, WorkerIsAcknowledgedShortlyAfterItsEvents) {
  std::string swarm = Launch(1);
  FakeWorkerConnection& worker = Connect(swarm, 0);
  std::string injection = Inject(swarm);
  RunTurn(swarm, 0, injection);
  EXPECT_TRUE(worker.WithVerb("ack").empty());  // not one ack per read
  executor_.Advance(20ms);
  ASSERT_EQ(worker.WithVerb("ack").size(), 1u);
  EXPECT_EQ(worker.WithVerb("ack").back(), "ack {\"seq\":6}\n");
}

TEST_F(RouterCoreTest, StreamingWorkerIsAcknowledgedInBulk) {
  std::string swarm = Launch(1);
  FakeWorkerConnection& worker = Connect(swarm, 0);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
  for (int seq = 1; seq <= 600; ++seq) {
    WorkerSays(swarm, 0, "event " + std::to_string(seq) + " " + injection +
                             R"( assistant_delta {"delta":"x"})");
  }
  EXPECT_EQ(worker.WithVerb("ack"),
            (std::vector<std::string>{"ack {\"seq\":256}\n", "ack {\"seq\":512}\n"}));
  executor_.Advance(20ms);
  EXPECT_EQ(worker.WithVerb("ack").back(), "ack {\"seq\":600}\n");
}

TEST_F(RouterCoreTest, WorkerCrashMidTurnEndsTurnFailedWithExitStatus) {
  std::string swarm = Launch(2);
  Connect(swarm, 0);
  Connect(swarm, 1);
  std::string injection = Inject(swarm, "1");
  WorkerSays(swarm, 1, R"(received {"injection_id":")" + injection + "\"}");
  WorkerSays(swarm, 1, "event 1 " + injection + " turn_started {}");
  core_->OnWorkerDisconnected(Conn(swarm, 1), "connection closed by the worker");
  EXPECT_TRUE(clients_.Events("turn_complete").empty());  // it may still reconnect

  provider_.states["job-" + swarm].nodes = {{0, true, ""}, {1, false, "killed by signal 6 (SIGABRT)"}};
  executor_.Advance(1s);  // next poll
  auto completes = clients_.Events("turn_complete");
  ASSERT_EQ(completes.size(), 1u);
  json::object data = completes[0].at("data").as_object();
  EXPECT_EQ(data.at("node_id"), 1);
  EXPECT_EQ(data.at("status"), "failed");
  EXPECT_EQ(data.at("error"), "worker lost: worker process killed by signal 6 (SIGABRT)");
  EXPECT_EQ(clients_.Last("node_lost").at("data").at("node_id"), 1);
  // The lost node fails later injections at once; the healthy one still takes them.
  clients_.Clear();
  Inject(swarm);
  EXPECT_EQ(clients_.Events("inject_ack").size(), 2u);
  ASSERT_EQ(clients_.Events("inject_failed").size(), 1u);
  EXPECT_EQ(clients_.Last("inject_failed").at("data").at("node_id"), 1);
}

TEST_F(RouterCoreTest, NodeThatDoesNotReconnectInTimeIsLost) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
  core_->OnWorkerDisconnected(Conn(swarm, 0), "connection error: reset");
  executor_.Advance(9999ms);
  EXPECT_TRUE(clients_.Events("turn_complete").empty());
  executor_.Advance(1ms);  // worker_lost_seconds after the last sign of life
  json::object data = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(data.at("status"), "failed");
  EXPECT_EQ(data.at("error"), "worker lost: no sign of life for 10 s (its connection dropped: "
                              "connection error: reset)");
}

TEST_F(RouterCoreTest, ReconnectInTimeKeepsTheTurnAndDropsResentEvents) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  core_->OnWorkerDisconnected(Conn(swarm, 0), "connection error: reset");
  executor_.Advance(5s);
  FakeWorkerConnection& again = Connect(swarm, 0, "inst-a", "[\"" + injection + "\"]");
  EXPECT_NE(again.WithVerb("welcome")[0].find("\"ack_seq\":1"), std::string::npos);
  clients_.Clear();
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");  // resent: dropped
  WorkerSays(swarm, 0, "event 2 " + injection + R"( turn_complete {"status":"completed","error":null})");
  EXPECT_EQ(clients_.Names(0), (std::vector<std::string>{"turn_complete"}));
  executor_.Advance(60s);
  EXPECT_EQ(clients_.Events("turn_complete").size(), 1u);
}

TEST_F(RouterCoreTest, NewWorkerInstanceFailsTheOldInstancesTurns) {
  std::string swarm = Launch(1);
  Connect(swarm, 0, "inst-a");
  std::string first = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + first + "\"}");
  core_->OnWorkerDisconnected(Conn(swarm, 0), "gone");
  std::string second = Inject(swarm);  // queued while disconnected
  FakeWorkerConnection& fresh = Connect(swarm, 0, "inst-b");
  json::object complete = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(complete.at("injection_id"), first);
  EXPECT_EQ(complete.at("status"), "failed");
  // The queued one goes to the new process.
  ASSERT_EQ(fresh.WithVerb("inject").size(), 1u);
  EXPECT_NE(fresh.WithVerb("inject")[0].find(second), std::string::npos);
}

TEST_F(RouterCoreTest, HelloForAnotherSwarmThanTheHandshakeProvedIsRefused) {
  std::string swarm = Launch(1);
  std::string other = Launch(1);
  FakeWorkerConnection link;
  core_->OnWorkerConnected(99, &link, other);  // holds the other swarm's key
  core_->OnWorkerLine(99, R"(hello {"protocol":"codeswarm.worker.v2","swarm_id":")" + swarm +
                              R"(","node_id":0,"instance":"x"})");
  ASSERT_EQ(link.WithVerb("reject").size(), 1u);
  EXPECT_TRUE(link.closed);
  EXPECT_EQ(link.close_reason,
            "hello for swarm \"" + swarm + "\" on a connection keyed for \"" + other + "\"");
  EXPECT_EQ(core_->FindSwarm(swarm)->ConnectedCount(), 0);
}

TEST_F(RouterCoreTest, WorkerCannotSendRouterEvents) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  clients_.Clear();
  WorkerSays(swarm, 0, "event 1 " + injection + R"( swarm_update {"status":"ended"})");
  WorkerSays(swarm, 0, "event 2 " + injection + R"( assistant_delta {"delta":)");  // bad JSON
  EXPECT_TRUE(clients_.lines.empty());
}

TEST_F(RouterCoreTest, RestartedRouterListsSwarmsAndAdoptsHeldInjections) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");

  // A new router over the same store.
  clients_.Clear();
  links_.clear();
  MakeCore();
  core_->OnClientLine(kClient, Command("swarm_list", "{}"));
  json::object list = clients_.Last("swarm_list").at("data").as_object();
  ASSERT_TRUE(list.at("swarms").as_object().contains(swarm));
  EXPECT_EQ(list.at("swarms").at(swarm).at("status"), "running");

  Connect(swarm, 0, "inst-a", "[\"" + injection + "\"]");
  WorkerSays(swarm, 0, "event 1 " + injection + R"( turn_complete {"status":"completed","error":null})");
  json::object complete = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(complete.at("injection_id"), injection);
  EXPECT_EQ(complete.at("status"), "completed");
}

TEST_F(RouterCoreTest, DrainingNodeFailsWhatItHasNotTakenAndRefusesNewWork) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string held = Inject(swarm);
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + held + "\"}");
  std::string in_flight = Inject(swarm);  // sent, not yet received
  WorkerSays(swarm, 0, R"x(draining {"reason":"the job's time limit is near (SIGUSR1)"})x");
  json::object draining = clients_.Last("node_draining").at("data").as_object();
  EXPECT_EQ(draining.at("reason"), "the job's time limit is near (SIGUSR1)");
  json::object failed = clients_.Last("inject_failed").at("data").as_object();
  EXPECT_EQ(failed.at("injection_id"), in_flight);
  EXPECT_EQ(failed.at("reason"), "node 0 is draining: the job's time limit is near (SIGUSR1)");
  std::string later = Inject(swarm);
  EXPECT_EQ(clients_.Last("inject_failed").at("data").at("injection_id"), later);
  // The held one still gets its turn_complete from the worker.
  WorkerSays(swarm, 0, "event 1 " + held + R"( turn_complete {"status":"interrupted","error":"x"})");
  EXPECT_EQ(clients_.Last("turn_complete").at("data").at("injection_id"), held);
  core_->OnClientLine(kClient, Command("swarm_status", R"({"swarm_id":")" + swarm + "\"}"));
  EXPECT_EQ(clients_.Last("swarm_status").at("data").at("nodes").at(0).at("state"), "draining");
}

}  // namespace
}  // namespace codeswarm::router::testing
