// Entry point of `codeswarm router`: the daemon.
#pragma once

#include "common/agent_settings_validator.h"
#include "common/config.h"
#include "provider/cluster_provider.h"
#include "router/worker_relay.h"

namespace codeswarm::router {

struct RouterRunOptions {
  // Log to <state_dir>/router.log instead of stderr (what the CLI's autostart uses).
  bool log_to_file = false;
  // What the router cannot know itself, wired in by main. Both required.
  // Builds the provider of config.cluster.backend.
  provider::ProviderFactory make_provider;
  // Checks the agent settings of each launch.
  AgentSettingsValidator validate_agent;
  // Runs a command on the login node over ssh: what starts the relay of
  // cluster.slurm.connect "relay". Required in that mode only.
  LoginNodeCommand login_command;
  // The binary the relay runs on the login node (deploying it first when the workers run the
  // deployed binary). Unset: worker_command or the router's own binary.
  RelayBinaryResolver relay_binary;
};

// Runs the router until SIGTERM/SIGINT. Returns the process exit code; prints why it could not
// start (address in use, state directory locked, ...) to the log and stderr.
int RunRouter(const Config& config, const RouterRunOptions& options);

}  // namespace codeswarm::router
