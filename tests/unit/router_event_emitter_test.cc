// EventEmitter: event seqs come from durable blocks and never go back, even across a failing
// state database.
#include "router/event_emitter.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "unit/router_fakes.h"
#include "unit/router_store_fakes.h"

namespace codeswarm::router::testing {
namespace {

class EventEmitterTest : public ::testing::Test {
 protected:
  // Broadcasts `n` events and returns their seqs.
  std::vector<int64_t> Emit(int n) {
    clients_.Clear();
    for (int i = 0; i < n; ++i) emitter_.Broadcast("tick", boost::json::object{{"i", i}});
    emitter_.Flush();
    std::vector<int64_t> seqs;
    for (const SentLine& line : clients_.lines) seqs.push_back(line.event.at("seq").as_int64());
    return seqs;
  }

  std::unique_ptr<Store> memory_ = NewMemoryStore();
  FailingStore store_{*memory_};
  RecordingClients clients_;
  ManualClock clock_;
  EventEmitter emitter_{clients_, store_, clock_, /*seq_block=*/4};
};

TEST_F(EventEmitterTest, ReservesOneBlockOfSeqsAtATime) {
  EXPECT_EQ(Emit(9), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(store_.reserve_calls, 3);
}

TEST_F(EventEmitterTest, SeqsNeverRepeatAfterTheStoreRecoversFromAFailure) {
  EXPECT_EQ(Emit(2), (std::vector<int64_t>{1, 2}));  // block 1-4 reserved
  store_.reserve_error = Status::IoError("disk I/O error");
  // 3 and 4 from the block, then in memory: 5-12 were never recorded.
  EXPECT_EQ(Emit(10), (std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  store_.reserve_error.reset();
  // The store's next block (5-8) lies below what was used: the emitter reserves past it.
  EXPECT_EQ(Emit(3), (std::vector<int64_t>{13, 14, 15}));
  // A new emitter over the same store (a restarted router) starts after all of them.
  RecordingClients later_clients;
  EventEmitter later(later_clients, store_, clock_, 4);
  later.Broadcast("tick", boost::json::object{});
  later.Flush();
  EXPECT_GT(later_clients.lines.at(0).event.at("seq").as_int64(), 15);
}

TEST_F(EventEmitterTest, RepliesToOneClientCarryNoSeqAndUseNone) {
  emitter_.Reply(3, "swarm_list", boost::json::object{{"swarms", boost::json::object{}}});
  ASSERT_EQ(clients_.lines.size(), 1u);
  EXPECT_EQ(clients_.lines[0].to, std::optional<ClientId>(3));
  EXPECT_FALSE(clients_.lines[0].event.contains("seq"));
  EXPECT_EQ(store_.reserve_calls, 0);
}

TEST_F(EventEmitterTest, BroadcastsWaitForTheJournalAndRepliesKeepTheirPlace) {
  emitter_.Broadcast("tick", boost::json::object{{"swarm_id", "s-1"}});
  emitter_.Reply(3, "swarm_list", boost::json::object{});
  emitter_.Broadcast("tock", boost::json::object{});
  EXPECT_TRUE(clients_.lines.empty());  // nothing leaves before it is journaled
  emitter_.Flush();
  ASSERT_EQ(clients_.lines.size(), 3u);
  EXPECT_EQ(clients_.lines[0].event.at("event"), "tick");
  EXPECT_EQ(clients_.lines[1].to, std::optional<ClientId>(3));
  EXPECT_EQ(clients_.lines[2].event.at("event"), "tock");
  std::vector<JournalRow> journal = *memory_->ReadJournal(0, 100, "", 100);
  ASSERT_EQ(journal.size(), 2u);  // the reply is not journaled
  EXPECT_EQ(journal[0].swarm_id, "s-1");
  EXPECT_EQ(journal[1].swarm_id, "");
  EXPECT_EQ(emitter_.delivered_seq(), 2u);
}

TEST_F(EventEmitterTest, NodeMarksAreWrittenWithTheEventsAndReported) {
  std::vector<NodeMark> reported;
  emitter_.set_on_flushed([&](const std::vector<NodeMark>& marks) { reported = marks; });
  emitter_.MarkNode("s-1", 0, "inst-a", 5);
  emitter_.MarkNode("s-1", 0, "inst-a", 7);  // the latest of a node wins
  emitter_.Flush();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].last_seq, 7u);
  std::vector<NodeMark> stored = *memory_->LoadNodeMarks();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].instance, "inst-a");
  EXPECT_EQ(stored[0].last_seq, 7u);
}

TEST_F(EventEmitterTest, HoldsBroadcastsAndMarksWhileTheJournalFailsThenSendsThemOnce) {
  std::vector<Status> failures;
  std::vector<NodeMark> reported;
  emitter_.set_on_journal_failed([&](const Status& error) { failures.push_back(error); });
  emitter_.set_on_flushed([&](const std::vector<NodeMark>& marks) { reported = marks; });
  store_.append_error = Status::IoError("database or disk is full");
  emitter_.Broadcast("tick", boost::json::object{{"swarm_id", "s-1"}});
  emitter_.MarkNode("s-1", 0, "inst-a", 1);
  emitter_.Flush();
  // Nobody sees an event the journal lacks, and the worker is not told it is safe.
  EXPECT_TRUE(clients_.lines.empty());
  EXPECT_TRUE(reported.empty());
  EXPECT_TRUE(emitter_.journal_failing());
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].message(), "database or disk is full");

  // While failing, Flush leaves the store alone; a retry that fails again is not news.
  emitter_.Broadcast("tock", boost::json::object{{"swarm_id", "s-1"}});
  emitter_.MarkNode("s-1", 0, "inst-a", 2);
  emitter_.Flush();
  EXPECT_EQ(store_.append_calls, 1);
  EXPECT_FALSE(emitter_.RetryJournal().ok());
  EXPECT_EQ(failures.size(), 1u);
  EXPECT_TRUE(clients_.lines.empty());
  EXPECT_GT(emitter_.pending_bytes(), 0u);

  store_.append_error.reset();
  EXPECT_TRUE(emitter_.RetryJournal().ok());
  EXPECT_FALSE(emitter_.journal_failing());
  ASSERT_EQ(clients_.lines.size(), 2u);
  EXPECT_EQ(clients_.lines[0].event.at("event"), "tick");
  EXPECT_EQ(clients_.lines[1].event.at("event"), "tock");
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].last_seq, 2u);
  std::vector<JournalRow> journal = *memory_->ReadJournal(0, 100, "", 100);
  ASSERT_EQ(journal.size(), 2u);
  EXPECT_EQ(journal[0].seq, 1u);
  EXPECT_EQ(journal[1].seq, 2u);
  EXPECT_EQ(emitter_.delivered_seq(), 2u);
  EXPECT_EQ(emitter_.pending_bytes(), 0u);
}

TEST_F(EventEmitterTest, RepliesGoOutAtOnceWhileBroadcastsAreHeld) {
  store_.append_error = Status::IoError("attempt to write a readonly database");
  emitter_.Broadcast("tick", boost::json::object{});
  emitter_.Reply(3, "swarm_list", boost::json::object{});  // queued behind the broadcast
  emitter_.Flush();
  // The write failed: the reply is not journaled, so it need not wait for the disk.
  ASSERT_EQ(clients_.lines.size(), 1u);
  EXPECT_EQ(clients_.lines[0].to, std::optional<ClientId>(3));
  emitter_.Reply(3, "swarm_status", boost::json::object{});
  ASSERT_EQ(clients_.lines.size(), 2u);
  EXPECT_EQ(clients_.lines[1].event.at("event"), "swarm_status");
  EXPECT_EQ(emitter_.pending_broadcasts(), 1u);
}

}  // namespace
}  // namespace codeswarm::router::testing
