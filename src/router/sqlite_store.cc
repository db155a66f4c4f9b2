#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "router/sqlite_deliveries.h"
#include "router/sqlite_journal.h"
#include "router/sqlite_statement.h"
#include "router/store.h"

namespace codeswarm::router {

namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA wal_autocheckpoint=16384;
PRAGMA journal_size_limit=67108864;
CREATE TABLE IF NOT EXISTS swarms (
  swarm_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  backend TEXT NOT NULL,
  node_count INTEGER NOT NULL,
  system_prompt TEXT NOT NULL,
  agent_json TEXT NOT NULL,
  secret TEXT NOT NULL,
  status TEXT NOT NULL,
  backend_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS node_marks (
  swarm_id TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  instance TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  PRIMARY KEY (swarm_id, node_id)
);
)sql";

class SqliteStore : public Store {
 public:
  SqliteStore(sqlite3* db, std::string path)
      : db_(db),
        path_(std::move(path)),
        journal_(std::make_unique<JournalAppender>(db)),
        node_changes_(std::make_unique<NodeChangesWriter>(db)) {}
  ~SqliteStore() override {
    journal_.reset();
    upsert_mark_.reset();
    node_changes_.reset();
    sqlite3_close_v2(db_);
  }

  Status SaveSwarm(const SwarmRecord& r) override {
    std::lock_guard lock(mu_);
    sqlite3_stmt* stmt = nullptr;
    const char* sql =
        "INSERT OR REPLACE INTO swarms VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return Error("prepare");
    auto text = [&](int i, const std::string& s) {
      sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    };
    text(1, r.swarm_id);
    text(2, r.job_id);
    text(3, r.backend);
    sqlite3_bind_int(stmt, 4, r.node_count);
    text(5, r.system_prompt);
    text(6, r.agent_json);
    text(7, r.secret);
    text(8, r.status);
    text(9, r.backend_state);
    text(10, r.reason);
    sqlite3_bind_int64(stmt, 11, r.created_ms);
    sqlite3_bind_int64(stmt, 12, r.ended_ms);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? Status::Ok() : Error("save swarm " + r.swarm_id);
  }

  Result<std::vector<SwarmRecord>> LoadSwarms() override {
    std::lock_guard lock(mu_);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT * FROM swarms ORDER BY created_ms", -1, &stmt, nullptr) !=
        SQLITE_OK) {
      return Error("prepare");
    }
    std::vector<SwarmRecord> out;
    auto col = [&](int i) {
      const unsigned char* t = sqlite3_column_text(stmt, i);
      return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
    };
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      SwarmRecord r;
      r.swarm_id = col(0);
      r.job_id = col(1);
      r.backend = col(2);
      r.node_count = sqlite3_column_int(stmt, 3);
      r.system_prompt = col(4);
      r.agent_json = col(5);
      r.secret = col(6);
      r.status = col(7);
      r.backend_state = col(8);
      r.reason = col(9);
      r.created_ms = sqlite3_column_int64(stmt, 10);
      r.ended_ms = sqlite3_column_int64(stmt, 11);
      out.push_back(std::move(r));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return Error("load swarms");
    return out;
  }

