#include "worker/outbox.h"

#include "protocol/worker_protocol.h"

namespace codeswarm::worker {

Outbox::Outbox(std::size_t soft_limit_bytes) : soft_limit_bytes_(soft_limit_bytes) {}

uint64_t Outbox::Add(std::string_view injection_id, std::string_view event,
                     std::string_view data_json) {
  if (bytes_ > soft_limit_bytes_ && event == "assistant_delta") {
    ++dropped_;
    return 0;
  }
  uint64_t seq = next_seq_++;
  std::string line = protocol::FormatEventMessage(seq, injection_id, event, data_json);
  bytes_ += line.size();
  entries_.push_back(Entry{seq, std::move(line)});
  return seq;
}

void Outbox::Ack(uint64_t seq) {
  if (seq <= acked_) return;
  acked_ = std::min(seq, last_seq());
  while (!entries_.empty() && entries_.front().seq <= acked_) {
    bytes_ -= entries_.front().line.size();
    entries_.pop_front();
  }
  if (sent_ < acked_) sent_ = acked_;
}

const std::string* Outbox::NextUnsent() const {
  // Entries are in seq order with gaps only where Add dropped nothing (drops take no seq), so
  // the entry after `sent_` is at index sent_ - first seq.
  if (entries_.empty()) return nullptr;
  uint64_t first = entries_.front().seq;
  uint64_t index = sent_ + 1 - first;
  if (sent_ + 1 < first || index >= entries_.size()) return nullptr;
  return &entries_[index].line;
}

void Outbox::MarkSent() { ++sent_; }

}  // namespace codeswarm::worker
