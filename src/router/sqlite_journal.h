// The SQLite Store's event journal table: chunks of event lines in the compact form of
// router/journal_codec.h. Helpers for sqlite_store.cc; the caller holds the store's lock.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "router/journal_codec.h"
#include "router/sqlite_statement.h"
#include "router/store.h"

namespace codeswarm::router {

// CREATE TABLE IF NOT EXISTS statement of the `journal` table.
extern const char* const kJournalSchema;

// Moves the journal of a database written before the compact form (table `journal_chunks`:
// lines whole, seqs as 8-byte integers) into `journal`, in one transaction, and drops the old
// table. Nothing when there is none. On an SQLite error nothing is changed.
Status MigrateJournalChunks(sqlite3* db);

// Writes journal entries as chunks: each run of consecutive entries of one swarm is one row.
class JournalAppender {
 public:
  // Borrows `db`, which must outlive this object.
  explicit JournalAppender(sqlite3* db) : db_(db) {}
  // Writes `entries` in the caller's open transaction. False on an SQLite error.
  bool Write(const std::vector<JournalEntry>& entries);

 private:
  sqlite3* db_;
  std::unique_ptr<Statement> insert_;
  // Kept, so that its memory is reused from one commit to the next rather than allocated (and
  // faulted in) anew each time.
  JournalChunkEncoder encoder_;
};

}  // namespace codeswarm::router
