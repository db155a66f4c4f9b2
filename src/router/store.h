// Durable router state: the swarm registry, the event sequence counter, the event journal
// (every broadcast event line with its seq, and per node the last worker event journaled) and
// what each node still owes (its unfinished injections and its counters), so a restarted router
// knows every swarm, never reuses an event seq, replays what a client missed, takes each worker
// event exactly once and delivers (or fails) each accepted injection exactly once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace codeswarm::router {

struct SwarmRecord {
  std::string swarm_id;
  std::string job_id;
  std::string backend;
  int node_count = 0;
  std::string system_prompt;
  std::string agent_json;
  std::string secret;
  std::string status;
  std::string backend_state;
  std::string reason;
  int64_t created_ms = 0;
  int64_t ended_ms = 0;
};

// One broadcast event line as written to the journal. Views into the caller's buffers.
struct JournalEntry {
  uint64_t seq = 0;
  std::string_view swarm_id;  // empty for events of no swarm
  int64_t wall_ms = 0;
  std::string_view line;      // the whole event line, newline included
};

// A journaled event read back.
struct JournalRow {
  uint64_t seq = 0;
  std::string swarm_id;
  std::string line;
};

// The last event seq of a worker instance that the journal holds for a node.
struct NodeMark {
  std::string swarm_id;
  int node_id = 0;
  std::string instance;
  uint64_t last_seq = 0;
};

// An injection a node has not yet answered (a turn_complete, or inject_failed), as the store
// keeps it: from its inject_ack until its ending, which removes it.
struct DeliveryRecord {
  std::string swarm_id;
  int node_id = 0;
  std::string injection_id;
  std::string request_id;
  std::string content;
  std::string state;        // "queued" (not yet with a worker), "delivered", "running"
  std::string instance;     // the worker process that took it; empty while queued
  uint64_t first_seq = 0;   // the seq of its inject_ack (0: unknown); a node's order
  bool ended = false;       // in a change: the injection has its ending; the record goes
};

// A node's running totals (docs/PROTOCOL.md, swarm_status).
struct NodeCounters {
  std::string swarm_id;
  int node_id = 0;
  int64_t turns_completed = 0;
  int64_t total_tokens = 0;
  double cost_usd = 0;  // estimated, of the node's usage events
};

// Changes to what nodes owe, written with the journal entries whose events caused them.
struct NodeChanges {
  std::vector<DeliveryRecord> deliveries;  // inserted or replaced; `ended` ones removed
  std::vector<NodeCounters> counters;      // replaced
  bool empty() const { return deliveries.empty() && counters.empty(); }
};

// What the journal may drop: the oldest events, by age and by total size, but never an event
// with seq >= keep_from_seq. What is dropped is always a prefix of the journal.
struct PrunePolicy {
  int64_t older_than_ms = 0;  // events written before this wall time
  int64_t max_bytes = 0;      // keep at most about this many bytes of lines
  uint64_t keep_from_seq = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Inserts or replaces the record with this swarm_id.
  virtual Status SaveSwarm(const SwarmRecord& record) = 0;
  virtual Result<std::vector<SwarmRecord>> LoadSwarms() = 0;
  // Reserves `count` event sequence numbers and returns the first. Durable before it returns, so
  // numbers handed out are never handed out again after a crash.
  virtual Result<uint64_t> ReserveSeq(uint64_t count) = 0;

  // Writes journal entries, node marks (replacing the mark of the same node) and node changes in
  // ONE transaction: either all of them are durable or none is. A process crash after it
  // returns loses none of them.
  virtual Status AppendJournal(const std::vector<JournalEntry>& entries,
                               const std::vector<NodeMark>& marks, const NodeChanges& changes) = 0;
  // Journaled events with after_seq < seq <= through_seq, of `swarm_id` unless it is empty, in
  // seq order, at most `limit` of them.
  virtual Result<std::vector<JournalRow>> ReadJournal(uint64_t after_seq, uint64_t through_seq,
                                                      const std::string& swarm_id,
                                                      std::size_t limit) = 0;
  virtual Result<std::vector<NodeMark>> LoadNodeMarks() = 0;
  // Every delivery not ended, ordered by (swarm_id, node_id, first_seq).
  virtual Result<std::vector<DeliveryRecord>> LoadDeliveries() = 0;
  virtual Result<std::vector<NodeCounters>> LoadNodeCounters() = 0;
  // Drops what `policy` allows; returns the highest seq ever pruned (0: none).
  virtual Result<uint64_t> PruneJournal(const PrunePolicy& policy) = 0;
  // The highest seq ever pruned (0: none): a replay from below it has a hole.
  virtual Result<uint64_t> JournalPrunedThrough() = 0;
};

// Forwards every call to another Store. A subclass overrides only the calls it wants to change
// (as leveldb's EnvWrapper does): tests use one that makes chosen calls fail.
class ForwardingStore : public Store {
 public:
  // Borrows `target`, which must outlive this object.
  explicit ForwardingStore(Store& target) : target_(target) {}

  Status SaveSwarm(const SwarmRecord& record) override { return target_.SaveSwarm(record); }
  Result<std::vector<SwarmRecord>> LoadSwarms() override { return target_.LoadSwarms(); }
  Result<uint64_t> ReserveSeq(uint64_t count) override { return target_.ReserveSeq(count); }
  Status AppendJournal(const std::vector<JournalEntry>& entries,
                       const std::vector<NodeMark>& marks, const NodeChanges& changes) override {
    return target_.AppendJournal(entries, marks, changes);
  }
  Result<std::vector<JournalRow>> ReadJournal(uint64_t after_seq, uint64_t through_seq,
                                              const std::string& swarm_id,
                                              std::size_t limit) override {
    return target_.ReadJournal(after_seq, through_seq, swarm_id, limit);
  }
  Result<std::vector<NodeMark>> LoadNodeMarks() override { return target_.LoadNodeMarks(); }
  Result<std::vector<DeliveryRecord>> LoadDeliveries() override {
    return target_.LoadDeliveries();
  }
  Result<std::vector<NodeCounters>> LoadNodeCounters() override {
    return target_.LoadNodeCounters();
  }
  Result<uint64_t> PruneJournal(const PrunePolicy& policy) override {
    return target_.PruneJournal(policy);
  }
  Result<uint64_t> JournalPrunedThrough() override { return target_.JournalPrunedThrough(); }

  Store& target() { return target_; }

 private:
  Store& target_;
};

// SQLite (WAL) at `path`, created 0600 if missing.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// Keeps everything in memory: for tests.
std::unique_ptr<Store> NewMemoryStore();

}  // namespace codeswarm::router
