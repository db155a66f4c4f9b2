#include "e2e/agent_e2e.h"

#include <gtest/gtest.h>

#include <set>

namespace codeswarm::e2e {
namespace json = boost::json;

namespace {

std::string DataString(const json::object& e, const char* key) {
  const json::value* v = e.at("data").as_object().if_contains(key);
  return v == nullptr || v->is_null() ? "" : Str(*v);
}

bool IsEvent(const json::object& e, std::string_view name) { return e.at("event").as_string() == name; }

bool OfTurn(const json::object& e, const std::string& injection, int node) {
  const json::object& data = e.at("data").as_object();
  const json::value* inj = data.if_contains("injection_id");
  const json::value* n = data.if_contains("node_id");
  return inj != nullptr && inj->is_string() && inj->get_string() == injection && n != nullptr &&
         n->is_int64() && n->get_int64() == node;
}

}  // namespace

int64_t IntField(const json::object& object, const char* key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

std::string LaunchSwarm(ProtocolClient& client, int nodes, const json::object& agent,
                        const std::string& system_prompt) {
  std::string rid = client.Send(
      "swarm_launch", {{"nodes", nodes}, {"system_prompt", system_prompt}, {"agent", agent}});
  json::object answer = client.Answer(rid);
  if (answer.empty() || !IsEvent(answer, "swarm_launched")) {
    ADD_FAILURE() << "swarm_launch failed: " << json::serialize(answer);
    return "";
  }
  std::string swarm = DataString(answer, "swarm_id");
  std::set<int64_t> connected;
  while (static_cast<int>(connected.size()) < nodes) {
    json::object e = client.WaitFor([&](const json::object& e) {
      return IsEvent(e, "node_connected") && DataString(e, "swarm_id") == swarm;
    });
    if (e.empty()) return "";
    connected.insert(e.at("data").at("node_id").as_int64());
  }
  return swarm;
}

void TerminateSwarm(ProtocolClient& client, const std::string& swarm) {
  if (swarm.empty()) return;
  json::object answer = client.Answer(client.Send("swarm_terminate", {{"swarm_id", swarm}}));
  EXPECT_TRUE(!answer.empty() && IsEvent(answer, "swarm_terminated")) << json::serialize(answer);
}

Injection Inject(ProtocolClient& client, const std::string& swarm, const std::string& content,
                 json::value nodes) {
  std::string rid =
      client.Send("inject", {{"swarm_id", swarm}, {"nodes", nodes}, {"content", content}});
  json::object ack = client.Answer(rid);
  Injection injection;
  if (ack.empty() || !IsEvent(ack, "inject_ack")) {
    ADD_FAILURE() << "inject was not acknowledged: " << json::serialize(ack);
    return injection;
  }
  injection.id = DataString(ack, "injection_id");
  for (const json::value& n : ack.at("data").at("nodes").as_array()) {
    injection.nodes.push_back(static_cast<int>(n.as_int64()));
  }
  return injection;
}

void WaitFirstDeltas(ProtocolClient& client, const Injection& injection) {
  for (int node : injection.nodes) {
    client.WaitFor([&](const json::object& e) {
      return IsEvent(e, "assistant_delta") && OfTurn(e, injection.id, node);
    });
  }
}

std::map<int, NodeTurn> WaitTurns(ProtocolClient& client, const Injection& injection,
                                  std::chrono::milliseconds timeout) {
  auto ended = [&](int node) {
    for (const json::object& e : client.events()) {
      if ((IsEvent(e, "turn_complete") || IsEvent(e, "inject_failed")) && OfTurn(e, injection.id, node)) {
        return true;
      }
    }
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int node : injection.nodes) {
    while (!ended(node) && std::chrono::steady_clock::now() < deadline) client.Drain(std::chrono::milliseconds(50));
    EXPECT_TRUE(ended(node)) << "node " << node << " did not end injection " << injection.id;
  }
  std::map<int, NodeTurn> turns;
  for (int node : injection.nodes) {
    NodeTurn& t = turns[node];
    for (const json::object& e : client.events()) {
      if (!OfTurn(e, injection.id, node)) continue;
      std::string name(e.at("event").as_string());
      t.events.push_back(name);
      const json::object& data = e.at("data").as_object();
      if (name == "assistant_delta") {
        t.streamed += DataString(e, "delta");
        ++t.deltas;
      } else if (name == "assistant") {
        t.content = DataString(e, "content");
      } else if (name == "usage") {
        t.usage = data;
      } else if (name == "approval") {
        t.approvals.push_back(data);
      } else if (name == "turn_complete") {
        t.status = DataString(e, "status");
        t.error = DataString(e, "error");
      } else if (name == "inject_failed") {
        t.status = "inject_failed";
        t.error = DataString(e, "reason");
      }
    }
  }
  return turns;
}

std::map<int, NodeTurn> InjectAndWait(ProtocolClient& client, const std::string& swarm,
                                      const std::string& content, json::value nodes) {
  return WaitTurns(client, Inject(client, swarm, content, std::move(nodes)));
}

std::string NodeDir(const TempDir& dir, const std::string& swarm, int node) {
  return dir.path() + "/ws/swarms/" + swarm + "/node-" + std::to_string(node);
}

}  // namespace codeswarm::e2e
