// The real `codeswarm` CLI against the real router and workers: what a person sees and the exit
// codes scripts rely on.
#include <signal.h>

#include <gtest/gtest.h>

#include <regex>

#include "e2e/harness.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;

std::string SwarmIdIn(const std::string& text) {
  std::smatch match;
  std::regex pattern("s-[0-9a-f]{8}");
  return std::regex_search(text, match, pattern) ? match.str() : "";
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliE2ETest : public ::testing::Test {
 protected:
  void StartRouter(json::object overrides = {}) {
    router_ = std::make_unique<RouterProcess>(dir_, std::move(overrides));
    router_->Start();
  }
  CliResult Cli(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--no-autostart"};
    all.insert(all.end(), args.begin(), args.end());
    return RunCli(router_->config_path(), all);
  }
  std::string Launch(int nodes) {
    CliResult r = Cli({"launch", "--nodes", std::to_string(nodes), "--prompt", "be brief", "--wait"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string swarm = SwarmIdIn(r.out);
    EXPECT_FALSE(swarm.empty()) << r.out;
    return swarm;
  }

  TempDir dir_;
  std::unique_ptr<RouterProcess> router_;
};

TEST_F(CliE2ETest, LaunchInjectStatusListTerminate) {
  StartRouter();
  CliResult launched = Cli({"launch", "--nodes", "4", "--prompt", "be brief", "--wait"});
  ASSERT_EQ(launched.exit_code, 0) << launched.out << launched.err;
  std::string swarm = SwarmIdIn(launched.out);
  EXPECT_TRUE(Contains(launched.out, "launched swarm " + swarm + ": 4 nodes")) << launched.out;
  EXPECT_TRUE(Contains(launched.out, "nodes connected 4/4")) << launched.out;

  CliResult injected = Cli({"inject", swarm, "--prompt", "hello there"});
  EXPECT_EQ(injected.exit_code, 0) << injected.out << injected.err;
  for (int node = 0; node < 4; ++node) {
    std::string label = "[node " + std::to_string(node) + "] ";
    EXPECT_TRUE(Contains(injected.out, label + "node " + std::to_string(node) + " heard: hello there\n"))
        << injected.out;
    EXPECT_TRUE(Contains(injected.out, label + "completed (")) << injected.out;
  }
  // (The mock agent's model has no price in the built-in table: the cost is unknown.)
  EXPECT_TRUE(Contains(injected.out, "4/4 nodes completed; cost unknown: no price for model"))
      << injected.out;

  CliResult some = Cli({"inject", swarm, "--nodes", "1,3", "--prompt", "just you two"});
  EXPECT_EQ(some.exit_code, 0) << some.err;
  EXPECT_TRUE(Contains(some.out, "2/2 nodes completed")) << some.out;
  EXPECT_FALSE(Contains(some.out, "[node 0]")) << some.out;

  CliResult status = Cli({"status", swarm});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(Contains(status.out, "running")) << status.out;
  EXPECT_TRUE(std::regex_search(status.out, std::regex("\n1 +idle +0 +- +2 ")))
      << status.out;  // node 1: idle, nothing queued, two turns done

  CliResult list = Cli({"list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_TRUE(Contains(list.out, swarm)) << list.out;

  CliResult terminated = Cli({"terminate", swarm});
  EXPECT_EQ(terminated.exit_code, 0) << terminated.err;
  EXPECT_TRUE(Contains(terminated.out, "terminated swarm " + swarm)) << terminated.out;

  CliResult late = Cli({"inject", swarm, "--prompt", "anyone?"});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_EQ(late.err, "error: swarm " + swarm + " is terminated; it takes no more injections\n");
}

TEST_F(CliE2ETest, FailedTurnsMakeInjectExitOneWithTheErrors) {
  StartRouter();
  std::string swarm = Launch(2);
  CliResult r = Cli({"inject", swarm, "--prompt", "[[mock:fail]] now"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.out, "[node 0] failed: mock agent failure requested")) << r.out;
  EXPECT_TRUE(Contains(r.out, "0/2 nodes completed, 2 failed")) << r.out;
}

TEST_F(CliE2ETest, JsonModePrintsOnlyTheCommandsEventLines) {
  StartRouter();
  std::string swarm = Launch(2);
  CliResult r = Cli({"--json", "inject", swarm, "--prompt", "json please"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int completes = 0;
  std::size_t start = 0, nl;
  while ((nl = r.out.find('\n', start)) != std::string::npos) {
    json::value line = json::parse(r.out.substr(start, nl - start));
    start = nl + 1;
    ASSERT_TRUE(line.is_object());
    EXPECT_EQ(Str(line.at("protocol")), "codeswarm.router.v1");
    completes += Str(line.at("event")) == "turn_complete";
  }
  EXPECT_EQ(completes, 2);
}

TEST_F(CliE2ETest, InterruptStopsARunningTurnAndInjectReportsIt) {
  StartRouter();
  std::string swarm = Launch(1);
  SpawnOptions options;
  options.argv = {CODESWARM_BINARY, "--config", router_->config_path(), "--no-autostart",
                  "inject", swarm, "--prompt", "[[mock:hang]]"};
  options.stdout_mode = StdioMode::kFile;
  options.stdout_file = dir_.path() + "/inject.out";
  auto inject = Subprocess::Spawn(options);
  ASSERT_TRUE(inject.ok());
  ASSERT_TRUE(Eventually([&] { return Contains(ReadFile(dir_.path() + "/inject.out"), "[node 0]"); }))
      << ReadFile(dir_.path() + "/inject.out");
  CliResult r = Cli({"interrupt", swarm});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "[node 0] interrupting injection i-")) << r.out;
  auto status = inject->WaitFor(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 1);
  std::string out = ReadFile(dir_.path() + "/inject.out");
  EXPECT_TRUE(Contains(out, "[node 0] interrupted: interrupted by request")) << out;
  EXPECT_TRUE(Contains(out, "0/1 nodes completed, 1 interrupted")) << out;
}

TEST_F(CliE2ETest, UsageErrorsExitTwoWithoutContactingARouter) {
  StartRouter();
  CliResult r = Cli({"inject", "s-00000000", "--nodes", "3-1", "--prompt", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "--nodes")) << r.err;
  CliResult no_prompt = Cli({"inject", "s-00000000"});
  EXPECT_EQ(no_prompt.exit_code, 2) << no_prompt.err;
}

TEST_F(CliE2ETest, UnknownSwarmIsAnErrorWithTheRoutersReason) {
  StartRouter();
  CliResult r = Cli({"status", "s-deadbeef"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: unknown swarm_id \"s-deadbeef\"\n");
}

TEST_F(CliE2ETest, NoRouterAndNoAutostartExitsThree) {
  RouterProcess never_started(dir_);
  CliResult r = RunCli(never_started.config_path(), {"--no-autostart", "list"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_FALSE(r.err.empty());
}

TEST_F(CliE2ETest, AutostartStartsOneRouterForConcurrentClientsAndReusesIt) {
  RouterProcess config_only(dir_);  // writes the config; we never start it ourselves
  const std::string config = config_only.config_path();
  auto spawn_list = [&](const std::string& out) {
    SpawnOptions options;
    options.argv = {CODESWARM_BINARY, "--config", config, "list"};
    options.stdout_mode = StdioMode::kFile;
    options.stdout_file = out;
    options.stderr_mode = StdioMode::kFile;
    options.stderr_file = out;
    return Subprocess::Spawn(options);
  };
  auto a = spawn_list(dir_.path() + "/a.out");
  auto b = spawn_list(dir_.path() + "/b.out");
  ASSERT_TRUE(a.ok() && b.ok());
  auto sa = a->WaitFor(30s);
  auto sb = b->WaitFor(30s);
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->code, 0) << ReadFile(dir_.path() + "/a.out");
  EXPECT_EQ(sb->code, 0) << ReadFile(dir_.path() + "/b.out");
  std::string lock = ReadFile(config_only.state_dir() + "/router.lock");
  ASSERT_FALSE(lock.empty());
  pid_t router_pid = std::stoi(lock);
  EXPECT_EQ(ProcessState(router_pid).value_or('?') != '?', true);
  // A third client finds it and starts nothing.
  CliResult again = RunCli(config, {"list"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_FALSE(Contains(again.err, "started router")) << again.err;
  EXPECT_EQ(std::stoi(ReadFile(config_only.state_dir() + "/router.lock")), router_pid);
  ::kill(router_pid, SIGTERM);
  EXPECT_TRUE(Eventually([&] { return !ProcessState(router_pid).has_value() ||
                                      ProcessState(router_pid) == 'Z'; }));
}

}  // namespace
}  // namespace codeswarm::e2e
