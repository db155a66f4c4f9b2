// Worker pieces without a network: outbox, mock agent, turn runner, identity.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <condition_variable>
#include <mutex>

#include "worker/mock_agent.h"
#include "worker/outbox.h"
#include "worker/turn_runner.h"
#include "worker/worker_identity.h"

namespace codeswarm::worker {
namespace {

namespace json = boost::json;

TEST(OutboxTest, KeepsEventsUntilAcknowledgedAndResendsAfterRewind) {
  Outbox outbox;
  EXPECT_EQ(outbox.Add("i-1", "turn_started", "{}"), 1u);
  EXPECT_EQ(outbox.Add("i-1", "assistant_delta", R"({"delta":"a"})"), 2u);
  EXPECT_EQ(outbox.Add("i-1", "turn_complete", R"({"status":"completed","error":null})"), 3u);
  std::vector<std::string> sent;
  while (const std::string* line = outbox.NextUnsent()) {
    sent.push_back(*line);
    outbox.MarkSent();
  }
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1], "event 2 i-1 assistant_delta {\"delta\":\"a\"}\n");
  EXPECT_EQ(outbox.NextUnsent(), nullptr);

  outbox.Ack(1);  // the connection drops; the router had only the first
  outbox.Rewind();
  ASSERT_NE(outbox.NextUnsent(), nullptr);
  EXPECT_EQ(outbox.NextUnsent()->substr(0, 8), "event 2 ");
  outbox.Ack(3);
  EXPECT_TRUE(outbox.empty());
  EXPECT_EQ(outbox.bytes(), 0u);
  EXPECT_EQ(outbox.NextUnsent(), nullptr);
}

TEST(OutboxTest, OverTheLimitOnlyDeltasAreDropped) {
  Outbox outbox(10);
  outbox.Add("i-1", "assistant_delta", R"({"delta":"0123456789"})");
  EXPECT_EQ(outbox.Add("i-1", "assistant_delta", R"({"delta":"x"})"), 0u);
  EXPECT_EQ(outbox.dropped(), 1u);
  EXPECT_EQ(outbox.Add("i-1", "turn_complete", "{}"), 2u);  // never dropped, no seq gap
}

TEST(MockAgentTest, SplitsOnCharacterBoundaries) {
  auto chunks = SplitIntoChunks("h\xC3\xA9llo w\xC3\xB6rld", 4);
  std::string joined;
  for (const auto& c : chunks) joined += c;
  EXPECT_EQ(joined, "h\xC3\xA9llo w\xC3\xB6rld");
  EXPECT_LE(chunks.size(), 4u);
  EXPECT_EQ(SplitIntoChunks("ab", 10).size(), 2u);
  EXPECT_TRUE(SplitIntoChunks("", 3).empty());
  EXPECT_EQ(CountWords("  two words\n"), 2);
}

