// The real router, the local provider and real worker processes on loopback, driven over the
// client protocol.
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

#include "e2e/harness.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;

const std::vector<std::string> kFullTurn = {
    "inject_ack",      "inject_delivered", "turn_started", "assistant_delta", "assistant_delta",
    "assistant_delta", "assistant_delta",  "assistant",    "usage",           "turn_complete"};

bool IsEvent(const json::object& e, const std::string& name) { return e.at("event") == name.c_str(); }

std::string Field(const json::object& e, const char* key) { return Str(e.at("data").at(key)); }

class RouterE2ETest : public ::testing::Test {
 protected:
  // Launches a swarm and waits for all its nodes to connect; returns the swarm id.
  std::string LaunchAndWait(ProtocolClient& client, int nodes,
                            json::object payload_extra = {}) {
    json::object payload{{"nodes", nodes}, {"system_prompt", "You are node-level test agents."}};
    for (auto& [k, v] : payload_extra) payload[k] = v;
    std::string rid = client.Send("swarm_launch", payload);
    json::object answer = client.Answer(rid);
    EXPECT_EQ(Str(answer.at("event")), "swarm_launched") << json::serialize(answer);
    std::string swarm = Field(answer, "swarm_id");
    WaitConnected(client, swarm, nodes);
    return swarm;
  }

  void WaitConnected(ProtocolClient& client, const std::string& swarm, int nodes) {
    std::set<int64_t> connected;
    while (static_cast<int>(connected.size()) < nodes) {
      json::object e = client.WaitFor([&](const json::object& e) {
        return IsEvent(e, "node_connected") && Field(e, "swarm_id") == swarm;
      });
      if (e.empty()) return;
      connected.insert(e.at("data").at("node_id").as_int64());
    }
  }

  // Injects and waits for every targeted node's turn_complete or inject_failed.
  std::string InjectAndWait(ProtocolClient& client, const std::string& swarm,
                            const std::string& content, int expected_nodes,
                            json::value nodes = "all") {
    std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"nodes", nodes}, {"content", content}});
    json::object ack = client.Answer(rid);
    EXPECT_EQ(Str(ack.at("event")), "inject_ack") << json::serialize(ack);
    std::string injection = Field(ack, "injection_id");
    std::set<int64_t> done;
    while (static_cast<int>(done.size()) < expected_nodes) {
      json::object e = client.WaitFor([&](const json::object& e) {
        return (IsEvent(e, "turn_complete") || IsEvent(e, "inject_failed")) &&
               Field(e, "injection_id") == injection;
      });
      if (e.empty()) break;
      done.insert(e.at("data").at("node_id").as_int64());
    }
    return injection;
  }

  TempDir dir_;
};

TEST_F(RouterE2ETest, FourNodesEachStreamTheFullOrderedSequence) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 4);
  std::string injection = InjectAndWait(client, swarm, "hello swarm", 4);
  for (int node = 0; node < 4; ++node) {
    EXPECT_EQ(client.Sequence(injection, node), kFullTurn) << "node " << node;
  }
  std::map<int64_t, std::string> text;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "assistant_delta") && Field(e, "injection_id") == injection) {
      text[e.at("data").at("node_id").as_int64()] += Field(e, "delta");
    }
    if (IsEvent(e, "turn_complete")) {
      EXPECT_EQ(Field(e, "status"), "completed");
      EXPECT_TRUE(e.at("data").at("error").is_null());
    }
  }
  for (int node = 0; node < 4; ++node) {
    EXPECT_EQ(text[node], "node " + std::to_string(node) + " heard: hello swarm");
  }
  // Every broadcast event carries the next seq.
  int64_t prev = -1;
  for (const json::object& e : client.events()) {
    if (!e.contains("seq")) continue;
    if (prev >= 0) {
      EXPECT_EQ(e.at("seq").as_int64(), prev + 1);
    }
    prev = e.at("seq").as_int64();
  }
}

TEST_F(RouterE2ETest, InjectBeforeWorkersConnectIsDeliveredWhenTheyConnect) {
  RouterProcess router(dir_, {}, {{"CODESWARM_TEST_CONNECT_DELAY_MS", "1500"}});
  router.Start();
  ProtocolClient client(router.port());
  std::string rid = client.Send("swarm_launch", {{"nodes", 2}});
  std::string swarm = Field(client.Answer(rid), "swarm_id");
  std::string inject_rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "early"}});
  json::object ack = client.Answer(inject_rid);
  ASSERT_EQ(Str(ack.at("event")), "inject_ack");
  std::string injection = Field(ack, "injection_id");
  for (int done = 0; done < 2; ++done) {
    client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_complete"); });
  }
  // Delivery came only after the node connected.
  for (int node = 0; node < 2; ++node) {
    std::vector<std::string> order;
    for (const json::object& e : client.events()) {
      const json::value* n = e.at("data").as_object().if_contains("node_id");
      if (n == nullptr || n->as_int64() != node) continue;
      if (IsEvent(e, "node_connected") || IsEvent(e, "inject_ack") ||
          IsEvent(e, "inject_delivered")) {
        order.emplace_back(e.at("event").as_string());
      }
    }
    EXPECT_EQ(order, (std::vector<std::string>{"inject_ack", "node_connected", "inject_delivered"}));
    EXPECT_EQ(client.Sequence(injection, node), kFullTurn);
  }
}

