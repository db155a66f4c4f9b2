#include "provider/slurm_provider.h"

#include <spdlog/spdlog.h>

#include <set>

#include "common/text.h"
#include "provider/slurm_script.h"
#include "provider/slurm_text.h"

namespace codeswarm::provider {

namespace {

// Lines of a failed job's error file that go into its reason.
constexpr int kErrorTailLines = 20;
constexpr std::size_t kMaxDetailBytes = 600;

JobState Ended(std::string backend_state, std::string reason) {
  JobState state;
  state.phase = JobPhase::kEnded;
  state.backend_state = std::move(backend_state);
  state.reason = std::move(reason);
  return state;
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
  return JoinStrings(last, "; ");
}

}  // namespace

Result<std::unique_ptr<SlurmProvider>> SlurmProvider::Create(const Config& config) {
  Result<std::unique_ptr<CommandRunner>> runner = MakeCommandRunner(config);
  if (!runner.ok()) return runner.status().WithPrefix("the Slurm provider cannot start");
  return std::make_unique<SlurmProvider>(config, std::move(*runner));
}

SlurmProvider::SlurmProvider(const Config& config, std::unique_ptr<CommandRunner> runner,
                             const std::string& local_binary)
    : slurm_(config.cluster.slurm),
      swarms_root_(NormalPath(config.SwarmsRoot())),
      // On the cluster (no login alias) the nodes share the router's file system and run its
      // own binary; off it, they run the deployed copy (deployer_).
      worker_command_(config.cluster.slurm.worker_command.empty()
                          ? SelfExecutablePath()
                          : config.cluster.slurm.worker_command),
      runner_(std::move(runner)),
      deployer_(WorkersRunDeployedBinary(config)
                    ? std::make_unique<BinaryDeployer>(*runner_, config.SlurmLoginAlias(),
                                                       DeployDirectory(config), local_binary)
                    : nullptr) {}

Duration SlurmProvider::PollInterval() const { return FromSeconds(slurm_.poll_interval_seconds); }

Result<RunResult> SlurmProvider::RunSlurm(const std::vector<std::string>& argv, Duration timeout,
                                          const std::string& stdin_data) {
  Result<RunResult> result = runner_->Run(argv, stdin_data, timeout);
  if (!result.ok()) return result.status();
  spdlog::debug("slurm: {} {}: {}", argv.front(), runner_->Where(), result->status.ToString());
  return result;
}

// ---- Terminate -------------------------------------------------------------------------------

Status SlurmProvider::Terminate(const std::string& job_id) {
  if (!IsSlurmJobId(job_id)) {
    return Status::InvalidArgument("cannot cancel \"" + job_id + "\": not a Slurm job id");
  }
  Result<RunResult> cancelled = RunSlurm({"scancel", job_id}, kSlurmQueryTimeout);
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
    argv.insert(argv.end(), {"-t", "all", "-j", JoinStrings(job_ids, ",")});
  }
  Result<RunResult> listed = RunSlurm(argv, kSlurmQueryTimeout);
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
  const std::vector<std::string> query = {"-X", "-P",        "-n", "-j", JoinStrings(job_ids, ","),
                                          "-o", kSacctFields};
  std::string database_error;
  if (accounting_.load() != Accounting::kCompletionLog) {
    std::vector<std::string> argv = {"sacct"};
    argv.insert(argv.end(), query.begin(), query.end());
    Result<RunResult> accounted = RunSlurm(argv, kSlurmQueryTimeout);
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
  Result<RunResult> completed = RunSlurm(argv, kSlurmQueryTimeout);
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
  Result<RunResult> tailed = RunSlurm(argv, kSlurmQueryTimeout);
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
