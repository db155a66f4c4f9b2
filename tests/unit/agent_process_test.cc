#include "worker/agent_process.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/text.h"
#include "support/temp_dir.h"

namespace codeswarm::worker {
namespace {

using namespace std::chrono_literals;
using Kind = AgentProcess::Event::Kind;

class AgentProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // as in the worker
  }

  std::unique_ptr<AgentProcess> Start(const std::string& script) {
    SpawnOptions options;
    options.argv = {"/bin/sh", "-c", script};
    options.new_process_group = true;
    options.stdin_mode = StdioMode::kPipe;
    options.stdout_mode = StdioMode::kPipe;
    options.stderr_mode = StdioMode::kFile;
    options.stderr_file = dir_ + "/stderr.log";
    auto started = AgentProcess::Start(options, "claude");
    EXPECT_TRUE(started.ok()) << started.status().message();
    return started.ok() ? std::move(*started) : nullptr;
  }

  static AgentProcess::Clock::time_point In(std::chrono::milliseconds ms) {
    return AgentProcess::Clock::now() + ms;
  }

  test_support::TempDir tmp_{"cs-agent-process"};
  const std::string dir_ = tmp_.path();
};

TEST_F(AgentProcessTest, LinesGoInAndComeOut) {
  auto p = Start("while read -r l; do echo \"got $l\"; done");
  ASSERT_TRUE(p->WriteLine("one").ok());
  ASSERT_TRUE(p->WriteLine("two").ok());
  auto first = p->Next(In(5s));
  ASSERT_EQ(first.kind, Kind::kLine);
  EXPECT_EQ(first.line, "got one");
  auto second = p->Next(In(5s));
  ASSERT_EQ(second.kind, Kind::kLine);
  EXPECT_EQ(second.line, "got two");
  p->Stop(1s);  // stdin EOF ends the loop
}

TEST_F(AgentProcessTest, ExitIsReportedWithItsStatusAndLastStderrLines) {
  auto p = Start("echo partial; printf 'one\\ntwo\\n\\033[31mfatal: boom\\033[0m\\n' >&2; exit 3");
  auto line = p->Next(In(5s));
  ASSERT_EQ(line.kind, Kind::kLine);
  EXPECT_EQ(line.line, "partial");
  EXPECT_EQ(p->Next(In(5s)).kind, Kind::kExited);
  EXPECT_EQ(p->DescribeExit(), "claude exited (exit code 3); last stderr: one | two | fatal: boom");
  EXPECT_FALSE(p->WriteLine("late").ok());
}

TEST_F(AgentProcessTest, WakeFromAnotherThreadEndsAWait) {
  auto p = Start("sleep 30");
  std::thread waker([&] {
    std::this_thread::sleep_for(100ms);
    p->Wake();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(p->Next(std::nullopt).kind, Kind::kWakeup);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  waker.join();
  EXPECT_EQ(p->Next(In(50ms)).kind, Kind::kTimeout);  // wake-ups do not queue up
  p->Stop(100ms);
}

TEST_F(AgentProcessTest, ExitIsNoticedWhileAGrandchildKeepsStdoutOpen) {
  auto p = Start("sleep 30 & echo $!; exit 0");
  auto line = p->Next(In(5s));
  ASSERT_EQ(line.kind, Kind::kLine);
  auto grandchild = static_cast<pid_t>(ParseInteger(line.line).value_or(0));
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(p->Next(In(5s)).kind, Kind::kExited);
  EXPECT_EQ(p->DescribeExit(), "claude exited (exit code 0)");
  // What was left of its process group went with it.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    gone = text.empty() || text.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone);
}

TEST_F(AgentProcessTest, StopEscalatesToKillForAProcessThatIgnoresEofAndTerm) {
  auto p = Start("trap '' TERM; echo ready; while :; do sleep 1; done");
  ASSERT_EQ(p->Next(In(5s)).kind, Kind::kLine);
  auto start = std::chrono::steady_clock::now();
  p->Stop(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(AgentProcessTest, StderrTailKeepsTheLastNonEmptyLines) {
  std::ofstream(dir_ + "/e.log") << "a\n\nb\n  c  \nd\n\n";
  EXPECT_EQ(StderrTail(dir_ + "/e.log", 3), "b | c | d");
  EXPECT_EQ(StderrTail(dir_ + "/missing.log"), "");
}

TEST_F(AgentProcessTest, NextTimesOutAtItsDeadlineAndKillEndsAProcessAtOnce) {
  auto p = Start("trap '' TERM; sleep 30");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->Next(In(50ms)).kind, Kind::kTimeout);
  p->Kill();
  EXPECT_EQ(p->DescribeExit(), "claude exited (killed by signal 9 (SIGKILL))");
}

}  // namespace
}  // namespace codeswarm::worker
