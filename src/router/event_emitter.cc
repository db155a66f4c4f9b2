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

uint32_t EventEmitter::Queue::SwarmIndex(std::string_view swarm_id) {
  // A batch holds the events of a swarm or a few: the newest first.
  for (std::size_t i = swarms.size(); i-- > 0;) {
    if (swarms[i] == swarm_id) return static_cast<uint32_t>(i);
  }
  swarms.emplace_back(swarm_id);
  return static_cast<uint32_t>(swarms.size() - 1);
}

void EventEmitter::Queue::Prepend(Queue front) {
  const std::size_t shift = front.lines.size();
  front.lines += lines;
  lines = std::move(front.lines);
  for (Line& line : broadcasts) {
    line.end += shift;
    line.swarm = front.SwarmIndex(swarms[line.swarm]);
  }
  front.broadcasts.insert(front.broadcasts.end(), broadcasts.begin(), broadcasts.end());
  broadcasts = std::move(front.broadcasts);
  swarms = std::move(front.swarms);
  for (Reply& reply : replies) reply.after += shift;
  front.replies.insert(front.replies.end(), std::make_move_iterator(replies.begin()),
                       std::make_move_iterator(replies.end()));
  replies = std::move(front.replies);
}

void EventEmitter::WillQueue(bool broadcast) {
  if (broadcast && queue_.broadcasts.empty()) {
    // Not more than a streaming batch needs: what was held while the disk failed can be far more.
    constexpr std::size_t kMostReserved = std::size_t{16} << 20;
    queue_.lines.reserve(std::min(last_lines_bytes_, kMostReserved));
    queue_.broadcasts.reserve(std::min(last_broadcasts_, kMostReserved / 128));
  }
  if (!has_pending() && on_pending_) on_pending_();
}

void EventEmitter::Queued(uint64_t seq, std::string_view swarm_id, std::size_t begin) {
  queue_.broadcasts.push_back(Queue::Line{seq, queue_.lines.size(), queue_.SwarmIndex(swarm_id)});
  pending_bytes_ += queue_.lines.size() - begin;
}

uint64_t EventEmitter::Broadcast(std::string_view event, const json::object& data) {
  WillQueue(/*broadcast=*/true);
  const uint64_t seq = NextSeq();
  std::string_view swarm_id;
  if (const json::value* swarm = data.if_contains("swarm_id"); swarm && swarm->is_string()) {
    swarm_id = swarm->get_string();
  }
  const std::size_t begin = queue_.lines.size();
  protocol::AppendEventLine(queue_.lines, seq, Timestamp(), event, json::serialize(data));
  Queued(seq, swarm_id, begin);
  return seq;
}

uint64_t EventEmitter::BroadcastRuntime(std::string_view event, std::string_view swarm_id,
                                        std::string_view ids_json, std::string_view injection_id,
                                        std::string_view worker_data) {
  WillQueue(/*broadcast=*/true);
  const uint64_t seq = NextSeq();
  const std::size_t begin = queue_.lines.size();
  protocol::AppendRuntimeEventLine(queue_.lines, seq, Timestamp(), event, ids_json, injection_id,
                                   worker_data);
  Queued(seq, swarm_id, begin);
  return seq;
}

void EventEmitter::Reply(ClientId client, std::string_view event, const json::object& data) {
  std::string line;
  protocol::AppendEventLine(line, std::nullopt, Timestamp(), event, json::serialize(data));
  SendRaw(client, std::move(line));
}

void EventEmitter::SendRaw(ClientId client, std::string line) {
  // While the journal fails, what is queued is held broadcasts only: an answer to one client
  // must not wait for the disk.
  if (!has_pending() || journal_failing()) {
    clients_.SendTo(client, std::move(line));
    return;
  }
  WillQueue(/*broadcast=*/false);
  pending_bytes_ += line.size();
  queue_.replies.push_back(Queue::Reply{client, queue_.lines.size(), std::move(line)});
}

uint64_t EventEmitter::Join(ClientId client, HeldLines held) {
  Flush();
  clients_.Join(client, held);
  return delivered_seq_;
}

