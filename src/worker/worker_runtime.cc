// `codeswarm worker`: the Asio shell around WorkerCore. It owns the connection to the router
// (TlsRouterLink), the signals, the loop and the agent's leftovers; every decision is the core's.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "common/asio_executor.h"
#include "common/channel_tls.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/subprocess.h"
#include "worker/tls_router_link.h"
#include "worker/turn_runner.h"
#include "worker/worker_core.h"
#include "worker/worker_main.h"

namespace codeswarm::worker {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Kills and reaps every process still below this worker. As a child subreaper the worker
// inherits whatever its agent started and left behind (a tool's server, a login shell's
// background job), so nothing it ran outlives it.
void KillLeftovers() {
  std::vector<ProcessRef> left = DescendantsOf(::getpid());
  if (!left.empty()) spdlog::info("killing {} processes the agent left behind", left.size());
  KillProcesses(left);
  const SystemClock& clock = SystemClock::Get();
  const SteadyTime deadline = clock.Now() + 2s;
  while (clock.Now() < deadline) {
    pid_t reaped = ::waitpid(-1, nullptr, WNOHANG);
    if (reaped < 0) break;  // no children left
    if (reaped == 0) std::this_thread::sleep_for(10ms);
  }
}

std::string HostName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

void WaitForSignals(asio::signal_set& signals, WorkerCore& core) {
  signals.async_wait([&signals, &core](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    core.OnSignal(signal_number);
    WaitForSignals(signals, core);
  });
}

}  // namespace

int RunWorker() {
  Result<WorkerIdentity> identity =
      ReadWorkerIdentity([](const char* name) { return std::getenv(name); });
  if (!identity.ok()) {
    std::fprintf(stderr, "codeswarm worker: %s\n", identity.status().message().c_str());
    return kExitBadEnvironment;
  }
  // The secret proves this worker to the router; the agent and the commands it runs must not
  // inherit it.
  ::unsetenv("CODESWARM_SECRET");
  if (Status s = InitLogging(identity->log_level, "", "worker"); !s.ok()) {
    std::fprintf(stderr, "codeswarm worker: %s\n", s.message().c_str());
    return kExitBadEnvironment;
  }
  ::signal(SIGPIPE, SIG_IGN);
  spdlog::info("worker for swarm {} node {} starting; router {}:{}", identity->swarm_id,
               identity->node_id, identity->router_host, identity->router_port);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  WorkerCoreOptions options;
  options.identity = *identity;
  options.instance = RandomHex(8);
  options.pid = ::getpid();
  options.hostname = HostName();
  options.version = CODESWARM_VERSION;
  options.work_dir = std::filesystem::current_path().string();
  options.backoff_seed = std::random_device{}();
  Result<std::unique_ptr<tls::ChannelTls>> channel_tls =
      tls::ChannelTls::ForWorker(identity->swarm_id, tls::ChannelKey(identity->secret));
  if (!channel_tls.ok()) {
    spdlog::error("{}", channel_tls.status().message());
    return kExitBadEnvironment;
  }

  int exit_code = kExitOk;
  {
    asio::io_context io;
    asio::thread_pool pool(1);  // ends the turns (a blocking call) while the loop serves
    AsioExecutor executor(io, pool);
    std::unique_ptr<TlsRouterLink> link =
        TlsRouterLink::Make(io, **channel_tls, identity->router_host, identity->router_port);
    WorkerCore core(std::move(options), *link, executor, SystemClock::Get(), MakeTurnRunner,
                    [&](int code) {
                      exit_code = code;
                      io.stop();
                    });
    link->Bind(&core);
    asio::signal_set signals(io, SIGTERM, SIGINT, SIGUSR1);
    WaitForSignals(signals, core);
    core.Start();
    io.run();
    pool.join();
  }  // the agent is stopped here
  KillLeftovers();
  spdlog::info("worker exiting with code {}", exit_code);
  return exit_code;
}

}  // namespace codeswarm::worker
