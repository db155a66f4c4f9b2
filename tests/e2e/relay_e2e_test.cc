// The relay (docs/SLURM.md, "Through the relay") with real parts: the router runs
// `codeswarm relay` over a real `ssh` to the test login node of scripts/slurm-up.sh (an sshd on
// this machine; the relay runs there as the unprivileged login user), and local workers dial the
// relay, as compute nodes would. No Slurm is involved: the workers are the local provider's.
//
// Named Slurm* so that they run where the login node is up (the `slurm` ctest label).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>

#include "e2e/router_e2e_fixture.h"
#include "worker/mock_agent.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
using router_test::Field;
using router_test::IsEvent;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Processes whose command line mentions `text`.
std::vector<pid_t> ProcessesMentioning(const std::string& text) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    if (cmdline.find(text) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

// A TCP connection to 127.0.0.1:`port`, or -1.
int Dial(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when the other end closes `fd` within `timeout` (whatever it sent first is read away).
bool ClosedWithin(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return true;
  }
  return false;
}

class SlurmRelayE2ETest : public router_test::RouterE2ETest {
 protected:
  void SetUp() override {
    ssh_config_ = Env("CODESWARM_SSH_CONFIG");
    ssh_host_ = Env("CODESWARM_SSH_HOST");
    ASSERT_FALSE(ssh_config_.empty() || ssh_host_.empty())
        << "no test login node: run scripts/slurm-up.sh (eval \"$(scripts/slurm-up.sh)\"; "
           "scripts/test.sh does it for you). Missing CODESWARM_SSH_CONFIG or CODESWARM_SSH_HOST.";
  }

  void StartRouter() {
    relay_port_ = FreePort();
    router_ = std::make_unique<RouterProcess>(
        dir_, json::object{{"cluster",
                            {{"slurm",
                              {{"connect", "relay"},
                               {"relay_host", "127.0.0.1"},
                               {"relay_port", relay_port_},
                               {"login_alias", ssh_host_}}}}},
                           {"ssh", {{"ssh_config", ssh_config_}, {"controlpersist_minutes", 1}}}});
    router_->Start();
    ASSERT_TRUE(Eventually([&] { return !RelayUps().empty(); }, 30s)) << router_->log();
    ASSERT_EQ(RelayUps().front().second, relay_port_);
    client_ = std::make_unique<ProtocolClient>(router_->port());
  }

  void TearDown() override {
    if (router_) router_->Stop();
    for (pid_t pid : ProcessesWithEnv("CODESWARM_ROUTER_ADDR=127.0.0.1:" + std::to_string(relay_port_))) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    // The shared ssh connection the test's router opened (ControlPersist keeps it a minute); the
    // master renames itself "ssh: <control socket> [mux]".
    if (router_) {
      for (pid_t pid : ProcessesMentioning(router_->state_dir() + "/ssh/")) {
        ::kill(pid, SIGTERM);
      }
    }
  }

  // (ssh pid, port) of every "relay ... up" line of the router's log, in order.
  std::vector<std::pair<pid_t, int>> RelayUps() const {
    static const std::regex kUp(R"(relay on login node \S+ up \(ssh pid (\d+)\): workers dial \S+:(\d+))");
    std::vector<std::pair<pid_t, int>> ups;
    const std::string log = router_->log();
    for (auto it = std::sregex_iterator(log.begin(), log.end(), kUp); it != std::sregex_iterator(); ++it) {
      ups.emplace_back(std::stoi((*it)[1]), std::stoi((*it)[2]));
    }
    return ups;
  }

  // The relay processes on the login node listening on the test's port.
  std::vector<pid_t> RelayProcesses() const {
    std::string argv;  // as /proc/<pid>/cmdline has it: each argument ends in a NUL
    for (std::string arg : {"relay", "--listen-host", "0.0.0.0", "--port"}) argv += arg + '\0';
    return ProcessesMentioning(argv + std::to_string(relay_port_) + '\0');
  }

  // Waits until `event` of `injection` arrived from `nodes` different nodes; returns how many did.
  int NodesWith(ProtocolClient& client, const char* event, const std::string& injection, int nodes,
                std::chrono::milliseconds timeout) {
    std::set<int64_t> seen;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (static_cast<int>(seen.size()) < nodes && std::chrono::steady_clock::now() < deadline) {
      json::object e = client.WaitFor([&](const json::object& e) {
        return IsEvent(e, event) && Field(e, "injection_id") == injection;
      }, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (e.empty()) break;
      seen.insert(e.at("data").at("node_id").as_int64());
    }
    return static_cast<int>(seen.size());
  }

  std::pair<std::string, int> Deltas(const std::string& injection, int node) const {
    std::string text;
    int count = 0;
    for (const json::object& e : client_->events()) {
      if (IsEvent(e, "assistant_delta") && Field(e, "injection_id") == injection &&
          e.at("data").at("node_id").as_int64() == node) {
        text += Field(e, "delta");
        ++count;
      }
    }
    return {text, count};
  }

  std::string ssh_config_;
  std::string ssh_host_;
  std::unique_ptr<RouterProcess> router_;
  std::unique_ptr<ProtocolClient> client_;
  int relay_port_ = 0;
};

TEST_F(SlurmRelayE2ETest, FourNodesStreamAcrossAKilledSshClientAndNothingIsLost) {
  constexpr int kNodes = 4;
  constexpr int kChunks = 300;
  ASSERT_NO_FATAL_FAILURE(StartRouter());
  ProtocolClient& client = *client_;
  // No worker listener: the worker port of the router's config is not open.
  EXPECT_EQ(Dial(router_->worker_port()), -1) << "the router listens for workers";
  EXPECT_TRUE(Eventually([&] {
    return router_->log().find("workers on the relay") != std::string::npos;
  })) << router_->log();

  std::string swarm = LaunchAndWait(
      client, kNodes,
      {{"agent",
        {{"kind", "mock"},
         {"mock", {{"reply", "{prompt}"}, {"chunks", kChunks}, {"chunk_delay_ms", 10}}}}}});
  std::string prompt;
  for (int i = 0; i < kChunks; ++i) prompt += "w" + std::to_string(i) + " ";
  const std::string rid =
      client.Send("inject", {{"swarm_id", swarm}, {"nodes", "all"}, {"content", prompt}});
  const std::string injection = Field(client.Answer(rid), "injection_id");
  // Mid-stream: every node has sent some deltas.
  ASSERT_EQ(NodesWith(client, "assistant_delta", injection, kNodes, 20s), kNodes);
  const pid_t ssh_pid = RelayUps().front().first;
  ASSERT_EQ(::kill(ssh_pid, SIGKILL), 0) << "no ssh client " << ssh_pid;

  // A new relay comes up on the same port, every node comes back and finishes its turn.
  ASSERT_TRUE(Eventually([&] { return RelayUps().size() >= 2; }, 60s)) << router_->log();
  EXPECT_EQ(RelayUps()[1].second, relay_port_);
  EXPECT_NE(RelayUps()[1].first, ssh_pid);
  ASSERT_EQ(NodesWith(client, "turn_complete", injection, kNodes, 90s), kNodes) << router_->log();
  client.Drain(500ms);
  for (int node = 0; node < kNodes; ++node) {
    auto [text, count] = Deltas(injection, node);
    EXPECT_EQ(text, prompt) << "node " << node << ": lost or doubled text";
    EXPECT_EQ(count, static_cast<int>(worker::SplitIntoChunks(prompt, kChunks).size()))
        << "node " << node;
    std::vector<std::string> names = client.Sequence(injection, node);
    EXPECT_EQ(std::count(names.begin(), names.end(), "turn_complete"), 1) << "node " << node;
  }
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "turn_complete")) {
      EXPECT_EQ(Field(e, "status"), "completed");
    }
  }
  EXPECT_NE(router_->log().find("the relay session on login node"), std::string::npos);
  // The nodes did reconnect through the new relay: a new turn works end to end.
  std::string again = InjectAndWait(client, swarm, "after the relay came back", kNodes);
  for (int node = 0; node < kNodes; ++node) {
    EXPECT_EQ(client.Sequence(again, node).back(), "turn_complete") << "node " << node;
  }

  // No relay outlives its router.
  EXPECT_EQ(RelayProcesses().size(), 1u);
  router_->Stop();
  EXPECT_TRUE(Eventually([&] { return RelayProcesses().empty(); }, 15s))
      << "a relay outlived its router";
}