// Records what a runner emits; lets a test wait for a turn's end.
class EventLog {
 public:
  TurnRunner::Emit Emitter() {
    return [this](const std::string& id, const std::string& event, std::string data) {
      std::lock_guard lock(mu_);
      events_.push_back({id, event, json::parse(data).as_object()});
      cv_.notify_all();
    };
  }
  void WaitForCompletes(std::size_t n) {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return Count("turn_complete") >= n; }));
  }
  // Waits (at most 10 s) until `id` has emitted `name`.
  void WaitFor(const std::string& id, const std::string& name) {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& e : events_) {
        if (e.id == id && e.name == name) return true;
      }
      return false;
    })) << id << " never emitted " << name;
  }
  struct Event {
    std::string id, name;
    json::object data;
  };
  std::vector<Event> Snapshot() {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<std::string> Names(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : Snapshot()) {
      if (e.id == id) out.push_back(e.name);
    }
    return out;
  }
  json::object Complete(const std::string& id) {
    for (const auto& e : Snapshot()) {
      if (e.id == id && e.name == "turn_complete") return e.data;
    }
    return {};
  }

 private:
  std::size_t Count(const std::string& name) {
    std::size_t n = 0;
    for (const auto& e : events_) n += e.name == name;
    return n;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

AgentSettings MockSettings() {
  AgentSettings settings;
  settings.mock.reply = "node {node_id} turn {turn}: {prompt}";
  settings.mock.chunks = 3;
  return settings;
}

TEST(TurnRunnerTest, RunsTurnsInOrderWithTheFullEventSequence) {
  EventLog log;
  TurnRunner runner(MockSettings(), AgentContext{"s-1", 2, "sys", "/tmp"}, log.Emitter());
  runner.Start();
  runner.Enqueue({"i-1", "first prompt", 1});
  runner.Enqueue({"i-2", "second", 2});
  log.WaitForCompletes(2);
  EXPECT_EQ(log.Names("i-1"),
            (std::vector<std::string>{"turn_started", "assistant_delta", "assistant_delta",
                                      "assistant_delta", "assistant", "usage", "turn_complete"}));
  auto events = log.Snapshot();
  std::string text;
  for (const auto& e : events) {
    if (e.id == "i-1" && e.name == "assistant_delta") text += e.data.at("delta").as_string();
    if (e.id == "i-1" && e.name == "usage") {
      EXPECT_EQ(e.data.at("input_tokens").as_int64(), 3);   // "first prompt" + "sys"
      EXPECT_EQ(e.data.at("output_tokens").as_int64(), 6);  // "node 2 turn 1: first prompt"
      EXPECT_EQ(e.data.at("total_tokens").as_int64(), 9);
    }
  }
  EXPECT_EQ(text, "node 2 turn 1: first prompt");
  // i-2 starts only after i-1 completed.
  std::size_t i1_done = 0, i2_start = 0;
  for (std::size_t k = 0; k < events.size(); ++k) {
    if (events[k].id == "i-1" && events[k].name == "turn_complete") i1_done = k;
    if (events[k].id == "i-2" && events[k].name == "turn_started") i2_start = k;
  }
  EXPECT_LT(i1_done, i2_start);
  EXPECT_EQ(log.Complete("i-2").at("status"), "completed");
  EXPECT_TRUE(log.Complete("i-2").at("error").is_null());
}

TEST(TurnRunnerTest, FailingTurnEndsFailedWithAnError) {
  EventLog log;
  TurnRunner runner(MockSettings(), AgentContext{"s-1", 0, "", "/tmp"}, log.Emitter());
  runner.Start();
  runner.Enqueue({"i-1", "please [[mock:fail]]", 1});
  log.WaitForCompletes(1);
  EXPECT_EQ(log.Names("i-1"),
            (std::vector<std::string>{"turn_started", "assistant_delta", "turn_complete"}));
  EXPECT_EQ(log.Complete("i-1").at("status"), "failed");
  EXPECT_EQ(log.Complete("i-1").at("error"), "mock agent failure requested");
}

TEST(TurnRunnerTest, TimeOutEndsAHungTurnAsFailed) {
  EventLog log;
  AgentSettings settings = MockSettings();
  settings.turn_timeout_seconds = 0.2;
  TurnRunner runner(settings, AgentContext{"s-1", 0, "", "/tmp"}, log.Emitter());
  runner.Start();
  runner.Enqueue({"i-1", "[[mock:hang]]", 1});
  log.WaitFor("i-1", "turn_started");
  runner.TimeOut("i-2");  // not the running turn: ignored
  runner.TimeOut("i-1");
  log.WaitForCompletes(1);
  EXPECT_EQ(log.Complete("i-1").at("status"), "failed");
  EXPECT_EQ(log.Complete("i-1").at("error"), "turn timed out after 0.2 s");
}

TEST(TurnRunnerTest, ShutdownInterruptsTheRunningTurnAndEndsQueuedOnes) {
  EventLog log;
  TurnRunner runner(MockSettings(), AgentContext{"s-1", 0, "", "/tmp"}, log.Emitter());
  runner.Start();
  runner.Enqueue({"i-1", "[[mock:hang]]", 1});
  runner.Enqueue({"i-2", "never runs", 2});
  log.WaitFor("i-1", "turn_started");
  runner.Shutdown("worker terminated by signal 15");
  EXPECT_EQ(log.Complete("i-1").at("status"), "interrupted");
  EXPECT_EQ(log.Complete("i-1").at("error"), "worker terminated by signal 15");
  EXPECT_EQ(log.Names("i-2"), std::vector<std::string>{"turn_complete"});
  EXPECT_EQ(log.Complete("i-2").at("status"), "interrupted");
  runner.Enqueue({"i-3", "late", 3});  // after shutdown: ended at once
  EXPECT_EQ(log.Complete("i-3").at("status"), "interrupted");
}

// An agent that, like the real adapters, clears its interrupt flag as a turn begins — here only
// once the test has interrupted it, so the first request is always cleared and only the
// runner's repetition can end the turn.
class SlowStartingAgent : public Agent {
 public:
  Status Start(const AgentContext&) override { return Status::Ok(); }
  TurnOutcome RunTurn(const TurnRequest&, TurnSink&) override {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return interrupted_; })) {
      return TurnOutcome::Failed("the test never interrupted");
    }
    interrupted_ = false;  // the late clear: the request that just landed is gone
    bool stopped = cv_.wait_for(lock, std::chrono::seconds(10), [&] { return interrupted_; });
    return stopped ? TurnOutcome::Interrupted("interrupted") : TurnOutcome::Completed();
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

