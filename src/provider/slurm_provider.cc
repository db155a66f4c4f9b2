#include "provider/slurm_provider.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <regex>
#include <set>

#include "common/text.h"
#include "provider/slurm_script.h"

namespace codeswarm::provider {

namespace {

// sbatch may wait for a busy controller (and an unreachable one makes it retry for ~10 s).
constexpr std::chrono::seconds kSubmitTimeout(60);
constexpr std::chrono::seconds kQueryTimeout(30);
// Lines of a failed job's error file that go into its reason.
constexpr int kErrorTailLines = 20;
constexpr std::size_t kMaxDetailBytes = 600;

// Creates the swarm directory (0700, missing parents too), one directory per node, saves the
// script from stdin as job.sbatch (0600) and submits it. $1 = swarm directory, $2 = nodes.
// Constant text: the values arrive as positional parameters, never inside the command.
constexpr char kSubmitCommand[] =
    "umask 077 && mkdir -p -- \"$1\" && cd \"$1\" && i=0 && "
    "while [ \"$i\" -lt \"$2\" ]; do mkdir -p \"node-$i\" || exit 1; i=$((i + 1)); done && "
    "cat > job.sbatch && exec sbatch --parsable job.sbatch";
// scancel has no --me: the user is the one the command runs as. $1 = job name.
constexpr char kCancelByNameCommand[] = "exec scancel --name=\"$1\" --user=\"$(id -un)\"";

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string joined;
  for (const std::string& item : items) {
    if (!joined.empty()) joined += separator;
    joined += item;
  }
  return joined;
}

std::vector<std::string_view> NonEmptyLines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view line : SplitString(text, '\n')) {
    line = TrimWhitespace(line);
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// A Slurm command's complaint, one line: "sbatch: error: X\nsbatch: error: Y" -> "X; Y".
std::string SlurmErrorText(const RunResult& result) {
  std::vector<std::string> parts;
  const std::string& text = result.stderr_text.empty() ? result.stdout_text : result.stderr_text;
  for (std::string_view line : NonEmptyLines(text)) {
    for (std::string_view prefix : {"sbatch: error: ", "squeue: error: ", "sacct: error: ",
                                    "scancel: error: ", "slurm_load_jobs error: "}) {
      if (StartsWith(line, prefix)) line.remove_prefix(prefix.size());
    }
    parts.emplace_back(line);
  }
  std::string joined = Join(parts, "; ");
  if (joined.empty()) joined = "no message";
  return Ellipsize(joined, 2000) + " (" + result.status.ToString() + ")";
}

// sbatch --parsable prints "<id>" or "<id>;<cluster>"; a login banner may come first.
std::string ParseSubmittedJobId(std::string_view stdout_text) {
  std::vector<std::string_view> lines = NonEmptyLines(stdout_text);
  if (lines.empty()) return "";
  std::string_view last = lines.back();
  last = last.substr(0, last.find(';'));
  return IsSlurmJobId(last) ? std::string(last) : "";
}

JobState Ended(std::string backend_state, std::string reason) {
  JobState state;
  state.phase = JobPhase::kEnded;
  state.backend_state = std::move(backend_state);
  state.reason = std::move(reason);
  return state;
}

std::string NormalPath(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

bool IsSwarmIdText(std::string_view id) {
  static const std::regex kId(R"([A-Za-z0-9._-]{1,128})");
  return id != "." && id != ".." && std::regex_match(id.begin(), id.end(), kId);
}

// What to show of a failed job's error file: our own "codeswarm: ..." line when there is one
// (it says exactly what went wrong), else its last lines.
std::string SummarizeErrorLines(const std::vector<std::string_view>& lines) {
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (StartsWith(*it, "codeswarm: ")) return std::string(*it);
  }
  std::vector<std::string> last;
  for (std::size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i) {
    last.emplace_back(lines[i]);
  }
  return Join(last, "; ");
}

}  // namespace

Result<std::unique_ptr<SlurmProvider>> SlurmProvider::Create(const Config& config) {
  Result<std::unique_ptr<CommandRunner>> runner = MakeCommandRunner(config);
  if (!runner.ok()) return runner.status().WithPrefix("the Slurm provider cannot start");
  return std::make_unique<SlurmProvider>(config, std::move(*runner));
}

SlurmProvider::SlurmProvider(const Config& config, std::unique_ptr<CommandRunner> runner)
    : slurm_(config.cluster.slurm),
      swarms_root_(NormalPath(config.SwarmsRoot())),
      // The cluster runs the router's own binary when it shares the router's file system.
      worker_command_(config.cluster.slurm.worker_command.empty()
                          ? SelfExecutablePath()
                          : config.cluster.slurm.worker_command),
      runner_(std::move(runner)) {}

Duration SlurmProvider::PollInterval() const { return FromSeconds(slurm_.poll_interval_seconds); }

