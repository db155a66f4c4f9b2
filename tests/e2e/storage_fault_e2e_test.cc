// Fault test with the real binary: the router's state directory is a tiny tmpfs that is filled
// up while mock nodes stream. The router must stay up, refuse launch and inject with the reason,
// still answer status, and once space is freed, resume: every delta reaches the subscribed
// client exactly once, in order, and the journal replays each exactly once.
//
// Needs root (it mounts a tmpfs); skipped otherwise. The fill moments come from a seed printed
// at the start; CODESWARM_FAULT_SEED=<n> replays a run.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "e2e/router_e2e_fixture.h"
#include "worker/mock_agent.h"

namespace codeswarm::e2e::router_test {
namespace {

constexpr int kNodes = 2;
constexpr int kTrials = 3;
constexpr int kChunks = 300;
constexpr int kChunkDelayMs = 5;  // a turn streams for about 1.5 s
constexpr auto kDeadline = 30s;

// Fills the file system of `dir` with one file until it has no space left; returns its path.
std::string FillUp(const std::string& dir) {
  const std::string path = dir + "/filler";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  EXPECT_GE(fd, 0) << "cannot create " << path << ": " << std::strerror(errno);
  if (fd < 0) return path;
  const std::string block(64 * 1024, 'x');
  std::size_t written = 0;
  while (true) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n <= 0) {
      EXPECT_EQ(errno, ENOSPC) << std::strerror(errno);
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  EXPECT_GT(written, std::size_t{1} << 20) << dir << " was nearly full before the filler";
  return path;
}

struct Tally {
  int emitted = 0;
  int received = 0;
  int lost = 0;
  int duplicated = 0;
  int out_of_order = 0;
  int turn_completes = 0;
};

// What `events` hold for node `node`'s turn of `injection`, against what the node emitted.
Tally Check(const std::vector<json::object>& events, const std::string& injection, int node,
            const std::string& reply) {
  Tally t;
  const std::vector<std::string> emitted = worker::SplitIntoChunks(reply, kChunks);
  t.emitted = static_cast<int>(emitted.size());
  std::map<int64_t, std::string> by_seq;
  for (const json::object& e : events) {
    const json::object& data = e.at("data").as_object();
    if (!e.contains("seq") || !data.contains("injection_id") || !data.contains("node_id")) continue;
    if (Field(e, "injection_id") != injection || data.at("node_id").as_int64() != node) continue;
    if (IsEvent(e, "turn_complete")) ++t.turn_completes;
    if (!IsEvent(e, "assistant_delta")) continue;
    ++t.received;
    const int64_t seq = e.at("seq").as_int64();
    if (by_seq.count(seq) != 0) ++t.duplicated;
    by_seq[seq] = Field(e, "delta");
  }
  std::map<std::string, int> count;
  std::vector<std::string> order;
  for (const auto& [seq, delta] : by_seq) {
    ++count[delta];
    order.push_back(delta);
  }
  for (const std::string& chunk : emitted) {
    auto it = count.find(chunk);
    if (it == count.end()) {
      ++t.lost;
    } else {
      t.duplicated += it->second - 1;
    }
  }
  if (t.lost == 0 && t.duplicated == 0 && order != emitted) t.out_of_order = 1;
  return t;
}

std::string Prompt(int trial) {
  std::string prompt = "[[mock:chunks=" + std::to_string(kChunks) +
                       "]][[mock:delay=" + std::to_string(kChunkDelayMs) + "]] trial " +
                       std::to_string(trial);
  for (int w = 0; w < 2 * kChunks; ++w) prompt += " w" + std::to_string(w);
  return prompt;
}

// Reads until `done()` holds or the deadline passes; returns done().
bool ReadUntil(ProtocolClient& client, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!done() && std::chrono::steady_clock::now() < deadline) client.Drain(50ms);
  return done();
}

int CountEvents(const ProtocolClient& client, const std::string& name) {
  int n = 0;
  for (const json::object& e : client.events()) n += IsEvent(e, name) ? 1 : 0;
  return n;
}

class StorageFaultE2ETest : public RouterE2ETest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root: the state directory is a tmpfs of its own, mounted and filled "
                      "by the test (CI runs it as root)";
    }
    state_dir_ = dir_.path() + "/state";  // where RouterProcess puts the state directory
    ASSERT_EQ(::mkdir(state_dir_.c_str(), 0700), 0) << std::strerror(errno);
    // Larger than the database's write-ahead log can grow (64 MiB, then it is checkpointed and
    // reused): the filler, not the log, is what fills the disk, and removing it frees it.
    if (::mount("tmpfs", state_dir_.c_str(), "tmpfs", 0, "size=96m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs on " << state_dir_ << ": " << std::strerror(errno)
                   << " (needs CAP_SYS_ADMIN)";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) {
      EXPECT_EQ(::umount2(state_dir_.c_str(), MNT_DETACH), 0) << std::strerror(errno);
    }
  }

  std::string state_dir_;
  bool mounted_ = false;
};

