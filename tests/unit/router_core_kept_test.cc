// Accepted means kept: an injection the router acknowledged survives the router. Each test runs
// a core, destroys it (a crash: nothing runs after the last entry point) and starts another over
// the same store, then checks the injection is delivered, or ended with a reason, exactly once.
#include <gtest/gtest.h>

#include "router/event_emitter.h"
#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

class KeptInjectionTest : public RouterCoreTest {
 protected:
  // A new router over the same store; the old one's workers and clients are gone with it.
  void Restart() {
    links_.clear();
    conn_of_.clear();
    clients_.Clear();
    MakeCore();
  }
  std::vector<DeliveryRecord> Kept() { return *memory_store_->LoadDeliveries(); }
  json::object NodeStatus(const std::string& swarm, int node) {
    core_->OnClientLine(kClient, Command("swarm_status", R"({"swarm_id":")" + swarm + "\"}"));
    return clients_.Last("swarm_status").at("data").at("nodes").at(node).as_object();
  }
  std::string Received(const std::string& injection) {
    return R"(received {"injection_id":")" + injection + "\"}";
  }
};

TEST_F(KeptInjectionTest, InjectionHeldForAWorkerIsDeliveredOnceAfterARestart) {
  std::string swarm = Launch(1);
  std::string injection = Inject(swarm, "\"all\"", "write the tests");  // no worker yet
  // Durable with its inject_ack.
  ASSERT_EQ(Kept().size(), 1u);
  EXPECT_EQ(Kept()[0].content, "write the tests");
  EXPECT_EQ(Kept()[0].state, "queued");

  Restart();
  EXPECT_EQ(NodeStatus(swarm, 0).at("queued"), 1);
  FakeWorkerConnection& worker = Connect(swarm, 0);
  ASSERT_EQ(worker.WithVerb("inject").size(), 1u);
  EXPECT_NE(worker.WithVerb("inject")[0].find("write the tests"), std::string::npos);
  RunTurn(swarm, 0, injection);
  EXPECT_EQ(clients_.Events("inject_delivered").size(), 1u);
  EXPECT_EQ(clients_.Events("turn_complete").size(), 1u);
  EXPECT_EQ(clients_.Last("inject_delivered").at("data").at("request_id"), "inj");
  EXPECT_TRUE(Kept().empty());

  // Finished before the next crash: not sent again, even to the same worker.
  Restart();
  FakeWorkerConnection& again = Connect(swarm, 0);
  EXPECT_TRUE(again.WithVerb("inject").empty());
  EXPECT_EQ(NodeStatus(swarm, 0).at("queued"), 0);
}

TEST_F(KeptInjectionTest, InjectionAWorkerHoldsIsNotSentAgainAfterARestart) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, Received(injection));
  EXPECT_EQ(Kept().at(0).state, "delivered");
  EXPECT_EQ(Kept().at(0).instance, "inst-a");

  Restart();
  FakeWorkerConnection& worker = Connect(swarm, 0, "inst-a", "[\"" + injection + "\"]");
  EXPECT_TRUE(worker.WithVerb("inject").empty());
  WorkerSays(swarm, 0, "event 1 " + injection + " turn_started {}");
  WorkerSays(swarm, 0,
             "event 2 " + injection + R"( turn_complete {"status":"completed","error":null})");
  EXPECT_TRUE(clients_.Events("inject_delivered").empty());  // the old router said it
  ASSERT_EQ(clients_.Events("turn_complete").size(), 1u);
  EXPECT_EQ(clients_.Last("turn_complete").at("data").at("status"), "completed");
  EXPECT_TRUE(Kept().empty());
}

// The worker took it, but the router died before its `received` was written: the worker's hello
// says so, and it is neither sent again nor left queued.
TEST_F(KeptInjectionTest, QueuedInjectionTheWorkerSaysItHoldsIsMarkedDeliveredNotResent) {
  std::string swarm = Launch(1);
  FakeWorkerConnection& first = Connect(swarm, 0);
  std::string injection = Inject(swarm);
  ASSERT_EQ(first.WithVerb("inject").size(), 1u);

  Restart();
  FakeWorkerConnection& worker = Connect(swarm, 0, "inst-a", "[\"" + injection + "\"]");
  EXPECT_TRUE(worker.WithVerb("inject").empty());
  EXPECT_EQ(clients_.Names(0), (std::vector<std::string>{"node_connected", "inject_delivered"}));
  EXPECT_EQ(Kept().at(0).state, "delivered");
}

TEST_F(KeptInjectionTest, TurnTakenByAWorkerProcessThatIsGoneFailsAfterARestart) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 0, Received(injection));

  Restart();
  Connect(swarm, 0, "inst-b");  // the worker was restarted too
  json::object ended = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(ended.at("injection_id"), injection);
  EXPECT_EQ(ended.at("status"), "failed");
  EXPECT_NE(std::string(ended.at("error").as_string()).find("worker restarted"), std::string::npos);
  EXPECT_TRUE(Kept().empty());
}

