// Fakes for WorkerCore tests (a recording router link, scripted turns) and their fixture: a core
// driven by hand on a ManualExecutor and its clock.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/manual_executor.h"
#include "worker/turns.h"
#include "worker/worker_core.h"

namespace codeswarm::worker::testing {

// Records what the core asks of the connection; the test plays the router's side by calling the
// core's On* methods.
class FakeLink : public RouterLink {
 public:
  void Connect() override { ++connects; }
  void Send(std::string lines) override {
    std::size_t start = 0;
    while (start < lines.size()) {
      std::size_t end = lines.find('\n', start);
      sent.push_back(lines.substr(start, end - start));
      start = end + 1;
    }
  }
  void Disconnect() override { ++disconnects; }

  // Lines sent whose verb is `verb`, bodies parsed.
  std::vector<boost::json::object> Sent(const std::string& verb) const {
    std::vector<boost::json::object> out;
    for (const std::string& line : sent) {
      if (line.rfind(verb + " ", 0) == 0) {
        out.push_back(boost::json::parse(line.substr(verb.size() + 1)).as_object());
      }
    }
    return out;
  }
  // Event lines sent: "<seq> <injection_id> <event>" (the data left out).
  std::vector<std::string> Events() const {
    std::vector<std::string> out;
    for (const std::string& line : sent) {
      if (line.rfind("event ", 0) != 0) continue;
      std::size_t data = line.find(" {");
      out.push_back(line.substr(6, data - 6));
    }
    return out;
  }

  int connects = 0;
  int disconnects = 0;
  std::vector<std::string> sent;  // one entry per line, without its newline
};

// Records what the core asks of the turns and lets a test emit events as the agent would.
// Shutdown ends every held turn the way TurnRunner does.
class FakeTurns : public Turns {
 public:
  explicit FakeTurns(TurnEmit emit) : emit_(std::move(emit)) {}

  void Enqueue(TurnRequest turn) override {
    if (stopped) {
      Complete(turn.injection_id, stop_status, stop_reason);
      return;
    }
    queued.push_back(turn);
  }
  void Interrupt(const std::string& injection_id) override { interrupts.push_back(injection_id); }
  void TimeOut(const std::string& injection_id) override { timeouts.push_back(injection_id); }
  // Recorded as "<approval_id> <decision> <decided_by>".
  void DecideApproval(const std::string& approval_id, const std::string& decision,
                      const std::string& decided_by) override {
    decisions.push_back(approval_id + " " + decision + " " + decided_by);
  }
  void Shutdown(const std::string& reason, TurnOutcome::Status ending) override {
    ++shutdowns;
    if (stopped) return;
    stopped = true;
    stop_reason = reason;
    stop_status = std::string(TurnStatusName(ending));
    std::vector<TurnRequest> held = std::move(queued);
    queued.clear();
    for (const TurnRequest& turn : held) Complete(turn.injection_id, stop_status, reason);
  }

  void Emit(const std::string& id, const std::string& event, std::string data = "{}") {
    emit_(id, event, std::move(data));
  }
  void Complete(const std::string& id, const std::string& status, const std::string& error = "") {
    boost::json::object data{{"status", status}};
    data["error"] = error.empty() ? boost::json::value(nullptr) : boost::json::value(error);
    // A turn that ends is no longer held by the runner.
    std::erase_if(queued, [&](const TurnRequest& t) { return t.injection_id == id; });
    emit_(id, "turn_complete", boost::json::serialize(data));
  }

  std::vector<TurnRequest> queued;  // enqueued and not yet completed
  std::vector<std::string> interrupts;
  std::vector<std::string> timeouts;
  std::vector<std::string> decisions;
  int shutdowns = 0;
  bool stopped = false;
  std::string stop_reason;
  std::string stop_status;

 private:
  TurnEmit emit_;
};

// A core with fakes around it; MakeCore() builds it from options_ (tests may change them first).
class WorkerCoreTest : public ::testing::Test {
 protected:
  WorkerCoreTest() {
    options_.identity.swarm_id = "s-1";
    options_.identity.node_id = 2;
    options_.identity.router_host = "127.0.0.1";
    options_.identity.router_port = "8766";
    options_.identity.secret = "sekret";
    options_.identity.orphan_seconds = 60;
    options_.instance = "inst-1";
    options_.pid = 42;
    options_.hostname = "node7";
    options_.version = "0.1.0";
    options_.work_dir = "/scratch/node-2";
  }

  void MakeCore() {
    core_ = std::make_unique<WorkerCore>(
        options_, link_, executor_, executor_.clock(),
        [this](std::string_view agent_json, const AgentContext& context,
               TurnEmit emit) -> Result<TurnsMade> {
          ++makes_;
          agent_json_ = std::string(agent_json);
          context_ = context;
          if (agent_json.find("\"kind\":\"nonsense\"") != std::string_view::npos) {
            return Status::InvalidArgument("agent.kind: unknown agent \"nonsense\"");
          }
          auto turns = std::make_unique<FakeTurns>(std::move(emit));
          turns_ = turns.get();
          TurnsMade made{std::move(turns), turn_timeout_, "mock"};
          made.approval_timeout = approval_timeout_;
          return made;
        },
        [this](int code) { exit_code_ = code; });
  }

  static std::string Welcome(uint64_t ack_seq = 0,
                             std::string_view agent = R"({"kind":"mock"})") {
    return "welcome {\"protocol\":\"codeswarm.worker.v2\",\"ack_seq\":" + std::to_string(ack_seq) +
           ",\"system_prompt\":\"be brief\",\"agent\":" + std::string(agent) +
           ",\"heartbeat_seconds\":5,\"timeout_seconds\":20}";
  }
  static std::string Inject(const std::string& id, const std::string& content = "hi") {
    return "inject {\"injection_id\":\"" + id + "\",\"content\":\"" + content + "\"}";
  }

  // Starts the core, connects and welcomes it.
  void StartWelcomed(uint64_t ack_seq = 0) {
    MakeCore();
    core_->Start();
    ASSERT_EQ(link_.connects, 1);
    core_->OnConnected();
    core_->OnLine(Welcome(ack_seq));
    ASSERT_TRUE(core_->welcomed());
  }

  // Lets posted work (agent events, flushes) run.
  void Run() { executor_.RunPending(); }

  WorkerCoreOptions options_;
  FakeLink link_;
  test_support::ManualExecutor executor_;
  Duration turn_timeout_{0};
  Duration approval_timeout_ = std::chrono::seconds(300);
  std::unique_ptr<WorkerCore> core_;
  FakeTurns* turns_ = nullptr;
  int makes_ = 0;
  std::string agent_json_;
  AgentContext context_;
  std::optional<int> exit_code_;
};

}  // namespace codeswarm::worker::testing
