// RouterCore when the state database cannot be written (disk full, read-only): launch and inject
// are refused with the reason, reads still answer, events are held (not sent, not acknowledged)
// and retried with backoff, and on recovery everything held goes out exactly once.
#include <gtest/gtest.h>

#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

using namespace std::chrono_literals;

constexpr ClientId kWatcher = 8;
const Status kDiskFull =
    Status::IoError("state database /srv/state/router.db: write journal: database or disk is full");

std::string Event(uint64_t seq, const std::string& injection, const std::string& rest) {
  return "event " + std::to_string(seq) + " " + injection + " " + rest;
}

// The worker events of one turn, seqs 1-6 (what RunTurn sends after `received`).
std::vector<std::string> TurnEvents(const std::string& injection) {
  return {Event(1, injection, "turn_started {}"),
          Event(2, injection, R"(assistant_delta {"delta":"hel"})"),
          Event(3, injection, R"(assistant_delta {"delta":"lo"})"),
          Event(4, injection, R"(assistant {"content":"hello"})"),
          Event(5, injection, R"(usage {"total_tokens":5})"),
          Event(6, injection, R"(turn_complete {"status":"completed","error":null})")};
}

const std::vector<std::string> kTurnNames = {"turn_started", "assistant_delta", "assistant_delta",
                                             "assistant",    "usage",           "turn_complete"};

class StorageFailureTest : public RouterCoreTest {
 protected:
  // A swarm of one connected node that has taken an injection; the client watches events.
  void SetUpTurn() {
    core_->OnClientConnected(kClient);
    swarm_ = Launch(1);
    worker_ = &Connect(swarm_, 0);
    injection_ = Inject(swarm_);
    WorkerSays(swarm_, 0, R"(received {"injection_id":")" + injection_ + "\"}");
  }
  // The runtime events node 0 broadcast for the injection, names in order.
  std::vector<std::string> TurnSeen() const {
    std::vector<std::string> out;
    for (const SentLine& l : clients_.lines) {
      const json::object& data = l.event.at("data").as_object();
      if (l.to || !data.contains("injection_id") || data.at("injection_id") != injection_) continue;
      const std::string name(l.event.at("event").as_string());
      if (name.starts_with("inject_")) continue;
      out.push_back(name);
    }
    return out;
  }
  std::vector<std::string> Acks() const { return worker_->WithVerb("ack"); }
  // Injects into the swarm; whether it was acknowledged (rather than refused).
  bool InjectAccepted() {
    const std::size_t acks = clients_.Events("inject_ack").size();
    Inject(swarm_);
    return clients_.Events("inject_ack").size() > acks;
  }
  std::string LastAck() const { return Acks().empty() ? "no ack" : Acks().back(); }

  std::string swarm_;
  std::string injection_;
  FakeWorkerConnection* worker_ = nullptr;
};

TEST_F(StorageFailureTest, LaunchAndInjectAreRefusedWithTheReasonAndReadsStillAnswer) {
  SetUpTurn();
  store_.append_error = kDiskFull;
  WorkerSays(swarm_, 0, TurnEvents(injection_)[0]);  // the write that fails

  core_->OnClientLine(kClient, Command("swarm_launch", R"({"nodes":1})", "l2"));
  json::object refused = Rejection();
  EXPECT_EQ(refused.at("request_id"), "l2");
  EXPECT_EQ(refused.at("code"), "storage_failing");
  EXPECT_EQ(refused.at("reason"),
            "refused while the state database cannot be written, since nothing it changes would "
            "be kept: the router cannot write its state database (state database "
            "/srv/state/router.db: write journal: database or disk is full); free space on that "
            "disk or make it writable again: the router retries by itself and resumes");
  EXPECT_EQ(provider_.launched.size(), 1u);  // the backend was not asked

  core_->OnClientLine(
      kClient, Command("inject", R"({"swarm_id":")" + swarm_ + R"(","content":"more"})", "i2"));
  EXPECT_EQ(Rejection().at("request_id"), "i2");
  EXPECT_EQ(Rejection().at("code"), "storage_failing");
  EXPECT_EQ(core_->FindSwarm(swarm_)->nodes[0].deliveries.size(), 1u);

  core_->OnClientLine(kClient, Command("swarm_status", R"({"swarm_id":")" + swarm_ + "\"}", "st"));
  EXPECT_EQ(clients_.Last("swarm_status").at("data").at("request_id"), "st");
  core_->OnClientLine(kClient, Command("swarm_list", "{}", "ls"));
  EXPECT_EQ(clients_.Last("swarm_list").at("data").at("request_id"), "ls");
  // Every client was told, and so is one that connects now.
  EXPECT_EQ(clients_.Events("storage_failing").size(), 1u);
  core_->OnClientConnected(kWatcher);
  ASSERT_EQ(clients_.Events("storage_failing").size(), 2u);
  EXPECT_NE(std::string(clients_.Last("storage_failing").at("data").at("reason").as_string())
                .find("database or disk is full"),
            std::string::npos);
}