Result<RunResult> SlurmProvider::RunSlurm(const std::vector<std::string>& argv, Duration timeout,
                                          const std::string& stdin_data) {
  Result<RunResult> result = runner_->Run(argv, stdin_data, timeout);
  if (!result.ok()) return result.status();
  spdlog::debug("slurm: {} {}: {}", argv.front(), runner_->Where(), result->status.ToString());
  return result;
}

// ---- Launch ----------------------------------------------------------------------------------

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
  Result<std::string> script = BuildSbatchScript(slurm_, spec, worker_command_);
  if (!script.ok()) return script.status().WithPrefix(what);

  const std::string job_name = SlurmJobName(slurm_, spec.swarm_id);
  Result<RunResult> submitted =
      RunSlurm({"/bin/sh", "-c", kSubmitCommand, "codeswarm-submit", NormalPath(spec.swarm_dir),
                std::to_string(spec.node_count)},
               kSubmitTimeout, *script);
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
      {"/bin/sh", "-c", kCancelByNameCommand, "codeswarm-cancel", job_name}, kQueryTimeout);
  if (!cancelled.ok() || !cancelled->status.success()) {
    spdlog::warn("slurm: could not make sure no job named {} is left: {}", job_name,
                 cancelled.ok() ? SlurmErrorText(*cancelled) : cancelled.status().message());
  }
}

// ---- Terminate -------------------------------------------------------------------------------

Status SlurmProvider::Terminate(const std::string& job_id) {
  if (!IsSlurmJobId(job_id)) {
    return Status::InvalidArgument("cannot cancel \"" + job_id + "\": not a Slurm job id");
  }
  Result<RunResult> cancelled = RunSlurm({"scancel", job_id}, kQueryTimeout);
  if (!cancelled.ok()) return cancelled.status().WithPrefix("cannot cancel Slurm job " + job_id);
  if (!cancelled->status.success()) {
    return Status::Unavailable("scancel " + job_id + " failed " + runner_->Where() + ": " +
                               SlurmErrorText(*cancelled));
  }
  return Status::Ok();
}

// ---- State -----------------------------------------------------------------------------------

Result<std::vector<SlurmJobRecord>> SlurmProvider::QueryQueue(
    const std::vector<std::string>& job_ids) {
  std::vector<std::string> argv = {"squeue", "-h", "-o", kSqueueFormat};
  if (job_ids.empty()) {
    argv.push_back("--me");
  } else {
    // -t all: also the jobs that ended in the last MinJobAge seconds, with their final state.
    argv.insert(argv.end(), {"-t", "all", "-j", Join(job_ids, ",")});
  }
  Result<RunResult> listed = RunSlurm(argv, kQueryTimeout);
  if (!listed.ok()) return listed.status();
  if (!listed->status.success()) {
    // Asked only about jobs the controller has forgotten: that is an answer (none of them is
    // queued), not a failure.
    if (!job_ids.empty() &&
        listed->stderr_text.find("Invalid job id specified") != std::string::npos) {
      return std::vector<SlurmJobRecord>{};
    }
    return Status::Unavailable("squeue failed " + runner_->Where() + ": " +
                               SlurmErrorText(*listed));
  }
  return ParseSqueue(listed->stdout_text);
}

std::vector<SlurmJobRecord> SlurmProvider::QueryAccounting(const std::vector<std::string>& job_ids,
                                                           std::string* problem) {
  const std::vector<std::string> query = {"-X", "-P",        "-n", "-j", Join(job_ids, ","),
                                          "-o", kSacctFields};
  std::string database_error;
  if (accounting_.load() != Accounting::kCompletionLog) {
    std::vector<std::string> argv = {"sacct"};
    argv.insert(argv.end(), query.begin(), query.end());
    Result<RunResult> accounted = RunSlurm(argv, kQueryTimeout);
    if (accounted.ok() && accounted->status.success()) {
      accounting_.store(Accounting::kDatabase);
      return ParseSacct(accounted->stdout_text);
    }
    database_error = accounted.ok() ? SlurmErrorText(*accounted) : accounted.status().message();
    if (accounted.ok() &&
        accounted->stderr_text.find("accounting storage is disabled") != std::string::npos) {
      // No slurmdbd here: from now on, go straight to the job completion log.
      accounting_.store(Accounting::kCompletionLog);
    }
  }
  // The completion log (JobCompType=jobcomp/filetxt): also worth a try while slurmdbd is down.
  std::vector<std::string> argv = {"sacct", "-c"};
  argv.insert(argv.end(), query.begin(), query.end());
  Result<RunResult> completed = RunSlurm(argv, kQueryTimeout);
  if (completed.ok() && completed->status.success()) return ParseSacct(completed->stdout_text);
  std::string log_error =
      completed.ok() ? SlurmErrorText(*completed) : completed.status().message();
  *problem = database_error.empty() ? "sacct -c: " + log_error
                                    : "sacct: " + database_error + "; sacct -c: " + log_error;
  return {};
}

