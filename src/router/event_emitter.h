// Turns the core's decisions into event lines: envelope, timestamp, and a seq for broadcast
// events that never repeats (blocks of seqs are reserved durably in the Store). Loop thread only.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "router/channels.h"
#include "router/store.h"

namespace codeswarm::router {

class EventEmitter {
 public:
  static constexpr uint64_t kDefaultSeqBlock = 1 << 16;

  // Reserves seqs from `store` `seq_block` at a time.
  EventEmitter(ClientChannel& clients, Store& store, const Clock& clock,
               uint64_t seq_block = kDefaultSeqBlock);

  // Sends `event` with `data` to every client, with the next seq.
  void Broadcast(std::string_view event, const boost::json::object& data);
  // Splices a worker's runtime event (its data object as raw JSON) after the node's ids.
  void BroadcastRuntime(std::string_view event, std::string_view ids_json,
                        std::string_view injection_id, std::string_view worker_data);
  // Sends `event` to one client, without a seq.
  void Reply(ClientId client, std::string_view event, const boost::json::object& data);

  int64_t WallMillis() const { return clock_.WallMillis(); }

 private:
  uint64_t NextSeq();
  void ReserveSeqs();
  std::string_view Timestamp();

  ClientChannel& clients_;
  Store& store_;
  const Clock& clock_;
  const uint64_t seq_block_;
  TimestampFormatter timestamps_;
  uint64_t next_seq_ = 1;
  uint64_t seq_limit_ = 1;  // next_seq_ < seq_limit_ are reserved
};

}  // namespace codeswarm::router
