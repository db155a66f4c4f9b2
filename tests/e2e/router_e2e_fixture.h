// The router end-to-end tests' fixture: the real router, the local provider and real worker
// processes on loopback, driven over the client protocol.
#pragma once

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "e2e/harness.h"

namespace codeswarm::e2e::router_test {

namespace json = boost::json;

inline const std::vector<std::string> kFullTurn = {
    "inject_ack",      "inject_delivered", "turn_started", "assistant_delta", "assistant_delta",
    "assistant_delta", "assistant_delta",  "assistant",    "usage",           "turn_complete"};

inline bool IsEvent(const json::object& e, const std::string& name) { return e.at("event") == name.c_str(); }

inline std::string Field(const json::object& e, const char* key) { return Str(e.at("data").at(key)); }

class RouterE2ETest : public ::testing::Test {
 protected:
  // Launches a swarm and waits for all its nodes to connect; returns the swarm id.
  std::string LaunchAndWait(ProtocolClient& client, int nodes,
                            json::object payload_extra = {}) {
    json::object payload{{"nodes", nodes}, {"system_prompt", "You are node-level test agents."}};
    for (auto& [k, v] : payload_extra) payload[k] = v;
    std::string rid = client.Send("swarm_launch", payload);
    json::object answer = client.Answer(rid);
    EXPECT_EQ(Str(answer.at("event")), "swarm_launched") << json::serialize(answer);
    std::string swarm = Field(answer, "swarm_id");
    WaitConnected(client, swarm, nodes);
    return swarm;
  }

  void WaitConnected(ProtocolClient& client, const std::string& swarm, int nodes) {
    std::set<int64_t> connected;
    while (static_cast<int>(connected.size()) < nodes) {
      json::object e = client.WaitFor([&](const json::object& e) {
        return IsEvent(e, "node_connected") && Field(e, "swarm_id") == swarm;
      });
      if (e.empty()) return;
      connected.insert(e.at("data").at("node_id").as_int64());
    }
  }

  // Injects and waits for every targeted node's turn_complete or inject_failed.
  std::string InjectAndWait(ProtocolClient& client, const std::string& swarm,
                            const std::string& content, int expected_nodes,
                            json::value nodes = "all") {
    std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"nodes", nodes}, {"content", content}});
    json::object ack = client.Answer(rid);
    EXPECT_EQ(Str(ack.at("event")), "inject_ack") << json::serialize(ack);
    std::string injection = Field(ack, "injection_id");
    std::set<int64_t> done;
    while (static_cast<int>(done.size()) < expected_nodes) {
      json::object e = client.WaitFor([&](const json::object& e) {
        return (IsEvent(e, "turn_complete") || IsEvent(e, "inject_failed")) &&
               Field(e, "injection_id") == injection;
      });
      if (e.empty()) break;
      done.insert(e.at("data").at("node_id").as_int64());
    }
    return injection;
  }

  TempDir dir_;
};

}  // namespace codeswarm::e2e::router_test
