#include "worker/worker_identity.h"

#include <cstdlib>

#include "common/text.h"

namespace codeswarm::worker {

Result<WorkerIdentity> ReadWorkerIdentity(
    const std::function<const char*(const char*)>& getenv_fn) {
  auto get = [&](const char* name) -> std::string {
    const char* value = getenv_fn(name);
    return value == nullptr ? "" : value;
  };
  auto missing = [](const char* name) {
    return Status::InvalidArgument(std::string(name) +
                                   " is not set (codeswarm worker is started by a provider, "
                                   "not by hand; see docs/WORKER_PROTOCOL.md)");
  };
  WorkerIdentity id;
  id.swarm_id = get("CODESWARM_SWARM_ID");
  if (id.swarm_id.empty()) return missing("CODESWARM_SWARM_ID");
  id.secret = get("CODESWARM_SECRET");
  if (id.secret.empty()) return missing("CODESWARM_SECRET");

  std::string node = get("CODESWARM_NODE_ID");
  const char* node_var = "CODESWARM_NODE_ID";
  if (node.empty()) {
    node = get("SLURM_PROCID");
    node_var = "SLURM_PROCID";
  }
  if (node.empty()) return missing("CODESWARM_NODE_ID (or SLURM_PROCID)");
  auto node_id = ParseInteger(node);
  if (!node_id || *node_id < 0 || *node_id > 1000000) {
    return Status::InvalidArgument(std::string(node_var) + "=\"" + node +
                                   "\" is not a node id (a non-negative integer)");
  }
  id.node_id = static_cast<int>(*node_id);

  std::string address = get("CODESWARM_ROUTER_ADDR");
  if (address.empty()) return missing("CODESWARM_ROUTER_ADDR");
  std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || !ParseInteger(address.substr(colon + 1))) {
    return Status::InvalidArgument("CODESWARM_ROUTER_ADDR=\"" + address +
                                   "\" is not host:port");
  }
  id.router_host = address.substr(0, colon);
  if (id.router_host.size() > 2 && id.router_host.front() == '[' && id.router_host.back() == ']') {
    id.router_host = id.router_host.substr(1, id.router_host.size() - 2);  // [::1]:8766
  }
  id.router_port = address.substr(colon + 1);

  if (std::string orphan = get("CODESWARM_ORPHAN_SECONDS"); !orphan.empty()) {
    char* end = nullptr;
    double seconds = std::strtod(orphan.c_str(), &end);
    if (end == orphan.c_str() || *end != '\0' || seconds <= 0) {
      return Status::InvalidArgument("CODESWARM_ORPHAN_SECONDS=\"" + orphan +
                                     "\" is not a positive number of seconds");
    }
    id.orphan_seconds = seconds;
  }
  if (std::string level = get("CODESWARM_LOG_LEVEL"); !level.empty()) id.log_level = level;
  if (auto delay = ParseInteger(get("CODESWARM_TEST_CONNECT_DELAY_MS")); delay && *delay > 0) {
    id.connect_delay_ms = static_cast<int>(*delay);
  }
  return id;
}

}  // namespace codeswarm::worker
