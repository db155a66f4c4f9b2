// The Slurm provider's Launch: the batch script submitted in one command, with the deployed
// binary checked (and installed when needed) on the way. See slurm_provider.h.
#include <spdlog/spdlog.h>

#include "common/text.h"
#include "provider/deploy.h"
#include "provider/slurm_provider.h"  // what this file implements (with slurm_provider.cc)
#include "provider/slurm_script.h"
#include "provider/slurm_text.h"

namespace codeswarm::provider {

namespace {

// sbatch may wait for a busy controller (and an unreachable one makes it retry for ~10 s).
constexpr std::chrono::seconds kSubmitTimeout(60);

// Creates the swarm directory (0700, missing parents too), one directory per node, saves the
// script from stdin as job.sbatch (0600) and submits it. $1 = swarm directory, $2 = nodes.
// Constant text: the values arrive as positional parameters, never inside the command.
constexpr char kSubmitCommand[] =
    "umask 077 && mkdir -p -- \"$1\" && cd \"$1\" && i=0 && "
    "while [ \"$i\" -lt \"$2\" ]; do mkdir -p \"node-$i\" || exit 1; i=$((i + 1)); done && "
    "cat > job.sbatch && exec sbatch --parsable job.sbatch";
// scancel has no --me: the user is the one the command runs as. $1 = job name.
constexpr char kCancelByNameCommand[] = "exec scancel --name=\"$1\" --user=\"$(id -un)\"";

// kSubmitCommand after the deployed binary's check: $1 = the binary, $2 = its sha256, then
// kSubmitCommand's parameters. Nothing is created when the check fails.
std::string CheckedSubmitCommand() {
  return std::string(DeployCheckScript()) + "shift 2\n" + kSubmitCommand;
}

// sbatch --parsable prints "<id>" or "<id>;<cluster>"; a login banner may come first.
std::string ParseSubmittedJobId(std::string_view stdout_text) {
  std::vector<std::string_view> lines = NonEmptyLines(stdout_text);
  if (lines.empty()) return "";
  std::string_view last = lines.back();
  last = last.substr(0, last.find(';'));
  return IsSlurmJobId(last) ? std::string(last) : "";
}

bool SaysNotDeployed(const RunResult& result) {
  return result.status.code == kDeployMissingExit || result.status.code == kDeployDifferentExit;
}

// The check's own line among what ssh may have said on stderr too.
std::string CheckMessage(const RunResult& result) {
  std::vector<std::string_view> lines = NonEmptyLines(result.stderr_text);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (StartsWith(*it, "codeswarm: ")) return std::string(*it);
  }
  return "the deployed binary is missing or different";
}

}  // namespace

Status SlurmProvider::ValidateSpec(const LaunchSpec& spec) const {
  if (!IsSwarmIdText(spec.swarm_id)) {
    return Status::InvalidArgument("swarm id \"" + spec.swarm_id +
                                   "\" cannot name a Slurm job and a directory");
  }
  if (spec.node_count < 1) {
    return Status::InvalidArgument("node count " + std::to_string(spec.node_count) +
                                   " is not positive");
  }
  if (spec.swarm_dir.empty() || spec.swarm_dir.front() != '/') {
    return Status::InvalidArgument("swarm directory " + spec.swarm_dir + " is not absolute");
  }
  // A restarted router recognises its jobs by their working directory.
  const std::string expected = swarms_root_ + "/" + spec.swarm_id;
  if (NormalPath(spec.swarm_dir) != expected) {
    return Status::InvalidArgument("swarm directory " + spec.swarm_dir + " is not " + expected +
                                   " (cluster.workspace_root/cluster_subdir)");
  }
  return Status::Ok();
}

Result<std::string> SlurmProvider::Launch(const LaunchSpec& spec) {
  const std::string what = "cannot launch swarm " + spec.swarm_id + " on Slurm";
  CODESWARM_RETURN_IF_ERROR(ValidateSpec(spec).WithPrefix(what));
  std::string worker_command = worker_command_;
  std::string deployed_sha256;
  if (deployer_) {
    // Refused here for a dynamically linked router, before anything reaches the cluster.
    Result<DeployableBinary> binary = deployer_->Binary();
    if (!binary.ok()) return binary.status().WithPrefix(what);
    worker_command = *deployer_->RemotePath();
    deployed_sha256 = binary->sha256;
  }
  Result<std::string> script = BuildSbatchScript(slurm_, spec, worker_command);
  if (!script.ok()) return script.status().WithPrefix(what);

  const std::string job_name = SlurmJobName(slurm_, spec.swarm_id);
  Result<RunResult> submitted = Submit(spec, *script, worker_command, deployed_sha256);
  if (deployer_ && submitted.ok() && SaysNotDeployed(*submitted)) {
    // The first launch of this binary on this cluster, or its copy is gone or damaged.
    spdlog::info("slurm: {}; installing it {}", CheckMessage(*submitted), runner_->Where());
    Result<DeployOutcome> deployed = deployer_->Install(submitted->status.code == kDeployMissingExit
                                                            ? DeployOutcome::Action::kCopied
                                                            : DeployOutcome::Action::kReplaced);
    if (!deployed.ok()) return deployed.status().WithPrefix(what);
    submitted = Submit(spec, *script, worker_command, deployed_sha256);
  }
  if (!submitted.ok()) {
    // Timed out or lost the connection: sbatch may have gone through anyway.
    CancelByName(job_name);
    return submitted.status().WithPrefix(what);
  }
  if (!submitted->status.success()) {
    return Status::FailedPrecondition(what + ": sbatch failed " + runner_->Where() + ": " +
                                      SlurmErrorText(*submitted));
  }
  std::string job_id = ParseSubmittedJobId(submitted->stdout_text);
  if (job_id.empty()) {
    CancelByName(job_name);
    return Status::Internal(what + ": sbatch printed no job id " + runner_->Where() + ": \"" +
                            Ellipsize(std::string(TrimWhitespace(submitted->stdout_text)), 300) +
                            "\"");
  }
  if (!submitted->stderr_text.empty()) {
    spdlog::info("slurm: sbatch for swarm {} said: {}", spec.swarm_id,
                 std::string(TrimWhitespace(submitted->stderr_text)));
  }
  spdlog::info("slurm: swarm {} submitted as job {} ({} nodes) {}", spec.swarm_id, job_id,
               spec.node_count, runner_->Where());
  return job_id;
}

void SlurmProvider::CancelByName(const std::string& job_name) {
  Result<RunResult> cancelled = RunSlurm(
      {"/bin/sh", "-c", kCancelByNameCommand, "codeswarm-cancel", job_name}, kSlurmQueryTimeout);
  if (!cancelled.ok() || !cancelled->status.success()) {
    spdlog::warn("slurm: could not make sure no job named {} is left: {}", job_name,
                 cancelled.ok() ? SlurmErrorText(*cancelled) : cancelled.status().message());
  }
}

Result<RunResult> SlurmProvider::Submit(const LaunchSpec& spec, const std::string& script,
                                        const std::string& worker_command,
                                        const std::string& deployed_sha256) {
  std::vector<std::string> argv = {"/bin/sh", "-c", kSubmitCommand, "codeswarm-submit"};
  if (!deployed_sha256.empty()) {
    argv[2] = CheckedSubmitCommand();
    argv.insert(argv.end(), {worker_command, deployed_sha256});
  }
  argv.insert(argv.end(), {NormalPath(spec.swarm_dir), std::to_string(spec.node_count)});
  return RunSlurm(argv, kSubmitTimeout, script);
}

}  // namespace codeswarm::provider
