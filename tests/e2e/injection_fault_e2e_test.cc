// Fault test with the real binary: the router is SIGKILLed right after the inject_ack of
// injections held for nodes whose workers have not connected yet, and restarted on the same
// state directory with the workers now able to connect. Each injection must run exactly once on
// each node it targeted: one inject_ack, inject_delivered, turn_started and turn_complete, and
// the mock agent's answer says it was that worker's turn in injection order (a prompt run twice
// would shift the turn numbers).
//
// Workers cannot connect at first because the router tells them to dial 127.0.0.2 (its
// `worker_advertise_host`) while its worker port listens on 127.0.0.1 only: they are refused and
// keep retrying, as workers of a Slurm job wait for their job to start. The restarted router
// listens on 127.0.0.2. The trials come from a seed printed at the start;
// CODESWARM_FAULT_SEED=<n> replays a run.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "e2e/router_e2e_fixture.h"

namespace codeswarm::e2e::router_test {
namespace {

constexpr int kNodes = 2;
constexpr int kTrials = 5;
constexpr auto kTrialDeadline = 40s;  // worker reconnect backoff is at most about 7.5 s

// The router's config, with its worker port on `listen_host` and workers told to dial
// `dial_host`.
void SetWorkerHosts(const RouterProcess& router, const std::string& listen_host,
                    const std::string& dial_host) {
  json::object config = json::parse(ReadFile(router.config_path())).as_object();
  json::object& section = config["router"].as_object();
  section["worker_host"] = listen_host;
  section["worker_advertise_host"] = dial_host;
  WriteFile(router.config_path(), json::serialize(config));
}

// Workers dial 127.0.0.2, so RouterProcess's own clean-up (by its 127.0.0.1 address) misses them.
struct KillWorkersDialing {
  std::string address;
  ~KillWorkersDialing() {
    for (pid_t pid : ProcessesWithEnv("CODESWARM_ROUTER_ADDR=" + address)) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
  }
};

struct Injected {
  std::string id;
  std::string prompt;
  std::vector<int> nodes;
};

struct Counts {
  int acks = 0;
  int delivered = 0;
  int started = 0;
  int completed = 0;      // turn_complete with status completed
  int other_endings = 0;  // a failed / interrupted turn_complete, or inject_failed
  std::vector<std::string> answers;
};

std::map<std::pair<std::string, int>, Counts> CountEvents(const std::vector<json::object>& events) {
  std::map<std::pair<std::string, int>, Counts> out;
  for (const json::object& e : events) {
    const json::object& data = e.at("data").as_object();
    if (!e.contains("seq") || !data.contains("injection_id") || !data.contains("node_id")) continue;
    Counts& c = out[{Field(e, "injection_id"), static_cast<int>(data.at("node_id").as_int64())}];
    if (IsEvent(e, "inject_ack")) ++c.acks;
    if (IsEvent(e, "inject_delivered")) ++c.delivered;
    if (IsEvent(e, "turn_started")) ++c.started;
    if (IsEvent(e, "assistant")) c.answers.push_back(Field(e, "content"));
    if (IsEvent(e, "inject_failed")) ++c.other_endings;
    if (IsEvent(e, "turn_complete")) {
      ++(Field(e, "status") == "completed" ? c.completed : c.other_endings);
    }
  }
  return out;
}

TEST_F(RouterE2ETest, InjectionAcceptedBeforeAKillRunsOnceAfterTheRestart) {
  unsigned seed = std::random_device{}();
  if (const char* fixed = std::getenv("CODESWARM_FAULT_SEED")) seed = std::stoul(fixed);
  std::printf("kill after inject_ack trials: seed %u (CODESWARM_FAULT_SEED=%u replays it)\n", seed,
              seed);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> injection_count(1, 3);
  std::uniform_int_distribution<int> target(0, kNodes);  // kNodes: all of them
  std::uniform_int_distribution<int> kill_after_ms(0, 5);

  RouterProcess router(
      dir_, {{"agent",
              {{"kind", "mock"}, {"mock", {{"reply", "node {node_id} turn {turn}: {prompt}"}}}}}});
  KillWorkersDialing cleanup{"127.0.0.2:" + std::to_string(router.worker_port())};
  int total_runs = 0;
  int total_expected = 0;
  for (int trial = 0; trial < kTrials && !HasFailure(); ++trial) {
    SetWorkerHosts(router, "127.0.0.1", "127.0.0.2");  // workers are refused
    router.Start();
    auto client = std::make_unique<ProtocolClient>(router.port());
    const std::string rid = client->Send("swarm_launch", {{"nodes", kNodes}});
    json::object launched = client->Answer(rid);
    ASSERT_EQ(Str(launched.at("event")), "swarm_launched") << json::serialize(launched);
    const std::string swarm = Field(launched, "swarm_id");

    std::vector<Injected> injected;
    const int count = injection_count(random);
    for (int i = 0; i < count; ++i) {
      Injected inj;
      inj.prompt = "trial " + std::to_string(trial) + " prompt " + std::to_string(i);
      const int t = target(random);
      json::value nodes = "all";
      if (t < kNodes) {
        nodes = json::array{t};
        inj.nodes = {t};
      } else {
        for (int n = 0; n < kNodes; ++n) inj.nodes.push_back(n);
      }
      const std::string irid =
          client->Send("inject", {{"swarm_id", swarm}, {"nodes", nodes}, {"content", inj.prompt}});
      json::object ack = client->Answer(irid);
      ASSERT_EQ(Str(ack.at("event")), "inject_ack") << json::serialize(ack);
      inj.id = Field(ack, "injection_id");
      injected.push_back(inj);
    }
    const int wait_ms = kill_after_ms(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    router.Kill();
    for (const json::object& e : client->events()) {
      ASSERT_FALSE(IsEvent(e, "node_connected")) << "a worker connected before the kill";
    }

    SetWorkerHosts(router, "127.0.0.2", "127.0.0.2");  // now they get through
    router.Start();
    client = std::make_unique<ProtocolClient>(router.port());
    const std::string sid = client->Send("subscribe", {{"since_seq", 0}, {"swarm_id", swarm}});
    ASSERT_EQ(Str(client->Answer(sid).at("event")), "subscribed");
    int expected = 0;
    for (const Injected& inj : injected) expected += static_cast<int>(inj.nodes.size());
    auto ended = [&] {
      int n = 0;
      for (const auto& [key, c] : CountEvents(client->events())) n += c.completed + c.other_endings;
      return n;
    };
    const auto deadline = std::chrono::steady_clock::now() + kTrialDeadline;
    while (ended() < expected && std::chrono::steady_clock::now() < deadline) client->Drain(50ms);
    client->Drain(300ms);  // anything doubled would come right behind

    const auto counts = CountEvents(client->events());
    std::map<int, int> turns_on;  // node -> turns it was given so far
    int runs = 0;
    int doubled = 0;
    int lost = 0;
    for (const Injected& inj : injected) {
      for (int node : inj.nodes) {
        const int turn = ++turns_on[node];
        auto it = counts.find({inj.id, node});
        const Counts c = it == counts.end() ? Counts{} : it->second;
        const std::string where =
            "trial " + std::to_string(trial) + " " + inj.id + " node " + std::to_string(node);
        EXPECT_EQ(c.acks, 1) << where;
        EXPECT_EQ(c.delivered, 1) << where;
        EXPECT_EQ(c.started, 1) << where;
        EXPECT_EQ(c.completed, 1) << where;
        EXPECT_EQ(c.other_endings, 0) << where;
        const std::string answer =
            "node " + std::to_string(node) + " turn " + std::to_string(turn) + ": " + inj.prompt;
        EXPECT_EQ(c.answers, std::vector<std::string>{answer}) << where;
        runs += c.started;
        doubled += c.started > 1 ? c.started - 1 : 0;
        lost += c.completed == 0 ? 1 : 0;
      }
    }
    std::printf(
        "trial %d: %d injections, killed %d ms after the last inject_ack: expected %d "
        "runs, ran %d, lost %d, doubled %d\n",
        trial, count, wait_ms, expected, runs, lost, doubled);
    std::fflush(stdout);
    total_runs += runs;
    total_expected += expected;
    if (HasFailure()) std::printf("router log:\n%s\n", router.log().c_str());

    const std::string trid = client->Send("swarm_terminate", {{"swarm_id", swarm}});
    client->Answer(trid, 30s);
    router.Stop();
  }
  std::printf("all trials: expected %d runs, ran %d\n", total_expected, total_runs);
}

}  // namespace
}  // namespace codeswarm::e2e::router_test