void EventEmitter::MarkNode(const std::string& swarm_id, int node_id, const std::string& instance,
                            uint64_t last_seq) {
  const bool was_idle = !has_pending();
  // Called for every worker event: while a node streams only its seq changes, so no string is
  // copied then.
  auto [it, added] = marks_.try_emplace({swarm_id, node_id});
  NodeMark& mark = it->second;
  if (added || mark.instance != instance) mark = NodeMark{swarm_id, node_id, instance, last_seq};
  mark.last_seq = last_seq;
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
  if (writing_ || journal_failing() || !has_queued()) return;
  std::shared_ptr<Batch> batch = TakeQueued();
  if (!writer_) {
    batch->written = store_.AppendJournal(batch->entries, batch->marks, batch->changes);
    Finish(*batch);
    return;
  }
  writing_ = true;
  writer_([this, batch] {
            batch->written = store_.AppendJournal(batch->entries, batch->marks, batch->changes);
          },
          [this, batch] {
            writing_ = false;
            Finish(*batch);
            // What queued up meanwhile is the next transaction.
            Flush();
          });
}

Status EventEmitter::RetryJournal() {
  if (!journal_failing() || writing_) return journal_error_;
  std::shared_ptr<Batch> batch = TakeQueued();
  batch->written = store_.AppendJournal(batch->entries, batch->marks, batch->changes);
  Finish(*batch);
  return journal_error_;
}

std::shared_ptr<EventEmitter::Batch> EventEmitter::TakeQueued() {
  auto batch = std::make_shared<Batch>();
  last_lines_bytes_ = queue_.lines.size();
  last_broadcasts_ = queue_.broadcasts.size();
  batch->queue = std::move(queue_);
  queue_ = Queue();
  batch->marks.reserve(marks_.size());
  for (auto& [key, mark] : marks_) batch->marks.push_back(std::move(mark));
  marks_.clear();
  for (auto& [key, delivery] : deliveries_) batch->changes.deliveries.push_back(std::move(delivery));
  deliveries_.clear();
  for (auto& [key, counters] : counters_) batch->changes.counters.push_back(std::move(counters));
  counters_.clear();
  const Queue& queue = batch->queue;
  batch->entries.reserve(queue.broadcasts.size());
  const int64_t now_ms = clock_.WallMillis();
  std::size_t begin = 0;
  for (const Queue::Line& line : queue.broadcasts) {
    const std::string_view text = std::string_view(queue.lines).substr(begin, line.end - begin);
    batch->entries.push_back(JournalEntry{line.seq, queue.swarms[line.swarm], now_ms, text});
    begin = line.end;
  }
  return batch;
}

void EventEmitter::Finish(Batch& batch) {
  if (!batch.written.ok()) {
    const bool first = !journal_failing();
    journal_error_ = std::move(batch.written);
    Hold(batch);
    if (first && on_journal_failed_) on_journal_failed_(journal_error_);
    return;
  }
  journal_error_ = Status::Ok();
  Queue& queue = batch.queue;
  pending_bytes_ -= std::min(pending_bytes_, queue.lines.size());
  if (!queue.broadcasts.empty()) delivered_seq_ = queue.broadcasts.back().seq;
  std::size_t sent = 0;
  for (Queue::Reply& reply : queue.replies) {
    if (reply.after > sent) {
      clients_.Broadcast(queue.lines.substr(sent, reply.after - sent));
      sent = reply.after;
    }
    pending_bytes_ -= std::min(pending_bytes_, reply.line.size());
    clients_.SendTo(reply.to, std::move(reply.line));
  }
  if (sent == 0 && !queue.lines.empty()) {
    clients_.Broadcast(std::move(queue.lines));
  } else if (sent < queue.lines.size()) {
    clients_.Broadcast(queue.lines.substr(sent));
  }
  if (on_flushed_ && !batch.marks.empty()) on_flushed_(batch.marks);
}

void EventEmitter::Hold(Batch& batch) {
  // What was queued during the write is newer: a mark or node change queued meanwhile wins
  // over the batch's, and the batch's lines go back in front.
  for (NodeMark& mark : batch.marks) {
    marks_.try_emplace({mark.swarm_id, mark.node_id}, std::move(mark));
  }
  for (DeliveryRecord& delivery : batch.changes.deliveries) {
    auto key = std::make_tuple(delivery.swarm_id, delivery.node_id, delivery.injection_id);
    deliveries_.try_emplace(std::move(key), std::move(delivery));
  }
  for (NodeCounters& counters : batch.changes.counters) {
    counters_.try_emplace({counters.swarm_id, counters.node_id}, std::move(counters));
  }
  SendReplies(batch.queue);
  SendReplies(queue_);
  queue_.Prepend(std::move(batch.queue));
}

void EventEmitter::SendReplies(Queue& queue) {
  for (Queue::Reply& reply : queue.replies) {
    pending_bytes_ -= std::min(pending_bytes_, reply.line.size());
    clients_.SendTo(reply.to, std::move(reply.line));
  }
  queue.replies.clear();
}

}  // namespace codeswarm::router
