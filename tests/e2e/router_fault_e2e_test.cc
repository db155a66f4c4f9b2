// Fault tests with the real binary: the router is killed (SIGKILL) at a random moment while 4
// mock nodes stream, and restarted on the same state directory. A client that subscribes from
// the last seq it saw must end with exactly the events the workers emitted: none lost, none
// twice, each node's in order, and one turn_complete per delivered injection.
//
// The kill moments come from a seed printed at the start; CODESWARM_FAULT_SEED=<n> replays a run.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "e2e/router_e2e_fixture.h"
#include "worker/mock_agent.h"

namespace codeswarm::e2e::router_test {
namespace {

constexpr int kNodes = 4;
constexpr int kTrials = 20;
constexpr int kChunks = 200;
constexpr int kChunkDelayMs = 2;  // a turn streams for about kChunks * kChunkDelayMs
constexpr auto kTrialDeadline = 20s;

struct Tally {
  int emitted = 0;
  int received = 0;
  int lost = 0;
  int duplicated = 0;
  int out_of_order = 0;
  int turn_completes = 0;
};

// The prompt of trial `trial`: numbered words, so every chunk of the reply is different text.
std::string Prompt(int trial) {
  std::string prompt = "[[mock:chunks=" + std::to_string(kChunks) +
                       "]][[mock:delay=" + std::to_string(kChunkDelayMs) + "]] trial " +
                       std::to_string(trial);
  for (int w = 0; w < 2 * kChunks; ++w) prompt += " w" + std::to_string(w);
  return prompt;
}

// Checks what the client got for one injection against what node `node` emitted.
Tally Check(const std::vector<json::object>& events, const std::string& injection, int node,
            const std::string& reply) {
  Tally t;
  const std::vector<std::string> emitted = worker::SplitIntoChunks(reply, kChunks);
  t.emitted = static_cast<int>(emitted.size());
  std::map<int64_t, std::string> by_seq;  // the client's view, in seq order
  std::map<std::string, int> count;
  for (const json::object& e : events) {
    const json::object& data = e.at("data").as_object();
    if (!e.contains("seq") || !data.contains("injection_id") || !data.contains("node_id")) continue;
    if (Field(e, "injection_id") != injection || data.at("node_id").as_int64() != node) continue;
    if (IsEvent(e, "turn_complete")) ++t.turn_completes;
    if (!IsEvent(e, "assistant_delta")) continue;
    ++t.received;
    const int64_t seq = e.at("seq").as_int64();
    if (by_seq.count(seq) != 0) ++t.duplicated;  // the same line twice
    by_seq[seq] = Field(e, "delta");
  }
  for (const auto& [seq, delta] : by_seq) ++count[delta];
  for (const std::string& chunk : emitted) {
    auto it = count.find(chunk);
    if (it == count.end()) {
      ++t.lost;
    } else {
      t.duplicated += it->second - 1;  // the same chunk under two seqs
    }
  }
  std::vector<std::string> order;
  for (const auto& [seq, delta] : by_seq) order.push_back(delta);
  if (t.lost == 0 && t.duplicated == 0 && order != emitted) t.out_of_order = 1;
  return t;
}

TEST_F(RouterE2ETest, SubscriberGetsEveryEventOnceAcrossRouterKills) {
  unsigned seed = std::random_device{}();
  if (const char* fixed = std::getenv("CODESWARM_FAULT_SEED")) seed = std::stoul(fixed);
  std::printf("router kill trials: seed %u (CODESWARM_FAULT_SEED=%u replays it)\n", seed, seed);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> kill_after_ms(0, kChunks * kChunkDelayMs + 100);

  RouterProcess router(dir_);
  router.Start();
  auto client = std::make_unique<ProtocolClient>(router.port());
  const std::string swarm = LaunchAndWait(*client, kNodes);
  std::vector<json::object> seen;  // every event the client got, across its connections
  auto last_seq = [&] {
    int64_t last = 0;
    for (const json::object& e : seen) {
      if (e.contains("seq")) last = std::max(last, e.at("seq").as_int64());
    }
    return last;
  };
  Tally total;
  for (int trial = 0; trial < kTrials && !HasFailure(); ++trial) {
    const std::string prompt = Prompt(trial);
    const std::string rid =
        client->Send("inject", {{"swarm_id", swarm}, {"nodes", "all"}, {"content", prompt}});
    const std::string injection = Field(client->Answer(rid), "injection_id");
    const int wait_ms = kill_after_ms(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));  // the random kill moment
    router.Kill();
    // Everything the router wrote before it died is still readable.
    client->ClosedWithin(5s);
    seen.insert(seen.end(), client->events().begin(), client->events().end());
    router.Start();
    client = std::make_unique<ProtocolClient>(router.port());
    const int64_t since = last_seq();
    const std::string sid = client->Send("subscribe", {{"since_seq", since}});
    json::object answer = client->Answer(sid);
    ASSERT_EQ(Str(answer.at("event")), "subscribed") << json::serialize(answer);

    // Until each node's turn of this injection is complete (in the replay or live).
    const auto deadline = std::chrono::steady_clock::now() + kTrialDeadline;
    auto completes = [&] {
      int n = 0;
      const std::vector<json::object>* lists[] = {&seen, &client->events()};
      for (const std::vector<json::object>* list : lists) {
        for (const json::object& e : *list) {
          n += IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection ? 1 : 0;
        }
      }
      return n;
    };
    while (completes() < kNodes && std::chrono::steady_clock::now() < deadline) {
      client->Drain(50ms);
    }
    client->Drain(100ms);  // anything doubled would come right behind
    std::vector<json::object> all = seen;
    all.insert(all.end(), client->events().begin(), client->events().end());
    Tally trial_tally;
    for (int node = 0; node < kNodes; ++node) {
      std::string reply = "node " + std::to_string(node) + " heard: " + prompt;
      Tally t = Check(all, injection, node, reply);
      EXPECT_EQ(t.lost, 0) << "trial " << trial << " node " << node;
      EXPECT_EQ(t.duplicated, 0) << "trial " << trial << " node " << node;
      EXPECT_EQ(t.out_of_order, 0) << "trial " << trial << " node " << node;
      EXPECT_EQ(t.turn_completes, 1) << "trial " << trial << " node " << node;
      trial_tally.emitted += t.emitted;
      trial_tally.received += t.received;
      trial_tally.lost += t.lost;
      trial_tally.duplicated += t.duplicated;
    }
    std::printf("trial %2d: killed after %3d ms: emitted %d received %d lost %d duplicated %d\n",
                trial, wait_ms, trial_tally.emitted, trial_tally.received, trial_tally.lost,
                trial_tally.duplicated);
    std::fflush(stdout);
    total.emitted += trial_tally.emitted;
    total.received += trial_tally.received;
    total.lost += trial_tally.lost;
    total.duplicated += trial_tally.duplicated;
    // The next trial's client carries on from this one's connection.
    seen.insert(seen.end(), client->events().begin(), client->events().end());
    client = std::make_unique<ProtocolClient>(router.port());
    const std::string again = client->Send("subscribe", {{"since_seq", last_seq()}});
    client->Answer(again);
  }
  std::printf("all trials: emitted %d received %d lost %d duplicated %d\n", total.emitted,
              total.received, total.lost, total.duplicated);
  const std::string trid = client->Send("swarm_terminate", {{"swarm_id", swarm}});
  client->Answer(trid);
}

}  // namespace
}  // namespace codeswarm::e2e::router_test
