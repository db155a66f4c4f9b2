#include "router/event_emitter.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>

#include "protocol/event_line.h"

namespace codeswarm::router {
namespace json = boost::json;

EventEmitter::EventEmitter(ClientChannel& clients, Store& store, const Clock& clock,
                           uint64_t seq_block)
    : clients_(clients), store_(store), clock_(clock), seq_block_(seq_block) {}

uint64_t EventEmitter::NextSeq() {
  if (next_seq_ >= seq_limit_) ReserveSeqs();
  return next_seq_++;
}

void EventEmitter::ReserveSeqs() {
  // Seqs counted in memory while the store was failing were never recorded, so the block the
  // store hands out next may start below them: reserve past them, so that seqs never go back
  // (a client that skips seqs it has seen would drop the repeats).
  uint64_t count = seq_block_;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<uint64_t> first = store_.ReserveSeq(count);
    if (!first.ok()) {
      // Keep counting in memory: a client still gets ordered events; only a crash right now
      // could make a later router repeat these numbers. Try the store again a block later.
      spdlog::error("cannot reserve event sequence numbers: {}", first.status().message());
      seq_limit_ = next_seq_ + seq_block_;
      return;
    }
    const uint64_t end = *first + count;
    if (end > next_seq_) {
      next_seq_ = std::max(next_seq_, *first);
      seq_limit_ = end;
      return;
    }
    count = next_seq_ - end + seq_block_;  // the store hands out consecutive blocks
  }
  spdlog::error("the state database hands out event sequence numbers below those already used "
                "({}); counting on in memory",
                next_seq_);
  seq_limit_ = next_seq_ + seq_block_;
}

std::string_view EventEmitter::Timestamp() { return timestamps_.Format(clock_.WallMillis()); }

void EventEmitter::Broadcast(std::string_view event, const json::object& data) {
  std::string line;
  protocol::AppendEventLine(line, NextSeq(), Timestamp(), event, json::serialize(data));
  clients_.Broadcast(std::move(line));
}

void EventEmitter::BroadcastRuntime(std::string_view event, std::string_view ids_json,
                                    std::string_view injection_id,
                                    std::string_view worker_data) {
  std::string line;
  line.reserve(160 + ids_json.size() + worker_data.size());
  protocol::AppendRuntimeEventLine(line, NextSeq(), Timestamp(), event, ids_json, injection_id,
                                   worker_data);
  clients_.Broadcast(std::move(line));
}

void EventEmitter::Reply(ClientId client, std::string_view event, const json::object& data) {
  std::string line;
  protocol::AppendEventLine(line, std::nullopt, Timestamp(), event, json::serialize(data));
  clients_.SendTo(client, std::move(line));
}

}  // namespace codeswarm::router
