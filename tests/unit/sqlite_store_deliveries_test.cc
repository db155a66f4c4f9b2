// The SQLite store's record of what nodes owe (deliveries, node counters), on a real database
// file: written with the journal, in one transaction, read back after a reopen.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>

#include "router/store.h"
#include "support/temp_dir.h"

namespace codeswarm::router {
namespace {

class SqliteDeliveriesTest : public ::testing::Test {
 protected:
  SqliteDeliveriesTest() { Open(); }
  void Open() {
    store_.reset();
    auto opened = OpenSqliteStore(dir_.path() + "/router.db");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
  }
  static DeliveryRecord Queued(const std::string& swarm, int node, const std::string& id,
                               uint64_t first_seq) {
    return DeliveryRecord{swarm,    node, id,        "r-" + id, "prompt " + id,
                          "queued", "",   first_seq, false};
  }
  std::vector<std::string> Ids() {
    auto loaded = store_->LoadDeliveries();
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    std::vector<std::string> out;
    for (const DeliveryRecord& d : *loaded) {
      out.push_back(d.swarm_id + "/" + std::to_string(d.node_id) + "/" + d.injection_id);
    }
    return out;
  }

  // Rows of a table, read with SQLite directly.
  int Rows(const std::string& table) {
    sqlite3* db = nullptr;
    EXPECT_EQ(
        sqlite3_open_v2((dir_.path() + "/router.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
        SQLITE_OK);
    int rows = -1;
    sqlite3_exec(
        db, ("SELECT COUNT(*) FROM " + table).c_str(),
        [](void* out, int, char** values, char**) {
          *static_cast<int*>(out) = std::atoi(values[0]);
          return 0;
        },
        &rows, nullptr);
    sqlite3_close_v2(db);
    return rows;
  }

  test_support::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteDeliveriesTest, KeepsUnendedDeliveriesInNodeOrderAcrossAReopen) {
  std::string ack = "ack\n";
  NodeChanges changes;
  changes.deliveries = {Queued("s-b", 0, "i-3", 30), Queued("s-a", 1, "i-2", 20),
                        Queued("s-a", 1, "i-1", 10), Queued("s-a", 0, "i-1", 11)};
  ASSERT_TRUE(store_->AppendJournal({{9, "s-a", 0, ack}}, {}, changes).ok());
  Open();
  EXPECT_EQ(Ids(), (std::vector<std::string>{"s-a/0/i-1", "s-a/1/i-1", "s-a/1/i-2", "s-b/0/i-3"}));
  DeliveryRecord first = store_->LoadDeliveries()->at(0);
  EXPECT_EQ(first.request_id, "r-i-1");
  EXPECT_EQ(first.content, "prompt i-1");
  EXPECT_EQ(first.state, "queued");
  EXPECT_EQ(first.first_seq, 11u);
}

TEST_F(SqliteDeliveriesTest, AChangeReplacesTheDeliveryAndAnEndingRemovesIt) {
  ASSERT_TRUE(store_->AppendJournal({}, {}, {{Queued("s-a", 0, "i-1", 1)}, {}}).ok());
  DeliveryRecord taken = Queued("s-a", 0, "i-1", 1);
  taken.state = "running";
  taken.instance = "inst-a";
  ASSERT_TRUE(store_->AppendJournal({}, {}, {{taken, Queued("s-a", 0, "i-2", 2)}, {}}).ok());
  auto loaded = store_->LoadDeliveries();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ(loaded->at(0).state, "running");
  EXPECT_EQ(loaded->at(0).instance, "inst-a");
  DeliveryRecord ended;
  ended.swarm_id = "s-a";
  ended.node_id = 0;
  ended.injection_id = "i-1";
  ended.ended = true;
  ASSERT_TRUE(store_->AppendJournal({}, {}, {{ended}, {}}).ok());
  EXPECT_EQ(Ids(), std::vector<std::string>{"s-a/0/i-2"});
}

TEST_F(SqliteDeliveriesTest, APromptStaysUntilTheLastNodeOfItsInjectionEnds) {
  NodeChanges changes;
  changes.deliveries = {Queued("s-a", 0, "i-1", 1), Queued("s-a", 1, "i-1", 2)};
  ASSERT_TRUE(store_->AppendJournal({}, {}, changes).ok());
  EXPECT_EQ(Rows("injections"), 1);  // one prompt for both nodes
  DeliveryRecord ended;
  ended.swarm_id = "s-a";
  ended.node_id = 0;
  ended.injection_id = "i-1";
  ended.ended = true;
  ASSERT_TRUE(store_->AppendJournal({}, {}, {{ended}, {}}).ok());
  Open();
  auto loaded = store_->LoadDeliveries();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->at(0).node_id, 1);
  EXPECT_EQ(loaded->at(0).content, "prompt i-1");
  EXPECT_EQ(loaded->at(0).request_id, "r-i-1");
  ended.node_id = 1;
  ASSERT_TRUE(store_->AppendJournal({}, {}, {{ended}, {}}).ok());
  EXPECT_TRUE(Ids().empty());
  EXPECT_EQ(Rows("injections"), 0);  // the prompt is not left behind
}

TEST_F(SqliteDeliveriesTest, DeliveriesAndTheirEventsAreOneTransaction) {
  std::string line = "x\n";
  ASSERT_TRUE(store_->AppendJournal({{1, "s-a", 0, line}}, {}, {}).ok());
  // Seq 1 again violates the journal's key: the injection of this batch is not kept either, so
  // no later router delivers an injection whose inject_ack no client could have seen.
  Status failed = store_->AppendJournal({{1, "s-a", 0, line}}, {},
                                        {{Queued("s-a", 0, "i-1", 1)}, {{"s-a", 0, 3, 30}}});
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(Ids().empty());
  EXPECT_TRUE(store_->LoadNodeCounters()->empty());
}

TEST_F(SqliteDeliveriesTest, NodeCountersAreReplacedPerNode) {
  ASSERT_TRUE(store_->AppendJournal({}, {}, {{}, {{"s-a", 0, 1, 10}, {"s-a", 1, 4, 20}}}).ok());
  ASSERT_TRUE(store_->AppendJournal({}, {}, {{}, {{"s-a", 0, 2, 15}}}).ok());
  Open();
  auto counters = store_->LoadNodeCounters();
  ASSERT_EQ(counters->size(), 2u);
  for (const NodeCounters& c : *counters) {
    EXPECT_EQ(c.turns_completed, c.node_id == 0 ? 2 : 4);
    EXPECT_EQ(c.total_tokens, c.node_id == 0 ? 15 : 20);
  }
}

TEST_F(SqliteDeliveriesTest, NodeCostsAreKeptWithTheCounters) {
  ASSERT_TRUE(
      store_->AppendJournal({}, {}, {{}, {{"s-a", 0, 1, 10, 0.25}, {"s-a", 1, 1, 5, 0}}}).ok());
  Open();
  auto counters = store_->LoadNodeCounters();
  ASSERT_EQ(counters->size(), 2u);
  for (const NodeCounters& c : *counters) EXPECT_EQ(c.cost_usd, c.node_id == 0 ? 0.25 : 0.0);
}

TEST_F(SqliteDeliveriesTest, ADatabaseFromBeforeCostsOpensWithNoCost) {
  ASSERT_TRUE(store_->AppendJournal({}, {}, {{}, {{"s-a", 0, 3, 30, 0}}}).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() + "/router.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE node_costs", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close_v2(db);
  Open();
  auto counters = store_->LoadNodeCounters();
  ASSERT_TRUE(counters.ok()) << counters.status().message();
  ASSERT_EQ(counters->size(), 1u);
  EXPECT_EQ(counters->at(0).total_tokens, 30);
  EXPECT_EQ(counters->at(0).cost_usd, 0.0);
}

}  // namespace
}  // namespace codeswarm::router
