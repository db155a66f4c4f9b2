// RelayLink (relay/relay_link.h) with stand-ins for `ssh host codeswarm relay`: small shell
// scripts that fail the way ssh and login nodes do, or speak the relay's hello and then end
// their session. The real relay over a real ssh is tested in tests/e2e/relay_e2e_test.cc.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <set>
#include <vector>

#include "relay/relay_link.h"

namespace codeswarm::relay {
namespace {

using namespace std::chrono_literals;

// A relay stand-in that says hello (127.0.0.1:4444) and ends its session after `seconds`.
std::vector<std::string> HelloThenExit(const std::string& seconds) {
  // 9-byte header (type 1, channel 0, length 32) and the 32-byte hello.
  return {"/bin/sh", "-c",
          "printf '\\001\\000\\000\\000\\000\\000\\000\\000\\040codeswarm-relay/1 127.0.0.1 4444'; "
          "echo 'relay log line' >&2; sleep " + seconds};
}

class RelayLinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<RelayLink> Link(std::vector<std::string> argv, double timeout = 10) {
    RelayLinkOptions options;
    options.where = "login node hpc";
    options.start_timeout_seconds = timeout;
    options.command = [this, argv](int port) -> Result<std::vector<std::string>> {
      ports_.push_back(port);
      return argv;
    };
    return RelayLink::Create(io_, pool_, options, [](int fd, const std::string&) { ::close(fd); });
  }

  boost::asio::io_context io_;
  boost::asio::thread_pool pool_{2};
  std::vector<int> ports_;  // the port each start asked for
};

TEST_F(RelayLinkTest, SshFailureSaysWhatSshSaid) {
  auto link = Link({"/bin/sh", "-c",
                    "echo 'ssh: connect to host login1 port 22: Connection refused' >&2; exit 255"});
  Result<HelloInfo> started = link->Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find("cannot start the relay on login node hpc"),
            std::string::npos) << started.status().message();
  EXPECT_NE(started.status().message().find("Connection refused"), std::string::npos)
      << started.status().message();
}

TEST_F(RelayLinkTest, ShellStartupFileThatPrintsIsNamedAsTheCause) {
  auto link = Link({"/bin/sh", "-c", "echo 'Welcome to the HPC cluster!'; sleep 5"});
  Result<HelloInfo> started = link->Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find("shell start-up file"), std::string::npos)
      << started.status().message();
}

TEST_F(RelayLinkTest, RelayThatNeverSaysHelloTimesOut) {
  auto link = Link({"/bin/sh", "-c", "sleep 10"}, 0.5);
  const auto t0 = std::chrono::steady_clock::now();
  Result<HelloInfo> started = link->Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find("no answer within"), std::string::npos)
      << started.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s) << "the stand-in was not stopped";
}

TEST_F(RelayLinkTest, EndedSessionIsReplacedByANewRelayOnTheSamePort) {
  auto link = Link(HelloThenExit("0.3"));
  Result<HelloInfo> started = link->Start();
  ASSERT_TRUE(started.ok()) << started.status().message();
  EXPECT_EQ(started->host, "127.0.0.1");
  EXPECT_EQ(started->port, 4444);
  std::set<pid_t> ssh_pids = {link->ssh_pid().value_or(-1)};
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (ports_.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    // Between the restart timer and the pool's answer the loop may run out of work and stop.
    if (io_.stopped()) io_.restart();
    io_.run_one_for(50ms);
    if (link->ssh_pid()) ssh_pids.insert(*link->ssh_pid());
  }
  ASSERT_GE(ports_.size(), 3u) << "no relay replaced the ended one";
  EXPECT_EQ(ports_[0], 0) << "the first relay takes any free port";
  EXPECT_EQ(ports_[1], 4444) << "a replacement asks for the port the workers know";
  EXPECT_EQ(ports_[2], 4444);
  EXPECT_GE(ssh_pids.size(), 2u) << "the replacement never came up";
  link->Stop();
  EXPECT_FALSE(link->ssh_pid().has_value());
}

}  // namespace
}  // namespace codeswarm::relay
