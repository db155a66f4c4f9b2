#include "router/event_emitter.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "protocol/event_line.h"

namespace codeswarm::router {
namespace json = boost::json;

EventEmitter::EventEmitter(ClientChannel& clients, Store& store, const Clock& clock)
    : clients_(clients), store_(store), clock_(clock) {}

uint64_t EventEmitter::NextSeq() {
  if (next_seq_ >= seq_limit_) {
    Result<uint64_t> first = store_.ReserveSeq(kSeqBlock);
    if (first.ok()) {
      next_seq_ = *first;
      seq_limit_ = *first + kSeqBlock;
    } else {
      // Keep counting in memory: a client still gets ordered events; only a crash right now
      // could make a later router repeat these numbers.
      spdlog::error("cannot reserve event sequence numbers: {}", first.status().message());
      seq_limit_ = next_seq_ + kSeqBlock;
    }
  }
  return next_seq_++;
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