TEST_F(StorageFailureTest, EventsAreHeldUnacknowledgedAndRetriedWithBackoffThenSentOnce) {
  SetUpTurn();
  const std::size_t acks_before = Acks().size();
  store_.append_error = kDiskFull;
  for (const std::string& line : TurnEvents(injection_)) WorkerSays(swarm_, 0, line);
  const int failed_writes = store_.append_calls;  // the first failing write: then no more
  executor_.Advance(500ms);
  EXPECT_TRUE(TurnSeen().empty());        // no client sees an unjournaled event
  EXPECT_EQ(Acks().size(), acks_before);  // the worker keeps them
  EXPECT_EQ(store_.append_calls, failed_writes);
  // Retries: after 1 s, then 2 s later, then 4 s later.
  executor_.Advance(500ms);
  EXPECT_EQ(store_.append_calls, failed_writes + 1);
  executor_.Advance(1s);
  EXPECT_EQ(store_.append_calls, failed_writes + 1);
  executor_.Advance(1s);
  EXPECT_EQ(store_.append_calls, failed_writes + 2);
  EXPECT_TRUE(TurnSeen().empty());

  store_.append_error.reset();
  executor_.Advance(5s);
  EXPECT_EQ(TurnSeen(), kTurnNames);
  EXPECT_EQ(LastAck(), "ack {\"seq\":6}\n");
  EXPECT_EQ(clients_.Events("storage_recovered").size(), 1u);
  EXPECT_EQ(clients_.Events("storage_recovered").back().at("data").at("failed_seconds").kind(),
            json::kind::double_);
  // Commands are taken again.
  EXPECT_TRUE(InjectAccepted());
}

TEST_F(StorageFailureTest, SubscribeWhileFailingReplaysTheJournalAndHeldEventsFollowLiveOnce) {
  SetUpTurn();
  store_.append_error = kDiskFull;
  const std::vector<std::string> events = TurnEvents(injection_);
  for (int i = 0; i < 3; ++i) WorkerSays(swarm_, 0, events[i]);
  core_->OnClientConnected(kWatcher);
  core_->OnClientLine(kWatcher, Command("subscribe", R"({"since_seq":0})", "sub"));
  json::object done = clients_.Last("replay_complete");
  ASSERT_FALSE(done.empty()) << "the replay waited for the disk";
  const int64_t replay_to = done.at("data").at("to_seq").as_int64();
  for (int i = 3; i < 6; ++i) WorkerSays(swarm_, 0, events[i]);

  store_.append_error.reset();
  executor_.Advance(1100ms);          // the retry, then the ack
  EXPECT_EQ(TurnSeen(), kTurnNames);  // each once, live, after the replay
  for (const SentLine& l : clients_.lines) {
    if (!l.to && l.event.at("event") == "turn_started") {
      EXPECT_GT(l.event.at("seq").as_int64(), replay_to);
    }
  }
}

TEST_F(StorageFailureTest, EventsAWorkerResendsAfterAReconnectWhileFailingAreNotDoubled) {
  SetUpTurn();
  store_.append_error = kDiskFull;
  const std::vector<std::string> events = TurnEvents(injection_);
  for (int i = 0; i < 4; ++i) WorkerSays(swarm_, 0, events[i]);
  core_->OnWorkerDisconnected(Conn(swarm_, 0), "connection reset");
  worker_ = &Connect(swarm_, 0);
  // The welcome acknowledges only what the journal holds: the worker keeps the held events.
  ASSERT_EQ(worker_->WithVerb("welcome").size(), 1u);
  json::object welcome = json::parse(worker_->WithVerb("welcome")[0].substr(8)).as_object();
  EXPECT_EQ(welcome.at("ack_seq").as_int64(), 0);
  for (const std::string& line : events) WorkerSays(swarm_, 0, line);  // all resent

  store_.append_error.reset();
  executor_.Advance(1100ms);  // the retry, then the ack
  EXPECT_EQ(TurnSeen(), kTurnNames);
  EXPECT_EQ(LastAck(), "ack {\"seq\":6}\n");
}

