// The events a following command (attach, a running inject) handles, in seq order and once each,
// across lost connections and router restarts: subscribes (docs/PROTOCOL.md, "subscribe"),
// orders what arrives with an EventSequencer, and when the connection is lost or closed, dials
// the router again within a bound and subscribes from the last seq handled.
//
// Writes to the Output's stderr only: "router connection lost; reconnecting ..." and
// "reconnected ..." lines, and warnings when a replay stopped early. Nothing on stdout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/client.h"
#include "cli/event_sequencer.h"
#include "cli/output.h"
#include "common/clock.h"

namespace codeswarm::cli {

struct FollowOptions {
  // The subscribe's swarm filter; "" for every swarm.
  std::string swarm_id;
  // Handle the events after this seq; nullopt: from now (what the connection gets live).
  std::optional<int64_t> since_seq;
  // How long to try to get a lost connection back; 0: a lost connection ends the stream.
  double reconnect_seconds = 60;
  // Leave out assistant_delta events: each answer still comes whole, as its `assistant` event.
  bool skip_deltas = false;
};

// Not thread-safe. Borrows the client, the output and the clock.
class FollowStream {
 public:
  FollowStream(Client& client, Output& output, FollowOptions options,
               const Clock& clock = SystemClock::Get());

  // An event the caller read before Subscribe (while it waited for another answer): it takes
  // its place in the stream.
  void Take(Event event);

  // Sends `subscribe` and waits for its answer; events that come first keep their place.
  // Returns kEvent with the answer (`subscribed`, or `command_rejected`: the stream then carries
  // on live, without resuming after a loss), or why there is none, as Client::Next does.
  Received Subscribe(SteadyTime deadline);

  // Later subscribes (after a loss) replay only this swarm's events.
  void NarrowTo(std::string swarm_id) { options_.swarm_id = std::move(swarm_id); }

  // The next event, in seq order, each at most once; `replay_complete` after each replay (a
  // caller that follows the past only stops there). A lost connection (or connection_closing)
  // is made again and the stream resumed from the last seq handled, for up to
  // reconnect_seconds. Returns kTimeout at `deadline` (also while reconnecting), kInterrupted on
  // Ctrl-C, kLost when the router stayed unreachable (or would not resume the stream); kClosing
  // and kLost as the client reports them when reconnecting is off or impossible.
  Received Next(SteadyTime deadline);

 private:
  // Feeds `event` to the sequencer and reports what its answers call for.
  EventSequencer::Answer Absorb(Event event);
  // After a lost connection: reconnects and subscribes again. Returns kEvent when the stream
  // goes on, else why it ends.
  Received Resume(const std::string& why, SteadyTime deadline);

  Client& client_;
  Output& output_;
  FollowOptions options_;
  const Clock& clock_;
  EventSequencer sequencer_;
  // A subscribe was answered `subscribed`: a lost connection can be resumed.
  bool resumable_ = false;
};

}  // namespace codeswarm::cli
