// Runtime events a worker has produced and the router has not acknowledged yet. They are kept
// until acknowledged and resent after a reconnect, so a dropped connection or a router restart
// loses nothing. Not thread-safe (the worker's loop thread owns it).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace codeswarm::worker {

class Outbox {
 public:
  // Above this many unacknowledged bytes, new assistant_delta events are dropped (the turn's
  // `assistant` event still carries the whole text); everything else is always kept.
  explicit Outbox(std::size_t soft_limit_bytes = std::size_t{256} << 20);

  // Adds an event; returns its seq, or 0 when it was dropped (see soft limit).
  uint64_t Add(std::string_view injection_id, std::string_view event, std::string_view data_json);
  // The router has everything up to `seq`.
  void Ack(uint64_t seq);
  // After a reconnect: everything unacknowledged is unsent again.
  void Rewind() { sent_ = acked_; }

  // The next line to send on the current connection, or nullptr; MarkSent after writing it.
  const std::string* NextUnsent() const;
  void MarkSent();

  bool empty() const { return entries_.empty(); }
  std::size_t bytes() const { return bytes_; }
  uint64_t last_seq() const { return next_seq_ - 1; }
  uint64_t acked() const { return acked_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Entry {
    uint64_t seq;
    std::string line;
  };
  const std::size_t soft_limit_bytes_;
  std::deque<Entry> entries_;
  std::size_t bytes_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t acked_ = 0;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace codeswarm::worker