TEST_F(SlurmRelayE2ETest, HostileInputAtTheRelayPortIsClosedWithALogLineAndTheSwarmGoesOn) {
  ASSERT_NO_FATAL_FAILURE(StartRouter());
  ProtocolClient& client = *client_;
  std::string swarm = LaunchAndWait(client, 2);

  // Garbage: the router's TLS handshake refuses it.
  int garbage = Dial(relay_port_);
  ASSERT_GE(garbage, 0);
  const std::string junk = "GET / HTTP/1.1\r\nHost: login\r\n\r\n" + std::string(5000, '\x16');
  ASSERT_EQ(::write(garbage, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  EXPECT_TRUE(ClosedWithin(garbage, 20s));
  ::close(garbage);

  // A wrong key: a worker with a made-up secret for node 0 of the swarm.
  SpawnOptions wrong;
  wrong.argv = {CODESWARM_BINARY, "worker"};
  wrong.cwd = dir_.path();
  wrong.env_overrides = {{"CODESWARM_SWARM_ID", swarm},
                         {"CODESWARM_NODE_ID", "0"},
                         {"CODESWARM_ROUTER_ADDR", "127.0.0.1:" + std::to_string(relay_port_)},
                         {"CODESWARM_SECRET", std::string(64, 'f')},
                         {"CODESWARM_ORPHAN_SECONDS", "30"}};
  wrong.new_process_group = true;
  wrong.stdout_mode = StdioMode::kNull;
  wrong.stderr_mode = StdioMode::kNull;
  auto impostor = Subprocess::Spawn(wrong);
  ASSERT_TRUE(impostor.ok()) << impostor.status().message();

  // Silence: the relay closes it after its hello timeout.
  int silent = Dial(relay_port_);
  ASSERT_GE(silent, 0);
  EXPECT_TRUE(ClosedWithin(silent, 30s)) << "a silent connection stayed open";
  ::close(silent);

  EXPECT_TRUE(Eventually([&] {
    const std::string log = router_->log();
    std::size_t first = log.find("worker connection from relay 127.0.0.1:");
    return first != std::string::npos &&
           log.find("worker connection from relay 127.0.0.1:", first + 1) != std::string::npos;
  }, 20s)) << "garbage and the wrong key, each refused with a log line\n" << router_->log();
  EXPECT_TRUE(Eventually([&] {
    return router_->log().find("sent nothing within the hello timeout") != std::string::npos;
  })) << router_->log();
  (void)impostor->SignalGroup(SIGKILL);
  impostor->Wait();

  // The real nodes never noticed.
  std::string injection = InjectAndWait(client, swarm, "still here?", 2);
  for (int node = 0; node < 2; ++node) {
    EXPECT_EQ(client.Sequence(injection, node).back(), "turn_complete");
  }
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "node_disconnected")) ADD_FAILURE() << "hostile input disturbed the swarm";
  }
}

}  // namespace
}  // namespace codeswarm::e2e
