#include "router/sqlite_deliveries.h"

#include <string>

namespace codeswarm::router {

const char* const kDeliveriesSchema = R"sql(
CREATE TABLE IF NOT EXISTS deliveries (
  swarm_id TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  injection_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  content TEXT NOT NULL,
  state TEXT NOT NULL,
  instance TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  PRIMARY KEY (swarm_id, node_id, injection_id)
);
CREATE TABLE IF NOT EXISTS node_counters (
  swarm_id TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  turns_completed INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL,
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
    upsert_delivery_ = std::make_unique<Statement>(
        db_, "INSERT OR REPLACE INTO deliveries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    delete_delivery_ = std::make_unique<Statement>(
        db_, "DELETE FROM deliveries WHERE swarm_id = ?1 AND node_id = ?2 AND injection_id = ?3");
    upsert_counters_ = std::make_unique<Statement>(
        db_, "INSERT OR REPLACE INTO node_counters VALUES (?1, ?2, ?3, ?4)");
  }
  return upsert_delivery_->ok() && delete_delivery_->ok() && upsert_counters_->ok();
}

bool NodeChangesWriter::Write(const NodeChanges& changes) {
  if (changes.empty()) return true;
  if (!Prepare()) return false;
  for (const DeliveryRecord& d : changes.deliveries) {
    Statement& s = d.ended ? *delete_delivery_ : *upsert_delivery_;
    s.Text(1, d.swarm_id);
    s.Int(2, d.node_id);
    s.Text(3, d.injection_id);
    if (!d.ended) {
      s.Text(4, d.request_id);
      s.Text(5, d.content);
      s.Text(6, d.state);
      s.Text(7, d.instance);
      s.Int(8, static_cast<int64_t>(d.first_seq));
    }
    if (!s.Run()) return false;
  }
  for (const NodeCounters& c : changes.counters) {
    upsert_counters_->Text(1, c.swarm_id);
    upsert_counters_->Int(2, c.node_id);
    upsert_counters_->Int(3, c.turns_completed);
    upsert_counters_->Int(4, c.total_tokens);
    if (!upsert_counters_->Run()) return false;
  }
  return true;
}

Result<std::vector<DeliveryRecord>> ReadDeliveries(sqlite3* db) {
  Statement read(db,
                 "SELECT swarm_id, node_id, injection_id, request_id, content, state, instance, "
                 "first_seq FROM deliveries ORDER BY swarm_id, node_id, first_seq");
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
  Statement read(db, "SELECT swarm_id, node_id, turns_completed, total_tokens FROM node_counters");
  if (!read.ok()) return Error(db, "prepare");
  std::vector<NodeCounters> out;
  int rc;
  while ((rc = sqlite3_step(read.get())) == SQLITE_ROW) {
    out.push_back(NodeCounters{read.ColumnText(0), sqlite3_column_int(read.get(), 1),
                               sqlite3_column_int64(read.get(), 2),
                               sqlite3_column_int64(read.get(), 3)});
  }
  if (rc != SQLITE_DONE) return Error(db, "load node counters");
  return out;
}

}  // namespace codeswarm::router
