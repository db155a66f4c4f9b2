// The local provider, the embedded default backend: a swarm's workers are processes on this
// machine, one per node, each in its own working directory and process group. See the "local
// provider" section of docs/PROVIDER_INTERFACE.md.
//
// Job id: "local-<swarm_id>". Node k works in <swarm_dir>/node-<k> and logs (stdout and stderr)
// to <swarm_dir>/node-<k>/worker.log. <swarm_dir>/job.json records each worker's pid and start
// time and the boot id, so a provider in a later router process recognises exactly these workers
// (a recycled pid is never taken for a worker) and can report and terminate them. Terminate
// renames it to job.ended.json.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "provider/cluster_provider.h"
#include "provider/process_handle.h"

namespace codeswarm::provider {

// Thread-safe: every method may be called from several threads at once. The job table's lock is
// never held while waiting for processes, so a slow Terminate does not hold up other calls.
class LocalProvider final : public ClusterProvider {
 public:
  // Fails when this machine cannot track processes (no boot id: not Linux, or /proc missing).
  // Grace periods and timeouts are read on `clock` (borrowed: it must outlive the provider and
  // advance on its own, since waits block in poll()).
  static Result<std::unique_ptr<LocalProvider>> Create(const Config& config,
                                                       const Clock& clock = SystemClock::Get());

  std::string_view name() const override { return "local"; }

  // Creates <spec.swarm_dir>/node-<k> (mode 0700, missing parents too) and starts one worker per
  // node: config.cluster.local.worker_command, else `<this executable> worker`; environment =
  // inherited + WorkerEnvironment(spec) + CODESWARM_NODE_ID; stdin /dev/null. Then writes
  // job.json. On any failure the workers already started are killed and reaped, and the error
  // names the node.
  // REQUIRES: spec.swarm_dir is <config.SwarmsRoot()>/<spec.swarm_id> (that is where a restarted
  // router looks for job.json), spec.swarm_id is a single path component, node_count >= 1.
  // A job with this id that still has live workers: AlreadyExists.
  Result<std::string> Launch(const LaunchSpec& spec) override;

  // SIGTERM to every worker's process group, up to terminate_grace_seconds for them to exit,
  // then SIGKILL to the groups that remain; returns once every worker is gone (and reaped, when
  // it is our child). Works for jobs started by an earlier router process too.
  // A job still being launched: Unavailable. A job.json that cannot be read: the error.
  Status Terminate(const std::string& job_id) override;

  // kRunning while any worker runs, else kEnded; per-node health. Reaps workers that exited.
  // Jobs not known to this instance are looked up in their job.json; one that cannot be read is
  // kEnded with backend_state "UNKNOWN" and the error as reason (never running).
  Result<std::map<std::string, JobState>> JobStates(
      const std::vector<std::string>& job_ids) override;

  // Jobs with at least one live worker, from this instance's table and every
  // <SwarmsRoot()>/*/job.json of this boot (adopting their workers).
  Result<std::map<std::string, JobState>> ListActiveJobs() override;

  Duration PollInterval() const override;

 private:
  struct Node {
    int node_id = 0;
    std::optional<WorkerProcess> process;  // none: not running when its job was adopted
  };
  struct Job {
    std::string job_id;
    std::string swarm_dir;
    std::vector<Node> nodes;
  };
  // A job id resolved: a job with processes to track, or a state that needs none (unknown id,
  // launch in progress, manifest of an earlier boot, terminated).
  struct Lookup {
    std::shared_ptr<Job> job;
    std::optional<JobState> settled;
  };

  LocalProvider(const Config& config, std::string boot_id, const Clock& clock);

  Status ValidateSpec(const LaunchSpec& spec) const;
  Status ReserveLaunch(const std::string& job_id);
  Result<std::shared_ptr<Job>> StartJob(const LaunchSpec& spec, const std::string& job_id);
  // Kills workers that never became a job (a later node failed to start) and reaps them.
  void KillAndReap(std::vector<WorkerProcess>& workers) const;
  Result<WorkerProcess> StartWorker(const LaunchSpec& spec, int node_id) const;

  // "" when `job_id` cannot be a local job id.
  std::string SwarmDirOf(const std::string& job_id) const;
  // The job from the table, else from its job.json (adopting its workers and entering it in
  // the table). Fails when a manifest exists but its workers cannot be tracked.
  Result<Lookup> FindJob(const std::string& job_id);
  Result<Lookup> LookUpOnDisk(const std::string& job_id) const;

  // REQUIRES: mu_ held (or `job` not yet shared). Reaps workers that exited.
  static JobState DescribeLocked(Job& job);
  // REQUIRES: mu_ held. Signals every live node's group; returns pidfds to wait on.
  static std::vector<UniqueFd> SignalLiveNodesLocked(Job& job, int sig);
  // REQUIRES: mu_ held.
  void ForgetJobLocked(const std::shared_ptr<Job>& job);

  // Constant after construction.
  const LocalBackendConfig local_;
  const std::string swarms_root_;
  const std::string boot_id_;
  const Clock& clock_;

  std::mutex mu_;
  // Guarded by mu_, as is everything inside each Job. Jobs are shared so that a Terminate
  // waiting without the lock keeps its job alive.
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::set<std::string> launching_;  // guarded by mu_
};

}  // namespace codeswarm::provider
