// Entry point of the codeswarm command line (all subcommands, including `router` and `worker`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/agent_settings_validator.h"
#include "common/config.h"
#include "common/status.h"

namespace codeswarm::cli {

// What `codeswarm deploy` did (provider/deploy.h's outcome, in terms the CLI may know).
struct DeployReport {
  std::string action;  // "already_there", "copied", "replaced"
  std::string host;    // the login alias, or "localhost"
  std::string path;    // the installed binary, as the cluster sees it
  std::uint64_t bytes_copied = 0;
  std::string version;
  std::string sha256;
};

// What the command line runs but does not contain: the router daemon, the worker runtime and the
// agent knowledge live in layers the CLI does not link against; main wires them in. All required.
struct Wiring {
  // `codeswarm router`: runs the daemon with the loaded config until SIGTERM/SIGINT; `log_to_file`
  // sends its log to <state_dir>/router.log. Returns the process exit code.
  std::function<int(const Config& config, bool log_to_file)> run_router;
  // `codeswarm worker`. Returns the process exit code.
  std::function<int()> run_worker;
  // `codeswarm deploy`: installs this binary on the cluster of the loaded config.
  std::function<Result<DeployReport>(const Config& config)> deploy;
  // `codeswarm relay ARGS...` (started by the router on a login node): the arguments after the
  // subcommand name. Returns the process exit code.
  std::function<int(const std::vector<std::string>& args)> run_relay;
  // Checks the config's agent section whenever a command loads the config.
  AgentSettingsValidator validate_agent;
};

// Parses argv, runs the subcommand, returns the process exit code.
int Main(int argc, char** argv, const Wiring& wiring);

}  // namespace codeswarm::cli