TEST_F(StorageFaultE2ETest, FullStateDirRefusesChangesLoudlyAndRecoversWithNothingLostOrDoubled) {
  unsigned seed = std::random_device{}();
  if (const char* fixed = std::getenv("CODESWARM_FAULT_SEED")) seed = std::stoul(fixed);
  std::printf("full state dir trials: seed %u (CODESWARM_FAULT_SEED=%u replays it)\n", seed, seed);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> fill_after_ms(0, kChunks * kChunkDelayMs / 2);
  std::uniform_int_distribution<int> full_for_ms(0, 1500);

  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  client.Answer(client.Send("subscribe", {{"since_seq", 0}}));
  const std::string swarm = LaunchAndWait(client, kNodes);
  std::vector<std::pair<std::string, std::string>> turns;  // injection, prompt
  Tally total;
  for (int trial = 0; trial < kTrials && !HasFailure(); ++trial) {
    const std::string prompt = Prompt(trial);
    const std::string rid =
        client.Send("inject", {{"swarm_id", swarm}, {"nodes", "all"}, {"content", prompt}});
    const std::string injection = Field(client.Answer(rid), "injection_id");
    turns.emplace_back(injection, prompt);
    const int fill_ms = fill_after_ms(random);
    const int full_ms = full_for_ms(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(fill_ms));  // the random fault moment
    const std::string filler = FillUp(state_dir_);
    auto completes = [&] {
      int n = 0;
      for (const json::object& e : client.events()) {
        n += IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection ? 1 : 0;
      }
      return n;
    };
    const int failings = CountEvents(client, "storage_failing");
    auto failing = [&] { return CountEvents(client, "storage_failing") > failings; };
    ASSERT_TRUE(ReadUntil(client, [&] { return failing() || completes() >= kNodes; }));
    if (!failing()) {
      // The turn ended before the disk was full (a slow fill on a loaded machine): an interrupt,
      // which still acts and whose answer is an event, makes the write that fails.
      std::printf("trial %d: the turn ended before the disk was full; an interrupt writes\n",
                  trial);
      client.Send("interrupt", {{"swarm_id", swarm}});
    }
    ASSERT_TRUE(ReadUntil(client, failing)) << "no storage_failing notice; router log:\n"
                                            << router.log();

    // Loud: launch and inject are refused with a reason a person can act on.
    json::object refused = client.Answer(client.Send("swarm_launch", {{"nodes", 1}}));
    EXPECT_EQ(Str(refused.at("event")), "command_rejected") << json::serialize(refused);
    EXPECT_EQ(Field(refused, "code"), "storage_failing");
    EXPECT_NE(Field(refused, "reason").find("database or disk is full"), std::string::npos)
        << Field(refused, "reason");
    EXPECT_NE(Field(refused, "reason").find(state_dir_), std::string::npos);
    refused = client.Answer(
        client.Send("inject", {{"swarm_id", swarm}, {"nodes", "all"}, {"content", "more"}}));
    EXPECT_EQ(Field(refused, "code"), "storage_failing") << json::serialize(refused);
    // Up, and reads still answer.
    json::object status = client.Answer(client.Send("swarm_status", {{"swarm_id", swarm}}));
    EXPECT_EQ(Str(status.at("event")), "swarm_status");
    EXPECT_TRUE(router.running());

    std::this_thread::sleep_for(std::chrono::milliseconds(full_ms));  // how long it stays full
    client.Drain(50ms);
    // Until the disk has room again, no event reaches a client: none is journaled.
    std::size_t notice = client.events().size();
    while (notice > 0 && !IsEvent(client.events()[notice - 1], "storage_failing")) --notice;
    for (std::size_t i = notice; i < client.events().size(); ++i) {
      EXPECT_FALSE(client.events()[i].contains("seq"))
          << "sent while the journal was full: " << json::serialize(client.events()[i]);
    }
    ASSERT_EQ(::unlink(filler.c_str()), 0) << std::strerror(errno);
    const int recoveries = CountEvents(client, "storage_recovered");
    ASSERT_TRUE(
        ReadUntil(client, [&] { return CountEvents(client, "storage_recovered") > recoveries; }))
        << "no storage_recovered notice; router log:\n"
        << router.log();
    EXPECT_TRUE(ReadUntil(client, [&] { return completes() >= kNodes; }));
    client.Drain(100ms);  // anything doubled would come right behind
    Tally trial_tally;
    for (int node = 0; node < kNodes; ++node) {
      Tally t = Check(client.events(), injection, node,
                      "node " + std::to_string(node) + " heard: " + prompt);
      EXPECT_EQ(t.lost, 0) << "trial " << trial << " node " << node;
      EXPECT_EQ(t.duplicated, 0) << "trial " << trial << " node " << node;
      EXPECT_EQ(t.out_of_order, 0) << "trial " << trial << " node " << node;
      EXPECT_EQ(t.turn_completes, 1) << "trial " << trial << " node " << node;
      trial_tally.emitted += t.emitted;
      trial_tally.received += t.received;
      trial_tally.lost += t.lost;
      trial_tally.duplicated += t.duplicated;
    }
    std::printf(
        "trial %d: filled after %4d ms, full for %4d ms: emitted %d received %d lost %d "
        "duplicated %d\n",
        trial, fill_ms, full_ms, trial_tally.emitted, trial_tally.received, trial_tally.lost,
        trial_tally.duplicated);
    std::fflush(stdout);
    total.emitted += trial_tally.emitted;
    total.received += trial_tally.received;
    total.lost += trial_tally.lost;
    total.duplicated += trial_tally.duplicated;
  }
  std::printf("all trials: emitted %d received %d lost %d duplicated %d\n", total.emitted,
              total.received, total.lost, total.duplicated);

  // The journal has every event once: a client that catches up from the start gets them all.
  ProtocolClient late(router.port());
  const std::string sid = late.Send("subscribe", {{"since_seq", 0}});
  EXPECT_TRUE(ReadUntil(late, [&] {
    for (const json::object& e : late.events()) {
      if (IsEvent(e, "replay_complete") && Field(e, "request_id") == sid) return true;
    }
    return false;
  }));
  for (const auto& [injection, prompt] : turns) {
    for (int node = 0; node < kNodes; ++node) {
      Tally t = Check(late.events(), injection, node,
                      "node " + std::to_string(node) + " heard: " + prompt);
      EXPECT_EQ(t.lost, 0) << "replay of " << injection << " node " << node;
      EXPECT_EQ(t.duplicated, 0) << "replay of " << injection << " node " << node;
      EXPECT_EQ(t.turn_completes, 1) << "replay of " << injection << " node " << node;
    }
  }
  // And commands work again.
  InjectAndWait(client, swarm, "after the disk was freed", kNodes);
  // Said loudly in the log, once per failure, with the error.
  const std::string log = router.log();
  for (const char* what : {"STORAGE FAILING", "STORAGE RECOVERED"}) {
    const std::size_t at = log.find(what);
    ASSERT_NE(at, std::string::npos) << what << " not logged:\n" << log;
    const std::size_t begin = log.rfind('\n', at) + 1;
    std::printf("router log: %s\n", log.substr(begin, log.find('\n', at) - begin).c_str());
  }
  client.Answer(client.Send("swarm_terminate", {{"swarm_id", swarm}}));
}

}  // namespace
}  // namespace codeswarm::e2e::router_test
