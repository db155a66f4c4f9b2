// The provider factory and the backend-neutral helpers declared in cluster_provider.h.
#include <array>
#include <charconv>

#include "provider/cluster_provider.h"
#include "provider/local_provider.h"
#include "provider/slurm_provider.h"

namespace codeswarm::provider {

namespace {

// Every backend MakeProvider can build, in the order error messages list them.
constexpr std::array<std::string_view, 2> kKnownBackends = {"local", "slurm"};

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

Result<std::unique_ptr<ClusterProvider>> MakeProvider(const Config& config) {
  const std::string& backend = config.cluster.backend;
  if (backend == "local") {
    Result<std::unique_ptr<LocalProvider>> local = LocalProvider::Create(config);
    if (!local.ok()) return local.status();
    return std::unique_ptr<ClusterProvider>(std::move(*local));
  }
  if (backend == "slurm") {
    Result<std::unique_ptr<SlurmProvider>> slurm = SlurmProvider::Create(config);
    if (!slurm.ok()) return slurm.status();
    return std::unique_ptr<ClusterProvider>(std::move(*slurm));
  }
  std::string known;
  for (std::string_view name : kKnownBackends) {
    known += (known.empty() ? "" : ", ") + std::string(name);
  }
  return Status::InvalidArgument("unknown cluster backend \"" + backend + "\" (known: " + known +
                                 ")");
}

}  // namespace codeswarm::provider
