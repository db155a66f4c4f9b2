// The one codeswarm executable: router daemon, worker runtime and client commands. The only
// place that sees every layer: it hands the command line the router and the worker, and the
// router its provider factory and the worker's agent-settings validator.
#include "cli/cli.h"
#include "provider/provider_factory.h"
#include "provider/relay_ssh.h"
#include "relay/relay_main.h"
#include "router/router_main.h"
#include "worker/agent_settings.h"
#include "worker/worker_main.h"

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
                                      .login_command = provider::LoginNodeSshArgv});
  };
  return cli::Main(argc, argv, wiring);
}
