// The real `codeswarm attach` and `codeswarm inject` while the router is killed (SIGKILL) at a
// random moment of a streaming turn and restarted on the same state directory and port: each
// CLI must reconnect, resubscribe from the last seq it handled, and show every delta of every
// node exactly once, in order, with one turn_complete per node, and exit 0.
//
// The kill moments come from a seed printed at the start; CODESWARM_FAULT_SEED=<n> replays a run.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "e2e/router_e2e_fixture.h"
#include "worker/mock_agent.h"

namespace codeswarm::e2e::router_test {
namespace {

constexpr int kNodes = 3;
constexpr int kTrials = 6;
constexpr int kChunks = 150;
constexpr int kChunkDelayMs = 4;  // a turn streams for about kChunks * kChunkDelayMs
constexpr auto kCliDeadline = 60s;

// Numbered words, so that every chunk of every reply is different text.
std::string Prompt(int trial) {
  std::string prompt = "[[mock:chunks=" + std::to_string(kChunks) +
                       "]][[mock:delay=" + std::to_string(kChunkDelayMs) + "]] trial " +
                       std::to_string(trial);
  for (int w = 0; w < 2 * kChunks; ++w) prompt += " w" + std::to_string(w);
  return prompt;
}

std::string Reply(int node, const std::string& prompt) {
  return "node " + std::to_string(node) + " heard: " + prompt;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The injection a CLI output is about: its --json lines or its human header.
std::string InjectionIdIn(const std::string& out) {
  std::smatch match;
  std::regex pattern(R"((?:"injection_id":"|injection )(i-[0-9a-f]+))");
  return std::regex_search(out, match, pattern) ? match.str(1) : "";
}

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::vector<json::object> JsonLines(const std::string& text) {
  std::vector<json::object> lines;
  std::size_t start = 0;
  std::size_t newline;
  while ((newline = text.find('\n', start)) != std::string::npos) {
    json::value line = json::parse(text.substr(start, newline - start));
    start = newline + 1;
    if (line.is_object()) lines.push_back(line.as_object());
  }
  return lines;
}

struct Tally {
  int emitted = 0;
  int received = 0;
  int lost = 0;
  int duplicated = 0;
  int out_of_order = 0;
  int turn_completes = 0;
};

// What a CLI printed (--json) for node `node` of `injection`, against what the node emitted.
Tally Check(const std::vector<json::object>& events, const std::string& injection, int node,
            const std::string& reply) {
  Tally t;
  const std::vector<std::string> emitted = worker::SplitIntoChunks(reply, kChunks);
  t.emitted = static_cast<int>(emitted.size());
  std::vector<std::string> received;
  for (const json::object& e : events) {
    const json::object& data = e.at("data").as_object();
    const json::value* id = data.if_contains("injection_id");
    if (!data.contains("node_id") || id == nullptr || Str(*id) != injection ||
        data.at("node_id").as_int64() != node) {
      continue;
    }
    if (IsEvent(e, "turn_complete")) ++t.turn_completes;
    if (IsEvent(e, "assistant_delta")) received.push_back(Field(e, "delta"));
  }
  t.received = static_cast<int>(received.size());
  std::map<std::string, int> count;
  for (const std::string& delta : received) ++count[delta];
  for (const std::string& chunk : emitted) {
    auto it = count.find(chunk);
    if (it == count.end()) {
      ++t.lost;
    } else {
      t.duplicated += it->second - 1;
    }
  }
  if (t.lost == 0 && t.duplicated == 0 && received != emitted) t.out_of_order = 1;
  return t;
}

// A CLI running in the background, its stdout and stderr in files; killed if still running when
// the test ends.
class BackgroundCli {
 public:
  BackgroundCli(const std::string& config, const std::vector<std::string>& args,
                const std::string& out_path)
      : out_path_(out_path), err_path_(out_path + ".err") {
    SpawnOptions options;
    options.argv = {CODESWARM_BINARY, "--config", config, "--no-autostart"};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.stdout_mode = StdioMode::kFile;
    options.stdout_file = out_path_;
    options.stderr_mode = StdioMode::kFile;
    options.stderr_file = err_path_;
    auto spawned = Subprocess::Spawn(options);
    if (spawned.ok()) process_.emplace(std::move(*spawned));
  }
  ~BackgroundCli() {
    if (process_ && !process_->TryWait()) {
      process_->Signal(SIGKILL);
      process_->Wait();
    }
  }
  bool started() const { return process_.has_value(); }
  std::string out() const { return ReadFile(out_path_); }
  std::string err() const { return ReadFile(err_path_); }
  // The exit code, or -1 when it did not exit within `timeout`.
  int WaitExit(std::chrono::milliseconds timeout) {
    std::optional<ExitStatus> status = process_->WaitFor(timeout);
    return status ? (status->signal != 0 ? 128 + status->signal : status->code) : -1;
  }

