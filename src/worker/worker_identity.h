// Who a worker is, from its environment (docs/WORKER_PROTOCOL.md, "Starting a worker").
#pragma once

#include <functional>
#include <string>

#include "common/status.h"

namespace codeswarm::worker {

struct WorkerIdentity {
  std::string swarm_id;
  int node_id = 0;
  std::string router_host;
  std::string router_port;
  std::string secret;
  double orphan_seconds = 900;
  std::string log_level = "info";
  // Test hook (CODESWARM_TEST_CONNECT_DELAY_MS): wait this long before the first connection, so
  // tests can inject before a worker has connected.
  int connect_delay_ms = 0;
};

// `getenv` is injectable for tests. Errors name the variable and what is wrong with it.
Result<WorkerIdentity> ReadWorkerIdentity(
    const std::function<const char*(const char*)>& getenv_fn);

}  // namespace codeswarm::worker
