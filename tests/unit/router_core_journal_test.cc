// RouterCore's event journal against fakes: what is journaled, `subscribe` (replay, the seam
// with live events, the swarm filter, the pruning marker), retention, and taking each worker
// event exactly once across a restart (a store that keeps its data between two cores).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "unit/router_journal_fixture.h"

namespace codeswarm::router::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(JournalTest, EveryBroadcastLineIsJournaledWithItsSeqAndSwarm) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  RunTurn(swarm, 0, Inject(swarm));
  std::vector<JournalRow> journal = Journal();
  std::vector<int64_t> journaled;
  for (const JournalRow& row : journal) {
    journaled.push_back(static_cast<int64_t>(row.seq));
    json::object line = json::parse(row.line).as_object();
    EXPECT_EQ(line.at("seq").as_int64(), static_cast<int64_t>(row.seq));
    EXPECT_EQ(row.swarm_id, swarm) << row.line;
  }
  EXPECT_EQ(journaled, BroadcastSeqs());
  EXPECT_GE(journal.size(), 8u);  // swarm_launched ... turn_complete
}

TEST_F(JournalTest, WorkerIsAcknowledgedOnlyForEventsTheJournalHolds) {
  std::string swarm = Launch(1);
  FakeWorkerConnection& worker = Connect(swarm, 0);
  std::string injection = InjectTakenByNode0(swarm);
  // Two events read, the read not over: nothing journaled, nothing sent, nothing acked.
  clients_.Clear();
  core_->OnWorkerLine(Conn(swarm, 0), "event 1 " + injection + " turn_started {}");
  core_->OnWorkerLine(Conn(swarm, 0), Delta(injection, 2, "a"));
  executor_.Advance(50ms);
  // The posted flush ran: journal first, then the clients, then the ack.
  EXPECT_EQ(clients_.Names(0), (std::vector<std::string>{"turn_started", "assistant_delta"}));
  EXPECT_EQ(Journal().back().seq, static_cast<uint64_t>(BroadcastSeqs().back()));
  EXPECT_EQ(worker.WithVerb("ack").back(), "ack {\"seq\":2}\n");
}

TEST_F(JournalTest, SubscribeReplaysMissedEventsThenTheClientGetsLiveOnes) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  RunTurn(swarm, 0, injection);
  std::vector<int64_t> before = BroadcastSeqs();
  const int64_t seen = before[2];  // the client saw up to here, then went away

  core_->OnClientConnected(kLate);
  Subscribe(kLate, R"({"since_seq":)" + std::to_string(seen) + "}");
  std::vector<json::object> got = To(kLate);
  ASSERT_GE(got.size(), 3u);
  json::object answer = got.front().at("data").as_object();
  EXPECT_EQ(got.front().at("event"), "subscribed");
  EXPECT_EQ(answer.at("request_id"), "s");
  EXPECT_EQ(answer.at("since_seq").as_int64(), seen);
  EXPECT_EQ(answer.at("head_seq").as_int64(), before.back());
  EXPECT_EQ(got.back().at("event"), "replay_complete");
  EXPECT_EQ(got.back().at("data").at("events").as_int64(), static_cast<int64_t>(before.size() - 3));
  std::vector<int64_t> expected(before.begin() + 3, before.end());
  EXPECT_EQ(SeqsOf(got), expected);

  // Then live: the next event has the next seq, after the replay.
  clients_.Clear();
  core_->OnClientLine(
      kClient, Command("inject", R"({"swarm_id":")" + swarm + R"(","content":"again"})", "i2"));
  ASSERT_FALSE(BroadcastSeqs().empty());
  EXPECT_GT(BroadcastSeqs().front(), before.back());
}

TEST_F(JournalTest, ReplayThenLiveInSeqOrderWithNoGapOrDuplicateAroundTheSubscribe) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = InjectTakenByNode0(swarm);
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  const int64_t since = BroadcastSeqs().front();  // what the client had before it went away
  // Events the router has read but not yet journaled when the client connects...
  core_->OnWorkerLine(Conn(swarm, 0), Delta(injection, 2, "a"));
  const std::size_t connected_at = clients_.lines.size();
  core_->OnClientConnected(kLate);
  // ...then more while it connects, and more after its subscribe.
  core_->OnWorkerLine(Conn(swarm, 0), Delta(injection, 3, "b"));
  Subscribe(kLate, R"({"since_seq":)" + std::to_string(since) + "}");
  WorkerSays(swarm, 0, Delta(injection, 4, "c"));

  // The late client gets every event after `since` once, in seq order: the replay up to its
  // subscribe, then live.
  std::vector<int64_t> received;
  for (const json::object& e : clients_.ReceivedBy(kLate, connected_at)) {
    if (e.contains("seq")) received.push_back(e.at("seq").as_int64());
  }
  std::vector<int64_t> expected;
  for (int64_t seq : BroadcastSeqs()) {
    if (seq > since) expected.push_back(seq);
  }
  EXPECT_EQ(received, expected);
  std::vector<std::string> names;
  for (const json::object& e : clients_.ReceivedBy(kLate, connected_at)) {
    names.emplace_back(e.at("event").as_string());
  }
  auto complete = std::find(names.begin(), names.end(), "replay_complete");
  ASSERT_NE(complete, names.end());
  EXPECT_EQ(names.back(), "assistant_delta");  // the live one, after the replay
  EXPECT_EQ(std::count(complete, names.end(), "assistant_delta"), 1);
}

