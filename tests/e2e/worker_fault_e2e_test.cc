// Fault tests of the workers' side, with the real binary, the local provider and mock nodes
// streaming many deltas (docs/RELIABILITY.md, "A dead worker's node is lost within a bound"):
//  - a worker SIGKILLed mid-turn: its node's turns end in exactly one failed turn_complete
//    ("worker lost: ...") within router.worker_lost_seconds, the other nodes finish untouched,
//    and swarm_status shows the node lost;
//  - a worker frozen (SIGSTOP) mid-turn: the same through heartbeat loss alone;
//  - the worker <-> router connection cut by a proxy, several times mid-stream: a subscribed
//    client gets every delta exactly once, in order, and one completed turn_complete per node.
//
// The fault moments come from a seed printed at the start; CODESWARM_FAULT_SEED=<n> replays it.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "e2e/router_e2e_fixture.h"
#include "e2e/tcp_proxy.h"
#include "worker/mock_agent.h"

namespace codeswarm::e2e::router_test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kNodes = 4;
constexpr int kChunks = 400;
constexpr int kChunkDelayMs = 5;  // a turn streams for about two seconds
constexpr auto kAllTrialsBudget = 90s;

unsigned FaultSeed(const char* what) {
  unsigned seed = std::random_device{}();
  if (const char* fixed = std::getenv("CODESWARM_FAULT_SEED")) seed = std::stoul(fixed);
  std::printf("%s: seed %u (CODESWARM_FAULT_SEED=%u replays it)\n", what, seed, seed);
  return seed;
}

json::object StreamingAgent() {
  return {{"agent",
           {{"kind", "mock"},
            {"mock",
             {{"reply", "{prompt}"}, {"chunks", kChunks}, {"chunk_delay_ms", kChunkDelayMs}}}}}};
}

// Numbered words, so that every chunk of the reply is different text.
std::string Prompt(int trial) {
  std::string prompt = "trial " + std::to_string(trial);
  for (int w = 0; w < 2 * kChunks; ++w) prompt += " w" + std::to_string(w);
  return prompt;
}

bool About(const json::object& e, const std::string& injection, int node) {
  const json::object& data = e.at("data").as_object();
  const json::value* id = data.if_contains("injection_id");
  const json::value* n = data.if_contains("node_id");
  return id != nullptr && n != nullptr && id->is_string() && id->get_string() == injection &&
         n->is_int64() && n->get_int64() == node;
}

// What the client got from `node` for `injection`: its deltas in arrival order, its endings.
struct NodeView {
  std::vector<std::string> deltas;
  std::vector<json::object> endings;  // turn_complete or inject_failed
};

NodeView View(const ProtocolClient& client, const std::string& injection, int node) {
  NodeView view;
  for (const json::object& e : client.events()) {
    if (!About(e, injection, node)) continue;
    if (IsEvent(e, "assistant_delta")) view.deltas.push_back(Field(e, "delta"));
    if (IsEvent(e, "turn_complete") || IsEvent(e, "inject_failed")) view.endings.push_back(e);
  }
  return view;
}

// Reads events until `done` holds or `deadline` passes; returns whether it held.
bool ReadUntil(ProtocolClient& client, const std::function<bool()>& done,
               Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    client.Drain(20ms);
  }
  return true;
}