  Result<uint64_t> ReserveSeq(uint64_t count) override {
    std::lock_guard lock(mu_);
    // One statement, so the read and the bump are one atomic, durable step.
    const char* sql =
        "INSERT INTO meta(key, value) VALUES('next_seq', 1 + ?1) "
        "ON CONFLICT(key) DO UPDATE SET value = value + ?1 RETURNING value - ?1";
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return Error("prepare");
    sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(count));
    uint64_t first = 0;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) first = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
    while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return Error("reserve seq");
    return first;
  }

  Status AppendJournal(const std::vector<JournalEntry>& entries,
                       const std::vector<NodeMark>& marks, const NodeChanges& changes) override {
    std::lock_guard lock(mu_);
    if (!upsert_mark_) {
      upsert_mark_ = std::make_unique<Statement>(
          db_, "INSERT OR REPLACE INTO node_marks VALUES (?1, ?2, ?3, ?4)");
    }
    if (!upsert_mark_->ok()) return Error("prepare journal");
    if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return Error("begin");
    bool ok = journal_->Write(entries);
    for (std::size_t i = 0; ok && i < marks.size(); ++i) {
      upsert_mark_->Text(1, marks[i].swarm_id);
      upsert_mark_->Int(2, marks[i].node_id);
      upsert_mark_->Text(3, marks[i].instance);
      upsert_mark_->Int(4, static_cast<int64_t>(marks[i].last_seq));
      ok = upsert_mark_->Run();
    }
    ok = ok && node_changes_->Write(changes);
    if (ok && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK) {
      return Status::Ok();
    }
    Status error = Error("write journal");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return error;
  }

  Result<std::vector<JournalRow>> ReadJournal(uint64_t after_seq, uint64_t through_seq,
                                              const std::string& swarm_id,
                                              std::size_t limit) override {
    std::lock_guard lock(mu_);
    Statement read(db_,
                   "SELECT events, first_seq, swarm_id FROM journal WHERE last_seq > ?1 "
                   "AND first_seq <= ?2 AND (?3 = '' OR swarm_id = ?3) ORDER BY first_seq");
    if (!read.ok()) return Error("prepare");
    read.Int(1, static_cast<int64_t>(after_seq));
    read.Int(2, static_cast<int64_t>(std::min<uint64_t>(through_seq, INT64_MAX)));
    read.Text(3, swarm_id);
    std::vector<JournalRow> out;
    int rc = SQLITE_DONE;
    while (out.size() < limit && (rc = sqlite3_step(read.get())) == SQLITE_ROW) {
      const std::string_view events(
          static_cast<const char*>(sqlite3_column_blob(read.get(), 0)),
          static_cast<std::size_t>(sqlite3_column_bytes(read.get(), 0)));
      const std::string swarm = read.ColumnText(2);
      Status decoded =
          DecodeJournalChunk(events, line_, [&](uint64_t seq, std::string_view line) {
            if (seq > through_seq) return false;
            if (seq > after_seq) out.push_back(JournalRow{seq, swarm, std::string(line)});
            return out.size() < limit;
          });
      if (!decoded.ok()) {
        return Status::IoError("state database " + path_ + ": the events from seq " +
                               std::to_string(sqlite3_column_int64(read.get(), 1)) + ": " +
                               decoded.message());
      }
    }
    if (out.size() < limit && rc != SQLITE_DONE) return Error("read journal");
    return out;
  }

  Result<std::vector<NodeMark>> LoadNodeMarks() override {
    std::lock_guard lock(mu_);
    Statement read(db_, "SELECT swarm_id, node_id, instance, last_seq FROM node_marks");
    if (!read.ok()) return Error("prepare");
    std::vector<NodeMark> out;
    int rc;
    while ((rc = sqlite3_step(read.get())) == SQLITE_ROW) {
      out.push_back(NodeMark{read.ColumnText(0), sqlite3_column_int(read.get(), 1),
                             read.ColumnText(2),
                             static_cast<uint64_t>(sqlite3_column_int64(read.get(), 3))});
    }
    if (rc != SQLITE_DONE) return Error("load node marks");
    return out;
  }

  Result<std::vector<DeliveryRecord>> LoadDeliveries() override {
    std::lock_guard lock(mu_);
    return ReadDeliveries(db_);
  }

  Result<std::vector<NodeCounters>> LoadNodeCounters() override {
    std::lock_guard lock(mu_);
    return ReadNodeCounters(db_);
  }

  Result<uint64_t> PruneJournal(const PrunePolicy& policy) override {
    std::lock_guard lock(mu_);
    // The newest seq each rule lets go: by age, and the newest whose tail (it and everything
    // after it) passes the size budget. Dropping up to the larger keeps a prefix either way.
    Statement by_age(db_,
                     "SELECT IFNULL(MAX(last_seq), 0) FROM journal WHERE wall_ms < ?1");
    Statement by_size(db_,
                      "SELECT IFNULL(MAX(last_seq), 0) FROM (SELECT last_seq, SUM(LENGTH(events)) "
                      "OVER (ORDER BY first_seq DESC) AS tail FROM journal) WHERE tail > ?1");
    if (!by_age.ok() || !by_size.ok()) return Error("prepare");
    by_age.Int(1, policy.older_than_ms);
    by_size.Int(1, policy.max_bytes);
    if (sqlite3_step(by_age.get()) != SQLITE_ROW || sqlite3_step(by_size.get()) != SQLITE_ROW) {
      return Error("measure journal");
    }
    uint64_t upto = static_cast<uint64_t>(std::max(sqlite3_column_int64(by_age.get(), 0),
                                                   sqlite3_column_int64(by_size.get(), 0)));
    if (policy.keep_from_seq > 0) upto = std::min(upto, policy.keep_from_seq - 1);
    // Whole chunks go: the last one that ends at or before `upto`.
    Statement last(db_,
                   "SELECT IFNULL(MAX(last_seq), 0) FROM journal WHERE last_seq <= ?1");
    if (!last.ok()) return Error("prepare");
    last.Int(1, static_cast<int64_t>(upto));
    if (sqlite3_step(last.get()) != SQLITE_ROW) return Error("measure journal");
    upto = static_cast<uint64_t>(sqlite3_column_int64(last.get(), 0));
    if (upto > 0) {
      Statement drop(db_, "DELETE FROM journal WHERE last_seq <= ?1");
      Statement mark(db_,
                     "INSERT INTO meta(key, value) VALUES('pruned_through', ?1) "
                     "ON CONFLICT(key) DO UPDATE SET value = MAX(value, ?1)");
      if (!drop.ok() || !mark.ok()) return Error("prepare");
      drop.Int(1, static_cast<int64_t>(upto));
      mark.Int(1, static_cast<int64_t>(upto));
      if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return Error("begin");
      if (!drop.Run() || !mark.Run() ||
          sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        Status error = Error("prune journal");
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return error;
      }
    }
    return PrunedThroughLocked();
  }

  Result<uint64_t> JournalPrunedThrough() override {
    std::lock_guard lock(mu_);
    return PrunedThroughLocked();
  }

 private:
  Result<uint64_t> PrunedThroughLocked() {
    Statement read(db_, "SELECT value FROM meta WHERE key = 'pruned_through'");
    if (!read.ok()) return Error("prepare");
    int rc = sqlite3_step(read.get());
    if (rc == SQLITE_ROW) return static_cast<uint64_t>(sqlite3_column_int64(read.get(), 0));
    if (rc != SQLITE_DONE) return Error("read pruned_through");
    return uint64_t{0};
  }

  // Names the file and, for a failure of the disk, what the system said ("database or disk is
  // full (No space left on device)"): the message reaches the person who must fix it.
  Status Error(const std::string& what) {
    std::string message = "state database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_);
    const int primary = sqlite3_errcode(db_) & 0xff;
    const int system_errno = sqlite3_system_errno(db_);
    if (system_errno != 0 && (primary == SQLITE_IOERR || primary == SQLITE_FULL ||
                              primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY)) {
      message += std::string(" (") + std::strerror(system_errno) + ")";
    }
    return Status::IoError(std::move(message));
  }

  std::mutex mu_;
  sqlite3* db_;
  const std::string path_;
  // A line ReadJournal rebuilds (its memory reused from one line to the next).
  std::string line_;
  // Prepared once: the journal is written every loop turn while events stream.
  std::unique_ptr<JournalAppender> journal_;
  std::unique_ptr<Statement> upsert_mark_;
  std::unique_ptr<NodeChangesWriter> node_changes_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  mode_t old_mask = ::umask(077);  // the database holds swarm secrets
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  ::umask(old_mask);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::IoError("cannot open state database " + path + ": " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &error) != SQLITE_OK ||
      sqlite3_exec(db, kJournalSchema, nullptr, nullptr, &error) != SQLITE_OK ||
      sqlite3_exec(db, kDeliveriesSchema, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    sqlite3_close_v2(db);
    return Status::IoError("cannot initialise state database " + path + ": " + message);
  }
  if (Status migrated = MigrateJournalChunks(db); !migrated.ok()) {
    sqlite3_close_v2(db);
    return Status::IoError("cannot open state database " + path + ": " + migrated.message());
  }
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(db, path));
}

}  // namespace codeswarm::router