 private:
  const std::string out_path_;
  const std::string err_path_;
  std::optional<Subprocess> process_;
};

class CliRestartE2ETest : public RouterE2ETest {};

TEST_F(CliRestartE2ETest, AttachAndInjectShowEveryTokenOnceAcrossRouterKills) {
  unsigned seed = std::random_device{}();
  if (const char* fixed = std::getenv("CODESWARM_FAULT_SEED")) seed = std::stoul(fixed);
  std::printf("CLI router kill trials: seed %u (CODESWARM_FAULT_SEED=%u replays it)\n", seed, seed);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> kill_after_ms(0, kChunks * kChunkDelayMs * 4 / 5);

  RouterProcess router(dir_);
  router.Start();
  std::string swarm;
  {
    ProtocolClient client(router.port());
    swarm = LaunchAndWait(client, kNodes);
  }
  ASSERT_FALSE(swarm.empty());
  BackgroundCli attach(router.config_path(), {"--json", "attach", swarm}, dir_.path() + "/attach");
  ASSERT_TRUE(attach.started());
  ASSERT_TRUE(Eventually([&] { return Contains(attach.out(), "\"swarm_status\""); }, 20s))
      << attach.err();

  std::vector<std::pair<std::string, std::string>> injections;  // (injection id, prompt)
  for (int trial = 0; trial < kTrials && !HasFailure(); ++trial) {
    const bool json = trial % 2 == 0;
    const std::string prompt = Prompt(trial);
    std::vector<std::string> args = {"inject", swarm, "--prompt", prompt};
    if (json) args.insert(args.begin(), "--json");
    BackgroundCli inject(router.config_path(), args,
                         dir_.path() + "/inject-" + std::to_string(trial));
    ASSERT_TRUE(inject.started());
    // Killed while the inject follows its turns, not before it was acknowledged.
    ASSERT_TRUE(Eventually(
        [&] { return Contains(inject.out(), json ? "\"inject_ack\"" : "injection i-"); }, 20s))
        << inject.out() << inject.err();
    const int wait_ms = kill_after_ms(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));  // the random kill moment
    router.Kill();
    router.Start();

    const int exit_code = inject.WaitExit(kCliDeadline);
    const std::string out = inject.out();
    const std::string err = inject.err();
    EXPECT_EQ(exit_code, 0) << "trial " << trial << "\n" << out << err;
    const std::string injection = InjectionIdIn(out);
    ASSERT_FALSE(injection.empty()) << out;
    injections.push_back({injection, prompt});
    Tally tally;
    int whole_replies = 0;  // human output: nodes whose reply is printed once, whole
    for (int node = 0; node < kNodes; ++node) {
      const std::string reply = Reply(node, prompt);
      if (json) {
        Tally t = Check(JsonLines(out), injection, node, reply);
        EXPECT_EQ(t.lost, 0) << "trial " << trial << " node " << node;
        EXPECT_EQ(t.duplicated, 0) << "trial " << trial << " node " << node;
        EXPECT_EQ(t.out_of_order, 0) << "trial " << trial << " node " << node;
        EXPECT_EQ(t.turn_completes, 1) << "trial " << trial << " node " << node;
        tally.emitted += t.emitted;
        tally.received += t.received;
        tally.lost += t.lost;
        tally.duplicated += t.duplicated;
      } else {
        // Several nodes: each one's text is printed a whole line at a time, here one line.
        const std::string label = "[node " + std::to_string(node) + "] ";
        whole_replies += Count(out, label + reply + "\n") == 1 ? 1 : 0;
        EXPECT_EQ(Count(out, label + reply + "\n"), 1) << "trial " << trial << "\n" << out;
        EXPECT_EQ(Count(out, label + "completed ("), 1) << "trial " << trial << "\n" << out;
        EXPECT_EQ(Count(out, label), 2) << "trial " << trial << "\n" << out;
      }
    }
    if (!json) {
      EXPECT_TRUE(Contains(out, "3/3 nodes completed")) << out;
    }
    const char* how =
        Contains(err, "router connection lost; reconnecting") ? "reconnected" : "turn over before";
    if (json) {
      std::printf(
          "trial %d: inject --json killed after %3d ms: %s; deltas emitted %d received %d "
          "lost %d duplicated %d\n",
          trial, wait_ms, how, tally.emitted, tally.received, tally.lost, tally.duplicated);
    } else {
      std::printf(
          "trial %d: inject killed after %3d ms: %s; nodes whose whole reply shows once: "
          "%d/%d\n",
          trial, wait_ms, how, whole_replies, kNodes);
    }
    std::fflush(stdout);
  }