TEST_F(RouterE2ETest, TerminateLeavesNoProcessAndNoZombieAndLaterInjectsAreRejected) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 3);
  std::vector<ProcessInfo> workers = ProcessesOfSwarm(swarm);
  ASSERT_EQ(workers.size(), 3u);

  std::string rid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  json::object answer = client.Answer(rid);
  ASSERT_EQ(Str(answer.at("event")), "swarm_terminated") << json::serialize(answer);
  EXPECT_TRUE(ProcessesOfSwarm(swarm).empty());
  for (const ProcessInfo& p : workers) {
    EXPECT_FALSE(ProcessState(p.pid).has_value()) << "pid " << p.pid << " still exists (state "
                                                   << ProcessState(p.pid).value_or('?') << ")";
  }
  std::string inject_rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "too late"}});
  json::object rejected = client.Answer(inject_rid);
  EXPECT_EQ(Str(rejected.at("event")), "command_rejected");
  EXPECT_EQ(Field(rejected, "code"), "swarm_ended");
  EXPECT_EQ(Field(rejected, "reason"),
            "swarm " + swarm + " is terminated; it takes no more injections");
}

TEST_F(RouterE2ETest, TerminateDuringATurnEndsItInterrupted) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 2);
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid), "injection_id");
  client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_started"); });
  std::string trid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  client.Answer(trid);
  int completes = 0;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection) {
      ++completes;
      EXPECT_EQ(Field(e, "status"), "interrupted");
    }
  }
  EXPECT_EQ(completes, 2);  // exactly one per node, before swarm_terminated
}

TEST_F(RouterE2ETest, FailedTurnAndCrashedWorkerEachEndInFailedTurnComplete) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 2);

  std::string failed = InjectAndWait(client, swarm, "please [[mock:fail]]", 1, 0);
  json::object complete;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "turn_complete") && Field(e, "injection_id") == failed) complete = e;
  }
  EXPECT_EQ(Field(complete, "status"), "failed");
  EXPECT_EQ(Field(complete, "error"), "mock agent failure requested");

  std::string crashed = InjectAndWait(client, swarm, "please [[mock:crash]]", 1, 1);
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "turn_complete") && Field(e, "injection_id") == crashed) complete = e;
  }
  EXPECT_EQ(Field(complete, "status"), "failed");
  EXPECT_EQ(Field(complete, "error"), "worker process killed by signal 6 (SIGABRT)");
  std::vector<std::string> seq = client.Sequence(crashed, 1);
  EXPECT_EQ(seq.front(), "inject_ack");
  EXPECT_EQ(std::count(seq.begin(), seq.end(), "turn_complete"), 1);
  // The other node is unaffected.
  InjectAndWait(client, swarm, "still there?", 1, 0);
}

TEST_F(RouterE2ETest, InterruptEndsARunningTurnAsInterrupted) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 2);
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"nodes", 0}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid), "injection_id");
  client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_started"); });
  std::string irid = client.Send("interrupt", {{"swarm_id", swarm}});
  json::object ack = client.Answer(irid);
  ASSERT_EQ(Str(ack.at("event")), "interrupt_ack") << json::serialize(ack);
  EXPECT_EQ(ack.at("data").at("interrupted").as_array().size(), 1u);
  EXPECT_EQ(ack.at("data").at("idle"), json::array{1});
  json::object complete = client.WaitFor([&](const json::object& e) {
    return IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection;
  });
  EXPECT_EQ(Field(complete, "status"), "interrupted");
  EXPECT_EQ(Field(complete, "error"), "interrupted by request");
  // The node goes on with the next turn.
  InjectAndWait(client, swarm, "next", 1, 0);
}

