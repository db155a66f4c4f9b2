// RouterCore against fakes: client commands (launch, inject, interrupt, status) and malformed
// lines.
#include <gtest/gtest.h>

#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(RouterCoreTest, LaunchAnswersSwarmLaunchedWithJob) {
  std::string swarm = Launch(3, R"(,"system_prompt":"be brief")");
  json::object data = clients_.Last("swarm_launched").at("data").as_object();
  EXPECT_EQ(data.at("request_id"), "launch");
  EXPECT_EQ(data.at("job_id"), "job-" + swarm);
  EXPECT_EQ(data.at("node_count"), 3);
  EXPECT_EQ(data.at("status"), "running");
  EXPECT_EQ(data.at("agent_kind"), "mock");
  ASSERT_EQ(provider_.launched.size(), 1u);
  EXPECT_EQ(provider_.launched[0].node_count, 3);
  EXPECT_EQ(provider_.launched[0].swarm_dir, "/tmp/swarms/" + swarm);
  EXPECT_EQ(provider_.launched[0].secret.size(), 64u);
  // swarm_launched is the first line that carries the request id.
  EXPECT_EQ(clients_.lines.front().event.at("event"), "swarm_launched");
}

TEST_F(RouterCoreTest, LaunchFailureIsRejectedWithTheBackendsReason) {
  provider_.launch_error = Status::Unavailable("sbatch: invalid partition 'gpu' (exit 1)");
  core_->OnClientLine(kClient, Command("swarm_launch", R"({"nodes":2})"));
  executor_.RunPending();
  json::object r = Rejection();
  EXPECT_EQ(r.at("code"), "launch_failed");
  EXPECT_EQ(r.at("reason"), "fake backend: sbatch: invalid partition 'gpu' (exit 1)");
  EXPECT_TRUE(clients_.Events("swarm_launched").empty());
}

TEST_F(RouterCoreTest, BadAgentOverrideIsRejectedWithItsPath) {
  core_->OnClientLine(kClient,
                      Command("swarm_launch", R"({"nodes":2,"agent":{"mock":{"chunks":"x"}}})"));
  json::object r = Rejection();
  EXPECT_EQ(r.at("code"), "invalid_payload");
  EXPECT_EQ(r.at("reason"),
            "payload.agent.mock.chunks: expected an integer from 1 to 1000000, got string \"x\"");
  EXPECT_TRUE(provider_.launched.empty());
}

TEST_F(RouterCoreTest, InjectBeforeWorkerConnectsIsDeliveredOnConnect) {
  std::string swarm = Launch(2);
  std::string injection = Inject(swarm);
  ASSERT_EQ(clients_.Events("inject_ack").size(), 2u);
  EXPECT_TRUE(clients_.Events("inject_delivered").empty());

  FakeWorkerConnection& worker = Connect(swarm, 1);
  ASSERT_EQ(worker.WithVerb("welcome").size(), 1u);
  ASSERT_EQ(worker.WithVerb("inject").size(), 1u);
  EXPECT_NE(worker.WithVerb("inject")[0].find(injection), std::string::npos);
  WorkerSays(swarm, 1, R"(received {"injection_id":")" + injection + "\"}");
  json::object delivered = clients_.Last("inject_delivered").at("data").as_object();
  EXPECT_EQ(delivered.at("node_id"), 1);
  EXPECT_EQ(delivered.at("request_id"), "inj");
  EXPECT_EQ(delivered.at("injection_id"), injection);
}

