#include "e2e/agent_e2e.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
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

bool AnyContains(const std::vector<std::string>& texts, const std::string& needle) {
  for (const std::string& t : texts) {
    if (t.find(needle) != std::string::npos) return true;
  }
  return false;
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

// --- AgentE2ETest

void AgentE2ETest::TearDownTestSuite() {
  router_.reset();
  stub_.reset();
  dir_.reset();
  agent_ = nullptr;
}

std::string AgentE2ETest::Binary() {
  std::string variable = agent_ != nullptr ? agent_->binary_variable() : "";
  const char* bin = variable.empty() ? nullptr : std::getenv(variable.c_str());
  return bin != nullptr ? bin : "";
}

void AgentE2ETest::SetUpFor(const AgentUnderTest& agent) {
  if (agent_ != &agent) {  // a suite of another agent ran before without tearing down
    TearDownTestSuite();
    agent_ = &agent;
  }
  const std::string variable = agent.binary_variable();
  if (!variable.empty()) {
    ASSERT_FALSE(Binary().empty())
        << variable << " is not set: these tests run the real " << agent.kind()
        << " CLI. Run `. scripts/test-env.d/20-agents.sh up` first (scripts/test.sh does).";
    ASSERT_TRUE(std::filesystem::exists(Binary())) << variable << "=" << Binary() << " does not exist";
  }
  if (!router_) {
    dir_ = std::make_unique<TempDir>();
    stub_ = std::make_unique<StubModelServer>();
    json::object config = agent.Config(*dir_, *stub_);
    config["pricing"] = StubModelPrices();
    router_ = std::make_unique<RouterProcess>(*dir_, std::move(config),
                                              agent.Environment(*dir_, *stub_));
    router_->Start();
  }
  stub_->Reset();
  agent.Prepare(*stub_);
  client_ = std::make_unique<ProtocolClient>(router_->port());
}

void AgentE2ETest::TearDown() {
  if (client_ && !swarm_.empty()) TerminateSwarm(*client_, swarm_);
}

void AgentE2ETest::Launch(json::object settings, const std::string& system_prompt,
                          json::object agent) {
  agent[agent_->kind()] = std::move(settings);
  swarm_ = LaunchSwarm(*client_, 2, agent, system_prompt);
  ASSERT_FALSE(swarm_.empty());
}

std::vector<json::object> AgentE2ETest::RequestsFor(const std::string& needle) {
  std::vector<json::object> out;
  for (json::object& r : stub_->Requests()) {
    const json::value& prompt = r.at("prompt");
    // Claude Code adds a query string (?beta=true): the path is compared without it.
    std::string path = Str(r.at("path"));
    path = path.substr(0, path.find('?'));
    if (path == agent_->request_path() && prompt.is_string() &&
        Str(prompt).find(needle) != std::string::npos) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

pid_t AgentE2ETest::AgentProcessOf(int node) {
  namespace fs = std::filesystem;
  std::string node_dir = fs::canonical(NodeDir(*dir_, swarm_, node)).string();
  std::string binary = fs::canonical(Binary()).string();
  for (const ProcessInfo& p : ProcessesOfSwarm(swarm_)) {
    std::error_code ec;
    std::string proc = "/proc/" + std::to_string(p.pid);
    if (fs::read_symlink(proc + "/cwd", ec).string() == node_dir &&
        fs::read_symlink(proc + "/exe", ec).string() == binary) {
      return p.pid;
    }
  }
  return 0;
}

std::string AgentName(const ::testing::TestParamInfo<const AgentUnderTest*>& info) {
  return info.param->kind();
}

json::object StubModelPrices() {
  json::object price{{"input", kStubPrice[0]},
                     {"cached_input", kStubPrice[1]},
                     {"output", kStubPrice[2]},
                     {"reasoning", kStubPrice[3]}};
  return json::object{{"stub-model", price}, {"claude-stub-model", price}};
}

}  // namespace codeswarm::e2e
