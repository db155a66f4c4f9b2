// Entry point of `codeswarm router`: the daemon.
#pragma once

#include "common/config.h"

namespace codeswarm::router {

struct RouterRunOptions {
  // Log to <state_dir>/router.log instead of stderr (what the CLI's autostart uses).
  bool log_to_file = false;
};

// Runs the router until SIGTERM/SIGINT. Returns the process exit code; prints why it could not
// start (address in use, state directory locked, ...) to the log and stderr.
int RunRouter(const Config& config, const RouterRunOptions& options);

}  // namespace codeswarm::router
