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
  pending_bytes_ += item.line.size();
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
  // While the journal fails, what is queued is held broadcasts only: an answer to one client
  // must not wait for the disk.
  if (!has_pending() || journal_failing()) {
    clients_.SendTo(client, std::move(line));
    return;
  }
  Outgoing item;
  item.to = client;
  item.line = std::move(line);
  Queue(std::move(item));
}

void EventEmitter::MarkNode(const std::string& swarm_id, int node_id, const std::string& instance,
                            uint64_t last_seq) {
  const bool was_idle = !has_pending();
  marks_[{swarm_id, node_id}] = NodeMark{swarm_id, node_id, instance, last_seq};
  if (was_idle && on_pending_) on_pending_();
}

void EventEmitter::Flush() {
  if (journal_failing() || !has_pending()) return;
  Write();
}

Status EventEmitter::RetryJournal() {
  if (!journal_failing()) return Status::Ok();
  Write();
  return journal_error_;
}

std::size_t EventEmitter::pending_broadcasts() const {
  return static_cast<std::size_t>(
      std::count_if(outgoing_.begin(), outgoing_.end(), [](const Outgoing& o) { return !o.to; }));
}

void EventEmitter::Write() {
  std::vector<NodeMark> marks;
  marks.reserve(marks_.size());
  for (auto& [key, mark] : marks_) marks.push_back(std::move(mark));
  marks_.clear();

  std::vector<JournalEntry> entries;
  entries.reserve(outgoing_.size());
  const int64_t now_ms = clock_.WallMillis();
  for (const Outgoing& item : outgoing_) {
    if (!item.to) entries.push_back(JournalEntry{item.seq, item.swarm_id, now_ms, item.line});
  }
  Status written = store_.AppendJournal(entries, marks);
  if (!written.ok()) {
    const bool first = !journal_failing();
    journal_error_ = std::move(written);
    Hold(std::move(marks));
    if (first && on_journal_failed_) on_journal_failed_(journal_error_);
    return;
  }
  journal_error_ = Status::Ok();
  std::vector<Outgoing> items = std::move(outgoing_);
  outgoing_.clear();
  pending_bytes_ = 0;
  for (Outgoing& item : items) {
    if (item.to) {
      clients_.SendTo(*item.to, std::move(item.line));
    } else {
      delivered_seq_ = item.seq;
      clients_.Broadcast(std::move(item.line));
    }
  }
  if (on_flushed_ && !marks.empty()) on_flushed_(marks);
}

void EventEmitter::Hold(std::vector<NodeMark> marks) {
  // Nothing was queued since the write began (one thread), so the marks go back as they were.
  for (NodeMark& mark : marks) {
    std::pair<std::string, int> key{mark.swarm_id, mark.node_id};
    marks_[std::move(key)] = std::move(mark);
  }
  std::vector<Outgoing> held;
  held.reserve(outgoing_.size());
  for (Outgoing& item : outgoing_) {
    if (item.to) {
      pending_bytes_ -= item.line.size();
      clients_.SendTo(*item.to, std::move(item.line));
    } else {
      held.push_back(std::move(item));
    }
  }
  outgoing_ = std::move(held);
}

}  // namespace codeswarm::router
