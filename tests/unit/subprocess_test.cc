#include "common/run_command.h"
#include "common/subprocess.h"
#include "support/temp_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>

namespace codeswarm {
namespace {

using std::chrono::milliseconds;

TEST(RunCommandTest, CollectsOutputAndExitCode) {
  auto r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "out\n");
  EXPECT_EQ(r->stderr_text, "err\n");
  EXPECT_EQ(r->status.code, 3);
  EXPECT_FALSE(r->timed_out);
}

TEST(RunCommandTest, FeedsStdinWithoutAShell) {
  RunOptions options;
  options.stdin_data = "line with $(danger) and `ticks`\n";
  auto r = RunCommand({"cat"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_text, options.stdin_data);
  EXPECT_TRUE(r->status.success());
}

TEST(RunCommandTest, ACommandThatExitsWithoutReadingItsInputIsNoSigpipe) {
  // SIGPIPE at its default (it kills), as in a program that does not ignore it: more input than
  // a pipe holds, to a command that never reads it.
  struct sigaction old_action{};
  struct sigaction default_action{};
  default_action.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &default_action, &old_action);
  RunOptions options;
  options.stdin_data = std::string(4 << 20, 'x');
  auto r = RunCommand({"/bin/sh", "-c", "exit 7"}, options);
  ::sigaction(SIGPIPE, &old_action, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status.code, 7);
}

TEST(RunCommandTest, ArgumentsAreNeverInterpretedByAShell) {
  auto r = RunCommand({"printf", "%s", "$(echo pwned); `id`"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_text, "$(echo pwned); `id`");
}

TEST(RunCommandTest, TimeoutKillsTheWholeProcessGroup) {
  RunOptions options;
  options.timeout = milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto r = RunCommand({"/bin/sh", "-c", "sleep 30 & sleep 30; wait"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->status.signal, SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RunCommandTest, MissingProgramIsAnError) {
  auto r = RunCommand({"/nonexistent/program"}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/program"), std::string::npos);
}

TEST(RunCommandTest, EnvironmentOverridesReachTheChild) {
  RunOptions options;
  options.env_overrides = {{"CODESWARM_TEST_VAR", "a b'c"}};
  auto r = RunCommand({"/bin/sh", "-c", "printf %s \"$CODESWARM_TEST_VAR\""}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_text, "a b'c");
}

TEST(SubprocessTest, ChildInheritsNoStrayDescriptors) {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(fd, 0);
  auto r = RunCommand({"/bin/sh", "-c", "ls /proc/self/fd | wc -l"}, {});
  ::close(fd);
  ASSERT_TRUE(r.ok());
  // 0, 1, 2 and the fd of `ls` reading its own directory: nothing of ours.
  EXPECT_EQ(std::stoi(r->stdout_text), 4);
}

TEST(SubprocessTest, SignalAndReapReportsTheSignal) {
  SpawnOptions options;
  options.argv = {"sleep", "30"};
  options.new_process_group = true;
  auto child = Subprocess::Spawn(options);
  ASSERT_TRUE(child.ok());
  EXPECT_FALSE(child->TryWait().has_value());
  ASSERT_TRUE(child->SignalGroup(SIGKILL).ok());
  ExitStatus status = child->Wait();
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_EQ(status.ToString(), "killed by signal 9 (SIGKILL)");
  // Signalling after the child is reaped is harmless.
  EXPECT_TRUE(child->Signal(SIGTERM).ok());
}

TEST(SubprocessTest, WaitForTimesOutThenSucceeds) {
  SpawnOptions options;
  options.argv = {"sleep", "0.3"};
  auto child = Subprocess::Spawn(options);
  ASSERT_TRUE(child.ok());
  EXPECT_FALSE(child->WaitFor(milliseconds(20)).has_value());
  auto status = child->WaitFor(milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->success());
}

TEST(SubprocessTest, WritesOutputToFileInWorkingDirectory) {
  test_support::TempDir tmp("cs-subprocess");
  const std::string& dir = tmp.path();
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "pwd; echo oops >&2"};
  options.cwd = dir;
  options.stdout_mode = StdioMode::kFile;
  options.stderr_mode = StdioMode::kFile;
  options.stdout_file = dir + "/log";
  options.stderr_file = dir + "/log";
  auto child = Subprocess::Spawn(options);
  ASSERT_TRUE(child.ok());
  EXPECT_TRUE(child->Wait().success());
  auto cat = RunCommand({"cat", dir + "/log"}, {});
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ(cat->stdout_text, dir + "\noops\n");
}

TEST(SubprocessTest, DescendantsIncludeThoseInProcessGroupsOfTheirOwn) {
  SpawnOptions options;
  // A child that puts a grandchild into a new session (and so a new process group).
  options.argv = {"/bin/sh", "-c", "setsid sleep 30 & sleep 30"};
  options.new_process_group = true;
  auto child = Subprocess::Spawn(options);
  ASSERT_TRUE(child.ok());
  // Both children show up before the first has called setsid(): wait for the new group.
  std::vector<ProcessRef> found;
  bool own_group = false;
  for (int i = 0; i < 200 && !(found.size() == 2 && own_group); ++i) {
    if (i > 0) ::usleep(10000);
    found = DescendantsOf(child->pid());
    own_group = false;
    for (const ProcessRef& p : found) {
      own_group = own_group || (p.pgid == p.pid && p.pgid != child->pid());
    }
  }
  ASSERT_EQ(found.size(), 2u);
  EXPECT_TRUE(own_group);
  for (const ProcessRef& p : found) ::kill(p.pid, SIGKILL);
  child->SignalGroup(SIGKILL);
  child->Wait();
  EXPECT_TRUE(DescendantsOf(child->pid()).empty());
}

}  // namespace
}  // namespace codeswarm