TEST_F(KeptInjectionTest, SwarmThatEndsWhileAnInjectionIsHeldFailsItWithTheReason) {
  std::string swarm = Launch(1);
  std::string injection = Inject(swarm);
  Restart();
  provider_.states["job-" + swarm] =
      provider::JobState{provider::JobPhase::kEnded, "FAILED", "node failure", false, {}};
  executor_.Advance(std::chrono::seconds(1));  // a poll
  json::object failed = clients_.Last("inject_failed").at("data").as_object();
  EXPECT_EQ(failed.at("injection_id"), injection);
  EXPECT_EQ(failed.at("request_id"), "inj");
  EXPECT_EQ(failed.at("reason"), "job ended: node failure");
  EXPECT_TRUE(Kept().empty());
  Restart();
  EXPECT_TRUE(clients_.Events("inject_failed").empty());  // once
}

// The swarm's record says it is over, but the router died before the endings of its injections
// were journaled: the next router writes them, once.
TEST_F(KeptInjectionTest, InjectionsOfASwarmThatEndedBeforeTheirEndingsWereWrittenFailOnStart) {
  std::string swarm = Launch(2);
  Connect(swarm, 1);
  std::string injection = Inject(swarm);
  WorkerSays(swarm, 1, Received(injection));
  SwarmRecord record = memory_store_->LoadSwarms()->at(0);
  record.status = "ended";
  record.reason = "job ended (TIMEOUT)";
  ASSERT_TRUE(memory_store_->SaveSwarm(record).ok());

  Restart();
  json::object failed = clients_.Last("inject_failed").at("data").as_object();
  EXPECT_EQ(failed.at("node_id"), 0);
  EXPECT_EQ(failed.at("reason"), "swarm " + swarm + " is ended: job ended (TIMEOUT)");
  json::object ended = clients_.Last("turn_complete").at("data").as_object();
  EXPECT_EQ(ended.at("node_id"), 1);
  EXPECT_EQ(ended.at("status"), "failed");
  EXPECT_TRUE(Kept().empty());
  Restart();
  EXPECT_TRUE(clients_.lines.empty());
}

TEST_F(KeptInjectionTest, NodeCountersSurviveARestart) {
  std::string swarm = Launch(1);
  Connect(swarm, 0);
  RunTurn(swarm, 0, Inject(swarm));
  Restart();
  json::object node = NodeStatus(swarm, 0);
  EXPECT_EQ(node.at("turns_completed"), 1);
  EXPECT_EQ(node.at("total_tokens"), 5);
}

// A Store that notes, at each journal commit, how many lines the clients already had.
class CommitOrderStore : public ForwardingStore {
 public:
  CommitOrderStore(Store& target, const RecordingClients& clients)
      : ForwardingStore(target), clients_(clients) {}
  Status AppendJournal(const std::vector<JournalEntry>& entries, const std::vector<NodeMark>& marks,
                       const NodeChanges& changes) override {
    lines_sent_before.push_back(clients_.lines.size());
    deliveries.push_back(changes.deliveries.size());
    return ForwardingStore::AppendJournal(entries, marks, changes);
  }
  std::vector<std::size_t> lines_sent_before;
  std::vector<std::size_t> deliveries;

 private:
  const RecordingClients& clients_;
};

TEST(EventEmitterDeliveryTest, AnInjectionIsCommittedWithItsAckBeforeAnyClientSeesTheAck) {
  std::unique_ptr<Store> memory = NewMemoryStore();
  RecordingClients clients;
  CommitOrderStore store(*memory, clients);
  ManualClock clock;
  EventEmitter emitter(clients, store, clock);
  const uint64_t ack = emitter.Broadcast("inject_ack", json::object{{"swarm_id", "s-1"}});
  emitter.RecordDelivery(DeliveryRecord{"s-1", 0, "i-1", "r", "hi", "queued", "", ack, false});
  EXPECT_TRUE(clients.lines.empty());
  emitter.Flush();
  EXPECT_EQ(store.lines_sent_before, std::vector<std::size_t>{0});
  EXPECT_EQ(store.deliveries, std::vector<std::size_t>{1});
  EXPECT_EQ(clients.lines.size(), 1u);
  // Taken, then ended, before one commit: the last change wins.
  emitter.RecordDelivery(DeliveryRecord{"s-1", 0, "i-1", "r", "hi", "running", "w", ack, false});
  emitter.RecordDelivery(DeliveryRecord{"s-1", 0, "i-1", "", "", "", "", 0, true});
  emitter.Flush();
  EXPECT_EQ(store.deliveries, (std::vector<std::size_t>{1, 1}));
  EXPECT_TRUE(memory->LoadDeliveries()->empty());
}

}  // namespace
}  // namespace codeswarm::router::testing