TEST(TurnRunnerTest, InterruptArrivingAsTheTurnBeginsIsNotLost) {
  EventLog log;
  TurnRunner runner(MockSettings(), AgentContext{"s-1", 0, "", "/tmp"}, log.Emitter(),
                    [](const AgentSettings&) -> Result<std::unique_ptr<Agent>> {
                      return std::unique_ptr<Agent>(std::make_unique<SlowStartingAgent>());
                    });
  runner.Start();
  runner.Enqueue({"i-1", "x", 1});
  log.WaitFor("i-1", "turn_started");
  runner.Interrupt("i-1");  // lands before the agent clears its flag
  log.WaitForCompletes(1);
  EXPECT_EQ(log.Complete("i-1").at("status"), "interrupted");
  EXPECT_EQ(log.Complete("i-1").at("error"), "interrupted by request");
}

TEST(WorkerIdentityTest, ReadsEnvironmentAndFallsBackToSlurmProcid) {
  std::map<std::string, std::string> env = {{"CODESWARM_SWARM_ID", "s-1"},
                                            {"CODESWARM_SECRET", "abc"},
                                            {"SLURM_PROCID", "3"},
                                            {"CODESWARM_ROUTER_ADDR", "login1:8766"}};
  auto getenv_fn = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto id = ReadWorkerIdentity(getenv_fn);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(id->node_id, 3);
  EXPECT_EQ(id->router_host, "login1");
  EXPECT_EQ(id->router_port, "8766");

  env["CODESWARM_NODE_ID"] = "x";
  EXPECT_EQ(ReadWorkerIdentity(getenv_fn).status().message(),
            "CODESWARM_NODE_ID=\"x\" is not a node id (a non-negative integer)");
  env.erase("CODESWARM_NODE_ID");
  env["CODESWARM_ROUTER_ADDR"] = "nohostport";
  EXPECT_EQ(ReadWorkerIdentity(getenv_fn).status().message(),
            "CODESWARM_ROUTER_ADDR=\"nohostport\" is not host:port");
  env.erase("CODESWARM_SECRET");
  EXPECT_NE(ReadWorkerIdentity(getenv_fn).status().message().find("CODESWARM_SECRET is not set"),
            std::string::npos);
}

}  // namespace
}  // namespace codeswarm::worker
