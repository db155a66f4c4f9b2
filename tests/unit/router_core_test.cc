// RouterCore against fakes: the lifecycle promises of docs/PROTOCOL.md, one behaviour per test.
#include "router/router_core.h"

#include <gtest/gtest.h>

#include "router/store.h"
#include "unit/router_fakes.h"
#include "worker/agent_settings.h"

namespace codeswarm::router {
namespace {

namespace json = boost::json;
using testing::FakeProvider;
using testing::FakeWorkerConnection;
using testing::ManualExecutor;
using testing::RecordingClients;
using namespace std::chrono_literals;

constexpr ClientId kClient = 7;

std::string Command(const std::string& name, const std::string& payload,
                    const std::string& request_id = "r1") {
  return R"({"protocol":"codeswarm.router.v1","type":"command","command":")" + name +
         R"(","request_id":")" + request_id + R"(","payload":)" + payload + "}";
}

class RouterCoreTest : public ::testing::Test {
 protected:
  RouterCoreTest() : store_(NewMemoryStore()) { MakeCore(); }

  void MakeCore() {
    RouterOptions options;
    options.max_nodes = 16;
    options.backend = "fake";
    options.worker_address = "127.0.0.1:9";
    options.swarms_root = "/tmp/swarms";
    options.worker_reconnect_seconds = 30;
    options.validate_agent = ValidateAgentSettings;
    core_ = std::make_unique<RouterCore>(options, executor_, clients_, *store_, provider_, clock_);
    ASSERT_TRUE(core_->Start().ok());
  }

  // Launches a swarm and returns its id.
  std::string Launch(int nodes, const std::string& extra = "") {
    core_->OnClientLine(kClient, Command("swarm_launch", "{\"nodes\":" + std::to_string(nodes) +
                                                             extra + "}", "launch"));
    executor_.RunPending();
    json::object launched = clients_.Last("swarm_launched");
    EXPECT_FALSE(launched.empty()) << "no swarm_launched";
    return std::string(launched.at("data").at("swarm_id").as_string());
  }

  const std::string& Secret(const std::string& swarm_id) {
    return core_->FindSwarm(swarm_id)->secret;
  }

  // Connects node `node` of `swarm_id` as worker instance `instance`; returns its connection.
  FakeWorkerConnection& Connect(const std::string& swarm_id, int node,
                                const std::string& instance = "inst-a",
                                const std::string& holding = "[]") {
    ConnId id = next_conn_++;
    auto& link = links_[id];
    link = std::make_unique<FakeWorkerConnection>();
    conn_of_[{swarm_id, node}] = id;
    core_->OnWorkerConnected(id, link.get(), swarm_id);  // its handshake proved swarm_id's key
    core_->OnWorkerLine(id, "hello " + json::serialize(json::object{
                                           {"protocol", "codeswarm.worker.v2"},
                                           {"swarm_id", swarm_id},
                                           {"node_id", node},
                                           {"instance", instance},
                                           {"pid", 100 + node},
                                           {"hostname", "host"},
                                           {"holding", json::parse(holding)}}));
    return *link;
  }

  ConnId Conn(const std::string& swarm_id, int node) { return conn_of_.at({swarm_id, node}); }

  void WorkerSays(const std::string& swarm_id, int node, const std::string& line) {
    ConnId id = Conn(swarm_id, node);
    core_->OnWorkerLine(id, line);
    core_->OnWorkerBatchEnd(id);
  }

  // The worker runs a whole turn for `injection_id`, seqs starting at `seq`.
  void RunTurn(const std::string& swarm_id, int node, const std::string& injection_id,
               uint64_t seq = 1) {
    std::string s = std::to_string(seq);
    WorkerSays(swarm_id, node, R"(received {"injection_id":")" + injection_id + "\"}");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq) + " " + injection_id + " turn_started {}");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 1) + " " + injection_id +
                                   R"( assistant_delta {"delta":"hel"})");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 2) + " " + injection_id +
                                   R"( assistant_delta {"delta":"lo"})");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 3) + " " + injection_id +
                                   R"( assistant {"content":"hello"})");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 4) + " " + injection_id +
                                   R"( usage {"total_tokens":5})");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 5) + " " + injection_id +
                                   R"( turn_complete {"status":"completed","error":null})");
  }

  std::string Inject(const std::string& swarm_id, const std::string& nodes = "\"all\"",
                     const std::string& content = "hi") {
    core_->OnClientLine(kClient, Command("inject", R"({"swarm_id":")" + swarm_id +
                                                        R"(","nodes":)" + nodes +
                                                        R"(,"content":")" + content + "\"}",
                                         "inj"));
    json::object ack = clients_.Last("inject_ack");
    return ack.empty() ? "" : std::string(ack.at("data").at("injection_id").as_string());
  }

  json::object Rejection() { return clients_.Last("command_rejected").at("data").as_object(); }

  std::unique_ptr<Store> store_;
  ManualExecutor executor_;
  RecordingClients clients_;
  FakeProvider provider_;
  ManualClock clock_;
  std::unique_ptr<RouterCore> core_;
  std::map<ConnId, std::unique_ptr<FakeWorkerConnection>> links_;
  std::map<std::pair<std::string, int>, ConnId> conn_of_;
  ConnId next_conn_ = 1;
};

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
  EXPECT_EQ(data.at("error"), "worker process killed by signal 6 (SIGABRT)");
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
  executor_.Advance(29s);
  EXPECT_TRUE(clients_.Events("turn_complete").empty());
  executor_.Advance(2s);
  json::object data = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(data.at("status"), "failed");
  EXPECT_EQ(data.at("error"),
            "worker did not reconnect within 30 s (connection error: reset)");
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
}  // namespace codeswarm::router