TEST_F(StorageFailureTest, BeyondTheHoldBoundEventsStayWithTheWorkerAndAreResentAfterRecovery) {
  storage_hold_bytes_ = 1;  // anything held fills it
  MakeCore();
  SetUpTurn();
  store_.append_error = kDiskFull;
  const std::vector<std::string> events = TurnEvents(injection_);
  for (const std::string& line : events) WorkerSays(swarm_, 0, line);
  // Event 1 was taken before the failing write; 2-6 were left with the worker.
  EXPECT_EQ(core_->FindSwarm(swarm_)->nodes[0].last_seq, 1u);

  store_.append_error.reset();
  executor_.Advance(1100ms);  // the retry, then the ack
  EXPECT_EQ(TurnSeen(), (std::vector<std::string>{"turn_started"}));
  EXPECT_EQ(LastAck(), "ack {\"seq\":1}\n");
  // Its connection is closed, so that the worker reconnects and resends the rest in order.
  ASSERT_TRUE(worker_->closed);
  EXPECT_NE(worker_->close_reason.find("resend"), std::string::npos);
  core_->OnWorkerDisconnected(Conn(swarm_, 0), worker_->close_reason);
  worker_ = &Connect(swarm_, 0);
  for (std::size_t i = 1; i < events.size(); ++i) WorkerSays(swarm_, 0, events[i]);
  executor_.Advance(100ms);
  EXPECT_EQ(TurnSeen(), kTurnNames);
  EXPECT_EQ(LastAck(), "ack {\"seq\":6}\n");
}

TEST_F(StorageFailureTest, TerminateStillStopsTheJobAndItsRecordIsSavedOnRecovery) {
  SetUpTurn();
  store_.append_error = Status::IoError("attempt to write a readonly database");
  store_.fail_save = [](const SwarmRecord&) -> std::optional<Status> {
    return Status::IoError("attempt to write a readonly database");
  };
  core_->OnClientLine(kClient,
                      Command("swarm_terminate", R"({"swarm_id":")" + swarm_ + "\"}", "t"));
  executor_.Advance(3s);  // the workers' drain time
  EXPECT_EQ(provider_.terminated, std::vector<std::string>{"job-" + swarm_});
  core_->OnWorkerDisconnected(Conn(swarm_, 0), "worker exited");
  executor_.Advance(3s);
  EXPECT_EQ(core_->FindSwarm(swarm_)->status, SwarmStatus::kTerminated);
  EXPECT_TRUE(clients_.Events("swarm_terminated").empty());  // an event: held with the others

  store_.append_error.reset();
  store_.fail_save = nullptr;
  executor_.Advance(5s);
  EXPECT_EQ(clients_.Last("swarm_terminated").at("data").at("request_id"), "t");
  std::vector<SwarmRecord> records = *memory_store_->LoadSwarms();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, "terminated");
}

TEST_F(StorageFailureTest, ASwarmRecordThatCannotBeSavedRefusesCommandsUntilItIs) {
  SetUpTurn();
  store_.fail_save = [](const SwarmRecord&) -> std::optional<Status> {
    return Status::IoError("database or disk is full");
  };
  core_->OnClientLine(kClient, Command("interrupt", R"({"swarm_id":")" + swarm_ + "\"}", "int"));
  provider_.states["job-" + swarm_].backend_state = "COMPLETING";  // a change the poll saves
  executor_.Advance(1s);
  EXPECT_EQ(clients_.Last("interrupt_ack").at("data").at("request_id"), "int");
  EXPECT_FALSE(InjectAccepted());
  EXPECT_EQ(Rejection().at("code"), "storage_failing");

  store_.fail_save = nullptr;
  executor_.Advance(5s);
  EXPECT_TRUE(InjectAccepted());
  EXPECT_EQ(memory_store_->LoadSwarms()->at(0).backend_state, "COMPLETING");
}

}  // namespace
}  // namespace codeswarm::router::testing
