#include <sqlite3.h>
#include <sys/stat.h>

#include <map>
#include <mutex>

#include "router/store.h"

namespace codeswarm::router {

namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
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
)sql";

class SqliteStore : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { sqlite3_close_v2(db_); }

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

 private:
  Status Error(const std::string& what) {
    return Status::IoError("state database: " + what + ": " + sqlite3_errmsg(db_));
  }

  std::mutex mu_;
  sqlite3* db_;
};

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

 private:
  std::mutex mu_;
  std::map<std::string, SwarmRecord> swarms_;
  uint64_t next_seq_ = 1;
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
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    sqlite3_close_v2(db);
    return Status::IoError("cannot initialise state database " + path + ": " + message);
  }
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(db));
}

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace codeswarm::router
