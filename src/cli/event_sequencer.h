// Turns what arrives on the connections of a `subscribe`-based follower into one stream of events
// in seq order, each at most once, across connections lost and made again (docs/PROTOCOL.md,
// "subscribe"). No I/O: the follower's shell (FollowStream) feeds it what it reads and sends the
// subscribes it asks for.
//
// On each connection, broadcast events (those with a seq) are held from the moment the connection
// is made until its subscribe's `replay_complete`: the router may send live events broadcast
// before its `subscribed` answer ahead of the replayed older ones, or after them. The replay
// arrives in seq order, so each replayed event releases the held ones below it; the rest are
// released at `replay_complete`, which is handed out after them. An event whose seq was already
// handled is dropped. Events without a seq (answers to this client) pass through where they
// arrive; `subscribed` does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "cli/event.h"

namespace codeswarm::cli {

// A since_seq past every seq: the subscribe replays nothing, the connection's live events are
// what follows. What "from now" sends on the first connection.
inline constexpr int64_t kSinceNow = INT64_MAX;

// Live events held at most while a replay runs; more means the replay cannot keep up, and the
// follower subscribes again on a new connection (from the last seq handled) rather than hold
// without bound.
inline constexpr std::size_t kMaxHeldEvents = 100000;

// Not thread-safe.
class EventSequencer {
 public:
  // `since_seq`: handle the events after it; nullopt: from now, i.e. the events broadcast after
  // the first connection was made.
  explicit EventSequencer(std::optional<int64_t> since_seq);

  // What the subscribe answered, when Take was given one of its answers.
  enum class Answer {
    kNone,        // not an answer to the current subscribe (or events_pruned, passed on)
    kSubscribed,  // `subscribed`: the replay follows
    kCaughtUp,    // `replay_complete` (also handed out): live from now on (see replay_error())
    kRejected,    // `command_rejected`: no replay; held events were released, live from now on
  };

  // The since_seq the next subscribe must carry: the last seq handled, or where the stream
  // starts when none was.
  int64_t ResumeSeq() const;
  // A subscribe with `request_id` was sent on the current connection: events with a seq are
  // held until its replay_complete.
  void BeginSubscription(std::string request_id);

  // Takes the next event read from the current connection.
  Answer Take(Event event);

  // The connection was lost: what it held is dropped (the next subscribe replays it).
  void ConnectionLost();

  // The next event to handle, in order, or nullopt.
  std::optional<Event> PopReady();

  // True between BeginSubscription and its replay_complete (or rejection).
  bool replaying() const { return phase_ == Phase::kSubscribing || phase_ == Phase::kReplaying; }
  // More than kMaxHeldEvents are held: subscribe again on a new connection.
  bool overflowed() const { return held_.size() > kMaxHeldEvents; }
  // The last seq handed out (0: none yet).
  int64_t last_seq() const { return last_seq_; }
  // Why the last replay stopped early ("" when it did not), from its replay_complete.
  const std::string& replay_error() const { return replay_error_; }
  // The last kRejected answer.
  const std::optional<Event>& rejection() const { return rejection_; }
  // Events dropped because their seq was already handled (for tests and --debug).
  int64_t duplicates_dropped() const { return duplicates_dropped_; }

 private:
  enum class Phase { kHolding, kSubscribing, kReplaying, kLive };

  // Hands `event` out unless its seq was handled already.
  void Deliver(Event event);
  // Hands out every held event with a seq below `below`, in order.
  void ReleaseHeld(int64_t below);

  const std::optional<int64_t> since_seq_;
  Phase phase_ = Phase::kHolding;
  std::string request_id_;  // of the current subscribe
  int64_t replay_to_ = 0;   // of the current subscribe, once answered
  // From now: where the first connection went live (its replay_to_seq); nullopt until known.
  std::optional<int64_t> live_from_;
  int64_t last_seq_ = 0;
  std::map<int64_t, Event> held_;  // by seq
  std::deque<Event> ready_;
  std::string replay_error_;
  std::optional<Event> rejection_;
  int64_t duplicates_dropped_ = 0;
};

}  // namespace codeswarm::cli
