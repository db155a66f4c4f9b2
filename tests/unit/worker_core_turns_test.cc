// WorkerCore's turns and stops against fake turns and a hand-driven clock: injections, events,
// time limits, the agent's crash, drain and shutdown.
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

TEST_F(WorkerCoreTest, InjectionIsAcknowledgedEveryTimeAndRunOnce) {
  StartWelcomed();
  core_->OnLine(Inject("i-1", "first"));
  core_->OnLine(Inject("i-1", "first"));  // the router resends until it hears `received`
  core_->OnLine(Inject("i-2", "second"));
  auto received = link_.Sent("received");
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[1].at("injection_id").as_string(), "i-1");
  ASSERT_EQ(turns_->queued.size(), 2u);
  EXPECT_EQ(turns_->queued[0].prompt, "first");
  EXPECT_EQ(turns_->queued[0].turn_index, 1);
  EXPECT_EQ(turns_->queued[1].turn_index, 2);
  EXPECT_EQ(core_->held(), (std::vector<std::string>{"i-1", "i-2"}));
}

TEST_F(WorkerCoreTest, TurnEventsAreNumberedAndSentInOneBatch) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  turns_->Emit("i-1", "turn_started");
  turns_->Emit("i-1", "assistant_delta", R"({"delta":"he"})");
  turns_->Emit("i-1", "assistant_delta", R"({"delta":"llo"})");
  turns_->Complete("i-1", "completed");
  const std::size_t before = link_.sent.size();
  Run();
  EXPECT_EQ(link_.Events(), (std::vector<std::string>{"1 i-1 turn_started",
                                                      "2 i-1 assistant_delta",
                                                      "3 i-1 assistant_delta",
                                                      "4 i-1 turn_complete"}));
  EXPECT_EQ(link_.sent.size(), before + 4);
  EXPECT_EQ(link_.sent[before + 1], R"(event 2 i-1 assistant_delta {"delta":"he"})");
  EXPECT_TRUE(core_->held().empty());
  core_->OnLine("ack {\"seq\":4}");
  EXPECT_TRUE(core_->outbox().empty());
}

TEST_F(WorkerCoreTest, RoutersShutdownDrainsThenWaitsForTheBackendToStopIt) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  core_->OnLine(Inject("i-2"));
  core_->OnLine("shutdown {\"reason\":\"swarm terminated by the user\"}");
  ASSERT_EQ(link_.Sent("draining").size(), 1u);
  Run();  // the turns end on the pool
  EXPECT_EQ(turns_->stop_status, "interrupted");
  EXPECT_EQ(turns_->stop_reason, "swarm terminated by the user");
  EXPECT_EQ(link_.Events(),
            (std::vector<std::string>{"1 i-1 turn_complete", "2 i-2 turn_complete"}));
  EXPECT_EQ(link_.sent.back(), "drained {}");
  executor_.Advance(10min);
  EXPECT_FALSE(exit_code_.has_value());  // it waits to be stopped

  core_->OnSignal(SIGTERM);  // the backend stops the job
  ASSERT_EQ(link_.Sent("bye").size(), 1u);
  EXPECT_FALSE(exit_code_.has_value());  // until the router has every event
  core_->OnLine("ack {\"seq\":2}");
  EXPECT_EQ(exit_code_, kExitOk);
  EXPECT_EQ(turns_->shutdowns, 1);
}

TEST_F(WorkerCoreTest, WalltimeSignalDrainsTurnsAsInterruptedAndLeaves) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  core_->OnSignal(SIGUSR1);
  Run();
  EXPECT_EQ(turns_->stop_status, "interrupted");
  EXPECT_EQ(turns_->stop_reason, "the job's time limit is near (SIGUSR1)");
  auto bye = link_.Sent("bye");
  ASSERT_EQ(bye.size(), 1u);
  EXPECT_EQ(bye[0].at("reason").as_string(), "the job's time limit is near (SIGUSR1)");
  EXPECT_FALSE(exit_code_.has_value());
  executor_.Advance(WorkerCore::kFinalAckWait);  // the router never acks: leave anyway
  EXPECT_EQ(exit_code_, kExitOk);
}

TEST_F(WorkerCoreTest, TerminationFromOutsideFailsTheTurnsItCutsShort) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  core_->OnSignal(SIGTERM);
  Run();
  EXPECT_EQ(turns_->stop_status, "failed");
  EXPECT_EQ(turns_->stop_reason, "worker terminated (SIGTERM)");
}

TEST_F(WorkerCoreTest, DrainedWorkerLeavesWhenTheRouterGoes) {
  StartWelcomed();
  core_->OnLine("shutdown {\"reason\":\"terminated\"}");
  Run();
  ASSERT_EQ(link_.sent.back(), "drained {}");
  core_->OnDisconnected("closed by the router");
  EXPECT_EQ(exit_code_, kExitOk);
  executor_.Advance(1min);
  EXPECT_EQ(link_.connects, 1);
}

TEST_F(WorkerCoreTest, SignalWhileDisconnectedEndsTurnsAndExits) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  core_->OnDisconnected("connection reset by peer");
  core_->OnSignal(SIGINT);
  Run();
  EXPECT_EQ(turns_->stop_reason, "worker terminated (SIGINT)");
  EXPECT_EQ(exit_code_, kExitOk);
  executor_.Advance(1min);
  EXPECT_EQ(link_.connects, 1);  // the pending reconnect was cancelled
}

TEST_F(WorkerCoreTest, TurnRunningPastItsLimitIsTimedOut) {
  turn_timeout_ = 30s;
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  core_->OnLine(Inject("i-2"));
  turns_->Emit("i-1", "turn_started");
  Run();
  executor_.Advance(29s);
  turns_->Complete("i-1", "completed");  // in time: its timer is cancelled
  turns_->Emit("i-2", "turn_started");
  Run();
  executor_.Advance(29s);
  EXPECT_TRUE(turns_->timeouts.empty());
  executor_.Advance(1s);
  EXPECT_EQ(turns_->timeouts, std::vector<std::string>{"i-2"});
}

TEST_F(WorkerCoreTest, CrashedAgentsFailedTurnIsReportedAndTheNextTurnStillRuns) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  turns_->Emit("i-1", "turn_started");
  turns_->Complete("i-1", "failed", "agent exited: killed by signal 9 (SIGKILL)");
  Run();
  ASSERT_EQ(link_.Events().back(), "2 i-1 turn_complete");
  EXPECT_NE(link_.sent.back().find("agent exited: killed by signal 9"), std::string::npos);
  EXPECT_TRUE(core_->held().empty());
  core_->OnLine(Inject("i-2"));
  ASSERT_EQ(turns_->queued.size(), 1u);
  EXPECT_EQ(turns_->queued[0].injection_id, "i-2");
}

TEST_F(WorkerCoreTest, InterruptIsPassedToTheTurns) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  core_->OnLine("interrupt {\"injection_id\":\"i-1\"}");
  EXPECT_EQ(turns_->interrupts, std::vector<std::string>{"i-1"});
}

TEST_F(WorkerCoreTest, MalformedAndUnknownLinesAreIgnored) {
  StartWelcomed();
  core_->OnLine("no json here");
  core_->OnLine("inject {\"content\":\"no id\"}");
  core_->OnLine("ack {\"seq\":\"x\"}");
  core_->OnLine("frobnicate {}");
  EXPECT_TRUE(core_->welcomed());
  EXPECT_FALSE(exit_code_.has_value());
  EXPECT_TRUE(link_.Sent("received").empty());
}

}  // namespace
}  // namespace codeswarm::worker
