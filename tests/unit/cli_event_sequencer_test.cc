// The ordering core of the following commands: literal event lines in, events in seq order out,
// each at most once, whichever side of the replay the router puts the live events on.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/event_sequencer.h"
#include "cli_test_support.h"

namespace codeswarm::cli {
namespace {

using testing::EventFrom;

std::string Broadcast(int64_t seq, const std::string& swarm = "s-1") {
  return R"({"type":"event","seq":)" + std::to_string(seq) +
         R"(,"event":"assistant_delta","data":{"swarm_id":")" + swarm + R"(","delta":"d)" +
         std::to_string(seq) + R"("}})";
}
std::string Subscribed(const std::string& rid, int64_t replay_to) {
  return R"({"type":"event","event":"subscribed","data":{"request_id":")" + rid +
         R"(","replay_to_seq":)" + std::to_string(replay_to) + "}}";
}
std::string ReplayComplete(const std::string& rid, const std::string& error = "") {
  return R"({"type":"event","event":"replay_complete","data":{"request_id":")" + rid + "\"" +
         (error.empty() ? "" : R"(,"error":")" + error + "\"") + "}}";
}

class CliEventSequencerTest : public ::testing::Test {
 protected:
  void Feed(const std::vector<std::string>& lines) {
    for (const std::string& line : lines) sequencer_.Take(EventFrom(line));
  }
  // The seqs handed out so far (events without one aside).
  std::vector<int64_t> Out() {
    std::vector<int64_t> seqs;
    while (std::optional<Event> event = sequencer_.PopReady()) {
      if (event->seq) seqs.push_back(*event->seq);
    }
    return seqs;
  }

  EventSequencer sequencer_{std::nullopt};
};

TEST_F(CliEventSequencerTest, LiveEventsAheadOfTheReplayAreHeldAndComeAfterIt) {
  EventSequencer since_three(3);
  auto feed = [&](const std::string& line) { return since_three.Take(EventFrom(line)); };
  EXPECT_EQ(since_three.ResumeSeq(), 3);
  since_three.BeginSubscription("r-1");
  // What the router documents: live 8 and 9 were broadcast before it answered.
  feed(Broadcast(8));
  feed(Broadcast(9));
  EXPECT_EQ(feed(Subscribed("r-1", 7)), EventSequencer::Answer::kSubscribed);
  EXPECT_FALSE(since_three.PopReady());
  for (int64_t seq = 4; seq <= 7; ++seq) feed(Broadcast(seq));
  EXPECT_EQ(feed(ReplayComplete("r-1")), EventSequencer::Answer::kCaughtUp);
  feed(Broadcast(10));
  std::vector<std::string> names;
  while (std::optional<Event> event = since_three.PopReady()) {
    names.push_back(event->seq ? std::to_string(*event->seq) : event->name);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"4", "5", "6", "7", "8", "9", "replay_complete", "10"}));
  EXPECT_FALSE(since_three.replaying());
}

