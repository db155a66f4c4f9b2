#include "cli/follow_stream.h"

#include <boost/json.hpp>

#include <algorithm>

#include "cli/command_support.h"
#include "cli/render.h"

namespace codeswarm::cli {

FollowStream::FollowStream(Client& client, Output& output, FollowOptions options,
                           const Clock& clock)
    : client_(client),
      output_(output),
      options_(std::move(options)),
      clock_(clock),
      sequencer_(options_.since_seq) {}

void FollowStream::Take(Event event) { Absorb(std::move(event)); }

EventSequencer::Answer FollowStream::Absorb(Event event) {
  EventSequencer::Answer answer = sequencer_.Take(std::move(event));
  if (answer == EventSequencer::Answer::kCaughtUp && !sequencer_.replay_error().empty()) {
    output_.err() << "warning: the router could not replay every missed event ("
                  << sequencer_.replay_error() << "); some may be missing" << std::endl;
  }
  return answer;
}

Received FollowStream::Subscribe(SteadyTime deadline) {
  boost::json::object payload = {{"since_seq", sequencer_.ResumeSeq()}};
  if (!options_.swarm_id.empty()) payload["swarm_id"] = options_.swarm_id;
  Result<std::string> request_id = client_.Send("subscribe", payload, deadline);
  if (!request_id.ok()) {
    if (request_id.status().IsUnavailable()) return {Received::Kind::kInterrupted, {}, {}};
    if (request_id.status().IsTimeout()) return {Received::Kind::kTimeout, {}, {}};
    return {Received::Kind::kLost, {}, request_id.status().message()};
  }
  sequencer_.BeginSubscription(*request_id);
  while (true) {
    Received received = client_.Next(deadline);
    if (received.kind != Received::Kind::kEvent) return received;
    const bool answers =
        received.event.AnswersRequest(*request_id) || received.event.RejectsRequest(*request_id);
    Event answer = answers ? received.event : Event{};
    switch (Absorb(std::move(received.event))) {
      case EventSequencer::Answer::kSubscribed:
        resumable_ = true;
        return {Received::Kind::kEvent, std::move(answer), {}};
      case EventSequencer::Answer::kRejected:
        resumable_ = false;
        return {Received::Kind::kEvent, std::move(answer), {}};
      case EventSequencer::Answer::kNone:
      case EventSequencer::Answer::kCaughtUp:
        break;
    }
  }
}

Received FollowStream::Next(SteadyTime deadline) {
  while (true) {
    if (std::optional<Event> event = sequencer_.PopReady()) {
      if (options_.skip_deltas && event->name == "assistant_delta") continue;
      return {Received::Kind::kEvent, std::move(*event), {}};
    }
    std::string lost_because;
    if (sequencer_.overflowed()) {
      lost_because = "more than " + std::to_string(kMaxHeldEvents) +
                     " live events arrived while the router replayed older ones";
      if (options_.reconnect_seconds <= 0 || !client_.can_reconnect()) {
        return {Received::Kind::kLost, {}, lost_because};
      }
    } else {
      Received received = client_.Next(deadline);
      switch (received.kind) {
        case Received::Kind::kEvent:
          Absorb(std::move(received.event));
          continue;
        case Received::Kind::kLost:
        case Received::Kind::kClosing:
          if (!resumable_ || options_.reconnect_seconds <= 0 || !client_.can_reconnect()) {
            return received;
          }
          lost_because = received.kind == Received::Kind::kClosing
                             ? "the router closed it: " + received.message
                             : received.message;
          break;
        case Received::Kind::kTimeout:
        case Received::Kind::kInterrupted:
          return received;
      }
    }
    Received resumed = Resume(lost_because, deadline);
    if (resumed.kind != Received::Kind::kEvent) return resumed;
  }
}

Received FollowStream::Resume(const std::string& why, SteadyTime deadline) {
  const SteadyTime give_up = std::min(deadline, DeadlineIn(options_.reconnect_seconds, clock_));
  const std::string bound = FormatSeconds(options_.reconnect_seconds) + " s";
  output_.err() << "router connection lost; reconnecting for up to " << bound << " (" << why << ")"
                << std::endl;
  auto gave_up = [&](const std::string& why_not) -> Received {
    if (clock_.Now() >= deadline) return {Received::Kind::kTimeout, {}, {}};
    return {Received::Kind::kLost,
            {},
            "the router stayed unreachable for " + bound + " (" + why_not + ")"};
  };
  // A router that accepts and drops connections again (still starting, or stopping) is not
  // dialled in a tight loop.
  Duration pause = Duration::zero();
  while (true) {
    sequencer_.ConnectionLost();
    Status reconnected = client_.Reconnect(give_up, clock_, pause);
    if (!reconnected.ok()) {
      if (reconnected.IsUnavailable()) return {Received::Kind::kInterrupted, {}, {}};
      return gave_up(reconnected.message());
    }
    const int64_t since = sequencer_.ResumeSeq();
    Received answer = Subscribe(give_up);
    switch (answer.kind) {
      case Received::Kind::kEvent:
        if (answer.event.name != "subscribed") {
          resumable_ = false;
          return {
              Received::Kind::kLost,
              {},
              "the router would not resume the stream: " + std::string(answer.event.Str("reason"))};
        }
        output_.err() << "reconnected to the router at " << client_.PeerName();
        if (since != kSinceNow) output_.err() << "; resuming after seq " << since;
        output_.err() << std::endl;
        return answer;
      case Received::Kind::kLost:
      case Received::Kind::kClosing:
        if (clock_.Now() >= give_up) return gave_up(answer.message);
        pause = std::clamp<Duration>(pause * 2, std::chrono::milliseconds(100),
                                     std::chrono::seconds(2));
        continue;
      case Received::Kind::kTimeout:
        return gave_up("it did not answer subscribe");
      case Received::Kind::kInterrupted:
        return answer;
    }
  }
}

}  // namespace codeswarm::cli
