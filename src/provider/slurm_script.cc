#include "provider/slurm_script.h"

#include <algorithm>
#include <optional>

#include "provider/shell_quote.h"

namespace codeswarm::provider {

namespace {

// Accumulates `#SBATCH` lines, remembering the first value that cannot be quoted.
class Directives {
 public:
  void Add(std::string_view option, std::string_view value, std::string_view what) {
    std::optional<std::string> quoted = SbatchQuote(value);
    if (!quoted) {
      if (error_.ok()) {
        error_ = Status::InvalidArgument(std::string(what) +
                                         " cannot go into an #SBATCH line: it holds a line break "
                                         "or another control character");
      }
      return;
    }
    text_ += "#SBATCH " + std::string(option) + "=" + *quoted + "\n";
  }
  void AddRaw(std::string_view line) { text_ += std::string(line) + "\n"; }

  const std::string& text() const { return text_; }
  const Status& error() const { return error_; }

 private:
  std::string text_;
  Status error_;
};

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; });
}

// "--gres=gpu:1" or "#SBATCH --gres=gpu:1" -> "#SBATCH --gres=gpu:1"
std::string DirectiveLine(std::string_view directive) {
  std::size_t start = directive.find_first_not_of(" \t");
  directive = start == std::string_view::npos ? "" : directive.substr(start);
  if (directive.rfind("#SBATCH", 0) == 0) return std::string(directive);
  return "#SBATCH " + std::string(directive);
}

}  // namespace

std::string SlurmJobName(const SlurmBackendConfig& slurm, const std::string& swarm_id) {
  return slurm.job_name_prefix + swarm_id;
}

std::string SlurmBatchOutputPath(const std::string& swarm_dir, const std::string& job_id) {
  return swarm_dir + "/slurm-" + job_id + ".out";
}

std::string SlurmBatchErrorPath(const std::string& swarm_dir, const std::string& job_id) {
  return swarm_dir + "/slurm-" + job_id + ".err";
}

Result<std::string> BuildSbatchScript(const SlurmBackendConfig& slurm, const LaunchSpec& spec,
                                      const std::string& worker_command) {
  if (spec.swarm_dir.find('%') != std::string::npos) {
    return Status::InvalidArgument("the swarm directory " + spec.swarm_dir +
                                   " holds a '%', which Slurm would expand in the names of the "
                                   "job's output files; choose a cluster.workspace_root without");
  }
  for (const std::string& line : slurm.extra_directives) {
    if (HasControlCharacter(line)) {
      return Status::InvalidArgument(
          "cluster.slurm.extra_directives: a directive holds a line break or control character");
    }
  }
  for (const std::string& line : slurm.setup) {
    if (HasControlCharacter(line)) {
      return Status::InvalidArgument(
          "cluster.slurm.setup: a line holds a line break or control character");
    }
  }
  const int tasks = spec.node_count;
  const int per_node = std::min(slurm.agents_per_node, tasks);
  const int nodes = (tasks + per_node - 1) / per_node;

  Directives d;
  d.Add("--job-name", SlurmJobName(slurm, spec.swarm_id), "the job name");
  d.Add("--nodes", std::to_string(nodes), "the node count");
  d.Add("--ntasks", std::to_string(tasks), "the task count");
  d.Add("--ntasks-per-node", std::to_string(per_node), "the tasks per node");
  if (!slurm.time_limit.empty()) d.Add("--time", slurm.time_limit, "cluster.slurm.time_limit");
  if (!slurm.partition.empty()) d.Add("--partition", slurm.partition, "cluster.slurm.partition");
  if (!slurm.account.empty()) d.Add("--account", slurm.account, "cluster.slurm.account");
  if (!slurm.qos.empty()) d.Add("--qos", slurm.qos, "cluster.slurm.qos");
  d.Add("--chdir", spec.swarm_dir, "the swarm directory");
  d.Add("--output", SlurmBatchOutputPath(spec.swarm_dir, "%j"), "the swarm directory");
  d.Add("--error", SlurmBatchErrorPath(spec.swarm_dir, "%j"), "the swarm directory");
  if (slurm.drain_seconds > 0) {
    // B: the batch shell gets the signal (and forwards it below); without B: only job steps
    // would, and the script could not tell the workers apart from an ordinary SIGUSR1.
    d.Add("--signal", "B:USR1@" + std::to_string(slurm.drain_seconds), "the warning signal");
  }
  for (const std::string& directive : slurm.extra_directives) d.AddRaw(DirectiveLine(directive));
  CODESWARM_RETURN_IF_ERROR(d.error());

  std::string s;
  s += "#!/bin/bash\n";
  s += "# Codeswarm swarm " + spec.swarm_id + ": " + std::to_string(tasks) +
       (tasks == 1 ? " worker" : " workers") + " as Slurm tasks on " + std::to_string(nodes) +
       (nodes == 1 ? " node" : " nodes") + ".\n";
  s += "# Written by the codeswarm router. Prompts never appear here: the workers receive them\n";
  s += "# from the router over the network.\n";
  s += d.text();
  if (!slurm.setup.empty()) {
    s += "\n# cluster.slurm.setup\n";
    for (const std::string& line : slurm.setup) s += line + "\n";
  }
  s += "\ncd " + ShellQuote(spec.swarm_dir) + " || exit 1\n";
  for (const auto& [name, value] : WorkerEnvironment(spec)) {
    s += "export " + name + "=" + ShellQuote(value) + "\n";
  }
  s += "# Each task takes its node id from SLURM_PROCID.\n";
  s += "unset CODESWARM_NODE_ID\n";
  s += "worker=" + ShellQuote(worker_command) + "\n";
  s += "if ! command -v \"$worker\" >/dev/null 2>&1; then\n";
  s += "  echo \"codeswarm: cannot run the worker command $worker on $(hostname): not found or "
       "not executable\" >&2\n";
  s += "  exit 127\n";
  s += "fi\n";
  s += "\n";
  if (slurm.drain_seconds > 0) {
    s += "# The walltime warning (SIGUSR1, --signal above) goes to srun, which forwards it to "
         "every\n";
    s += "# worker: they stop taking turns, end the running ones and say so to the router.\n";
    s += "srun_pid=\n";
    s += "trap '[ -n \"$srun_pid\" ] && kill -USR1 \"$srun_pid\" 2>/dev/null' USR1\n";
  }
  s += "# One worker per task, in node-<task>/ with its log there.\n";
  s += "srun --export=ALL --kill-on-bad-exit=0 --output='node-%t/worker.log' \\\n";
  s += "  /bin/sh -c 'cd \"node-$SLURM_PROCID\" && exec \"$@\"' sh \"$worker\" worker &\n";
  s += "srun_pid=$!\n";
  s += "# A trapped signal ends `wait` early: wait again until srun itself has exited.\n";
  s += "while :; do\n";
  s += "  wait \"$srun_pid\"\n";
  s += "  status=$?\n";
  s += "  kill -0 \"$srun_pid\" 2>/dev/null || break\n";
  s += "done\n";
  s += "exit \"$status\"\n";
  return s;
}

}  // namespace codeswarm::provider
