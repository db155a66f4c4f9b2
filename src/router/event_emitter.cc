#include "router/event_emitter.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>
#include <memory>

#include "protocol/event_line.h"

namespace codeswarm::router {
namespace json = boost::json;

EventEmitter::EventEmitter(ClientChannel& clients, Store& store, const Clock& clock,
                           uint64_t seq_block)
    : clients_(clients), store_(store), clock_(clock), seq_block_(seq_block) {}

Status EventEmitter::Start() {
  if (next_seq_ < seq_limit_) return Status::Ok();
  Result<uint64_t> first = store_.ReserveSeq(seq_block_);
  if (!first.ok()) return first.status();
  next_seq_ = std::max(next_seq_, *first);
  seq_limit_ = *first + seq_block_;
  delivered_seq_ = std::max(delivered_seq_, next_seq_ - 1);
  return Status::Ok();
}

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

void EventEmitter::Queue(Outgoing item) {
  const bool was_idle = !has_pending();
  outgoing_.push_back(std::move(item));
  if (was_idle && on_pending_) on_pending_();
}

uint64_t EventEmitter::Broadcast(std::string_view event, const json::object& data) {
  Outgoing item;
  item.seq = NextSeq();
  if (const json::value* swarm = data.if_contains("swarm_id"); swarm && swarm->is_string()) {
    item.swarm_id = std::string(swarm->get_string());
  }
  protocol::AppendEventLine(item.line, item.seq, Timestamp(), event, json::serialize(data));
  const uint64_t seq = item.seq;
  Queue(std::move(item));
  return seq;
}

uint64_t EventEmitter::BroadcastRuntime(std::string_view event, std::string_view swarm_id,
                                        std::string_view ids_json, std::string_view injection_id,
                                        std::string_view worker_data) {
  Outgoing item;
  item.seq = NextSeq();
  item.swarm_id = std::string(swarm_id);
  item.line.reserve(160 + ids_json.size() + worker_data.size());
  protocol::AppendRuntimeEventLine(item.line, item.seq, Timestamp(), event, ids_json,
                                   injection_id, worker_data);
  const uint64_t seq = item.seq;
  Queue(std::move(item));
  return seq;
}

void EventEmitter::Reply(ClientId client, std::string_view event, const json::object& data) {
  std::string line;
  protocol::AppendEventLine(line, std::nullopt, Timestamp(), event, json::serialize(data));
  SendRaw(client, std::move(line));
}

void EventEmitter::SendRaw(ClientId client, std::string line) {
  if (!has_pending()) {
    clients_.SendTo(client, std::move(line));
    return;
  }
  Outgoing item;
  item.to = client;
  item.line = std::move(line);
  Queue(std::move(item));
}

uint64_t EventEmitter::Join(ClientId client, HeldLines held) {
  Flush();
  clients_.Join(client, held);
  return delivered_seq_;
}

void EventEmitter::MarkNode(const std::string& swarm_id, int node_id, const std::string& instance,
                            uint64_t last_seq) {
  const bool was_idle = !has_pending();
  marks_[{swarm_id, node_id}] = NodeMark{swarm_id, node_id, instance, last_seq};
  if (was_idle && on_pending_) on_pending_();
}

void EventEmitter::SendNow(ClientId client, std::string line) {
  clients_.SendTo(client, std::move(line));
}

void EventEmitter::ReplyNow(ClientId client, std::string_view event, const json::object& data) {
  std::string line;
  protocol::AppendEventLine(line, std::nullopt, Timestamp(), event, json::serialize(data));
  SendNow(client, std::move(line));
}

void EventEmitter::RecordDelivery(DeliveryRecord record) {
  const bool was_idle = !has_pending();
  auto key = std::make_tuple(record.swarm_id, record.node_id, record.injection_id);
  deliveries_[std::move(key)] = std::move(record);
  if (was_idle && on_pending_) on_pending_();
}

void EventEmitter::RecordCounters(NodeCounters counters) {
  const bool was_idle = !has_pending();
  counters_[{counters.swarm_id, counters.node_id}] = std::move(counters);
  if (was_idle && on_pending_) on_pending_();
}

void EventEmitter::Flush() {
  if (writing_ || !has_queued()) return;
  auto batch = std::make_shared<Batch>();
  batch->items = std::move(outgoing_);
  outgoing_.clear();
  batch->marks.reserve(marks_.size());
  for (auto& [key, mark] : marks_) batch->marks.push_back(std::move(mark));
  marks_.clear();
  for (auto& [key, delivery] : deliveries_) batch->changes.deliveries.push_back(std::move(delivery));
  deliveries_.clear();
  for (auto& [key, counters] : counters_) batch->changes.counters.push_back(std::move(counters));
  counters_.clear();

  batch->entries.reserve(batch->items.size());
  const int64_t now_ms = clock_.WallMillis();
  for (const Outgoing& item : batch->items) {
    if (!item.to) {
      batch->entries.push_back(JournalEntry{item.seq, item.swarm_id, now_ms, item.line});
    }
  }
  if (!writer_) {
    batch->written = store_.AppendJournal(batch->entries, batch->marks, batch->changes);
    Deliver(*batch);
    return;
  }
  writing_ = true;
  writer_([this, batch] {
            batch->written = store_.AppendJournal(batch->entries, batch->marks, batch->changes);
          },
          [this, batch] {
            writing_ = false;
            Deliver(*batch);
            // What queued up meanwhile is the next transaction.
            Flush();
          });
}

void EventEmitter::Deliver(Batch& batch) {
  const Status& written = batch.written;
  if (!written.ok() && !store_failing_) {
    spdlog::error("cannot write the event journal ({} events): {}; events still go to the "
                  "clients but a client that catches up later will not get them",
                  batch.entries.size(), written.message());
  } else if (written.ok() && store_failing_) {
    spdlog::info("the event journal is written again");
  }
  store_failing_ = !written.ok();
  for (Outgoing& item : batch.items) {
    if (item.to) {
      clients_.SendTo(*item.to, std::move(item.line));
    } else {
      delivered_seq_ = item.seq;
      clients_.Broadcast(std::move(item.line));
    }
  }
  if (on_flushed_ && !batch.marks.empty()) on_flushed_(batch.marks);
}

}  // namespace codeswarm::router