  CliResult terminated = RunCli(router.config_path(), {"--no-autostart", "terminate", swarm});
  EXPECT_EQ(terminated.exit_code, 0) << terminated.err;
  EXPECT_EQ(attach.WaitExit(kCliDeadline), 0) << attach.err();
  const std::vector<json::object> followed = JsonLines(attach.out());
  ASSERT_FALSE(followed.empty());
  EXPECT_EQ(Str(followed.front().at("event")), "swarm_status");
  Tally total;
  for (const auto& [injection, prompt] : injections) {
    for (int node = 0; node < kNodes; ++node) {
      Tally t = Check(followed, injection, node, Reply(node, prompt));
      EXPECT_EQ(t.lost, 0) << injection << " node " << node;
      EXPECT_EQ(t.duplicated, 0) << injection << " node " << node;
      EXPECT_EQ(t.out_of_order, 0) << injection << " node " << node;
      EXPECT_EQ(t.turn_completes, 1) << injection << " node " << node;
      total.emitted += t.emitted;
      total.received += t.received;
      total.lost += t.lost;
      total.duplicated += t.duplicated;
    }
  }
  const int reconnects = Count(attach.err(), "router connection lost; reconnecting");
  std::printf(
      "attach over %d kills: reconnected %d times; emitted %d received %d lost %d "
      "duplicated %d\n",
      kTrials, reconnects, total.emitted, total.received, total.lost, total.duplicated);
  EXPECT_EQ(reconnects, static_cast<int>(injections.size())) << attach.err();
}

TEST_F(CliRestartE2ETest, AttachSinceZeroStartedAfterATurnEndedShowsThatTurn) {
  RouterProcess router(dir_);
  router.Start();
  std::string swarm;
  {
    ProtocolClient client(router.port());
    swarm = LaunchAndWait(client, 2);
  }
  const std::string prompt = "[[mock:chunks=20]] tell the latecomer w1 w2 w3 w4 w5 w6 w7 w8";
  CliResult injected =
      RunCli(router.config_path(), {"--no-autostart", "inject", swarm, "--prompt", prompt});
  ASSERT_EQ(injected.exit_code, 0) << injected.out << injected.err;

  BackgroundCli late(router.config_path(), {"attach", swarm, "--since", "0"},
                     dir_.path() + "/late");
  BackgroundCli late_json(router.config_path(), {"--json", "attach", swarm, "--since", "0"},
                          dir_.path() + "/late-json");
  ASSERT_TRUE(late.started() && late_json.started());
  ASSERT_TRUE(Eventually([&] { return Count(late.out(), "completed (") == 2; }, 20s))
      << late.out() << late.err();
  ASSERT_TRUE(Eventually([&] { return Count(late_json.out(), "\"turn_complete\"") == 2; }, 20s))
      << late_json.out() << late_json.err();
  CliResult terminated = RunCli(router.config_path(), {"--no-autostart", "terminate", swarm});
  EXPECT_EQ(terminated.exit_code, 0) << terminated.err;
  EXPECT_EQ(late.WaitExit(kCliDeadline), 0) << late.err();
  EXPECT_EQ(late_json.WaitExit(kCliDeadline), 0) << late_json.err();

  const std::string out = late.out();
  for (int node = 0; node < 2; ++node) {
    const std::string label = "[node " + std::to_string(node) + "] ";
    EXPECT_EQ(Count(out, label + "connected"), 1) << out;  // from the launch, long before
    EXPECT_EQ(Count(out, label + Reply(node, prompt) + "\n"), 1) << out;
    EXPECT_EQ(Count(out, label + "completed ("), 1) << out;
  }
  const std::vector<json::object> events = JsonLines(late_json.out());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(Str(events.front().at("event")), "swarm_status");
  const std::string injection = InjectionIdIn(injected.out);
  ASSERT_FALSE(injection.empty()) << injected.out;
  for (int node = 0; node < 2; ++node) {
    std::vector<std::string> deltas;
    for (const json::object& e : events) {
      if (IsEvent(e, "assistant_delta") && Field(e, "injection_id") == injection &&
          e.at("data").at("node_id").as_int64() == node) {
        deltas.push_back(Field(e, "delta"));
      }
    }
    EXPECT_EQ(deltas, worker::SplitIntoChunks(Reply(node, prompt), 20)) << "node " << node;
  }
}

}  // namespace
}  // namespace codeswarm::e2e::router_test
