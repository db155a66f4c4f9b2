// WorkerCore's connection against a fake link and a hand-driven clock: connect, hello, welcome,
// reconnect and resend, heartbeats, backoff, giving up, refusal.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <csignal>

#include "unit/worker_core_fakes.h"

namespace codeswarm::worker {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::WorkerCoreTest;

TEST_F(WorkerCoreTest, ConnectsAndSaysHelloWithItsIdentity) {
  MakeCore();
  core_->Start();
  EXPECT_EQ(link_.connects, 1);
  EXPECT_TRUE(link_.sent.empty());  // nothing before the connection is up
  core_->OnConnected();
  auto hellos = link_.Sent("hello");
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].at("protocol").as_string(), "codeswarm.worker.v2");
  EXPECT_EQ(hellos[0].at("swarm_id").as_string(), "s-1");
  EXPECT_EQ(hellos[0].at("node_id").as_int64(), 2);
  EXPECT_FALSE(hellos[0].contains("secret"));  // the TLS handshake proved it; it never travels
  EXPECT_EQ(hellos[0].at("instance").as_string(), "inst-1");
  EXPECT_EQ(hellos[0].at("pid").as_int64(), 42);
  EXPECT_EQ(hellos[0].at("hostname").as_string(), "node7");
  EXPECT_TRUE(hellos[0].at("holding").as_array().empty());
}

TEST_F(WorkerCoreTest, WaitsTheConnectDelayBeforeTheFirstConnection) {
  options_.identity.connect_delay_ms = 1500;
  MakeCore();
  core_->Start();
  executor_.Advance(1499ms);
  EXPECT_EQ(link_.connects, 0);
  executor_.Advance(1ms);
  EXPECT_EQ(link_.connects, 1);
}

TEST_F(WorkerCoreTest, WelcomeStartsTheAgentOnceWithTheRoutersSettings) {
  StartWelcomed();
  EXPECT_EQ(makes_, 1);
  EXPECT_EQ(agent_json_, R"({"kind":"mock"})");
  EXPECT_EQ(context_.swarm_id, "s-1");
  EXPECT_EQ(context_.node_id, 2);
  EXPECT_EQ(context_.system_prompt, "be brief");
  EXPECT_EQ(context_.work_dir, "/scratch/node-2");

  core_->OnDisconnected("closed by the router");
  executor_.Advance(1s);
  core_->OnConnected();
  core_->OnLine(Welcome());
  EXPECT_EQ(makes_, 1);  // the same agent serves across reconnects
}

TEST_F(WorkerCoreTest, NothingButWelcomeIsTakenBeforeWelcome) {
  MakeCore();
  core_->Start();
  core_->OnConnected();
  core_->OnLine(Inject("i-1"));
  core_->OnLine("shutdown {\"reason\":\"x\"}");
  EXPECT_TRUE(link_.Sent("received").empty());
  EXPECT_EQ(makes_, 0);
  EXPECT_FALSE(exit_code_.has_value());
  core_->OnLine(Welcome());
  core_->OnLine(Inject("i-1"));
  ASSERT_EQ(link_.Sent("received").size(), 1u);
}

TEST_F(WorkerCoreTest, EventsAreKeptWhileDisconnectedAndResentAfterTheWelcomesAckSeq) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  turns_->Emit("i-1", "turn_started");
  turns_->Emit("i-1", "assistant_delta", R"({"delta":"a"})");
  Run();
  core_->OnDisconnected("connection reset by peer");  // the router had only seq 1
  turns_->Emit("i-1", "assistant_delta", R"({"delta":"b"})");
  turns_->Complete("i-1", "completed");
  Run();
  EXPECT_EQ(link_.Events().size(), 2u);  // nothing sent while down

  link_.sent.clear();
  executor_.Advance(200ms);  // first backoff: 100 ms plus up to 50 ms of jitter
  ASSERT_EQ(link_.connects, 2);
  core_->OnConnected();
  auto hello = link_.Sent("hello");
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_EQ(hello[0].at("holding").as_array().size(), 0u);  // i-1 completed meanwhile
  core_->OnLine(Welcome(1));
  EXPECT_EQ(link_.Events(), (std::vector<std::string>{"2 i-1 assistant_delta",
                                                      "3 i-1 assistant_delta",
                                                      "4 i-1 turn_complete"}));
}

TEST_F(WorkerCoreTest, HelloAfterAReconnectListsTheInjectionsStillHeld) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  core_->OnLine(Inject("i-2"));
  turns_->Emit("i-1", "turn_started");
  Run();
  core_->OnDisconnected("router restarted");
  link_.sent.clear();
  executor_.Advance(200ms);
  core_->OnConnected();
  auto hello = link_.Sent("hello");
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_EQ(json::serialize(hello[0].at("holding")), R"(["i-1","i-2"])");
}

TEST_F(WorkerCoreTest, SilentRouterIsDroppedAfterTheTimeoutAndPingedBefore) {
  StartWelcomed();
  executor_.Advance(5s);
  EXPECT_EQ(std::count(link_.sent.begin(), link_.sent.end(), "ping {}"), 1);
  core_->OnLine("pong {}");  // a sign of life at t=5 s
  executor_.Advance(20s);    // t=25 s: heard 20 s ago, not more
  EXPECT_EQ(link_.disconnects, 0);
  executor_.Advance(5s);  // t=30 s: silent for 25 s
  EXPECT_EQ(link_.disconnects, 1);
  core_->OnDisconnected("closed by this worker");
  EXPECT_FALSE(core_->connected());
  executor_.Advance(200ms);
  EXPECT_EQ(link_.connects, 2);
}

