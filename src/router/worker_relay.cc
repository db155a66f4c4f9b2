#include "router/worker_relay.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>

#include "common/subprocess.h"
#include "relay/relay_main.h"

namespace codeswarm::router {

namespace {

// How long a connection through the relay may stay silent before the relay closes it (with a
// log line naming it). A worker speaks first, at once; shorter than the router's own limit
// (router.worker_timeout_seconds), which then covers a handshake that starts and stalls.
double RelayHelloTimeoutSeconds(const Config& config) {
  return std::max(1.0, config.router.worker_timeout_seconds / 2);
}

std::string PortFile(const Config& config) { return config.router.state_dir + "/relay.port"; }

int SavedPort(const Config& config) {
  std::ifstream in(PortFile(config));
  int port = 0;
  if (!(in >> port) || port < 1 || port > 65535) return 0;
  return port;
}

void SavePort(const Config& config, int port) {
  std::ofstream out(PortFile(config), std::ios::trunc);
  out << port << "\n";
}

Result<StartedRelay> StartOn(boost::asio::io_context& io, boost::asio::thread_pool& pool,
                             const Config& config, const LoginNodeCommand& login_command,
                             const std::string& binary,
                             relay::RelayLink::ConnectionHandler on_connection, int port) {
  relay::RelayLinkOptions options;
  options.where = "login node " + config.SlurmLoginAlias();
  options.port = port;
  options.start_timeout_seconds = config.ssh.connect_timeout_seconds + 20;
  options.command = [&config, login_command, binary](int port) {
    relay::RelayOptions relay;
    relay.port = port;
    relay.advertise_host = config.cluster.slurm.relay_host;
    relay.hello_timeout_seconds = RelayHelloTimeoutSeconds(config);
    relay.log_level = config.router.log_level;
    std::vector<std::string> argv = {binary, "relay"};
    for (std::string& arg : relay::RelayArgs(relay)) argv.push_back(std::move(arg));
    return login_command(config, argv);
  };
  auto link = relay::RelayLink::Create(io, pool, std::move(options), std::move(on_connection));
  Result<relay::HelloInfo> hello = link->Start();
  if (!hello.ok()) return hello.status();
  return StartedRelay{std::move(link), hello->host + ":" + std::to_string(hello->port)};
}

}  // namespace

std::string DefaultRelayBinary(const Config& config) {
  if (!config.cluster.slurm.worker_command.empty()) return config.cluster.slurm.worker_command;
  return SelfExecutablePath();
}

Result<StartedRelay> StartWorkerRelay(boost::asio::io_context& io, boost::asio::thread_pool& pool,
                                      const Config& config, const LoginNodeCommand& login_command,
                                      const RelayBinaryResolver& relay_binary,
                                      relay::RelayLink::ConnectionHandler on_connection) {
  if (!login_command) return Status::FailedPrecondition("this build cannot start a relay");
  std::string binary = DefaultRelayBinary(config);
  if (relay_binary) {
    Result<std::string> resolved = relay_binary(config);
    if (!resolved.ok()) {
      return resolved.status().WithPrefix("cannot start the relay");
    }
    binary = std::move(*resolved);
  }
  const int configured = config.cluster.slurm.relay_port;
  const int saved = configured == 0 ? SavedPort(config) : 0;
  Result<StartedRelay> started =
      StartOn(io, pool, config, login_command, binary, on_connection,
              configured != 0 ? configured : saved);
  if (!started.ok() && saved != 0 &&
      started.status().message().find("in use") != std::string::npos) {
    spdlog::warn("the relay's previous port {} is taken ({}); workers of running swarms cannot "
                 "reach this router until they are relaunched",
                 saved, started.status().message());
    started = StartOn(io, pool, config, login_command, binary, on_connection, 0);
  }
  if (!started.ok()) return started.status();
  const std::size_t colon = started->worker_address.rfind(':');
  SavePort(config, std::stoi(started->worker_address.substr(colon + 1)));
  return started;
}

}  // namespace codeswarm::router