Result<std::map<std::string, JobState>> SlurmProvider::JobStates(
    const std::vector<std::string>& job_ids) {
  std::map<std::string, JobState> states;
  std::vector<std::string> asked;
  for (const std::string& job_id : job_ids) {
    if (states.contains(job_id)) continue;
    if (!IsSlurmJobId(job_id)) {
      states[job_id] = Ended("UNKNOWN", "\"" + job_id + "\" is not a Slurm job id");
      continue;
    }
    states[job_id] = JobState{};  // filled below
    asked.push_back(job_id);
  }
  if (asked.empty()) return states;

  Result<std::vector<SlurmJobRecord>> queued = QueryQueue(asked);
  if (!queued.ok()) return queued.status();
  std::set<std::string> found;
  std::map<std::string, SlurmJobRecord> failed;
  auto take = [&](const SlurmJobRecord& record, bool from_accounting) {
    auto it = states.find(record.job_id);
    if (it == states.end()) return;
    it->second = DescribeSlurmJob(record, from_accounting);
    found.insert(record.job_id);
    if (record.state == "FAILED") failed[record.job_id] = record;
  };
  for (const SlurmJobRecord& record : *queued) take(record, false);

  std::vector<std::string> gone;
  for (const std::string& job_id : asked) {
    if (!found.contains(job_id)) gone.push_back(job_id);
  }
  if (!gone.empty()) {
    // Left the queue: finished long enough ago that the controller forgot it. Never running.
    std::string problem;
    for (const SlurmJobRecord& record : QueryAccounting(gone, &problem)) take(record, true);
    for (const std::string& job_id : gone) {
      if (found.contains(job_id)) continue;
      std::string reason =
          "Slurm no longer lists job " + job_id + " and has no record of how it ended";
      if (!problem.empty()) reason += " (" + problem + ")";
      states[job_id] = Ended("UNKNOWN", reason);
    }
  }
  if (!failed.empty()) AddFailureDetails(failed, states);
  return states;
}

void SlurmProvider::AddFailureDetails(const std::map<std::string, SlurmJobRecord>& failed,
                                      std::map<std::string, JobState>& states) {
  std::map<std::string, std::string> job_of_path;
  std::vector<std::string> argv = {"tail", "-v", "-n", std::to_string(kErrorTailLines), "--"};
  for (const auto& [job_id, record] : failed) {
    if (SwarmIdOf(record).empty()) continue;  // not ours: no error file we know of
    std::string path = SlurmBatchErrorPath(NormalPath(record.work_dir), job_id);
    job_of_path[path] = job_id;
    argv.push_back(path);
  }
  if (job_of_path.empty()) return;
  Result<RunResult> tailed = RunSlurm(argv, kQueryTimeout);
  std::map<std::string, std::vector<std::string_view>> lines_of_job;
  if (tailed.ok()) {
    // "==> <path> <==" starts each file's lines (-v: even for one file).
    std::string current;
    for (std::string_view line : NonEmptyLines(tailed->stdout_text)) {
      if (StartsWith(line, "==> ") && line.size() > 8 && line.substr(line.size() - 4) == " <==") {
        auto it = job_of_path.find(std::string(line.substr(4, line.size() - 8)));
        current = it == job_of_path.end() ? "" : it->second;
      } else if (!current.empty()) {
        lines_of_job[current].push_back(line);
      }
    }
  }
  for (const auto& [path, job_id] : job_of_path) {
    JobState& state = states[job_id];
    auto lines = lines_of_job.find(job_id);
    if (lines != lines_of_job.end() && !lines->second.empty()) {
      state.reason += ": " + Ellipsize(SummarizeErrorLines(lines->second), kMaxDetailBytes);
    } else {
      state.reason += "; see " + path;
    }
  }
}

std::string SlurmProvider::SwarmIdOf(const SlurmJobRecord& record) const {
  if (!StartsWith(record.name, slurm_.job_name_prefix)) return "";
  std::string swarm_id = record.name.substr(slurm_.job_name_prefix.size());
  if (!IsSwarmIdText(swarm_id)) return "";
  if (NormalPath(record.work_dir) != swarms_root_ + "/" + swarm_id) return "";
  return swarm_id;
}

Result<std::map<std::string, JobState>> SlurmProvider::ListActiveJobs() {
  Result<std::vector<SlurmJobRecord>> queued = QueryQueue({});
  if (!queued.ok()) return queued.status();
  std::map<std::string, JobState> active;
  for (const SlurmJobRecord& record : *queued) {
    if (SwarmIdOf(record).empty()) continue;
    JobState state = DescribeSlurmJob(record);
    if (state.phase != JobPhase::kEnded) active[record.job_id] = std::move(state);
  }
  return active;
}

}  // namespace codeswarm::provider
