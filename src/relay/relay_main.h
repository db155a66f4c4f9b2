// Entry point of `codeswarm relay`: runs on the login node, started by the router through ssh
// (docs/SLURM.md, "Through the relay"). Listens for workers and carries every connection over
// stdin/stdout to the router (relay/mux_bridge.h). Holds no key: the worker channel's TLS runs
// end to end between worker and router, the relay sees ciphertext only. Exits when stdin ends
// (the ssh session is gone), so it never outlives its router.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace codeswarm::relay {

struct RelayOptions {
  std::string listen_host = "0.0.0.0";
  int port = 0;  // 0: any free port
  // The host the relay tells the router workers should dial; empty: this machine's hostname.
  std::string advertise_host;
  // A connection that sends nothing for this long after connecting is closed.
  double hello_timeout_seconds = 10;
  int max_connections = 4096;
  // How long to keep trying when `port` is in use (a previous relay still shutting down).
  double bind_wait_seconds = 15;
  std::string log_level = "info";
};

// Parses `codeswarm relay` arguments (after the subcommand name).
Result<RelayOptions> ParseRelayArgs(const std::vector<std::string>& args);
// The arguments that make ParseRelayArgs return `options`.
std::vector<std::string> RelayArgs(const RelayOptions& options);

// Runs the relay until stdin ends or SIGTERM/SIGINT/SIGHUP. Returns the process exit code.
int RunRelay(const RelayOptions& options);
// `codeswarm relay ARGS...`: parses, then RunRelay; usage errors exit 2.
int RelayCommand(const std::vector<std::string>& args);

}  // namespace codeswarm::relay
