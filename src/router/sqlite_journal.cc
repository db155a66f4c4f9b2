#include "router/sqlite_journal.h"

#include <cstdint>
#include <string_view>

namespace codeswarm::router {

// One row per event costs the router far more than the events themselves: a row is a run of
// consecutive events of one swarm from one commit.
const char* const kJournalSchema = R"sql(
CREATE TABLE IF NOT EXISTS journal (
  first_seq INTEGER PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  swarm_id TEXT NOT NULL,
  wall_ms INTEGER NOT NULL,
  events BLOB NOT NULL
);
)sql";

namespace {

bool Insert(Statement& insert, uint64_t first_seq, uint64_t last_seq, std::string_view swarm_id,
            int64_t wall_ms, std::string_view events) {
  insert.Int(1, static_cast<int64_t>(first_seq));
  insert.Int(2, static_cast<int64_t>(last_seq));
  insert.Text(3, swarm_id);
  insert.Int(4, wall_ms);
  sqlite3_bind_blob(insert.get(), 5, events.data(), static_cast<int>(events.size()), SQLITE_STATIC);
  return insert.Run();
}

constexpr const char* kInsert = "INSERT INTO journal VALUES (?1, ?2, ?3, ?4, ?5)";

}  // namespace

bool JournalAppender::Write(const std::vector<JournalEntry>& entries) {
  if (!insert_) insert_ = std::make_unique<Statement>(db_, kInsert);
  if (!insert_->ok()) return false;
  for (std::size_t begin = 0; begin < entries.size();) {
    std::size_t end = begin;
    encoder_.Clear();
    while (end < entries.size() && entries[end].swarm_id == entries[begin].swarm_id) {
      encoder_.Add(entries[end].seq, entries[end].line);
      ++end;
    }
    if (!Insert(*insert_, entries[begin].seq, entries[end - 1].seq, entries[begin].swarm_id,
                entries[begin].wall_ms, encoder_.bytes())) {
      return false;
    }
    begin = end;
  }
  return true;
}

Status MigrateJournalChunks(sqlite3* db) {
  auto error = [db] {
    return Status::IoError(std::string("cannot convert the journal to its compact form: ") +
                           sqlite3_errmsg(db));
  };
  Statement exists(db,
                   "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                   "'journal_chunks'");
  if (!exists.ok()) return error();
  const int found = sqlite3_step(exists.get());
  sqlite3_reset(exists.get());  // a statement still reading sqlite_master blocks the DROP
  if (found == SQLITE_DONE) return Status::Ok();
  if (found != SQLITE_ROW) return error();
  if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return error();
  Statement read(db,
                 "SELECT first_seq, last_seq, swarm_id, wall_ms, seqs, lines "
                 "FROM journal_chunks ORDER BY first_seq");
  Statement insert(db, kInsert);
  bool ok = read.ok() && insert.ok();
  JournalChunkEncoder encoder;
  int rc = SQLITE_DONE;
  while (ok && (rc = sqlite3_step(read.get())) == SQLITE_ROW) {
    const auto* seqs = static_cast<const unsigned char*>(sqlite3_column_blob(read.get(), 4));
    const std::size_t count = static_cast<std::size_t>(sqlite3_column_bytes(read.get(), 4)) / 8;
    const std::string lines = read.ColumnText(5);
    encoder.Clear();
    std::size_t pos = 0;
    for (std::size_t i = 0; i < count && pos < lines.size(); ++i) {
      uint64_t seq = 0;
      for (int b = 0; b < 8; ++b) seq |= static_cast<uint64_t>(seqs[i * 8 + b]) << (8 * b);
      std::size_t end = lines.find('\n', pos);
      end = end == std::string::npos ? lines.size() : end + 1;
      encoder.Add(seq, std::string_view(lines).substr(pos, end - pos));
      pos = end;
    }
    if (encoder.lines() == 0) continue;
    const std::string swarm_id = read.ColumnText(2);
    ok = Insert(insert, static_cast<uint64_t>(sqlite3_column_int64(read.get(), 0)),
                static_cast<uint64_t>(sqlite3_column_int64(read.get(), 1)), swarm_id,
                sqlite3_column_int64(read.get(), 3), encoder.bytes());
  }
  sqlite3_reset(read.get());  // a table being read cannot be dropped
  ok = ok && rc == SQLITE_DONE &&
       sqlite3_exec(db, "DROP TABLE journal_chunks", nullptr, nullptr, nullptr) == SQLITE_OK &&
       sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (ok) return Status::Ok();
  Status failed = error();
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return failed;
}

}  // namespace codeswarm::router