TEST_F(RouterE2ETest, WorkerKilledWithSigtermDrainsItsTurnFailsAndItIsReported) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 2);
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"nodes", 1}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid), "injection_id");
  client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_started"); });
  pid_t node1 = 0;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "node_connected") && e.at("data").at("node_id").as_int64() == 1) {
      node1 = static_cast<pid_t>(e.at("data").at("pid").as_int64());
    }
  }
  ASSERT_GT(node1, 0);
  ::kill(node1, SIGTERM);
  json::object draining = client.WaitFor([](const json::object& e) { return IsEvent(e, "node_draining"); });
  EXPECT_EQ(Field(draining, "reason"), "worker terminated (SIGTERM)");
  json::object complete = client.WaitFor([&](const json::object& e) {
    return IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection;
  });
  // A SIGTERM the router did not announce comes from outside (scancel, preemption, kill): the
  // turn it cut short failed. (A swarm_terminate ends turns as interrupted.)
  EXPECT_EQ(Field(complete, "status"), "failed");
  EXPECT_EQ(Field(complete, "error"), "worker terminated (SIGTERM)");
  json::object lost = client.WaitFor([](const json::object& e) { return IsEvent(e, "node_lost"); });
  EXPECT_EQ(lost.at("data").at("node_id").as_int64(), 1);
  std::vector<std::string> seq = client.Sequence(injection, 1);
  EXPECT_EQ(seq.front(), "inject_ack");
  EXPECT_EQ(seq.back(), "turn_complete");
  EXPECT_EQ(std::count(seq.begin(), seq.end(), "turn_complete"), 1);
}

TEST_F(RouterE2ETest, TerminatedWorkerLeavesNoProcessItsAgentStarted) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 1);
  InjectAndWait(client, swarm, "[[mock:orphan]] start something", 1);
  // The worker and the process its agent left behind (which carries the worker's environment;
  // /proc shows it none while it is between exec()s, so look until it settles).
  ASSERT_TRUE(Eventually([&] { return ProcessesOfSwarm(swarm).size() == 2; }, 5s))
      << ProcessesOfSwarm(swarm).size() << " processes of the swarm";
  std::string rid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  client.Answer(rid);
  EXPECT_TRUE(Eventually([&] { return ProcessesOfSwarm(swarm).empty(); }, 5s));
}

TEST_F(RouterE2ETest, TwoClientsBothSeeEveryEvent) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient a(router.port());
  ProtocolClient b(router.port());
  std::string swarm = LaunchAndWait(a, 2);
  std::string injection = InjectAndWait(a, swarm, "both of you", 2);
  for (int done = 0; done < 2; ++done) {
    b.WaitFor([&](const json::object& e) {
      return IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection;
    });
  }
  auto seqs = [](const ProtocolClient& c) {
    std::vector<int64_t> out;
    for (const json::object& e : c.events()) {
      if (e.contains("seq")) out.push_back(e.at("seq").as_int64());
    }
    return out;
  };
  b.Drain(200ms);
  a.Drain(200ms);
  EXPECT_EQ(seqs(a), seqs(b));
  EXPECT_EQ(b.Sequence(injection, 1), kFullTurn);
}

