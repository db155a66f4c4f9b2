// ClusterProvider: where a swarm's worker processes run. The router calls providers from a small
// thread pool (every method may block for seconds, e.g. sbatch over ssh), so implementations must
// be thread-safe. Providers are stateless beyond their configuration and what the backend itself
// records; they never emit protocol events and never touch router state. See
// docs/PROVIDER_INTERFACE.md.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"

namespace codeswarm::provider {

// Everything a backend needs to start the workers of one swarm.
struct LaunchSpec {
  std::string swarm_id;
  int node_count = 0;
  // host:port of the router's worker listener, as the workers must dial it.
  std::string router_address;
  // Per-swarm secret the workers present in their hello.
  std::string secret;
  // The swarm's directory (as the backend sees it): node k works in <swarm_dir>/node-<k>.
  std::string swarm_dir;
  // How long a worker keeps retrying when the router is gone before it gives up.
  double worker_orphan_seconds = 900;
  std::string worker_log_level = "info";
};

// The environment a worker needs, without the node id (which the backend supplies: locally
// CODESWARM_NODE_ID, under Slurm SLURM_PROCID). See docs/WORKER_PROTOCOL.md.
std::vector<std::pair<std::string, std::string>> WorkerEnvironment(const LaunchSpec& spec);

enum class JobPhase {
  kPending,  // accepted by the backend, workers not started yet
  kRunning,  // workers (some or all) started
  kEnded,    // nothing of the job runs any more, whatever the reason
};

std::string_view JobPhaseName(JobPhase phase);

struct NodeHealth {
  int node_id = 0;
  bool alive = true;
  // How it ended when !alive: "exit code 3", "killed by signal 6 (SIGABRT)", ...
  std::string detail;
};

struct JobState {
  JobPhase phase = JobPhase::kPending;
  // The backend's own word for the state: "RUNNING", "PENDING", "TIMEOUT", "EXITED", ...
  std::string backend_state;
  // Why, in words a person can act on (Slurm's pending reason, an exit status, ...). May be empty.
  std::string reason;
  // The job is pending for a reason that can never be satisfied (an impossible request).
  bool cannot_start = false;
  // Per-node liveness when the backend knows it (local does, Slurm does not): empty = unknown.
  std::vector<NodeHealth> nodes;
};

class ClusterProvider {
 public:
  virtual ~ClusterProvider() = default;

  // "local", "slurm", ...
  virtual std::string_view name() const = 0;

  // Starts the workers of a swarm and returns the backend's job id. On failure nothing of the job
  // is left running and the Status says why, in the backend's own words where it gave any.
  virtual Result<std::string> Launch(const LaunchSpec& spec) = 0;

  // Stops a job. Returns once the backend has stopped it (local: the processes are gone and
  // reaped; Slurm: scancel accepted). Terminating an unknown or finished job is ok.
  virtual Status Terminate(const std::string& job_id) = 0;

  // The state of each job asked about, in one backend round trip however many there are. A job
  // the backend no longer knows is reported as kEnded (never as running), with the reason.
  virtual Result<std::map<std::string, JobState>> JobStates(
      const std::vector<std::string>& job_ids) = 0;

  // Jobs this provider started (for this configuration) that are still pending or running, so a
  // restarted router can reconcile its registry.
  virtual Result<std::map<std::string, JobState>> ListActiveJobs() = 0;

  // How often the router should call JobStates for its active swarms.
  virtual Duration PollInterval() const = 0;
};

// Builds the provider for a configuration. The router is given one (main wires in MakeProvider
// of provider/provider_factory.h), so it never names a backend itself.
using ProviderFactory =
    std::function<Result<std::unique_ptr<ClusterProvider>>(const Config& config)>;

}  // namespace codeswarm::provider