TEST_F(JournalTest, AClientThatSendsNothingGetsEverythingSinceItConnectedShortlyAfter) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  const std::size_t connected_at = clients_.lines.size();
  core_->OnClientConnected(kLate);
  std::string injection = InjectTakenByNode0(swarm);
  EXPECT_FALSE(clients_.joined_at.contains(kLate));  // held: a first subscribe would replay
  executor_.Advance(RouterCore::kLiveJoinDelay);
  ASSERT_TRUE(clients_.joined_at.contains(kLate));
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  std::vector<std::string> names;
  for (const json::object& e : clients_.ReceivedBy(kLate, connected_at)) {
    names.emplace_back(e.at("event").as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"inject_ack", "inject_delivered", "turn_started"}));
}

TEST_F(JournalTest, AFirstCommandOtherThanSubscribeGetsWhatWasHeldFirst) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  const std::size_t connected_at = clients_.lines.size();
  core_->OnClientConnected(kLate);
  std::string injection = InjectTakenByNode0(swarm);
  core_->OnClientLine(kLate, Command("swarm_list", "{}", "l"));
  EXPECT_TRUE(clients_.sent_held.contains(kLate));
  std::vector<std::string> names;
  for (const json::object& e : clients_.ReceivedBy(kLate, connected_at)) {
    names.emplace_back(e.at("event").as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"inject_ack", "inject_delivered", "swarm_list"}));
}

TEST_F(JournalTest, SubscribeToOneSwarmReplaysOnlyItsEvents) {
  std::string a = Launch(1);
  std::string b = Launch(1);
  Connect(a, 0);
  Connect(b, 0);
  RunTurn(a, 0, Inject(a));
  RunTurn(b, 0, Inject(b));
  core_->OnClientConnected(kLate);
  Subscribe(kLate, R"({"swarm_id":")" + b + "\"}");
  std::vector<json::object> got = To(kLate);
  int replayed = 0;
  for (const json::object& e : got) {
    if (!e.contains("seq")) continue;
    ++replayed;
    EXPECT_EQ(e.at("data").at("swarm_id"), b) << json::serialize(e);
  }
  EXPECT_GE(replayed, 8);
  EXPECT_EQ(got.front().at("data").at("swarm_id"), b);
}

TEST_F(JournalTest, SubscribeToAnUnknownSwarmIsRejected) {
  Subscribe(kLate, R"({"swarm_id":"s-nope"})");
  EXPECT_EQ(Rejection().at("code"), "unknown_swarm");
  EXPECT_EQ(Rejection().at("request_id"), "s");
}

TEST_F(JournalTest, ReplayFromBeforeRetentionStartsWithAPrunedMarker) {
  journal_max_bytes_ = 1;  // keep (almost) nothing that may go
  MakeCore();
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  RunTurn(swarm, 0, Inject(swarm));
  const int64_t head = BroadcastSeqs().back();
  executor_.Advance(61s);  // the prune timer
  EXPECT_TRUE(Journal().empty());
  core_->OnClientConnected(kLate);
  Subscribe(kLate, R"({"since_seq":0})");
  std::vector<json::object> got = To(kLate);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].at("event"), "subscribed");
  EXPECT_EQ(got[1].at("event"), "events_pruned");
  EXPECT_EQ(got[1].at("data").at("from_seq").as_int64(), 1);
  EXPECT_EQ(got[1].at("data").at("to_seq").as_int64(), head);
  EXPECT_EQ(got[2].at("event"), "replay_complete");
}

TEST_F(JournalTest, RetentionNeverPrunesEventsOfAnUnfinishedTurnOfALiveSwarm) {
  journal_max_bytes_ = 1;
  journal_retention_seconds_ = 60;
  MakeCore();
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  const int64_t ack_seq = clients_.Last("inject_ack").at("seq").as_int64();
  WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  WorkerSays(swarm, 0, Delta(injection, 2, "a"));
  executor_.Advance(3600s);
  std::vector<JournalRow> journal = Journal();
  ASSERT_FALSE(journal.empty());
  EXPECT_EQ(journal.front().seq, static_cast<uint64_t>(ack_seq));  // older events went
  EXPECT_EQ(*memory_store_->JournalPrunedThrough(), static_cast<uint64_t>(ack_seq - 1));
  // Once the turn is over, they may go too.
  WorkerSays(swarm, 0,
             "event 3 " + injection + R"( turn_complete {"status":"completed","error":null})");
  executor_.Advance(61s);
  EXPECT_TRUE(Journal().empty());
}