TEST_F(RouterE2ETest, ClientThatStopsReadingIsCutOffWithAReasonWhileOthersKeepReceiving) {
  RouterProcess router(dir_, {{"router", {{"client_queue_bytes", 262144}, {"slow_client_grace_seconds", 10}}},
                              {"agent", {{"mock", {{"reply", "{prompt}"}, {"chunks", 10}}}}}});
  router.Start();
  // The slow client asks for a tiny receive buffer and then reads nothing.
  int slow = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(router.port()));
  ASSERT_EQ(::connect(slow, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  ProtocolClient fast(router.port());
  std::string swarm = LaunchAndWait(fast, 2);
  // ~8 MB of events: more than the slow client's queue bound plus what the kernel buffers.
  std::string big(20 * 1024, 'x');
  std::string last;
  for (int i = 0; i < 100; ++i) last = InjectAndWait(fast, swarm, big, 2);
  EXPECT_EQ(fast.Sequence(last, 1).back(), "turn_complete");

  // Now the slow client reads: old events, then the reason, then the end.
  std::string received;
  char buf[65536];
  while (true) {
    ssize_t n = ::recv(slow, buf, sizeof buf, 0);
    if (n <= 0) break;
    received.append(buf, static_cast<std::size_t>(n));
  }
  ::close(slow);
  std::size_t last_line = received.rfind('\n', received.size() - 2);
  std::string final_line = received.substr(last_line + 1);
  json::object closing = json::parse(final_line).as_object();
  EXPECT_EQ(Str(closing.at("event")), "connection_closing");
  EXPECT_NE(Field(closing, "reason").find("client too slow"), std::string::npos);
  EXPECT_LT(received.size(), 10u << 20);  // it did not get (or buffer) everything
  // The router is fine and the fast client still works.
  InjectAndWait(fast, swarm, "after", 2);
}

TEST_F(RouterE2ETest, RestartedRouterStillListsTheSwarmAndItStillWorks) {
  RouterProcess router(dir_);
  router.Start();
  std::string swarm;
  {
    ProtocolClient client(router.port());
    swarm = LaunchAndWait(client, 2);
    InjectAndWait(client, swarm, "before restart", 2);
  }
  router.Stop();
  EXPECT_EQ(ProcessesOfSwarm(swarm).size(), 2u);  // workers outlive the router
  router.Start();
  ProtocolClient client(router.port());
  std::string rid = client.Send("swarm_list", {});
  json::object list = client.Answer(rid);
  ASSERT_TRUE(list.at("data").at("swarms").as_object().contains(swarm)) << json::serialize(list);
  EXPECT_EQ(Str(list.at("data").at("swarms").at(swarm).at("status")), "running");
  // The workers reconnect by themselves and take new work.
  Eventually([&] {
    std::string srid = client.Send("swarm_status", {{"swarm_id", swarm}});
    return client.Answer(srid).at("data").at("nodes_connected").as_int64() == 2;
  });
  std::string injection = InjectAndWait(client, swarm, "after restart", 2);
  EXPECT_EQ(client.Sequence(injection, 0), kFullTurn);
  std::string trid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  client.Answer(trid);
}

TEST_F(RouterE2ETest, MalformedAndOversizedLinesAreRejectedAndTheConnectionKeepsWorking) {
  RouterProcess router(dir_, {{"router", {{"max_line_bytes", 4096}}}});
  router.Start();
  ProtocolClient client(router.port());
  client.SendRaw("this is not json\n");
  json::object r1 = client.WaitFor([](const json::object& e) { return IsEvent(e, "command_rejected"); });
  EXPECT_EQ(Field(r1, "code"), "invalid_json");
  client.SendRaw(std::string(10000, 'a') + "\n");
  json::object r2 = client.WaitFor([](const json::object& e) { return IsEvent(e, "command_rejected"); });
  EXPECT_EQ(Field(r2, "code"), "line_too_long");
  EXPECT_EQ(Field(r2, "reason"), "line exceeds the limit of 4096 bytes; it was discarded");
  client.SendRaw("{\"request_id\":\"x\xff\"}\n");
  json::object r3 = client.WaitFor([](const json::object& e) { return IsEvent(e, "command_rejected"); });
  EXPECT_EQ(Field(r3, "code"), "invalid_utf8");
  std::string rid = client.Send("swarm_list", {});
  EXPECT_EQ(Str(client.Answer(rid).at("event")), "swarm_list");
}

TEST_F(RouterE2ETest, AnotherUsersConnectionIsRefusedWithAReason) {
  ASSERT_EQ(::geteuid(), 0u) << "this test switches to another user, so it runs as root";
  RouterProcess router(dir_);
  router.Start();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = ::fork();
  if (child == 0) {
    // Another user on the same machine (nobody) connects and sends a command.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(router.port()));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(3);
    const char kList[] = R"({"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":"x","payload":{}})" "\n";
    (void)!::write(fd, kList, sizeof kList - 1);
    // The first line the router sends back, whatever it is.
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') (void)!::write(pipe_fds[1], &c, 1);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  json::object closing = json::parse(got).as_object();
  EXPECT_EQ(Str(closing.at("event")), "connection_closing");
  EXPECT_EQ(Field(closing, "reason"),
            "connection from uid 65534 refused: this router belongs to uid 0 and only takes "
            "commands from its own user (set router.allow_other_users to accept others)");
}

TEST_F(RouterE2ETest, SecondRouterOnTheSameAddressOrStateDirRefusesToStart) {
  RouterProcess router(dir_);
  router.Start();
  // Same config: same state directory.
  auto same = RunCommand({CODESWARM_BINARY, "--config", router.config_path(), "router"}, {});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->status.code, 1);
  EXPECT_NE((same->stdout_text + same->stderr_text).find("already using the state directory"),
            std::string::npos)
      << same->stdout_text << same->stderr_text;
  // Another state directory, same port.
  TempDir other;
  std::string config = dir_.path() + "/other.json";
  WriteFile(config, json::serialize(json::object{
                        {"router", {{"port", router.port()}, {"worker_port", FreePort()},
                                    {"state_dir", other.path()}}}}));
  auto port = RunCommand({CODESWARM_BINARY, "--config", config, "router"}, {});
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(port->status.code, 1);
  EXPECT_NE((port->stdout_text + port->stderr_text).find("address already in use"), std::string::npos)
      << port->stdout_text << port->stderr_text;
  EXPECT_TRUE(router.running());
}

}  // namespace
}  // namespace codeswarm::e2e