TEST_F(WorkerCoreTest, AnswersPingsWithPong) {
  StartWelcomed();
  core_->OnLine("ping {}");
  EXPECT_EQ(link_.sent.back(), "pong {}");
}

TEST_F(WorkerCoreTest, AttemptThatHangsIsAbandonedAfterTheConnectTimeout) {
  MakeCore();
  core_->Start();
  executor_.Advance(WorkerCore::kConnectTimeout - 1ms);
  EXPECT_EQ(link_.disconnects, 0);
  executor_.Advance(1ms);
  EXPECT_EQ(link_.disconnects, 1);
  core_->OnConnectFailed("connection attempt cancelled");
  executor_.Advance(200ms);
  EXPECT_EQ(link_.connects, 2);
}

TEST_F(WorkerCoreTest, BackoffDoublesUpToItsCapAndResetsAfterAWelcome) {
  MakeCore();
  core_->Start();
  // Attempt k waits 100 ms * 2^(k-1) (at most 5 s) plus up to half of that again.
  std::vector<Duration> waits;
  for (int attempt = 1; attempt <= 8; ++attempt) {
    core_->OnConnectFailed("connection refused");
    Duration waited{0};
    while (link_.connects == attempt) {
      executor_.Advance(1ms);
      waited += 1ms;
      ASSERT_LT(waited, 10s);
    }
    waits.push_back(waited);
  }
  EXPECT_GE(waits[0], 100ms);
  EXPECT_LE(waits[0], 150ms);
  EXPECT_GE(waits[3], 800ms);
  EXPECT_LE(waits[3], 1200ms);
  EXPECT_GE(waits[7], 5s);
  EXPECT_LE(waits[7], 7500ms);

  core_->OnConnected();
  core_->OnLine(Welcome());
  core_->OnDisconnected("closed by the router");
  executor_.Advance(150ms);
  EXPECT_EQ(link_.connects, 10);
}

TEST_F(WorkerCoreTest, RetriesAreAtMostAboutAHeartbeatApartSoTheNodeIsNotGivenUpOn) {
  // The router loses a node worker_lost_seconds after its last sign of life: a worker whose
  // router went away (a restart) must keep trying often enough to be back in time.
  MakeCore();
  core_->Start();
  core_->OnConnected();
  core_->OnLine(R"(welcome {"protocol":"codeswarm.worker.v2","ack_seq":0,"system_prompt":"",)"
                R"("agent":{"kind":"mock"},"heartbeat_seconds":2,"timeout_seconds":5})");
  ASSERT_TRUE(core_->welcomed());
  core_->OnDisconnected("connection reset by peer");
  Duration longest{0};
  for (int attempt = 2; attempt <= 12; ++attempt) {
    Duration waited{0};
    while (link_.connects < attempt) {
      executor_.Advance(1ms);
      waited += 1ms;
      ASSERT_LT(waited, 10s);
    }
    longest = std::max(longest, waited);
    core_->OnConnectFailed("connection refused");
  }
  EXPECT_GE(longest, 2s);
  EXPECT_LE(longest, 3s);  // a heartbeat, plus up to half of it as jitter
}

TEST_F(WorkerCoreTest, GivesUpWhenTheRouterStaysUnreachable) {
  options_.identity.orphan_seconds = 30;
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  core_->OnDisconnected("connection refused");
  for (int i = 0; i < 100 && !exit_code_; ++i) {
    executor_.Advance(1s);
    if (link_.connects > 1 && !exit_code_) core_->OnConnectFailed("connection refused");
  }
  ASSERT_EQ(exit_code_, kExitOrphaned);
  EXPECT_EQ(turns_->stop_reason, "router unreachable");
  EXPECT_EQ(turns_->stop_status, "failed");
  EXPECT_GE(executor_.clock().Now() - SteadyTime{}, 30s);
  EXPECT_LE(executor_.clock().Now() - SteadyTime{}, 39s);
}

TEST_F(WorkerCoreTest, RefusalEndsTheWorkerWithoutReconnecting) {
  MakeCore();
  core_->Start();
  core_->OnConnected();
  core_->OnLine("reject {\"reason\":\"authentication failed\"}");
  Run();
  EXPECT_EQ(exit_code_, kExitRejected);
  EXPECT_EQ(link_.disconnects, 1);
  core_->OnDisconnected("closed by this worker");
  executor_.Advance(1min);
  EXPECT_EQ(link_.connects, 1);
}

TEST_F(WorkerCoreTest, UnusableAgentSettingsRefuseTheWelcome) {
  MakeCore();
  core_->Start();
  core_->OnConnected();
  core_->OnLine(Welcome(0, R"({"kind":"nonsense"})"));
  Run();
  EXPECT_EQ(exit_code_, kExitRejected);
  EXPECT_FALSE(core_->welcomed());
}

}  // namespace
}  // namespace codeswarm::worker
