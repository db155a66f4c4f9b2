// The claude agent's process handling against a stand-in script (tests/fixtures/claude/
// fake_claude.sh); the real binary is driven end to end in tests/e2e/agents_claude_e2e_test.cc.
#include "worker/claude/claude_agent.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include "common/clock.h"
#include "unit/recording_sink.h"
#include "support/temp_dir.h"

namespace codeswarm::worker::claude {
namespace {

using namespace std::chrono_literals;

// A hand-driven clock that the test thread advances while the agent thread reads it. Once
// armed, its next reading makes the future of next_read() ready.
class SharedManualClock : public Clock {
 public:
  SteadyTime Now() const override {
    SteadyTime now{Duration(ticks_.load())};
    if (armed_.exchange(false)) read_.set_value();
    return now;
  }
  int64_t WallMillis() const override { return 0; }
  void Advance(Duration d) { ticks_ += d.count(); }
  void Arm() { armed_ = true; }
  std::future<void> next_read() { return read_.get_future(); }

 private:
  std::atomic<Duration::rep> ticks_{0};
  mutable std::atomic<bool> armed_{false};
  mutable std::promise<void> read_;
};

// A RecordingSink that also runs `on_delta` (on the agent thread) after each delta.
class DeltaHookSink : public RecordingSink {
 public:
  explicit DeltaHookSink(std::function<void()> on_delta) : on_delta_(std::move(on_delta)) {}
  void Delta(std::string_view text) override {
    RecordingSink::Delta(text);
    on_delta_();
  }

 private:
  std::function<void()> on_delta_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a function when the scope ends.
class AtScopeExit {
 public:
  explicit AtScopeExit(std::function<void()> f) : f_(std::move(f)) {}
  ~AtScopeExit() { f_(); }
  AtScopeExit(const AtScopeExit&) = delete;
  AtScopeExit& operator=(const AtScopeExit&) = delete;

 private:
  std::function<void()> f_;
};

class ClaudeAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // as in the worker
    context_.work_dir = tmp_.path();
    context_.system_prompt = "Be brief.";
  }

  static ClaudeAgentSettings Fake(const std::string& mode) {
    ClaudeAgentSettings settings;
    settings.binary = std::string(CODESWARM_SOURCE_DIR) + "/tests/fixtures/claude/fake_claude.sh";
    settings.extra_args = {mode};
    return settings;
  }

  TurnRequest Turn(int index) { return {"i-" + std::to_string(index), "hello", index}; }

  test_support::TempDir tmp_{"cs-claude-agent"};
  AgentContext context_;
};

TEST_F(ClaudeAgentTest, MissingBinaryFailsStartAndEveryTurnWithTheCause) {
  ClaudeAgentSettings settings;
  settings.binary = "/nonexistent/claude";
  std::unique_ptr<Agent> agent = MakeClaudeAgent(settings);
  Status started = agent->Start(context_);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("/nonexistent/claude"), std::string::npos) << started.message();
  EXPECT_NE(started.message().find("No such file"), std::string::npos) << started.message();
  RecordingSink sink;
  TurnOutcome outcome = agent->RunTurn(Turn(1), sink);
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(outcome.error, started.message());
}

TEST_F(ClaudeAgentTest, ClaudeExitingAtStartFailsStartWithItsStderr) {
  std::unique_ptr<Agent> agent = MakeClaudeAgent(Fake("no-init"));
  Status started = agent->Start(context_);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.message(),
            "claude exited (exit code 1); last stderr: error: unknown option '--no-init'");
}

TEST_F(ClaudeAgentTest, TurnsRunOneAfterAnotherInOneProcess) {
  std::unique_ptr<Agent> agent = MakeClaudeAgent(Fake("answer"));
  ASSERT_TRUE(agent->Start(context_).ok());
  for (int turn : {1, 2}) {
    RecordingSink sink;
    TurnOutcome outcome = agent->RunTurn(Turn(turn), sink);
    EXPECT_EQ(outcome.status, TurnOutcome::Status::kCompleted) << outcome.error;
    EXPECT_EQ(sink.deltas, std::vector<std::string>{"echo"});
    EXPECT_EQ(sink.messages, std::vector<std::string>{"echo"});
    ASSERT_EQ(sink.usages.size(), 1u);
    EXPECT_EQ(sink.usages[0].total_tokens, 4);
  }
  agent->Stop();
}

TEST_F(ClaudeAgentTest, ProcessDyingMidTurnFailsItWithExitStatusAndStderr) {
  std::unique_ptr<Agent> agent = MakeClaudeAgent(Fake("die"));
  ASSERT_TRUE(agent->Start(context_).ok());
  RecordingSink sink;
  TurnOutcome outcome = agent->RunTurn(Turn(1), sink);
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(outcome.error, "claude exited (exit code 7); last stderr: fatal: stub crash");
  EXPECT_EQ(sink.deltas, std::vector<std::string>{"echo"});
  EXPECT_TRUE(std::filesystem::exists(context_.work_dir + "/claude.stderr.log"));

  RecordingSink later;
  EXPECT_EQ(agent->RunTurn(Turn(2), later).error, outcome.error);
}

TEST_F(ClaudeAgentTest, ClaudeIgnoringAnInterruptIsKilledWhenTheGraceHasPassed) {
  SharedManualClock clock;
  std::unique_ptr<Agent> agent = MakeClaudeAgent(Fake("deaf"), clock);
  ASSERT_TRUE(agent->Start(context_).ok());
  // Interrupted as soon as it streams, from the agent thread: the turn is surely running. The
  // clock's next reading is the turn loop taking note of the interrupt: when the grace began.
  std::future<void> grace_began = clock.next_read();
  DeltaHookSink sink([&] {
    agent->Interrupt();
    clock.Arm();
  });
  std::future<TurnOutcome> turn =
      std::async(std::launch::async, [&] { return agent->RunTurn(Turn(1), sink); });
  const std::string stderr_log = context_.work_dir + "/claude.stderr.log";
  // Should an assertion end the test with the turn still running, the fake is killed (it wrote
  // its pid first) so that the turn ends and the future can be destroyed.
  AtScopeExit end_turn([&] {
    if (turn.valid() && turn.wait_for(0s) != std::future_status::ready) {
      std::string log = ReadAll(stderr_log);
      if (log.rfind("pid ", 0) == 0) ::kill(std::stoi(log.substr(4)), SIGKILL);
    }
  });
  ASSERT_EQ(grace_began.wait_for(10s), std::future_status::ready) << "the turn never streamed";
  // The grace runs on the clock, which has not moved.
  EXPECT_EQ(turn.wait_for(50ms), std::future_status::timeout);
  clock.Advance(10s);  // claude's interrupt grace
  agent->Interrupt();  // repeated, as the worker does: wakes the turn loop to look at the clock
  ASSERT_EQ(turn.wait_for(10s), std::future_status::ready);
  TurnOutcome outcome = turn.get();
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kInterrupted);
  EXPECT_EQ(outcome.error, "claude did not end the interrupted turn within 10 s; it was killed");
  RecordingSink later;
  TurnOutcome next = agent->RunTurn(Turn(2), later);
  EXPECT_EQ(next.status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(next.error, outcome.error);
}

}  // namespace
}  // namespace codeswarm::worker::claude
