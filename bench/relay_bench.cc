// The relay's cost (docs/BENCHMARKS.md, "Through the relay"): the same router, local workers and
// mock agent, once with the workers dialling the router (cluster.slurm.connect "direct") and once
// through `codeswarm relay` over a real ssh to the test login node (scripts/slurm-up.sh; the
// relay runs there as the login user).
//
//   eval "$(scripts/slurm-up.sh)"; codeswarm_relay_bench [--quick]
//   (CODESWARM_BENCH_NO_CONTROL_MASTER=1: the relay's ssh without a shared ControlMaster connection)
//
// 1. inject -> turn_complete, 1 node, one injection at a time: p50/p90/p99.
// 2. Streaming: 4 nodes streaming as fast as the mock can, events/s received by one client.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "bench_support.h"

namespace codeswarm::bench {
namespace {

using e2e::RouterProcess;
using e2e::TempDir;

struct Mode {
  const char* name;
  bool relay;
};

// A router in `mode` with `extra` merged in; the relay's port, or 0.
std::unique_ptr<RouterProcess> StartRouter(const TempDir& dir, const Mode& mode,
                                           json::object extra, int* relay_port) {
  json::object config{{"router", {{"log_level", "warn"}, {"client_queue_bytes", 1 << 30}}}};
  for (auto& [key, value] : extra) config[key] = value;
  *relay_port = 0;
  if (mode.relay) {
    *relay_port = e2e::FreePort();
    config["cluster"] = {{"slurm",
                          {{"connect", "relay"},
                           {"relay_host", "127.0.0.1"},
                           {"relay_port", *relay_port},
                           {"login_alias", std::getenv("CODESWARM_SSH_HOST")}}}};
    config["ssh"] = {{"ssh_config", std::getenv("CODESWARM_SSH_CONFIG")},
                     {"controlpersist_minutes", 1}};
  }
  auto router = std::make_unique<RouterProcess>(dir, config);
  router->Start();
  return router;
}

void StopWorkers(int relay_port) {
  if (relay_port == 0) return;  // the harness stops those of a direct router
  for (pid_t pid : e2e::ProcessesWithEnv("CODESWARM_ROUTER_ADDR=127.0.0.1:" + std::to_string(relay_port))) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
}

std::vector<double> TurnLatency(const Mode& mode, int rounds) {
  TempDir dir;
  int relay_port = 0;
  auto router = StartRouter(dir, mode, {{"agent", {{"mock", {{"chunks", 4}}}}}}, &relay_port);
  std::vector<double> done;
  {
    ProtocolClient client(router->port());
    std::string swarm = LaunchAndWait(client, 1);
    for (int i = 0; i < rounds; ++i) {
      auto t0 = Clock::now();
      std::string rid =
          client.Send("inject", {{"swarm_id", swarm}, {"content", "ping " + std::to_string(i)}});
      std::string injection = Field(client.Answer(rid), "injection_id");
      client.WaitFor([&](const json::object& e) {
        return Is(e, "turn_complete") && Field(e, "injection_id") == injection;
      });
      done.push_back(Ms(Clock::now() - t0));
    }
  }
  router->Stop();
  StopWorkers(relay_port);
  return done;
}

double StreamingRate(const Mode& mode, int nodes, int chunks) {
  TempDir dir;
  int relay_port = 0;
  auto router = StartRouter(
      dir, mode, {{"agent", {{"mock", {{"reply", "{prompt}"}, {"chunks", chunks}}}}}}, &relay_port);
  double rate = 0;
  {
    ProtocolClient control(router->port());
    std::string swarm = LaunchAndWait(control, nodes);
    CountingClient reader(router->port());
    std::string prompt(static_cast<std::size_t>(chunks) * 8, 'x');  // 8-byte deltas
    auto t0 = Clock::now();
    uint64_t lines = 0;
    std::thread counting([&] { lines = reader.ReadUntil(nodes); });
    control.Send("inject", {{"swarm_id", swarm}, {"content", prompt}});
    counting.join();
    rate = static_cast<double>(lines) / std::chrono::duration<double>(Clock::now() - t0).count();
  }
  router->Stop();
  StopWorkers(relay_port);
  return rate;
}

}  // namespace
}  // namespace codeswarm::bench

int main(int argc, char** argv) {
  using namespace codeswarm::bench;
  if (std::getenv("CODESWARM_SSH_CONFIG") == nullptr || std::getenv("CODESWARM_SSH_HOST") == nullptr) {
    std::fprintf(stderr, "codeswarm_relay_bench needs the test login node: "
                         "eval \"$(scripts/slurm-up.sh)\" (CODESWARM_SSH_CONFIG, CODESWARM_SSH_HOST)\n");
    return 2;
  }
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int rounds = quick ? 50 : 500;
  const int chunks = quick ? 5000 : 50000;
  const Mode modes[] = {{"direct", false}, {"relay", true}};
  std::printf("### Direct vs through the relay (loopback, ssh to the test login node)\n\n");
  std::printf("| connect | inject → `turn_complete` p50 ms | p90 ms | p99 ms | streaming events/s "
              "(4 nodes × %d deltas, 1 client) |\n|---|---|---|---|---|\n", chunks);
  for (const Mode& mode : modes) {
    std::vector<double> latency = TurnLatency(mode, rounds);
    double rate = StreamingRate(mode, 4, chunks);
    std::printf("| %s | %.3f | %.3f | %.3f | %.0f |\n", mode.name, Percentile(latency, 0.5),
                Percentile(latency, 0.9), Percentile(latency, 0.99), rate);
    std::fflush(stdout);
  }
  return 0;
}