TEST_F(JournalTest, RestartedRouterTakesEachWorkerEventExactlyOnce) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = InjectTakenByNode0(swarm);
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  WorkerSays(swarm, 0, Delta(injection, 2, "a"));
  WorkerSays(swarm, 0, Delta(injection, 3, "b"));
  // The router dies before it acknowledged anything; the journal has events 1-3 of inst-a.
  ASSERT_TRUE(links_.begin()->second->WithVerb("ack").empty());

  clients_.Clear();
  links_.clear();
  MakeCore();  // a new router over the same store
  FakeWorkerConnection& again = Connect(swarm, 0, "inst-a", "[\"" + injection + "\"]");
  // The welcome says what the journal holds, so the worker resends only what follows...
  EXPECT_NE(again.WithVerb("welcome")[0].find("\"ack_seq\":3"), std::string::npos);
  // ...and what it resends anyway is dropped.
  WorkerSays(swarm, 0, Delta(injection, 3, "b"));
  WorkerSays(swarm, 0, Delta(injection, 4, "c"));
  WorkerSays(swarm, 0,
             "event 5 " + injection + R"( turn_complete {"status":"completed","error":null})");
  std::vector<json::object> deltas = clients_.Events("assistant_delta");
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].at("data").at("delta"), "c");
  EXPECT_EQ(clients_.Events("turn_complete").size(), 1u);

  // A client catching up from before the crash gets every delta once, in order.
  core_->OnClientConnected(kLate);
  Subscribe(kLate, "{}");
  std::string text;
  for (const json::object& e : To(kLate)) {
    if (e.at("event") == "assistant_delta")
      text += std::string(e.at("data").at("delta").as_string());
  }
  EXPECT_EQ(text, "abc");
}

TEST_F(JournalTest, AnotherWorkerInstanceAfterARestartStartsItsSeqsAfresh) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = InjectTakenByNode0(swarm);
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  links_.clear();
  MakeCore();
  FakeWorkerConnection& fresh = Connect(swarm, 0, "inst-b");
  EXPECT_NE(fresh.WithVerb("welcome")[0].find("\"ack_seq\":0"), std::string::npos);
}

TEST_F(JournalTest, StreamingEventsAreJournaledAtMostOncePerCommitInterval) {
  journal_commit_interval_ = 1ms;
  MakeCore();
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = InjectTakenByNode0(swarm);
  clients_.Clear();
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");  // after a pause: at once
  EXPECT_EQ(clients_.Names(0), (std::vector<std::string>{"turn_started"}));
  WorkerSays(swarm, 0, Delta(injection, 2, "a"));
  WorkerSays(swarm, 0, Delta(injection, 3, "b"));
  EXPECT_EQ(clients_.Names(0).size(), 1u);  // held for the interval
  executor_.Advance(1ms);
  EXPECT_EQ(clients_.Names(0),
            (std::vector<std::string>{"turn_started", "assistant_delta", "assistant_delta"}));
}

// Regression: a turn the worker had finished but not fully sent when the router died is not in
// the worker's hello; its remaining events were dropped as "for a finished injection" and the
// turn never got its turn_complete.
TEST_F(JournalTest, RestartedRouterTakesTheRestOfATurnTheWorkerNoLongerHolds) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = InjectTakenByNode0(swarm);
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  links_.clear();
  clients_.Clear();
  MakeCore();
  Connect(swarm, 0, "inst-a", "[]");  // the turn is over on the worker
  WorkerSays(swarm, 0, Delta(injection, 2, "a"));
  WorkerSays(swarm, 0,
             "event 3 " + injection + R"( turn_complete {"status":"completed","error":null})");
  EXPECT_EQ(clients_.Names(0),
            (std::vector<std::string>{"node_connected", "assistant_delta", "turn_complete"}));
  // Once it is complete, a late repeat of its events is not taken.
  WorkerSays(swarm, 0, Delta(injection, 4, "late"));
  EXPECT_EQ(clients_.Events("assistant_delta").size(), 1u);
}

// Regression: a client that connected to a restarted router before it had broadcast anything
// was taken to have got everything live, and its subscribe replayed nothing of the old router's.
TEST_F(JournalTest, ClientOfARestartedRouterGetsTheOldRoutersEventsReplayed) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  RunTurn(swarm, 0, Inject(swarm));
  const std::vector<int64_t> before = BroadcastSeqs();
  links_.clear();
  clients_.Clear();
  MakeCore();
  core_->OnClientConnected(kLate);
  Subscribe(kLate, "{\"since_seq\":" + std::to_string(before[3]) + "}");
  EXPECT_EQ(SeqsOf(To(kLate)), std::vector<int64_t>(before.begin() + 4, before.end()));
}

}  // namespace
}  // namespace codeswarm::router::testing
