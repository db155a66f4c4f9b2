// Durable router state: the swarm registry and the event sequence counter, so a restarted router
// knows every swarm and never reuses an event seq.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
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

class Store {
 public:
  virtual ~Store() = default;
  // Inserts or replaces the record with this swarm_id.
  virtual Status SaveSwarm(const SwarmRecord& record) = 0;
  virtual Result<std::vector<SwarmRecord>> LoadSwarms() = 0;
  // Reserves `count` event sequence numbers and returns the first. Durable before it returns, so
  // numbers handed out are never handed out again after a crash.
  virtual Result<uint64_t> ReserveSeq(uint64_t count) = 0;
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

  Store& target() { return target_; }

 private:
  Store& target_;
};

// SQLite (WAL) at `path`, created 0600 if missing.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// Keeps everything in memory: for tests.
std::unique_ptr<Store> NewMemoryStore();

}  // namespace codeswarm::router
