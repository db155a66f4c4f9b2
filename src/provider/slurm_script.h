// The sbatch script of a swarm: one Slurm job whose batch shell starts one `codeswarm worker`
// per node with srun, and passes the walltime warning on to them. See docs/SLURM.md for a
// complete example.
//
// What goes where, and why it is safe:
// - `#SBATCH` lines carry the resource request (job name, nodes, tasks, time, partition,
//   account, QOS, output files, warning signal) with every value quoted for sbatch's parser
//   (SbatchQuote); a value that cannot be written on one line is refused.
// - The shell part carries the swarm directory, the workers' environment and the worker command,
//   each as a single-quoted shell word (ShellQuote): no config value is ever parsed as shell.
//   `cluster.slurm.setup` lines are the one exception: they are shell, written by the person
//   who owns the configuration.
// - Prompts never appear: the workers get the system prompt and every injection from the router
//   over the network. The swarm secret does (the script reaches sbatch on stdin, and Slurm shows
//   a batch script only to its owner and administrators).
#pragma once

#include <string>

#include "common/config.h"
#include "common/status.h"
#include "provider/cluster_provider.h"

namespace codeswarm::provider {

// The job name of a swarm: <job_name_prefix><swarm_id>.
std::string SlurmJobName(const SlurmBackendConfig& slurm, const std::string& swarm_id);

// Where the batch script's own stdout and stderr go: <swarm_dir>/slurm-<job id>.{out,err}
// ("%j" in the script).
std::string SlurmBatchOutputPath(const std::string& swarm_dir, const std::string& job_id);
std::string SlurmBatchErrorPath(const std::string& swarm_dir, const std::string& job_id);

// The script for `spec`. `worker_command` is the codeswarm binary as the compute nodes see it.
// Fails (InvalidArgument, naming the value) when a value cannot be written safely: a line
// break in any value, a '%' in the swarm directory (Slurm expands it in file names).
// REQUIRES: spec.node_count >= 1, slurm.agents_per_node >= 1.
Result<std::string> BuildSbatchScript(const SlurmBackendConfig& slurm, const LaunchSpec& spec,
                                      const std::string& worker_command);

}  // namespace codeswarm::provider
