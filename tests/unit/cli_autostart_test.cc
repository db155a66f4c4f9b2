#include "cli/autostart.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/interrupt.h"

namespace codeswarm::cli {
namespace {

namespace fs = std::filesystem;

// A loopback port on which nobody listens: an ephemeral port, taken and released.
int UnusedLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

class CliAutostartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_dir_ = fs::temp_directory_path() /
                 ("cli_autostart_test_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(state_dir_);
    options_.endpoint = {"127.0.0.1", UnusedLoopbackPort()};
    options_.state_dir = state_dir_.string();
    options_.peer_grace = std::chrono::milliseconds(0);
  }
  void TearDown() override { fs::remove_all(state_dir_); }

  fs::path state_dir_;
  AutostartOptions options_;
  std::ostringstream err_;
};

TEST_F(CliAutostartTest, RouterThatExitsEarlyIsReportedWithTheEndOfItsLog) {
  std::ofstream(state_dir_ / "router.log") << "line 1\nbind: address in use\n";
  // Stands in for `codeswarm`: "$0" is "router", then the flags the CLI passes.
  options_.router_command = {"/bin/sh", "-c", "test \"$0 $1\" = 'router --log-file' && exit 4"};
  Result<std::unique_ptr<SocketConnection>> connection = ConnectOrStartRouter(options_, -1, err_);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().message(),
            "the router exited (exit code 4) before accepting connections; last lines of " +
                state_dir_.string() + "/router.log:\n  line 1\n  bind: address in use");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CliAutostartTest, RouterThatNeverListensIsGivenUpOnAtTheDeadline) {
  options_.router_command = {"/bin/sh", "-c", "exec sleep 2"};
  options_.start_timeout = std::chrono::milliseconds(300);
  Result<std::unique_ptr<SocketConnection>> connection = ConnectOrStartRouter(options_, -1, err_);
  ASSERT_FALSE(connection.ok());
  EXPECT_TRUE(connection.status().IsTimeout());
  EXPECT_NE(connection.status().message().find("did not accept connections on " +
                                               options_.endpoint.ToString() + " within 0.3 s"),
            std::string::npos)
      << connection.status().message();
}

TEST_F(CliAutostartTest, NothingIsStartedWhenNotAllowed) {
  options_.router_command = {"/bin/false"};  // were it started, the error would say it exited
  options_.allow_start = false;
  Result<std::unique_ptr<SocketConnection>> refused = ConnectOrStartRouter(options_, -1, err_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "cannot connect to the router at " +
                                            options_.endpoint.ToString() + ": connection refused");
}

TEST(CliTailOfFileTest, KeepsTheLastLinesIndented) {
  fs::path path = fs::temp_directory_path() / ("cli_tail_" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    for (int i = 1; i <= 12; ++i) out << "line " << i << "\n";
  }
  EXPECT_EQ(TailOfFile(path.string(), 3), "  line 10\n  line 11\n  line 12\n");
  fs::remove(path);
  EXPECT_EQ(TailOfFile(path.string(), 3), "  (cannot read " + path.string() + ")\n");
}

TEST(CliInterruptWatcherTest, SigintMakesTheFdReadableInsteadOfKilling) {
  Result<std::unique_ptr<InterruptWatcher>> watcher = InterruptWatcher::Install();
  ASSERT_TRUE(watcher.ok());
  EXPECT_FALSE((*watcher)->Triggered());
  std::raise(SIGINT);
  EXPECT_TRUE((*watcher)->Triggered());
  EXPECT_TRUE(InterruptPending((*watcher)->fd()));
}

}  // namespace
}  // namespace codeswarm::cli
