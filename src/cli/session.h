// The glue between a parsed command line and a running command: loading the config, applying
// the global options, connecting to the router (starting one when needed), and mapping every
// failure on the way to a message and an exit code.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/config.h"
#include "common/status.h"

namespace codeswarm::cli {

// Options accepted before or after any subcommand.
struct GlobalOptions {
  std::optional<std::string> config_path;  // --config; else LoadConfig's search order
  std::optional<std::string> router;       // --router HOST:PORT; overrides the config
  bool debug = false;                      // --debug: raw protocol lines to stderr
  bool json = false;                       // --json: raw event lines on stdout, nothing else
  bool no_autostart = false;               // --no-autostart: never start a router
  // Not an option: what checks the config's agent section (Wiring::validate_agent).
  AgentSettingsValidator validate_agent;
};

// The configuration the options name, with --router applied to router.host and router.port.
// An error is a usage error (bad file, bad address).
Result<Config> LoadCliConfig(const GlobalOptions& options);

// `codeswarm router`: runs the daemon (`run_router`) with the loaded config. Returns its exit
// code, or kExitUsage when the config is bad.
int RunRouterCommand(const GlobalOptions& options, const Wiring& wiring, bool log_to_file);

using ClientCommand = std::function<int(Client&, Output&)>;

// Connects to the router (see ConnectOrStartRouter) with Ctrl-C turned into a clean stop, runs
// `command` with stdout and stderr as its Output, and returns its exit code, or kExitUsage (bad
// config), kExitUnreachable (no router) or kExitInterrupted when it never got to run.
int RunWithRouter(const GlobalOptions& options, const ClientCommand& command);

}  // namespace codeswarm::cli
