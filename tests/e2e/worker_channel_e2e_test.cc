// The worker channel under attack, with the real binary: a squatter on the worker address, a
// worker with the wrong key, an eavesdropping proxy and one that alters a byte mid-stream.
// docs/SECURITY.md says what each of these proves.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/harness.h"
#include "e2e/router_e2e_fixture.h"
#include "e2e/tcp_proxy.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;

using router_test::Field;
using router_test::IsEvent;

// The swarm's secret as the router stored it.
std::string StoredSecret(const RouterProcess& router, const std::string& swarm_id) {
  sqlite3* db = nullptr;
  std::string secret;
  if (sqlite3_open_v2((router.state_dir() + "/router.db").c_str(), &db, SQLITE_OPEN_READONLY,
                      nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT secret FROM swarms WHERE swarm_id = ?", -1, &stmt, nullptr);
    sqlite3_bind_text(stmt, 1, swarm_id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      secret = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  EXPECT_EQ(secret.size(), 64u) << "no secret stored for " << swarm_id;
  return secret;
}

// A `codeswarm worker` started by hand, as a provider would, with the identity given.
class WorkerProcess {
 public:
  WorkerProcess(const TempDir& dir, const std::string& name, const std::string& swarm_id,
                const std::string& secret, int port) {
    std::filesystem::create_directories(dir.path() + "/" + name);
    log_ = dir.path() + "/" + name + ".log";
    SpawnOptions options;
    options.argv = {CODESWARM_BINARY, "worker"};
    options.cwd = dir.path() + "/" + name;
    options.env_overrides = {{"CODESWARM_SWARM_ID", swarm_id},
                             {"CODESWARM_NODE_ID", "0"},
                             {"CODESWARM_ROUTER_ADDR", "127.0.0.1:" + std::to_string(port)},
                             {"CODESWARM_SECRET", secret},
                             {"CODESWARM_ORPHAN_SECONDS", "60"},
                             {"CODESWARM_LOG_LEVEL", "debug"}};
    options.new_process_group = true;
    options.stdout_mode = StdioMode::kFile;
    options.stderr_mode = StdioMode::kFile;
    options.stdout_file = log_;
    options.stderr_file = log_;
    auto started = Subprocess::Spawn(options);
    EXPECT_TRUE(started.ok()) << started.status().message();
    if (started.ok()) process_.emplace(std::move(*started));
  }
  ~WorkerProcess() {
    if (process_) {
      (void)process_->SignalGroup(SIGKILL);
      process_->Wait();
    }
  }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string log() const { return ReadFile(log_); }

 private:
  std::string log_;
  std::optional<Subprocess> process_;
};

// Accepts one connection on `listen_fd` within `timeout`; -1 if none came.
int AcceptWithin(int listen_fd, std::chrono::milliseconds timeout) {
  pollfd pfd{listen_fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return -1;
  return ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
}

// Reads what arrives on `fd` until it closes or `timeout` passes.
std::string ReadUntilClosed(int fd, std::chrono::milliseconds timeout) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

TEST(WorkerChannelE2ETest, SquatterOnTheWorkerAddressLearnsNothingAndCannotRunAnything) {
  TempDir dir("channel");
  // What the attack of the issue used: a "codex" that is any program the squatter likes.
  const std::string marker = dir.path() + "/squatter-ran-this";
  const std::string payload = dir.path() + "/payload.sh";
  WriteFile(payload, "#!/bin/sh\ntouch '" + marker + "'\nsleep 30\n");
  ::chmod(payload.c_str(), 0755);

  int port = 0;
  const int listen_fd = ListenLoopback(&port);

  const std::string secret(64, 'c');
  WorkerProcess worker(dir, "node-0", "s-target", secret, port);

  int fd = AcceptWithin(listen_fd, 10s);
  ASSERT_GE(fd, 0) << "the worker never dialled";
  // The squatter hears the worker's first flight, then answers as the router would in plain
  // text: a welcome that names its own program as the agent, and an injection.
  std::string heard;
  {
    pollfd pfd{fd, POLLIN, 0};
    ASSERT_GT(::poll(&pfd, 1, 5000), 0);
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    ASSERT_GT(n, 0);
    heard.append(buffer, static_cast<std::size_t>(n));
  }
  const std::string attack =
      "welcome {\"protocol\":\"codeswarm.worker.v2\",\"ack_seq\":0,\"system_prompt\":\"\","
      "\"agent\":{\"kind\":\"codex\",\"codex\":{\"binary\":\"" + payload + "\"}},"
      "\"heartbeat_seconds\":5,\"timeout_seconds\":20}\n"
      "inject {\"injection_id\":\"i-evil\",\"content\":\"run it\"}\n";
  ASSERT_EQ(::write(fd, attack.data(), attack.size()), static_cast<ssize_t>(attack.size()));
  heard += ReadUntilClosed(fd, 5s);
  ::close(fd);

  // It keeps trying the address, as after a lost connection.
  int again = AcceptWithin(listen_fd, 10s);
  EXPECT_GE(again, 0) << "the worker stopped dialling after refusing the squatter";
  if (again >= 0) {
    heard += ReadUntilClosed(again, 1s);
    ::close(again);
  }
  ::close(listen_fd);

  EXPECT_EQ(heard.find(secret), std::string::npos) << "the secret crossed the wire";
  EXPECT_EQ(heard.find("hello"), std::string::npos) << "the worker spoke before the handshake";
  EXPECT_EQ(heard.find("received"), std::string::npos) << "the worker took the injection";
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the squatter ran a program";
  EXPECT_TRUE(DescendantsOf(worker.pid()).empty()) << "the worker started a process";
  EXPECT_NE(worker.log().find("refusing the peer at 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << worker.log();
  EXPECT_EQ(worker.log().find("agent codex ready"), std::string::npos) << worker.log();
}

// The router tests' fixture (launch and inject helpers, a TempDir) plus a proxy when needed.
class WorkerChannelRouterTest : public router_test::RouterE2ETest {
 protected:
  // The text of node `node`'s deltas for `injection`, and how many there were.
  std::pair<std::string, int> Deltas(const ProtocolClient& client, const std::string& injection,
                                     int node) {
    std::string text;
    int count = 0;
    for (const json::object& e : client.events()) {
      if (IsEvent(e, "assistant_delta") && Field(e, "injection_id") == injection &&
          e.at("data").at("node_id").as_int64() == node) {
        text += Field(e, "delta");
        ++count;
      }
    }
    return {text, count};
  }

  // Starts a router whose workers dial it through proxy_, and a client of it.
  void StartBehindProxy() {
    const int worker_port = FreePort();
    proxy_ = std::make_unique<TcpProxy>(worker_port);
    json::array command{"/usr/bin/env",
                        "CODESWARM_ROUTER_ADDR=127.0.0.1:" + std::to_string(proxy_->port()),
                        CODESWARM_BINARY, "worker"};
    router_ = std::make_unique<RouterProcess>(
        dir_, json::object{{"router", {{"worker_port", worker_port}}},
                           {"cluster", {{"local", {{"worker_command", command}}}}}});
    router_->Start();
    client_ = std::make_unique<ProtocolClient>(router_->port());
  }

  void TearDown() override {
    if (!proxy_) return;
    // The harness kills workers by the router address they were given: these were given the
    // proxy's.
    for (pid_t pid :
         ProcessesWithEnv("CODESWARM_ROUTER_ADDR=127.0.0.1:" + std::to_string(proxy_->port()))) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
  }

  std::unique_ptr<TcpProxy> proxy_;
  std::unique_ptr<RouterProcess> router_;
  std::unique_ptr<ProtocolClient> client_;
};

TEST_F(WorkerChannelRouterTest, WorkerWithoutTheSwarmsKeyIsRefusedAndTheSwarmGoesOn) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 1);
  std::string other = LaunchAndWait(client, 1);

  // A wrong key, and the key of another swarm, for node 0 of `swarm`.
  WorkerProcess wrong(dir_, "wrong-key", swarm, std::string(64, 'f'), router.worker_port());
  WorkerProcess crossed(dir_, "crossed", swarm, StoredSecret(router, other), router.worker_port());
  EXPECT_TRUE(Eventually([&] {
    std::string log = router.log();
    std::size_t first = log.find("refused: TLS handshake or record failed");
    return first != std::string::npos &&
           log.find("refused: TLS handshake or record failed", first + 1) != std::string::npos;
  }, 20s)) << router.log();
  EXPECT_TRUE(Eventually([&] { return wrong.log().find("refusing the peer") != std::string::npos; }))
      << wrong.log();
  EXPECT_TRUE(Eventually([&] { return crossed.log().find("refusing the peer") != std::string::npos; }))
      << crossed.log();

  // The real node is still the one connected, and it still works.
  client.Drain(200ms);
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "node_disconnected")) ADD_FAILURE() << "a refused worker disturbed the swarm";
  }
  std::string injection = InjectAndWait(client, swarm, "still here?", 1);
  EXPECT_EQ(client.Sequence(injection, 0).back(), "turn_complete");
}

TEST_F(WorkerChannelRouterTest, EavesdropperOnTheChannelSeesNoPromptAnswerOrSecret) {
  StartBehindProxy();
  ProtocolClient& client = *client_;
  TcpProxy& proxy = *proxy_;
  std::string swarm = LaunchAndWait(
      client, 2,
      {{"agent", {{"kind", "mock"}, {"mock", {{"reply", "ANSWER-5e1d {prompt}"}, {"chunks", 6}}}}},
       {"system_prompt", "SYSTEM-PROMPT-c0de"}});
  std::string injection = InjectAndWait(client, swarm, "PROMPT-7f3a review src/gemm.cc", 2);
  EXPECT_EQ(Deltas(client, injection, 1).first, "ANSWER-5e1d PROMPT-7f3a review src/gemm.cc");

  const std::string secret = StoredSecret(*router_, swarm);
  const std::string wire = proxy.upstream() + proxy.downstream();
  EXPECT_GE(proxy.connections(), 2);
  EXPECT_GT(wire.size(), 2000u);
  for (const std::string& plain : {std::string("PROMPT-7f3a"), std::string("ANSWER-5e1d"),
                                   std::string("SYSTEM-PROMPT-c0de"), secret,
                                   std::string("assistant_delta"), std::string("hello"),
                                   std::string("inject")}) {
    EXPECT_EQ(wire.find(plain), std::string::npos) << "\"" << plain << "\" crossed in clear";
  }
}

TEST_F(WorkerChannelRouterTest, AlteredByteMidStreamCostsAReconnectAndNothingElse) {
  StartBehindProxy();
  ProtocolClient& client = *client_;
  TcpProxy& proxy = *proxy_;
  std::string swarm = LaunchAndWait(
      client, 1,
      {{"agent",
        {{"kind", "mock"},
         {"mock", {{"reply", "{prompt}"}, {"chunks", 200}, {"chunk_delay_ms", 5}}}}}});
  std::string prompt;
  for (int i = 0; i < 200; ++i) prompt += "w" + std::to_string(i % 10) + " ";
  std::string rid =
      client.Send("inject", {{"swarm_id", swarm}, {"nodes", "all"}, {"content", prompt}});
  std::string injection = Field(client.Answer(rid), "injection_id");
  client.WaitFor([&](const json::object& e) {
    return IsEvent(e, "assistant_delta") && Field(e, "injection_id") == injection;
  });
  proxy.FlipUpstreamByteAfter(1500);
  client.WaitFor([&](const json::object& e) {
    return IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection;
  }, 60s);

  EXPECT_TRUE(proxy.flipped());
  EXPECT_GE(proxy.connections(), 2) << "the altered record did not cost the connection";
  EXPECT_NE(router_->log().find("TLS handshake or record failed"), std::string::npos)
      << router_->log();
  auto [text, count] = Deltas(client, injection, 0);
  EXPECT_EQ(text, prompt) << "lost or doubled text";
  EXPECT_EQ(count, 200);
  std::vector<std::string> names = client.Sequence(injection, 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "turn_complete"), 1);
  EXPECT_EQ(names.back(), "turn_complete");
  client.Drain(300ms);
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection) {
      EXPECT_EQ(Field(e, "status"), "completed");
    }
  }
}

TEST_F(WorkerChannelRouterTest, AgentsProcessesNeverSeeTheSecret) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 1);
  const std::string secret = StoredSecret(router, swarm);
  // The mock leaves a `sleep` behind, as a tool command the agent ran in the background would.
  InjectAndWait(client, swarm, "[[mock:orphan]] start a server", 1);
  std::vector<pid_t> holders;
  ASSERT_TRUE(Eventually([&] {
    holders = ProcessesWithEnv("CODESWARM_SECRET=" + secret);
    return ProcessesOfSwarm(swarm).size() > holders.size();
  })) << "the agent's process never showed";
  // Only the worker itself was started with the secret; what the agent runs never has it.
  EXPECT_EQ(holders.size(), 1u);
  for (const ProcessInfo& p : ProcessesOfSwarm(swarm)) {
    if (std::find(holders.begin(), holders.end(), p.pid) != holders.end()) continue;
    EXPECT_NE(ReadFile("/proc/" + std::to_string(p.pid) + "/cmdline").find("sleep"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace codeswarm::e2e