TEST_F(RouterCoreTest, EachNodeGetsTheFullOrderedSequence) {
  std::string swarm = Launch(2);
  Connect(swarm, 0);
  Connect(swarm, 1);
  clients_.Clear();
  std::string injection = Inject(swarm);
  RunTurn(swarm, 0, injection);
  RunTurn(swarm, 1, injection);
  std::vector<std::string> expected = {"inject_ack",      "inject_delivered", "turn_started",
                                       "assistant_delta", "assistant_delta",  "assistant",
                                       "usage",           "turn_complete"};
  EXPECT_EQ(clients_.Names(0), expected);
  EXPECT_EQ(clients_.Names(1), expected);
  // A spliced runtime event carries the router's ids and the worker's fields.
  json::object delta = clients_.Events("assistant_delta")[0].at("data").as_object();
  EXPECT_EQ(delta.at("swarm_id"), swarm);
  EXPECT_EQ(delta.at("job_id"), "job-" + swarm);
  EXPECT_EQ(delta.at("node_id"), 0);
  EXPECT_EQ(delta.at("injection_id"), injection);
  EXPECT_EQ(delta.at("delta"), "hel");
  // Broadcast seqs increase by one.
  uint64_t prev = 0;
  for (const auto& line : clients_.lines) {
    uint64_t seq = line.event.at("seq").as_int64();
    if (prev != 0) {
      EXPECT_EQ(seq, prev + 1);
    }
    prev = seq;
  }
  // Status counts the turn and its tokens.
  core_->OnClientLine(kClient, Command("swarm_status", R"({"swarm_id":")" + swarm + "\"}"));
  json::object status = clients_.Last("swarm_status").at("data").as_object();
  EXPECT_EQ(status.at("nodes").at(0).at("turns_completed"), 1);
  EXPECT_EQ(status.at("nodes").at(0).at("total_tokens"), 5);
  EXPECT_EQ(status.at("nodes").at(0).at("state"), "idle");
  EXPECT_FALSE(status.contains("seq"));  // answers to one client carry no seq
}

TEST_F(RouterCoreTest, InjectIntoTerminatedSwarmIsRejected) {
  std::string swarm = Launch(1);
  core_->OnClientLine(kClient, Command("swarm_terminate", R"({"swarm_id":")" + swarm + "\"}", "t"));
  executor_.RunPending();
  ASSERT_EQ(clients_.Events("swarm_terminated").size(), 1u);
  Inject(swarm);
  json::object r = Rejection();
  EXPECT_EQ(r.at("code"), "swarm_ended");
  EXPECT_EQ(r.at("reason"), "swarm " + swarm + " is terminated; it takes no more injections");
  EXPECT_EQ(r.at("request_id"), "inj");
}

TEST_F(RouterCoreTest, InjectRejectsUnknownSwarmAndNodesOutOfRange) {
  std::string swarm = Launch(2);
  Inject("s-nothere");
  EXPECT_EQ(Rejection().at("code"), "unknown_swarm");
  EXPECT_EQ(Rejection().at("reason"), "unknown swarm_id \"s-nothere\"");
  Inject(swarm, "[0,5]");
  EXPECT_EQ(Rejection().at("reason"),
            "payload.nodes: node 5 is out of range (swarm " + swarm + " has nodes 0-1)");
  EXPECT_TRUE(clients_.Events("inject_ack").empty());
}

TEST_F(RouterCoreTest, InterruptAsksTheWorkerToStopTheCurrentTurn) {
  std::string swarm = Launch(2);
  FakeWorkerConnection& w0 = Connect(swarm, 0);
  Connect(swarm, 1);
  std::string injection = Inject(swarm, "0");
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
  core_->OnClientLine(kClient, Command("interrupt", R"({"swarm_id":")" + swarm + "\"}", "int"));
  ASSERT_EQ(w0.WithVerb("interrupt").size(), 1u);
  EXPECT_EQ(w0.WithVerb("interrupt")[0], "interrupt {\"injection_id\":\"" + injection + "\"}\n");
  json::object ack = clients_.Last("interrupt_ack").at("data").as_object();
  EXPECT_EQ(ack.at("request_id"), "int");
  EXPECT_EQ(ack.at("interrupted").as_array().size(), 1u);
  EXPECT_EQ(ack.at("interrupted").at(0).at("injection_id"), injection);
  EXPECT_EQ(ack.at("idle"), json::array{1});
}

TEST_F(RouterCoreTest, MalformedLinesAreRejectedAndTheNextLineStillWorks) {
  core_->OnClientLine(kClient, "not json");
  EXPECT_EQ(Rejection().at("code"), "invalid_json");
  core_->OnClientLineTooLong(kClient, 1024);
  EXPECT_EQ(Rejection().at("reason"), "line exceeds the limit of 1024 bytes; it was discarded");
  EXPECT_TRUE(Rejection().at("request_id").is_null());
  core_->OnClientLine(kClient, Command("swarm_list", "{}"));
  EXPECT_EQ(clients_.lines.back().event.at("event"), "swarm_list");
}

}  // namespace
}  // namespace codeswarm::router::testing