TEST_F(CliEventSequencerTest, ReplayAheadOfTheLiveEventsGivesTheSameStream) {
  sequencer_.BeginSubscription("r-1");
  Feed({Subscribed("r-1", 2), Broadcast(1), Broadcast(2), ReplayComplete("r-1"), Broadcast(3)});
  EXPECT_EQ(Out(), (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(CliEventSequencerTest, ReplayedEventsAreHandedOutAsTheyArriveNotHeldToTheEnd) {
  sequencer_.BeginSubscription("r-1");
  Feed({Broadcast(6), Subscribed("r-1", 5), Broadcast(3), Broadcast(4)});
  EXPECT_EQ(Out(), (std::vector<int64_t>{3, 4}));
  Feed({Broadcast(5), ReplayComplete("r-1")});
  EXPECT_EQ(Out(), (std::vector<int64_t>{5, 6}));
}

TEST_F(CliEventSequencerTest, SeqsAlreadyHandledAreDroppedAfterAResubscribe) {
  sequencer_.BeginSubscription("r-1");
  Feed({Subscribed("r-1", 0), ReplayComplete("r-1"), Broadcast(1), Broadcast(2), Broadcast(3)});
  EXPECT_EQ(Out(), (std::vector<int64_t>{1, 2, 3}));
  sequencer_.ConnectionLost();
  EXPECT_EQ(sequencer_.ResumeSeq(), 3);
  sequencer_.BeginSubscription("r-2");
  // A router that replays more than asked, and sends one live event twice.
  Feed({Subscribed("r-2", 5), Broadcast(2), Broadcast(3), Broadcast(4), Broadcast(5),
        ReplayComplete("r-2"), Broadcast(6), Broadcast(6), Broadcast(5)});
  EXPECT_EQ(Out(), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(sequencer_.duplicates_dropped(), 4);
}

TEST_F(CliEventSequencerTest, FromNowReplaysNothingFirstThenResumesWhereTheStreamWentLive) {
  EXPECT_EQ(sequencer_.ResumeSeq(), kSinceNow);
  sequencer_.BeginSubscription("r-1");
  Feed({Subscribed("r-1", 40), ReplayComplete("r-1")});
  EXPECT_TRUE(Out().empty());
  // Lost before anything happened: the next connection replays what came after going live.
  sequencer_.ConnectionLost();
  EXPECT_EQ(sequencer_.ResumeSeq(), 40);
  sequencer_.BeginSubscription("r-2");
  Feed({Subscribed("r-2", 150), Broadcast(41), Broadcast(42), ReplayComplete("r-2")});
  EXPECT_EQ(Out(), (std::vector<int64_t>{41, 42}));
  EXPECT_EQ(sequencer_.ResumeSeq(), 42);
}

TEST_F(CliEventSequencerTest, EventsBeforeTheFirstSubscribeWaitForItsReplay) {
  EventSequencer everything(0);
  everything.Take(EventFrom(Broadcast(5)));  // came with the answer to another command
  everything.Take(EventFrom(R"({"type":"event","event":"swarm_status","data":{}})"));
  everything.BeginSubscription("r-1");
  everything.Take(EventFrom(Subscribed("r-1", 4)));
  everything.Take(EventFrom(
      R"({"type":"event","event":"events_pruned","data":{"request_id":"r-1","from_seq":1,"to_seq":2}})"));
  everything.Take(EventFrom(Broadcast(3)));
  everything.Take(EventFrom(Broadcast(4)));
  everything.Take(EventFrom(ReplayComplete("r-1")));
  std::vector<std::string> names;
  while (std::optional<Event> event = everything.PopReady()) {
    names.push_back(event->name + (event->seq ? std::to_string(*event->seq) : ""));
  }
  // Answers without a seq pass where they arrive; the pruned marker comes ahead of the replay.
  EXPECT_EQ(names,
            (std::vector<std::string>{"swarm_status", "events_pruned", "assistant_delta3",
                                      "assistant_delta4", "assistant_delta5", "replay_complete"}));
}

TEST_F(CliEventSequencerTest, ARejectedSubscribeReleasesWhatWasHeldAndGoesLive) {
  sequencer_.BeginSubscription("r-1");
  Feed({Broadcast(7)});
  EXPECT_EQ(
      sequencer_.Take(EventFrom(
          R"({"type":"event","event":"command_rejected","data":{"request_id":"r-1","reason":"cannot read the event journal: disk I/O error"}})")),
      EventSequencer::Answer::kRejected);
  Feed({Broadcast(8)});
  EXPECT_EQ(Out(), (std::vector<int64_t>{7, 8}));
  ASSERT_TRUE(sequencer_.rejection());
  EXPECT_EQ(sequencer_.rejection()->Str("reason"), "cannot read the event journal: disk I/O error");
}

TEST_F(CliEventSequencerTest, AReplayThatStoppedEarlySaysWhy) {
  sequencer_.BeginSubscription("r-1");
  Feed({Subscribed("r-1", 9), Broadcast(1), ReplayComplete("r-1", "disk I/O error")});
  EXPECT_EQ(sequencer_.replay_error(), "disk I/O error");
  EXPECT_EQ(Out(), (std::vector<int64_t>{1}));
}

TEST_F(CliEventSequencerTest, HoldingMoreThanTheBoundAsksForANewSubscription) {
  sequencer_.BeginSubscription("r-1");
  Feed({Subscribed("r-1", 0)});
  for (int64_t seq = 1; seq <= static_cast<int64_t>(kMaxHeldEvents); ++seq) {
    sequencer_.Take(EventFrom(Broadcast(seq)));
  }
  EXPECT_FALSE(sequencer_.overflowed());
  sequencer_.Take(EventFrom(Broadcast(static_cast<int64_t>(kMaxHeldEvents) + 1)));
  EXPECT_TRUE(sequencer_.overflowed());
  sequencer_.ConnectionLost();
  EXPECT_FALSE(sequencer_.overflowed());
  EXPECT_EQ(sequencer_.ResumeSeq(), 0);  // nothing was handed out: the next replay has it all
}

}  // namespace
}  // namespace codeswarm::cli
