// The Slurm provider: a swarm is one Slurm job whose batch script starts one `codeswarm worker`
// per node with srun (src/provider/slurm_script.h). The Slurm commands run through a
// CommandRunner: on this machine, or on a login node over ssh. See docs/SLURM.md and the
// "Slurm provider" section of docs/PROVIDER_INTERFACE.md.
//
// Job id: Slurm's own job id ("4242"). Job name: <job_name_prefix><swarm_id>. The job works in
// the swarm directory, <SwarmsRoot()>/<swarm_id> as the cluster sees it; the batch script's
// output goes to slurm-<job id>.{out,err} there and node k's worker log to node-<k>/worker.log.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "provider/cluster_provider.h"
#include "provider/command_runner.h"
#include "provider/deploy.h"
#include "provider/slurm_state.h"

namespace codeswarm::provider {

// Thread-safe: it holds only its configuration, the runner and the deployer (both thread-safe)
// and what it learnt about the cluster's accounting (an atomic).
class SlurmProvider final : public ClusterProvider {
 public:
  // The runner the configuration asks for (MakeCommandRunner).
  static Result<std::unique_ptr<SlurmProvider>> Create(const Config& config);
  // With a given runner (tests use a fake one). `local_binary` is what gets deployed when the
  // workers run a deployed binary (WorkersRunDeployedBinary): by default this very process's.
  SlurmProvider(const Config& config, std::unique_ptr<CommandRunner> runner,
                const std::string& local_binary = "/proc/self/exe");

  std::string_view name() const override { return "slurm"; }

  // Creates the swarm directory and node-<k> directories (mode 0700), writes the batch script
  // to <swarm_dir>/job.sbatch (0600: it holds the swarm secret) and submits it with
  // `sbatch --parsable` — all in one command, the script on stdin. Returns Slurm's job id.
  // When the workers run a deployed binary, the same command first checks it on the cluster
  // (sha256sum there) and submits nothing when it is missing or different; the binary is then
  // installed (BinaryDeployer::Install) and the submission made again. A dynamically linked
  // router is refused before anything runs (it would deploy something the nodes cannot run).
  // When sbatch refuses, the error carries its words ("Batch job submission failed: Invalid
  // partition name specified"). When the command fails in a way that leaves it unknown whether
  // a job was created (a timeout, output without a job id), the job is cancelled by name so
  // that nothing is left behind.
  // REQUIRES: spec.swarm_dir is <config.SwarmsRoot()>/<spec.swarm_id>; node_count >= 1.
  Result<std::string> Launch(const LaunchSpec& spec) override;

  // `scancel <job_id>`: ok once Slurm has accepted the cancel (the workers then get SIGTERM
  // from slurmstepd). Unknown and finished jobs are ok (scancel says nothing for them).
  Status Terminate(const std::string& job_id) override;

  // One `squeue -t all -j <ids>` for all the jobs; the ones it no longer lists are looked up in
  // one `sacct` call (plain sacct with a slurmdbd, else `sacct -c`, the job completion log).
  // A job found nowhere is kEnded/UNKNOWN. For a job that FAILED, the end of its error file is
  // read (one more call for all of them) so that the reason says why.
  Result<std::map<std::string, JobState>> JobStates(
      const std::vector<std::string>& job_ids) override;

  // The user's pending and running jobs (`squeue --me`) whose name and working directory are a
  // swarm of this configuration: <job_name_prefix><id>, in <SwarmsRoot()>/<id>.
  Result<std::map<std::string, JobState>> ListActiveJobs() override;

  Duration PollInterval() const override;

 private:
  enum class Accounting { kUnknown, kDatabase, kCompletionLog };

  Status ValidateSpec(const LaunchSpec& spec) const;
  // The submission command; with `deployed_sha256`, checked against the deployed binary
  // `worker_command` first.
  Result<RunResult> Submit(const LaunchSpec& spec, const std::string& script,
                           const std::string& worker_command, const std::string& deployed_sha256);
  // Cancels a job that may or may not have been created by a failed submission.
  void CancelByName(const std::string& job_name);
  Result<RunResult> RunSlurm(const std::vector<std::string>& argv, Duration timeout,
                             const std::string& stdin_data = "");
  Result<std::vector<SlurmJobRecord>> QueryQueue(const std::vector<std::string>& job_ids);
  // The records sacct has for `job_ids`; a failure leaves them out and explains in *problem.
  std::vector<SlurmJobRecord> QueryAccounting(const std::vector<std::string>& job_ids,
                                              std::string* problem);
  // Appends to the reason of each FAILED job the last lines of its batch error file.
  void AddFailureDetails(const std::map<std::string, SlurmJobRecord>& failed,
                         std::map<std::string, JobState>& states);
  // The swarm id of a job of this configuration, or "" for anyone else's job.
  std::string SwarmIdOf(const SlurmJobRecord& record) const;

  // Constant after construction.
  const SlurmBackendConfig slurm_;
  const std::string swarms_root_;
  const std::string worker_command_;
  const std::unique_ptr<CommandRunner> runner_;
  // Set when the workers run a deployed binary; borrows *runner_.
  const std::unique_ptr<BinaryDeployer> deployer_;

  std::atomic<Accounting> accounting_{Accounting::kUnknown};
};

}  // namespace codeswarm::provider
