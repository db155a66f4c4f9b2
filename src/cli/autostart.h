// Connecting to the router, and starting one when nobody listens on this machine, so that
// `codeswarm launch` just works on a laptop without a separate `codeswarm router` step.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/endpoint.h"
#include "cli/socket_connection.h"
#include "common/clock.h"
#include "common/status.h"

namespace codeswarm::cli {

struct AutostartOptions {
  Endpoint endpoint;
  // Passed on as `--config` so that the router reads the config this CLI read.
  std::optional<std::string> config_path;
  // Pass `--router HOST:PORT` so that the router listens where this CLI dials (set when the
  // address came from --router rather than from the config).
  bool pass_endpoint = false;
  // The router logs to <state_dir>/router.log.
  std::string state_dir;
  // False: never start a router (--no-autostart).
  bool allow_start = true;
  // The program to run as "<router_command...> router --log-file ...". Empty: this executable.
  std::vector<std::string> router_command;
  std::chrono::milliseconds connect_timeout{5000};
  // How long a started router may take to accept connections.
  std::chrono::milliseconds start_timeout{15000};
  std::chrono::milliseconds retry_interval{50};
  // When the started router exits early, connecting is still tried this long: another CLI may
  // have started a router on the same address at the same moment, which is why ours gave up.
  std::chrono::milliseconds peer_grace{2000};
  // Where the deadlines above are read (borrowed; must advance on its own).
  const Clock* clock = &SystemClock::Get();
};

// Connects to the router. When the connection is refused and the endpoint is a loopback address
// (and allow_start), starts `codeswarm router --log-file` detached (its own session, stdio on
// /dev/null), retries until it accepts or start_timeout passes, and prints "started router
// (pid N, log PATH)" to `err`. Starts at most one router. A router that exits early is reaped
// and the error quotes the end of its log; one that comes up is left running.
// `interrupt_fd` (or -1): Ctrl-C stops the waiting (the caller tells interruption apart).
Result<std::unique_ptr<SocketConnection>> ConnectOrStartRouter(const AutostartOptions& options,
                                                               int interrupt_fd, std::ostream& err);

// The last `max_lines` lines of the file at `path`, each indented by two spaces, or a note
// saying why it cannot be read.
std::string TailOfFile(const std::string& path, int max_lines);

}  // namespace codeswarm::cli
