// The SQLite Store's tables of what nodes owe: `deliveries` (each accepted (injection, node) from
// its inject_ack until its ending), `injections` (their prompts) and `node_counters`. Written
// inside the journal's transactions (SqliteStore::AppendJournal), so a row and the events that
// explain it are never apart. Helpers for sqlite_store.cc; the caller holds the store's lock.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <vector>

#include "common/status.h"
#include "router/sqlite_statement.h"
#include "router/store.h"

namespace codeswarm::router {

// CREATE TABLE / INDEX IF NOT EXISTS statements of the three tables.
extern const char* const kDeliveriesSchema;

// Writes NodeChanges with statements prepared once (the journal is written every loop turn
// while workers stream, though node changes come only a few per turn of an agent).
class NodeChangesWriter {
 public:
  // Borrows `db`, which must outlive this object.
  explicit NodeChangesWriter(sqlite3* db) : db_(db) {}
  // Writes `changes` in the caller's open transaction. False on an SQLite error (the caller
  // rolls back and reads sqlite3_errmsg).
  bool Write(const NodeChanges& changes);

 private:
  bool Prepare();

  sqlite3* db_;
  std::unique_ptr<Statement> insert_injection_;
  std::unique_ptr<Statement> upsert_delivery_;
  std::unique_ptr<Statement> delete_delivery_;
  std::unique_ptr<Statement> delete_injection_;
  std::unique_ptr<Statement> upsert_counters_;
  std::unique_ptr<Statement> upsert_cost_;
};

// Ordered by (swarm_id, node_id, first_seq).
Result<std::vector<DeliveryRecord>> ReadDeliveries(sqlite3* db);
Result<std::vector<NodeCounters>> ReadNodeCounters(sqlite3* db);

}  // namespace codeswarm::router
