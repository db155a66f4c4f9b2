#include "router/sqlite_deliveries.h"

#include <string>

namespace codeswarm::router {

// A prompt is kept once per injection (`injections`), however many nodes it targets, and a
// delivery's state changes rewrite only its small row.
const char* const kDeliveriesSchema = R"sql(
CREATE TABLE IF NOT EXISTS injections (
  swarm_id TEXT NOT NULL,
  injection_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  content TEXT NOT NULL,
  PRIMARY KEY (swarm_id, injection_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
  swarm_id TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  injection_id TEXT NOT NULL,
  state TEXT NOT NULL,
  instance TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  PRIMARY KEY (swarm_id, node_id, injection_id)
);
CREATE INDEX IF NOT EXISTS deliveries_by_injection ON deliveries (swarm_id, injection_id);
CREATE TABLE IF NOT EXISTS node_counters (
  swarm_id TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  turns_completed INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL,
  PRIMARY KEY (swarm_id, node_id)
);
-- Estimated USD per node, beside node_counters (a table of its own: databases of routers
-- before it have node_counters without it).
CREATE TABLE IF NOT EXISTS node_costs (
  swarm_id TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  PRIMARY KEY (swarm_id, node_id)
);
)sql";

namespace {

Status Error(sqlite3* db, const std::string& what) {
  return Status::IoError("state database: " + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

bool NodeChangesWriter::Prepare() {
  if (!upsert_delivery_) {
    insert_injection_ = std::make_unique<Statement>(
        db_, "INSERT OR IGNORE INTO injections VALUES (?1, ?2, ?3, ?4)");
    upsert_delivery_ = std::make_unique<Statement>(
        db_, "INSERT OR REPLACE INTO deliveries VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    delete_delivery_ = std::make_unique<Statement>(
        db_, "DELETE FROM deliveries WHERE swarm_id = ?1 AND node_id = ?2 AND injection_id = ?3");
    // The prompt goes with the injection's last delivery.
    delete_injection_ = std::make_unique<Statement>(
        db_,
        "DELETE FROM injections WHERE swarm_id = ?1 AND injection_id = ?2 AND NOT EXISTS "
        "(SELECT 1 FROM deliveries WHERE swarm_id = ?1 AND injection_id = ?2)");
    upsert_counters_ = std::make_unique<Statement>(
        db_, "INSERT OR REPLACE INTO node_counters VALUES (?1, ?2, ?3, ?4)");
    upsert_cost_ = std::make_unique<Statement>(
        db_, "INSERT OR REPLACE INTO node_costs VALUES (?1, ?2, ?3)");
  }
  return insert_injection_->ok() && upsert_delivery_->ok() && delete_delivery_->ok() &&
         delete_injection_->ok() && upsert_counters_->ok() &&
         upsert_cost_->ok();
}

bool NodeChangesWriter::Write(const NodeChanges& changes) {
  if (changes.empty()) return true;
  if (!Prepare()) return false;
  for (const DeliveryRecord& d : changes.deliveries) {
    if (d.ended) {
      delete_delivery_->Text(1, d.swarm_id);
      delete_delivery_->Int(2, d.node_id);
      delete_delivery_->Text(3, d.injection_id);
      delete_injection_->Text(1, d.swarm_id);
      delete_injection_->Text(2, d.injection_id);
      if (!delete_delivery_->Run() || !delete_injection_->Run()) return false;
      continue;
    }
    insert_injection_->Text(1, d.swarm_id);
    insert_injection_->Text(2, d.injection_id);
    insert_injection_->Text(3, d.request_id);
    insert_injection_->Text(4, d.content);
    upsert_delivery_->Text(1, d.swarm_id);
    upsert_delivery_->Int(2, d.node_id);
    upsert_delivery_->Text(3, d.injection_id);
    upsert_delivery_->Text(4, d.state);
    upsert_delivery_->Text(5, d.instance);
    upsert_delivery_->Int(6, static_cast<int64_t>(d.first_seq));
    if (!insert_injection_->Run() || !upsert_delivery_->Run()) return false;
  }
  for (const NodeCounters& c : changes.counters) {
    upsert_counters_->Text(1, c.swarm_id);
    upsert_counters_->Int(2, c.node_id);
    upsert_counters_->Int(3, c.turns_completed);
    upsert_counters_->Int(4, c.total_tokens);
    if (!upsert_counters_->Run()) return false;
    if (c.cost_usd == 0) continue;
    upsert_cost_->Text(1, c.swarm_id);
    upsert_cost_->Int(2, c.node_id);
    sqlite3_bind_double(upsert_cost_->get(), 3, c.cost_usd);
    if (!upsert_cost_->Run()) return false;
  }
  return true;
}

Result<std::vector<DeliveryRecord>> ReadDeliveries(sqlite3* db) {
  Statement read(db,
                 "SELECT d.swarm_id, d.node_id, d.injection_id, IFNULL(i.request_id, ''), "
                 "IFNULL(i.content, ''), d.state, d.instance, d.first_seq FROM deliveries d "
                 "LEFT JOIN injections i USING (swarm_id, injection_id) "
                 "ORDER BY d.swarm_id, d.node_id, d.first_seq");
  if (!read.ok()) return Error(db, "prepare");
  std::vector<DeliveryRecord> out;
  int rc;
  while ((rc = sqlite3_step(read.get())) == SQLITE_ROW) {
    DeliveryRecord d;
    d.swarm_id = read.ColumnText(0);
    d.node_id = sqlite3_column_int(read.get(), 1);
    d.injection_id = read.ColumnText(2);
    d.request_id = read.ColumnText(3);
    d.content = read.ColumnText(4);
    d.state = read.ColumnText(5);
    d.instance = read.ColumnText(6);
    d.first_seq = static_cast<uint64_t>(sqlite3_column_int64(read.get(), 7));
    out.push_back(std::move(d));
  }
  if (rc != SQLITE_DONE) return Error(db, "load deliveries");
  return out;
}

Result<std::vector<NodeCounters>> ReadNodeCounters(sqlite3* db) {
  Statement read(db,
                 "SELECT swarm_id, node_id, turns_completed, total_tokens, "
                 "COALESCE(cost_usd, 0) FROM node_counters LEFT JOIN node_costs "
                 "USING (swarm_id, node_id)");
  if (!read.ok()) return Error(db, "prepare");
  std::vector<NodeCounters> out;
  int rc;
  while ((rc = sqlite3_step(read.get())) == SQLITE_ROW) {
    out.push_back(NodeCounters{read.ColumnText(0), sqlite3_column_int(read.get(), 1),
                               sqlite3_column_int64(read.get(), 2),
                               sqlite3_column_int64(read.get(), 3),
                               sqlite3_column_double(read.get(), 4)});
  }
  if (rc != SQLITE_DONE) return Error(db, "load node counters");
  return out;
}

}  // namespace codeswarm::router
