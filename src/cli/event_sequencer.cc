#include "cli/event_sequencer.h"

#include <algorithm>

namespace codeswarm::cli {

EventSequencer::EventSequencer(std::optional<int64_t> since_seq)
    : since_seq_(since_seq), last_seq_(since_seq.value_or(0)) {}

int64_t EventSequencer::ResumeSeq() const {
  if (since_seq_ || last_seq_ > 0) return std::max(last_seq_, live_from_.value_or(0));
  return live_from_.value_or(kSinceNow);
}

void EventSequencer::BeginSubscription(std::string request_id) {
  request_id_ = std::move(request_id);
  phase_ = Phase::kSubscribing;
  replay_error_.clear();
}

EventSequencer::Answer EventSequencer::Take(Event event) {
  if (phase_ != Phase::kHolding && event.AnswersRequest(request_id_)) {
    if (event.name == "subscribed" && phase_ == Phase::kSubscribing) {
      phase_ = Phase::kReplaying;
      replay_to_ = event.Int("replay_to_seq").value_or(0);
      // From now on the first connection: it went live after replay_to_seq, so a later
      // connection resumes from there even when nothing was handled yet.
      if (!since_seq_ && !live_from_) live_from_ = replay_to_;
      return Answer::kSubscribed;
    }
    if (event.name == "replay_complete" || event.name == "command_rejected") {
      ReleaseHeld(INT64_MAX);
      phase_ = Phase::kLive;
      if (event.name == "replay_complete") {
        // Handed out too, after all it completed: a caller that wants the past only stops here.
        replay_error_ = std::string(event.Str("error"));
        ready_.push_back(std::move(event));
        return Answer::kCaughtUp;
      }
      rejection_ = std::move(event);
      return Answer::kRejected;
    }
    // events_pruned: said where it arrives, ahead of the replay it concerns.
  }
  if (!event.seq) {
    ready_.push_back(std::move(event));
    return Answer::kNone;
  }
  const int64_t seq = *event.seq;
  if (phase_ == Phase::kLive) {
    Deliver(std::move(event));
  } else if (phase_ == Phase::kReplaying && seq <= replay_to_) {
    // The replay is in seq order: nothing it sends later is below this one.
    ReleaseHeld(seq);
    held_.erase(seq);
    Deliver(std::move(event));
  } else if (!held_.emplace(seq, std::move(event)).second) {
    ++duplicates_dropped_;
  }
  return Answer::kNone;
}

void EventSequencer::ConnectionLost() {
  held_.clear();
  phase_ = Phase::kHolding;
  request_id_.clear();
}

std::optional<Event> EventSequencer::PopReady() {
  if (ready_.empty()) return std::nullopt;
  Event event = std::move(ready_.front());
  ready_.pop_front();
  return event;
}

void EventSequencer::Deliver(Event event) {
  if (*event.seq <= last_seq_) {
    ++duplicates_dropped_;
    return;
  }
  last_seq_ = *event.seq;
  ready_.push_back(std::move(event));
}

void EventSequencer::ReleaseHeld(int64_t below) {
  while (!held_.empty() && held_.begin()->first < below) {
    Deliver(std::move(held_.begin()->second));
    held_.erase(held_.begin());
  }
}

}  // namespace codeswarm::cli
