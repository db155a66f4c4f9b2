// TurnRunner and approval_decision "ask": the request is reported, the agent waits for the
// decision, and the answer (a person's, the timeout's, or the turn's end) is reported and given
// to the agent exactly once.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <condition_variable>
#include <mutex>

#include "worker/turn_runner.h"

namespace codeswarm::worker {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Asks for permission once per turn with the policy the prompt names, then answers with what
// it was told ("accept" / "decline"). Prompt "ask-hang": then waits (up to 10 s) to be stopped,
// as an agent whose turn is being interrupted does.
class AskingAgent : public Agent {
 public:
  Status Start(const AgentContext&) override { return Status::Ok(); }
  TurnOutcome RunTurn(const TurnRequest& turn, TurnSink& sink) override {
    const bool hang = turn.prompt == "ask-hang";
    const std::string answer = sink.Approval("command", "touch x", hang ? "ask" : turn.prompt);
    sink.Message("told " + answer);
    std::unique_lock lock(mu_);
    if (hang) cv_.wait_for(lock, 10s, [&] { return interrupted_; });
    return interrupted_ ? TurnOutcome::Interrupted("interrupted") : TurnOutcome::Completed();
  }
  void Interrupt() override {
    std::lock_guard lock(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

class TurnRunnerApprovalsTest : public ::testing::Test {
 protected:
  TurnRunnerApprovalsTest() {
    AgentSettings settings;
    settings.approval_timeout_seconds = 30;
    runner_ = std::make_unique<TurnRunner>(
        settings, AgentContext{"s-1", 0, "", "/tmp"},
        [this](const std::string& id, const std::string& event, std::string data) {
          std::lock_guard lock(mu_);
          events_.push_back({id, event, json::parse(data).as_object()});
          cv_.notify_all();
        },
        [](const AgentSettings&) -> Result<std::unique_ptr<Agent>> {
          return std::unique_ptr<Agent>(std::make_unique<AskingAgent>());
        });
    runner_->Start();
  }

  struct Event {
    std::string id, name;
    json::object data;
  };
  // Waits (at most 10 s) for the `n`th event named `name` and returns its data.
  json::object WaitFor(const std::string& name, std::size_t n = 1) {
    std::unique_lock lock(mu_);
    json::object found;
    bool seen = cv_.wait_for(lock, 10s, [&] {
      std::size_t count = 0;
      for (const Event& e : events_) {
        if (e.name == name && ++count == n) {
          found = e.data;
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(seen) << "no " << name << " #" << n;
    return found;
  }
  std::vector<std::string> Names() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const Event& e : events_) out.push_back(e.name);
    return out;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::unique_ptr<TurnRunner> runner_;
};

TEST_F(TurnRunnerApprovalsTest, PersonsDecisionIsGivenToTheAgentAndReported) {
  runner_->Enqueue({"i-1", "ask", 1});
  json::object request = WaitFor("approval_request");
  const std::string id(request.at("approval_id").as_string());
  EXPECT_EQ(id.substr(0, 2), "a-");
  EXPECT_EQ(request.at("kind"), "command");
  EXPECT_EQ(request.at("subject"), "touch x");
  EXPECT_EQ(request.at("timeout_seconds").to_number<double>(), 30);
  runner_->DecideApproval("a-other", "decline", "person");  // not what waits: ignored
  runner_->DecideApproval(id, "accept", "person");
  runner_->DecideApproval(id, "decline", "timeout");  // too late: one answer counts
  json::object approval = WaitFor("approval");
  EXPECT_EQ(approval.at("approval_id").as_string(), id);
  EXPECT_EQ(approval.at("decision"), "accept");
  EXPECT_EQ(approval.at("decided_by"), "person");
  EXPECT_EQ(WaitFor("assistant").at("content"), "told accept");
  EXPECT_EQ(WaitFor("turn_complete").at("status"), "completed");
  EXPECT_EQ(Names(), (std::vector<std::string>{"turn_started", "approval_request", "approval",
                                               "assistant", "turn_complete"}));
}

TEST_F(TurnRunnerApprovalsTest, TimeoutDeclinesWithAReason) {
  runner_->Enqueue({"i-1", "ask", 1});
  const std::string id(WaitFor("approval_request").at("approval_id").as_string());
  runner_->DecideApproval(id, "decline", "timeout");
  json::object approval = WaitFor("approval");
  EXPECT_EQ(approval.at("decision"), "decline");
  EXPECT_EQ(approval.at("decided_by"), "timeout");
  EXPECT_EQ(approval.at("reason"), "no one decided within 30 s");
  EXPECT_EQ(WaitFor("assistant").at("content"), "told decline");
}

TEST_F(TurnRunnerApprovalsTest, InterruptDropsTheWaitingRequest) {
  runner_->Enqueue({"i-1", "ask-hang", 1});
  const std::string id(WaitFor("approval_request").at("approval_id").as_string());
  runner_->Interrupt("i-1");
  json::object approval = WaitFor("approval");
  EXPECT_EQ(approval.at("approval_id").as_string(), id);
  EXPECT_EQ(approval.at("decision"), "decline");
  EXPECT_EQ(approval.at("decided_by"), "turn_ended");
  EXPECT_EQ(approval.at("reason"), "the turn was interrupted");
  EXPECT_EQ(WaitFor("turn_complete").at("status"), "interrupted");
  runner_->DecideApproval(id, "accept", "person");  // nothing waits any more
}

TEST_F(TurnRunnerApprovalsTest, ShutdownDropsTheWaitingRequestWithItsReason) {
  runner_->Enqueue({"i-1", "ask-hang", 1});
  WaitFor("approval_request");
  runner_->Shutdown("swarm terminated by request");
  json::object approval = WaitFor("approval");
  EXPECT_EQ(approval.at("decided_by"), "turn_ended");
  EXPECT_EQ(approval.at("reason"), "swarm terminated by request");
  EXPECT_EQ(WaitFor("turn_complete").at("error"), "swarm terminated by request");
}

TEST_F(TurnRunnerApprovalsTest, PolicyAnswersAtOnceAndSaysSo) {
  runner_->Enqueue({"i-1", "accept", 1});
  json::object approval = WaitFor("approval");
  EXPECT_FALSE(approval.contains("approval_id"));
  EXPECT_EQ(approval.at("decision"), "accept");
  EXPECT_EQ(approval.at("decided_by"), "policy");
  EXPECT_EQ(WaitFor("assistant").at("content"), "told accept");
  WaitFor("turn_complete");
  EXPECT_EQ(Names(), (std::vector<std::string>{"turn_started", "approval", "assistant",
                                               "turn_complete"}));
}

}  // namespace
}  // namespace codeswarm::worker
