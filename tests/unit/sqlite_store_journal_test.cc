// The SQLite store's event journal and node marks, on a real database file.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "router/store.h"
#include "support/temp_dir.h"

namespace codeswarm::router {
namespace {

class SqliteJournalTest : public ::testing::Test {
 protected:
  SqliteJournalTest() { Open(); }
  void Open() {
    store_.reset();
    auto opened = OpenSqliteStore(dir_.path() + "/router.db");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
  }
  // Appends events seq first..last of `swarm`, written at `ms`, each line `bytes` long.
  // One commit, unless `each_alone`: one commit per event.
  Status Append(uint64_t first, uint64_t last, const std::string& swarm, int64_t ms = 1000,
                std::size_t bytes = 10, bool each_alone = false) {
    std::vector<std::string> lines;
    for (uint64_t seq = first; seq <= last; ++seq) {
      std::string line = "e" + std::to_string(seq);
      line.resize(bytes - 1, '.');
      lines.push_back(line + "\n");
    }
    std::vector<JournalEntry> entries;
    for (uint64_t seq = first; seq <= last; ++seq) {
      entries.push_back(JournalEntry{seq, swarm, ms, lines[seq - first]});
    }
    if (!each_alone) return store_->AppendJournal(entries, {}, {});
    for (const JournalEntry& entry : entries) {
      if (Status s = store_->AppendJournal({entry}, {}, {}); !s.ok()) return s;
    }
    return Status::Ok();
  }
  std::vector<uint64_t> Seqs(uint64_t after, uint64_t through, const std::string& swarm = "",
                             std::size_t limit = 1000) {
    auto rows = store_->ReadJournal(after, through, swarm, limit);
    EXPECT_TRUE(rows.ok());
    std::vector<uint64_t> out;
    for (const JournalRow& row : *rows) out.push_back(row.seq);
    return out;
  }

