#include "cli/session.h"

#include <iostream>

#include "cli/autostart.h"
#include "cli/endpoint.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"

namespace codeswarm::cli {

Result<Config> LoadCliConfig(const GlobalOptions& options) {
  Result<Config> config = LoadConfig(options.config_path, options.validate_agent);
  if (!config.ok() || !options.router) return config;
  Result<Endpoint> endpoint = ParseEndpoint(*options.router);
  if (!endpoint.ok()) return endpoint.status().WithPrefix("--router");
  config->router.host = endpoint->host;
  config->router.port = endpoint->port;
  return config;
}

int RunRouterCommand(const GlobalOptions& options, const Wiring& wiring, bool log_to_file) {
  Result<Config> config = LoadCliConfig(options);
  if (!config.ok()) {
    std::cerr << "error: " << config.status().message() << std::endl;
    return kExitUsage;
  }
  return wiring.run_router(*config, log_to_file);
}

int RunWithRouter(const GlobalOptions& options, const ClientCommand& command) {
  Result<Config> config = LoadCliConfig(options);
  if (!config.ok()) {
    std::cerr << "error: " << config.status().message() << std::endl;
    return kExitUsage;
  }
  Result<std::unique_ptr<InterruptWatcher>> watcher = InterruptWatcher::Install();
  if (!watcher.ok()) {
    std::cerr << "error: " << watcher.status().message() << std::endl;
    return kExitFailed;
  }
  const int interrupt_fd = (*watcher)->fd();

  AutostartOptions autostart;
  autostart.endpoint = {config->router.host, config->router.port};
  autostart.config_path = config->path;
  autostart.pass_endpoint = options.router.has_value();
  autostart.state_dir = config->router.state_dir;
  autostart.allow_start = !options.no_autostart;
  Result<std::unique_ptr<SocketConnection>> connection =
      ConnectOrStartRouter(autostart, interrupt_fd, std::cerr);
  if (!connection.ok()) {
    if ((*watcher)->Triggered()) {
      std::cerr << "interrupted" << std::endl;
      return kExitInterrupted;
    }
    std::cerr << "error: " << connection.status().message() << std::endl;
    return kExitUnreachable;
  }

  Output output(std::cout, std::cerr, options.json);
  // Following commands dial the same address again after a lost connection.
  Client client(std::move(*connection), std::cerr, options.debug ? &std::cerr : nullptr,
                std::make_unique<SocketDialer>(autostart.endpoint, interrupt_fd));
  int exit_code = command(client, output);
  output.Flush();
  return exit_code;
}

}  // namespace codeswarm::cli
