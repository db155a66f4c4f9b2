// The RouterCore test fixture: a core wired to fakes (hand-driven executor and clock, recording
// client channel, scripted provider, an in-memory store behind a FailingStore) and helpers that
// speak both protocols.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "router/router_core.h"
#include "router/store.h"
#include "unit/router_fakes.h"
#include "unit/router_store_fakes.h"
#include "worker/agent_settings.h"

namespace codeswarm::router::testing {

namespace json = boost::json;

constexpr ClientId kClient = 7;

inline std::string Command(const std::string& name, const std::string& payload,
                           const std::string& request_id = "r1") {
  return R"({"protocol":"codeswarm.router.v1","type":"command","command":")" + name +
         R"(","request_id":")" + request_id + R"(","payload":)" + payload + "}";
}

class RouterCoreTest : public ::testing::Test {
 protected:
  RouterCoreTest() { MakeCore(); }

  void MakeCore() {
    RouterOptions options;
    options.max_nodes = 16;
    options.backend = "fake";
    options.worker_address = "127.0.0.1:9";
    options.swarms_root = "/tmp/swarms";
    options.worker_lost_seconds = 10;
    options.journal_commit_interval = journal_commit_interval_;
    options.journal_retention_seconds = journal_retention_seconds_;
    options.journal_max_bytes = journal_max_bytes_;
    options.storage_hold_bytes = storage_hold_bytes_;
    options.validate_agent = ValidateAgentSettings;
    options.pricing = pricing_;
    // A core started again replaces one that is gone with everything it had scheduled.
    core_.reset();
    executor_.DropAll();
    core_ = std::make_unique<RouterCore>(options, executor_, clients_, store_, provider_,
                                         executor_.clock());
    ASSERT_TRUE(core_->Start().ok());
  }

  // Launches a swarm and returns its id.
  std::string Launch(int nodes, const std::string& extra = "") {
    core_->OnClientLine(kClient, Command("swarm_launch", "{\"nodes\":" + std::to_string(nodes) +
                                                             extra + "}", "launch"));
    executor_.RunPending();
    json::object launched = clients_.Last("swarm_launched");
    EXPECT_FALSE(launched.empty()) << "no swarm_launched";
    return std::string(launched.at("data").at("swarm_id").as_string());
  }

  const std::string& Secret(const std::string& swarm_id) {
    return core_->FindSwarm(swarm_id)->secret;
  }

  // Connects node `node` of `swarm_id` as worker instance `instance`; returns its connection.
  FakeWorkerConnection& Connect(const std::string& swarm_id, int node,
                                const std::string& instance = "inst-a",
                                const std::string& holding = "[]") {
    ConnId id = next_conn_++;
    auto& link = links_[id];
    link = std::make_unique<FakeWorkerConnection>();
    conn_of_[{swarm_id, node}] = id;
    core_->OnWorkerConnected(id, link.get(), swarm_id);  // its handshake proved swarm_id's key
    core_->OnWorkerLine(id, "hello " + json::serialize(json::object{
                                           {"protocol", "codeswarm.worker.v2"},
                                           {"swarm_id", swarm_id},
                                           {"node_id", node},
                                           {"instance", instance},
                                           {"pid", 100 + node},
                                           {"hostname", "host"},
                                           {"holding", json::parse(holding)}}));
    return *link;
  }

  ConnId Conn(const std::string& swarm_id, int node) { return conn_of_.at({swarm_id, node}); }

  void WorkerSays(const std::string& swarm_id, int node, const std::string& line) {
    ConnId id = Conn(swarm_id, node);
    core_->OnWorkerLine(id, line);
    core_->OnWorkerBatchEnd(id);
  }

  // The worker runs a whole turn for `injection_id`, seqs starting at `seq`.
  void RunTurn(const std::string& swarm_id, int node, const std::string& injection_id,
               uint64_t seq = 1) {
    std::string s = std::to_string(seq);
    WorkerSays(swarm_id, node, R"(received {"injection_id":")" + injection_id + "\"}");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq) + " " + injection_id + " turn_started {}");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 1) + " " + injection_id +
                                   R"( assistant_delta {"delta":"hel"})");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 2) + " " + injection_id +
                                   R"( assistant_delta {"delta":"lo"})");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 3) + " " + injection_id +
                                   R"( assistant {"content":"hello"})");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 4) + " " + injection_id +
                                   R"( usage {"total_tokens":5})");
    WorkerSays(swarm_id, node, "event " + std::to_string(seq + 5) + " " + injection_id +
                                   R"( turn_complete {"status":"completed","error":null})");
  }

  std::string Inject(const std::string& swarm_id, const std::string& nodes = "\"all\"",
                     const std::string& content = "hi") {
    core_->OnClientLine(kClient, Command("inject", R"({"swarm_id":")" + swarm_id +
                                                        R"(","nodes":)" + nodes +
                                                        R"(,"content":")" + content + "\"}",
                                         "inj"));
    json::object ack = clients_.Last("inject_ack");
    return ack.empty() ? "" : std::string(ack.at("data").at("injection_id").as_string());
  }

  json::object Rejection() { return clients_.Last("command_rejected").at("data").as_object(); }

  // Journal settings MakeCore uses (tests change them before calling it again).
  Duration journal_commit_interval_ = Duration::zero();
  double journal_retention_seconds_ = 7 * 86400;
  int64_t journal_max_bytes_ = int64_t{1} << 30;
  std::size_t storage_hold_bytes_ = std::size_t{16} << 20;
  PricingTable pricing_ = PricingTable::Defaults();
  std::unique_ptr<Store> memory_store_ = NewMemoryStore();
  // Forwards to memory_store_ unless a test makes it fail.
  FailingStore store_{*memory_store_};
  ManualExecutor executor_;
  RecordingClients clients_;
  FakeProvider provider_;
  // The sessions' clock (router_sessions_test.cc); the core's is the executor's, which moves
  // with its timers.
  ManualClock clock_;
  std::unique_ptr<RouterCore> core_;
  std::map<ConnId, std::unique_ptr<FakeWorkerConnection>> links_;
  std::map<std::pair<std::string, int>, ConnId> conn_of_;
  ConnId next_conn_ = 1;
};

}  // namespace codeswarm::router::testing
