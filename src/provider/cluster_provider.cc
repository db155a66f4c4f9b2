// The backend-neutral helpers declared in cluster_provider.h.
#include "provider/cluster_provider.h"

#include <charconv>

namespace codeswarm::provider {

namespace {

// Shortest text that reads back as the same number: 900 -> "900", 0.5 -> "0.5".
std::string FormatSeconds(double seconds) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, seconds);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(seconds);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> WorkerEnvironment(const LaunchSpec& spec) {
  return {
      {"CODESWARM_SWARM_ID", spec.swarm_id},
      {"CODESWARM_ROUTER_ADDR", spec.router_address},
      {"CODESWARM_SECRET", spec.secret},
      {"CODESWARM_ORPHAN_SECONDS", FormatSeconds(spec.worker_orphan_seconds)},
      {"CODESWARM_LOG_LEVEL", spec.worker_log_level},
  };
}

std::string_view JobPhaseName(JobPhase phase) {
  switch (phase) {
    case JobPhase::kPending:
      return "pending";
    case JobPhase::kRunning:
      return "running";
    case JobPhase::kEnded:
      return "ended";
  }
  return "unknown";
}

}  // namespace codeswarm::provider