int64_t Millis(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

class WorkerFaultE2ETest : public RouterE2ETest {
 protected:
  // The pid its worker gave when node `node` of `swarm` connected.
  pid_t WorkerPid(const ProtocolClient& client, const std::string& swarm, int node) {
    for (const json::object& e : client.events()) {
      if (IsEvent(e, "node_connected") && Field(e, "swarm_id") == swarm &&
          e.at("data").at("node_id").as_int64() == node) {
        return static_cast<pid_t>(e.at("data").at("pid").as_int64());
      }
    }
    ADD_FAILURE() << "node " << node << " of " << swarm << " never connected";
    return -1;
  }

  json::object NodeStatus(ProtocolClient& client, const std::string& swarm, int node) {
    const std::string rid = client.Send("swarm_status", {{"swarm_id", swarm}});
    return client.Answer(rid).at("data").at("nodes").at(node).as_object();
  }

  // Waits for the first delta of `node`, lets a random part of its stream pass, then stops
  // its worker with `sig`. Returns when the signal was sent.
  Clock::time_point SignalMidTurn(ProtocolClient& client, const std::string& swarm,
                                  const std::string& injection, int node, int sig, int after_ms) {
    client.WaitFor([&](const json::object& e) {
      return IsEvent(e, "assistant_delta") && About(e, injection, node);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(after_ms));  // the random moment
    const pid_t pid = WorkerPid(client, swarm, node);
    EXPECT_GT(pid, 0);
    if (pid > 0) ::kill(pid, sig);
    return Clock::now();
  }
};

TEST_F(WorkerFaultE2ETest, KilledWorkersTurnsFailWithinTheBoundAndTheOtherNodesFinish) {
  constexpr int kTrials = 4;
  constexpr auto kBound = 10s;  // router.worker_lost_seconds, the default
  std::mt19937 random(FaultSeed("worker kill trials"));
  std::uniform_int_distribution<int> victim_of(0, kNodes - 1);
  std::uniform_int_distribution<int> kill_after_ms(0, kChunks * kChunkDelayMs / 2);

  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  const auto budget_end = Clock::now() + kAllTrialsBudget;
  int trials = 0;
  for (int trial = 0; trial < kTrials && !HasFailure() && Clock::now() < budget_end; ++trial) {
    ++trials;
    const std::string swarm = LaunchAndWait(client, kNodes, StreamingAgent());
    const std::string prompt = Prompt(trial);
    const std::string rid =
        client.Send("inject", {{"swarm_id", swarm}, {"nodes", "all"}, {"content", prompt}});
    const std::string injection = Field(client.Answer(rid), "injection_id");
    const int victim = victim_of(random);
    // A second prompt the victim holds behind the first: it must fail too.
    const std::string hid =
        client.Send("inject", {{"swarm_id", swarm}, {"nodes", victim}, {"content", "next"}});
    const std::string held = Field(client.Answer(hid), "injection_id");
    const int wait_ms = kill_after_ms(random);
    const Clock::time_point killed =
        SignalMidTurn(client, swarm, injection, victim, SIGKILL, wait_ms);

    Clock::time_point ended{};
    ReadUntil(
        client,
        [&] {
          if (ended == Clock::time_point{} && !View(client, injection, victim).endings.empty()) {
            ended = Clock::now();
          }
          return ended != Clock::time_point{};
        },
        killed + kBound + 5s);
    ASSERT_NE(ended, Clock::time_point{}) << "trial " << trial << ": no ending for node " << victim;
    int others_done = 0;
    ReadUntil(
        client,
        [&] {
          others_done = 0;
          for (int node = 0; node < kNodes; ++node) {
            others_done += node != victim && !View(client, injection, node).endings.empty() ? 1 : 0;
          }
          return others_done == kNodes - 1 && !View(client, held, victim).endings.empty();
        },
        Clock::now() + 20s);
    client.Drain(200ms);  // anything doubled would come right behind

    const NodeView dead = View(client, injection, victim);
    ASSERT_EQ(dead.endings.size(), 1u) << "trial " << trial;
    EXPECT_TRUE(IsEvent(dead.endings[0], "turn_complete"));
    EXPECT_EQ(Field(dead.endings[0], "status"), "failed");
    EXPECT_EQ(Field(dead.endings[0], "error").rfind("worker lost: ", 0), 0u)
        << json::serialize(dead.endings[0]);
    EXPECT_LE(ended - killed, kBound);
    const NodeView next = View(client, held, victim);
    ASSERT_EQ(next.endings.size(), 1u) << "trial " << trial;
    const json::object& next_data = next.endings[0].at("data").as_object();
    const char* why = IsEvent(next.endings[0], "inject_failed") ? "reason" : "error";
    EXPECT_EQ(Str(next_data.at(why)).rfind("worker lost: ", 0), 0u) << json::serialize(next_data);
    for (int node = 0; node < kNodes; ++node) {
      if (node == victim) continue;
      const NodeView view = View(client, injection, node);
      EXPECT_EQ(view.deltas, worker::SplitIntoChunks(prompt, kChunks)) << "node " << node;
      ASSERT_EQ(view.endings.size(), 1u) << "node " << node;
      EXPECT_EQ(Field(view.endings[0], "status"), "completed") << "node " << node;
    }
    json::object status = NodeStatus(client, swarm, victim);
    EXPECT_EQ(Str(status.at("state")), "lost");
    EXPECT_EQ(Str(status.at("reason")), Field(dead.endings[0], "error"));
    std::printf(
        "trial %d: node %d killed %3d ms into its stream (%zu of %zu deltas sent): turn "
        "failed after %lld ms: %s\n",
        trial, victim, wait_ms, dead.deltas.size(), worker::SplitIntoChunks(prompt, kChunks).size(),
        static_cast<long long>(Millis(ended - killed)), Field(dead.endings[0], "error").c_str());
    std::fflush(stdout);
    client.Answer(client.Send("swarm_terminate", {{"swarm_id", swarm}}));
  }
  std::printf("worker kill trials: %d run\n", trials);
}

TEST_F(WorkerFaultE2ETest, FrozenWorkerIsLostThroughHeartbeatsAloneAndToldSoWhenItWakes) {
  constexpr auto kBound = 3s;
  std::mt19937 random(FaultSeed("worker freeze"));
  std::uniform_int_distribution<int> freeze_after_ms(0, kChunks * kChunkDelayMs / 2);
  RouterProcess router(dir_, {{"router",
                               {{"heartbeat_seconds", 0.5},
                                {"worker_timeout_seconds", 1.5},
                                {"worker_lost_seconds", 3}}}});
  router.Start();
  ProtocolClient client(router.port());
  const std::string swarm = LaunchAndWait(client, 2, StreamingAgent());
  const std::string prompt = Prompt(0);
  const std::string injection =
      Field(client.Answer(client.Send(
                "inject", {{"swarm_id", swarm}, {"nodes", "all"}, {"content", prompt}})),
            "injection_id");
  const pid_t pid = WorkerPid(client, swarm, 1);
  const int wait_ms = freeze_after_ms(random);
  const Clock::time_point frozen = SignalMidTurn(client, swarm, injection, 1, SIGSTOP, wait_ms);

  Clock::time_point ended{};
  ReadUntil(
      client,
      [&] {
        if (ended == Clock::time_point{} && !View(client, injection, 1).endings.empty())
          ended = Clock::now();
        return ended != Clock::time_point{};
      },
      frozen + kBound + 5s);
  ::kill(pid, SIGCONT);
  ASSERT_NE(ended, Clock::time_point{});
  std::printf("frozen %d ms into the stream; turn failed after %lld ms\n", wait_ms,
              static_cast<long long>(Millis(ended - frozen)));
  const NodeView view = View(client, injection, 1);
  EXPECT_EQ(Field(view.endings[0], "error"),
            "worker lost: no sign of life for 3 s (its connection dropped: no heartbeat from the "
            "worker for more than 1.5 s)");
  // Measured from the freeze, which is at or after the last sign of life; a loaded machine
  // may add a little to the router's timer.
  EXPECT_LE(ended - frozen, kBound + 1s);
  // Woken, the worker finds its node given up on: it is refused and exits, nothing more ends.
  EXPECT_TRUE(Eventually(
      [&] { return ProcessState(pid) == std::nullopt || ProcessState(pid) == 'Z'; }, 20s))
      << router.log();
  client.Drain(200ms);
  EXPECT_EQ(View(client, injection, 1).endings.size(), 1u);
  EXPECT_EQ(Field(View(client, injection, 0).endings.at(0), "status"), "completed");
}

// Workers that dial the proxy carry its address, not the router's: the harness would miss them.
struct KillWorkersDialling {
  int port;
  ~KillWorkersDialling() {
    for (pid_t pid : ProcessesWithEnv("CODESWARM_ROUTER_ADDR=127.0.0.1:" + std::to_string(port))) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
  }
};

TEST_F(WorkerFaultE2ETest, ConnectionsCutMidStreamLoseAndDoubleNoDelta) {
  constexpr int kTrials = 3;
  constexpr int kCuts = 3;
  std::mt19937 random(FaultSeed("connection cut trials"));
  std::uniform_int_distribution<int> cut_after_ms(50, 350);
  const int worker_port = FreePort();
  TcpProxy proxy(worker_port);
  KillWorkersDialling cleanup{proxy.port()};
  json::array command{"/usr/bin/env",
                      "CODESWARM_ROUTER_ADDR=127.0.0.1:" + std::to_string(proxy.port()),
                      CODESWARM_BINARY, "worker"};
  RouterProcess router(dir_, {{"router", {{"worker_port", worker_port}}},
                              {"cluster", {{"local", {{"worker_command", command}}}}}});
  router.Start();
  ProtocolClient client(router.port());
  const json::object subscribed = client.Answer(client.Send("subscribe", {{"since_seq", 0}}));
  ASSERT_EQ(Str(subscribed.at("event")), "subscribed") << json::serialize(subscribed);
  const std::string swarm = LaunchAndWait(client, kNodes, StreamingAgent());

  const auto budget_end = Clock::now() + kAllTrialsBudget;
  int emitted = 0, received = 0, lost = 0, duplicated = 0;
  for (int trial = 0; trial < kTrials && !HasFailure() && Clock::now() < budget_end; ++trial) {
    const std::string prompt = Prompt(trial);
    const std::string injection =
        Field(client.Answer(client.Send(
                  "inject", {{"swarm_id", swarm}, {"nodes", "all"}, {"content", prompt}})),
              "injection_id");
    client.WaitFor([&](const json::object& e) {
      return IsEvent(e, "assistant_delta") && Field(e, "injection_id") == injection;
    });
    const int connections_before = proxy.connections();
    std::string cuts;
    for (int cut = 0; cut < kCuts; ++cut) {
      const int wait_ms = cut_after_ms(random);
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));  // the random moment
      proxy.CutAll();
      cuts += (cut == 0 ? "" : ", ") + std::to_string(wait_ms) + " ms";
    }
    ReadUntil(
        client,
        [&] {
          for (int node = 0; node < kNodes; ++node) {
            if (View(client, injection, node).endings.empty()) return false;
          }
          return true;
        },
        Clock::now() + 60s);
    client.Drain(300ms);  // anything doubled would come right behind

    const std::vector<std::string> expected = worker::SplitIntoChunks(prompt, kChunks);
    int trial_received = 0, trial_lost = 0, trial_duplicated = 0;
    for (int node = 0; node < kNodes; ++node) {
      const NodeView view = View(client, injection, node);
      std::map<std::string, int> count;
      for (const std::string& delta : view.deltas) ++count[delta];
      for (const std::string& chunk : expected) trial_lost += count[chunk] == 0 ? 1 : 0;
      for (const auto& [delta, n] : count) trial_duplicated += n > 1 ? n - 1 : 0;
      trial_received += static_cast<int>(view.deltas.size());
      EXPECT_EQ(view.deltas, expected) << "trial " << trial << " node " << node;
      ASSERT_EQ(view.endings.size(), 1u) << "trial " << trial << " node " << node;
      EXPECT_EQ(Field(view.endings[0], "status"), "completed") << "trial " << trial;
    }
    std::printf(
        "trial %d: cut after %s: %d new connections; emitted %d received %d lost %d "
        "duplicated %d\n",
        trial, cuts.c_str(), proxy.connections() - connections_before,
        kNodes * static_cast<int>(expected.size()), trial_received, trial_lost, trial_duplicated);
    std::fflush(stdout);
    EXPECT_GT(proxy.connections(), connections_before) << "no cut hit a connection";
    emitted += kNodes * static_cast<int>(expected.size());
    received += trial_received;
    lost += trial_lost;
    duplicated += trial_duplicated;
  }
  std::printf("all trials: emitted %d received %d lost %d duplicated %d\n", emitted, received, lost,
              duplicated);
  for (const json::object& e : client.events()) {
    EXPECT_FALSE(IsEvent(e, "node_lost")) << json::serialize(e);
  }
  client.Answer(client.Send("swarm_terminate", {{"swarm_id", swarm}}));
}

}  // namespace
}  // namespace codeswarm::e2e::router_test
