// The claude agent's process handling against a stand-in script (tests/fixtures/claude/
// fake_claude.sh); the real binary is driven end to end in tests/e2e/agents_claude_e2e_test.cc.
#include "worker/claude/claude_agent.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "unit/recording_sink.h"
#include "support/temp_dir.h"

namespace codeswarm::worker::claude {
namespace {

using namespace std::chrono_literals;

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
  ClaudeAgent agent(settings);
  Status started = agent.Start(context_);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("/nonexistent/claude"), std::string::npos) << started.message();
  EXPECT_NE(started.message().find("No such file"), std::string::npos) << started.message();
  RecordingSink sink;
  TurnOutcome outcome = agent.RunTurn(Turn(1), sink);
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(outcome.error, started.message());
}

TEST_F(ClaudeAgentTest, ClaudeExitingAtStartFailsStartWithItsStderr) {
  ClaudeAgent agent(Fake("no-init"));
  Status started = agent.Start(context_);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.message(),
            "claude exited (exit code 1); last stderr: error: unknown option '--no-init'");
}

TEST_F(ClaudeAgentTest, TurnsRunOneAfterAnotherInOneProcess) {
  ClaudeAgent agent(Fake("answer"));
  ASSERT_TRUE(agent.Start(context_).ok());
  for (int turn : {1, 2}) {
    RecordingSink sink;
    TurnOutcome outcome = agent.RunTurn(Turn(turn), sink);
    EXPECT_EQ(outcome.status, TurnOutcome::Status::kCompleted) << outcome.error;
    EXPECT_EQ(sink.deltas, std::vector<std::string>{"echo"});
    EXPECT_EQ(sink.messages, std::vector<std::string>{"echo"});
    ASSERT_EQ(sink.usages.size(), 1u);
    EXPECT_EQ(sink.usages[0].total_tokens, 4);
  }
  agent.Stop();
}

TEST_F(ClaudeAgentTest, ProcessDyingMidTurnFailsItWithExitStatusAndStderr) {
  ClaudeAgent agent(Fake("die"));
  ASSERT_TRUE(agent.Start(context_).ok());
  RecordingSink sink;
  TurnOutcome outcome = agent.RunTurn(Turn(1), sink);
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(outcome.error, "claude exited (exit code 7); last stderr: fatal: stub crash");
  EXPECT_EQ(sink.deltas, std::vector<std::string>{"echo"});
  EXPECT_TRUE(std::filesystem::exists(context_.work_dir + "/claude.stderr.log"));

  RecordingSink later;
  EXPECT_EQ(agent.RunTurn(Turn(2), later).error, outcome.error);
}

TEST_F(ClaudeAgentTest, ClaudeIgnoringAnInterruptIsKilledAfterTheGrace) {
  ClaudeAgent agent(Fake("deaf"), 300ms);
  ASSERT_TRUE(agent.Start(context_).ok());
  std::thread interrupter([&] {
    std::this_thread::sleep_for(100ms);
    agent.Interrupt();
  });
  RecordingSink sink;
  auto start = std::chrono::steady_clock::now();
  TurnOutcome outcome = agent.RunTurn(Turn(1), sink);
  interrupter.join();
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kInterrupted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  RecordingSink later;
  TurnOutcome next = agent.RunTurn(Turn(2), later);
  EXPECT_EQ(next.status, TurnOutcome::Status::kFailed);
  EXPECT_NE(next.error.find("was killed"), std::string::npos) << next.error;
}

}  // namespace
}  // namespace codeswarm::worker::claude
