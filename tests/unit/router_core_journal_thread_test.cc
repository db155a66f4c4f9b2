// RouterCore with the event journal written off the loop (UseJournalThread), the write held by
// a second hand-driven executor: nothing reaches a client or is acknowledged to a worker before
// its batch is committed, what arrives during a write is the next batch, and a subscribe during
// a write still gets one stream in seq order.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/manual_executor.h"
#include "unit/router_journal_fixture.h"

namespace codeswarm::router::testing {
namespace {

using namespace std::chrono_literals;

// Long enough for every timer of the loop (acks, the stream's commit window) to fire.
constexpr Duration kLater = 100ms;

class JournalThreadTest : public JournalTest {
 protected:
  // From here on journal writes wait for journal_.RunPending().
  void WriteOffTheLoop() { core_->UseJournalThread(journal_); }

  ManualExecutor journal_;
};

TEST_F(JournalThreadTest, EventsGoOutAndAreAcknowledgedOnlyOnceTheirBatchIsCommitted) {
  std::string swarm = Launch(1);
  FakeWorkerConnection& worker = Connect(swarm, 0);
  std::string injection = InjectTakenByNode0(swarm);
  WriteOffTheLoop();
  const std::size_t lines_before = clients_.lines.size();
  const std::size_t journaled_before = Journal().size();
  const std::size_t acks_before = worker.WithVerb("ack").size();

  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  WorkerSays(swarm, 0, Delta(injection, 2, "a"));  // arrives while the first batch is written
  executor_.Advance(kLater);
  EXPECT_EQ(clients_.lines.size(), lines_before);
  EXPECT_EQ(Journal().size(), journaled_before);
  EXPECT_EQ(worker.WithVerb("ack").size(), acks_before);

  journal_.RunPending();  // the first batch, then the one that queued up behind it
  executor_.Advance(kLater);
  std::vector<std::string> names = clients_.Names(0);
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[names.size() - 2], "turn_started");
  EXPECT_EQ(names.back(), "assistant_delta");
  EXPECT_EQ(BroadcastSeqs(), [&] {
    std::vector<int64_t> journaled;
    for (const JournalRow& row : Journal()) journaled.push_back(static_cast<int64_t>(row.seq));
    return journaled;
  }());
  ASSERT_FALSE(worker.WithVerb("ack").empty());
  EXPECT_EQ(worker.WithVerb("ack").back(), "ack {\"seq\":2}\n");
}

TEST_F(JournalThreadTest, SubscribeDuringAWriteGetsTheReplayThenTheBatchLive) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = InjectTakenByNode0(swarm);
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  WriteOffTheLoop();
  WorkerSays(swarm, 0, Delta(injection, 2, "a"));  // being written when the client subscribes
  const std::size_t connected_at = clients_.lines.size();
  core_->OnClientConnected(kLate);
  Subscribe(kLate, R"({"since_seq":0})");
  journal_.RunPending();
  WorkerSays(swarm, 0, Delta(injection, 3, "b"));
  journal_.RunPending();

  std::vector<int64_t> received;
  std::vector<std::string> names;
  for (const json::object& e : clients_.ReceivedBy(kLate, connected_at)) {
    names.emplace_back(e.at("event").as_string());
    if (e.contains("seq")) received.push_back(e.at("seq").as_int64());
  }
  EXPECT_EQ(received, BroadcastSeqs());  // every event once, in seq order
  auto complete = std::find(names.begin(), names.end(), "replay_complete");
  ASSERT_NE(complete, names.end());
  EXPECT_EQ(std::count(complete, names.end(), "assistant_delta"), 2);  // both live
}

}  // namespace
}  // namespace codeswarm::router::testing