  test_support::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteJournalTest, ReadsBackARangeOfOneSwarmInSeqOrderAfterAReopen) {
  ASSERT_TRUE(Append(1, 3, "s-a").ok());
  ASSERT_TRUE(Append(4, 5, "s-b").ok());
  ASSERT_TRUE(Append(6, 6, "s-a").ok());
  Open();
  EXPECT_EQ(Seqs(0, 100), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Seqs(2, 5), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(Seqs(0, 100, "s-a"), (std::vector<uint64_t>{1, 2, 3, 6}));
  EXPECT_EQ(Seqs(0, 100, "", 2), (std::vector<uint64_t>{1, 2}));
  auto rows = store_->ReadJournal(0, 1, "", 10);
  EXPECT_EQ(rows->at(0).line, "e1.......\n");
  EXPECT_EQ(rows->at(0).swarm_id, "s-a");
}

TEST_F(SqliteJournalTest, ACommitOfInterleavedSwarmsReadsBackInSeqOrder) {
  std::string l1 = "one\n", l2 = "two\n", l3 = "three\n";
  ASSERT_TRUE(store_
                  ->AppendJournal({{1, "s-a", 0, l1}, {2, "s-b", 0, l2}, {3, "s-a", 0, l3}}, {},
                                  {})
                  .ok());
  auto rows = store_->ReadJournal(0, 10, "", 10);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ(rows->at(1).line, "two\n");
  EXPECT_EQ(rows->at(1).swarm_id, "s-b");
  EXPECT_EQ(Seqs(0, 10, "s-a"), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(Seqs(1, 2), (std::vector<uint64_t>{2}));
}

TEST_F(SqliteJournalTest, EventsAndNodeMarksAreOneTransaction) {
  std::string line = "x\n";
  std::vector<NodeMark> marks{{"s-a", 0, "inst-a", 4}};
  ASSERT_TRUE(store_->AppendJournal({{1, "s-a", 0, line}}, marks, {}).ok());
  marks[0].last_seq = 9;
  // Seq 1 again violates the journal's key: nothing of this batch is kept, not even the mark.
  Status failed =
      store_->AppendJournal({{2, "s-a", 0, line}, {1, "s-b", 0, line}}, marks, {});
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("write journal"), std::string::npos) << failed.message();
  EXPECT_EQ(Seqs(0, 100), (std::vector<uint64_t>{1}));
  auto stored = store_->LoadNodeMarks();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->at(0).last_seq, 4u);
  // A later batch replaces the node's mark.
  ASSERT_TRUE(store_->AppendJournal({}, {{"s-a", 0, "inst-b", 2}}, {}).ok());
  stored = store_->LoadNodeMarks();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->at(0).instance, "inst-b");
  EXPECT_EQ(stored->at(0).last_seq, 2u);
}

TEST_F(SqliteJournalTest, PrunesTheOldestByAgeAndBySizeButNotWhatItMustKeep) {
  ASSERT_TRUE(Append(1, 10, "s-a", /*ms=*/1000).ok());
  ASSERT_TRUE(Append(11, 20, "s-a", /*ms=*/5000, 10, /*each_alone=*/true).ok());
  // By age: everything written before 2000.
  EXPECT_EQ(*store_->PruneJournal({.older_than_ms = 2000, .max_bytes = 1 << 20}), 10u);
  EXPECT_EQ(Seqs(0, 100).front(), 11u);
  // By size, as stored: a 10-byte line of no event's shape, alone in its commit, takes 14 bytes
  // (format, seq, kind, length), so the newest 5 fit in 75 bytes; but 14 on must stay.
  EXPECT_EQ(*store_->PruneJournal({.older_than_ms = 0, .max_bytes = 75, .keep_from_seq = 14}), 13u);
  EXPECT_EQ(Seqs(0, 100).front(), 14u);
  EXPECT_EQ(*store_->PruneJournal({.older_than_ms = 0, .max_bytes = 75}), 15u);
  EXPECT_EQ(Seqs(0, 100), (std::vector<uint64_t>{16, 17, 18, 19, 20}));
  Open();
  EXPECT_EQ(*store_->JournalPrunedThrough(), 15u);
}

TEST_F(SqliteJournalTest, AJournalWrittenBeforeTheCompactFormIsConvertedOnOpen) {
  store_.reset();
  const std::string path = dir_.path() + "/router.db";
  {
    // The table as the router wrote it before: lines whole, seqs as 8-byte integers.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* old = R"sql(
DROP TABLE IF EXISTS journal;
CREATE TABLE journal_chunks (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL,
  swarm_id TEXT NOT NULL, wall_ms INTEGER NOT NULL, seqs BLOB NOT NULL, lines TEXT NOT NULL);
INSERT INTO journal_chunks VALUES (3, 4, 's-a', 1000,
  X'03000000000000000400000000000000',
  '{"protocol":"codeswarm.router.v1","type":"event","seq":3,"timestamp":"t","event":"e","data":{"swarm_id":"s-a"}}' || char(10) || 'four' || char(10));
INSERT INTO journal_chunks VALUES (5, 5, 's-b', 2000, X'0500000000000000', 'five' || char(10));
)sql";
    ASSERT_EQ(sqlite3_exec(db, old, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  Open();
  auto rows = store_->ReadJournal(0, 100, "", 10);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ(rows->at(0).line,
            R"({"protocol":"codeswarm.router.v1","type":"event","seq":3,"timestamp":"t","event":"e","data":{"swarm_id":"s-a"}})"
            "\n");
  EXPECT_EQ(rows->at(1).line, "four\n");
  EXPECT_EQ(rows->at(2).line, "five\n");
  EXPECT_EQ(rows->at(2).swarm_id, "s-b");
  // Age still counts from when they were written.
  EXPECT_EQ(*store_->PruneJournal({.older_than_ms = 1500, .max_bytes = 1 << 20}), 4u);
  // Converted once: the old table is gone, and a reopen reads the same.
  Open();
  EXPECT_EQ(Seqs(0, 100), (std::vector<uint64_t>{5}));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'journal_chunks'", -1,
                     &stmt, nullptr);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(SqliteJournalTest, ADamagedChunkIsAnErrorThatNamesTheDatabaseAndTheSeq) {
  ASSERT_TRUE(Append(1, 3, "s-a").ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() + "/router.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE journal SET events = X'0101010203'", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Open();
  auto rows = store_->ReadJournal(0, 100, "", 10);
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("router.db: the events from seq 1: a journal chunk is "
                                         "damaged"),
            std::string::npos)
      << rows.status().message();
}

}  // namespace
}  // namespace codeswarm::router
