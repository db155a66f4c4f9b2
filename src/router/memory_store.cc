// The Store that keeps everything in memory (NewMemoryStore): for tests, with the same
// journal semantics as the SQLite one.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "router/store.h"

namespace codeswarm::router {

namespace {

class MemoryStore : public Store {
 public:
  Status SaveSwarm(const SwarmRecord& record) override {
    std::lock_guard lock(mu_);
    swarms_[record.swarm_id] = record;
    return Status::Ok();
  }
  Result<std::vector<SwarmRecord>> LoadSwarms() override {
    std::lock_guard lock(mu_);
    std::vector<SwarmRecord> out;
    for (const auto& [id, r] : swarms_) out.push_back(r);
    return out;
  }
  Result<uint64_t> ReserveSeq(uint64_t count) override {
    std::lock_guard lock(mu_);
    uint64_t first = next_seq_;
    next_seq_ += count;
    return first;
  }
  Status AppendJournal(const std::vector<JournalEntry>& entries,
                       const std::vector<NodeMark>& marks, const NodeChanges& changes) override {
    std::lock_guard lock(mu_);
    for (const DeliveryRecord& d : changes.deliveries) {
      const DeliveryKey key{d.swarm_id, d.node_id, d.injection_id};
      if (d.ended) {
        deliveries_.erase(key);
      } else {
        deliveries_[key] = d;
      }
    }
    for (const NodeCounters& c : changes.counters) counters_[{c.swarm_id, c.node_id}] = c;
    for (const JournalEntry& e : entries) {
      journal_[e.seq] = Row{JournalRow{e.seq, std::string(e.swarm_id), std::string(e.line)},
                            e.wall_ms};
    }
    for (const NodeMark& m : marks) marks_[{m.swarm_id, m.node_id}] = m;
    return Status::Ok();
  }
  Result<std::vector<JournalRow>> ReadJournal(uint64_t after_seq, uint64_t through_seq,
                                              const std::string& swarm_id,
                                              std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<JournalRow> out;
    for (auto it = journal_.upper_bound(after_seq);
         it != journal_.end() && it->first <= through_seq && out.size() < limit; ++it) {
      if (swarm_id.empty() || it->second.row.swarm_id == swarm_id) out.push_back(it->second.row);
    }
    return out;
  }
  Result<std::vector<NodeMark>> LoadNodeMarks() override {
    std::lock_guard lock(mu_);
    std::vector<NodeMark> out;
    for (const auto& [key, mark] : marks_) out.push_back(mark);
    return out;
  }
  Result<std::vector<DeliveryRecord>> LoadDeliveries() override {
    std::lock_guard lock(mu_);
    std::vector<DeliveryRecord> out;
    for (const auto& [key, d] : deliveries_) out.push_back(d);
    std::stable_sort(out.begin(), out.end(), [](const DeliveryRecord& a, const DeliveryRecord& b) {
      return std::tie(a.swarm_id, a.node_id, a.first_seq) <
             std::tie(b.swarm_id, b.node_id, b.first_seq);
    });
    return out;
  }
  Result<std::vector<NodeCounters>> LoadNodeCounters() override {
    std::lock_guard lock(mu_);
    std::vector<NodeCounters> out;
    for (const auto& [key, c] : counters_) out.push_back(c);
    return out;
  }
  Result<uint64_t> PruneJournal(const PrunePolicy& policy) override {
    std::lock_guard lock(mu_);
    uint64_t upto = 0;
    int64_t tail = 0;
    for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) {
      tail += static_cast<int64_t>(it->second.row.line.size());
      if (it->second.wall_ms < policy.older_than_ms || tail > policy.max_bytes) {
        upto = std::max(upto, it->first);
      }
    }
    if (policy.keep_from_seq > 0) upto = std::min(upto, policy.keep_from_seq - 1);
    journal_.erase(journal_.begin(), journal_.upper_bound(upto));
    pruned_through_ = std::max(pruned_through_, upto);
    return pruned_through_;
  }
  Result<uint64_t> JournalPrunedThrough() override {
    std::lock_guard lock(mu_);
    return pruned_through_;
  }

 private:
  struct Row {
    JournalRow row;
    int64_t wall_ms = 0;
  };
  std::mutex mu_;
  std::map<std::string, SwarmRecord> swarms_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, Row> journal_;
  std::map<std::pair<std::string, int>, NodeMark> marks_;
  using DeliveryKey = std::tuple<std::string, int, std::string>;
  std::map<DeliveryKey, DeliveryRecord> deliveries_;
  std::map<std::pair<std::string, int>, NodeCounters> counters_;
  uint64_t pruned_through_ = 0;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace codeswarm::router
