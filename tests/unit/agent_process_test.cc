#include "worker/agent_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "common/clock.h"
#include "common/text.h"
#include "support/temp_dir.h"

namespace codeswarm::worker {
namespace {

using namespace std::chrono_literals;
using Kind = AgentProcess::Event::Kind;

// True while thread `tid` of this process is blocked in poll() (or ppoll()).
bool BlockedInPoll(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long number = -1;
  return (in >> number) && (number == SYS_poll || number == SYS_ppoll);
}

// Waits up to `timeout` for `condition`, looking every millisecond.
template <typename Condition>
bool WaitUntil(Condition condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class AgentProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // as in the worker
  }

  std::unique_ptr<AgentProcess> Start(const std::string& script,
                                      const Clock& clock = SystemClock::Get()) {
    SpawnOptions options;
    options.argv = {"/bin/sh", "-c", script};
    options.new_process_group = true;
    options.stdin_mode = StdioMode::kPipe;
    options.stdout_mode = StdioMode::kPipe;
    options.stderr_mode = StdioMode::kFile;
    options.stderr_file = dir_ + "/stderr.log";
    auto started = AgentProcess::Start(options, "claude", clock);
    EXPECT_TRUE(started.ok()) << started.status().message();
    return started.ok() ? std::move(*started) : nullptr;
  }

  static SteadyTime In(std::chrono::milliseconds ms) { return SystemClock::Get().Now() + ms; }

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
  ASSERT_TRUE(p);
  std::atomic<pid_t> waiter{0};
  auto next = std::async(std::launch::async, [&] {
    waiter = ::gettid();
    return p->Next(In(20s)).kind;  // a wake-up that never comes fails here, not by hanging
  });
  // Wake only once the waiter is blocked in poll(), so that the wake-up ends a wait (one that
  // came first would be seen at once, which WakeBeforeAWaitIsNotLost covers).
  EXPECT_TRUE(WaitUntil([&] { return waiter != 0 && BlockedInPoll(waiter); }, 5s));
  p->Wake();
  EXPECT_EQ(next.get(), Kind::kWakeup);
  EXPECT_EQ(p->Next(In(50ms)).kind, Kind::kTimeout);  // wake-ups do not queue up
  p->Stop(100ms);
}

TEST_F(AgentProcessTest, WakeBeforeAWaitIsNotLost) {
  auto p = Start("sleep 30");
  ASSERT_TRUE(p);
  p->Wake();
  p->Wake();
  EXPECT_EQ(p->Next(In(5s)).kind, Kind::kWakeup);
  EXPECT_EQ(p->Next(In(50ms)).kind, Kind::kTimeout);
  p->Stop(100ms);
}

TEST_F(AgentProcessTest, DeadlinesAreReadOnTheInjectedClock) {
  ManualClock clock;
  auto p = Start("sleep 30", clock);
  ASSERT_TRUE(p);
  SteadyTime deadline = clock.Now() + 1h;
  clock.Advance(1h);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(p->Next(deadline).kind, Kind::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // no real hour, no real wait
  p->Kill();
}

TEST_F(AgentProcessTest, ExitIsNoticedWhileAGrandchildKeepsStdoutOpen) {
  auto p = Start("sleep 30 & echo $!; exit 0");
  auto line = p->Next(In(5s));
  ASSERT_EQ(line.kind, Kind::kLine);
  auto grandchild = static_cast<pid_t>(ParseInteger(line.line).value_or(0));
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(p->Next(In(5s)).kind, Kind::kExited);
  EXPECT_EQ(p->DescribeExit(), "claude exited (exit code 0)");
  // What was left of its process group went with it: its pidfd turns readable when it exits
  // (opening one fails when it is already gone).
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, grandchild, 0));
  if (pidfd >= 0) {
    pollfd exited{pidfd, POLLIN, 0};
    EXPECT_EQ(::poll(&exited, 1, 5000), 1) << "pid " << grandchild << " lives on";
    ::close(pidfd);
  } else {
    EXPECT_EQ(errno, ESRCH);
  }
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
