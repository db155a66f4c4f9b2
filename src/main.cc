// The one codeswarm executable: router daemon, worker runtime and client commands. The only
// place that sees every layer: it hands the command line the router, the worker and the
// provider's deploy, and the router its provider factory and the worker's agent-settings
// validator.
#include "cli/cli.h"
#include "provider/deploy.h"
#include "provider/provider_factory.h"
#include "provider/relay_ssh.h"
#include "relay/relay_main.h"
#include "router/router_main.h"
#include "worker/agent_settings.h"
#include "worker/worker_main.h"

namespace {

// The relay runs what the workers run: the deployed static binary when the router deploys itself
// (installed here, before the relay starts and before any launch), else worker_command or this
// binary.
codeswarm::Result<std::string> RelayBinary(const codeswarm::Config& config) {
  using namespace codeswarm;
  if (!provider::WorkersRunDeployedBinary(config)) return router::DefaultRelayBinary(config);
  Result<provider::DeployOutcome> deployed = provider::DeployToCluster(config);
  if (!deployed.ok()) return deployed.status();
  return deployed->path;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace codeswarm;
  cli::Wiring wiring;
  wiring.validate_agent = ValidateAgentSettings;
  wiring.run_worker = worker::RunWorker;
  wiring.run_relay = relay::RelayCommand;
  wiring.run_router = [](const Config& config, bool log_to_file) {
    return router::RunRouter(config, {.log_to_file = log_to_file,
                                      .make_provider = provider::MakeProvider,
                                      .validate_agent = ValidateAgentSettings,
                                      .login_command = provider::LoginNodeSshArgv,
                                      .relay_binary = RelayBinary});
  };
  wiring.deploy = [](const Config& config) -> Result<cli::DeployReport> {
    Result<provider::DeployOutcome> deployed = provider::DeployToCluster(config);
    if (!deployed.ok()) return deployed.status();
    return cli::DeployReport{.action = std::string(provider::DeployActionName(deployed->action)),
                             .host = deployed->host,
                             .path = deployed->path,
                             .bytes_copied = deployed->bytes_copied,
                             .version = deployed->binary.version,
                             .sha256 = deployed->binary.sha256};
  };
  return cli::Main(argc, argv, wiring);
}
