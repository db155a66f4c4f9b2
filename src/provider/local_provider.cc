// LocalProvider: creating it, Launch and Terminate. Finding jobs and describing their state is
// in local_job_table.cc.
#include "provider/local_provider.h"

#include <signal.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/clock.h"
#include "provider/local_job_manifest.h"

namespace codeswarm::provider {

namespace fs = std::filesystem;

namespace {

// How long processes get to disappear after SIGKILL before Terminate reports them stuck (a
// process in uninterruptible sleep, e.g. on a dead network mount, ignores even SIGKILL).
constexpr std::chrono::seconds kKillTimeout(10);

// Creates `dir` and its missing parents with mode 0700; existing directories are left as they
// are.
Status MakePrivateDirs(const fs::path& dir) {
  fs::path partial;
  for (const fs::path& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::IoError("cannot create directory " + partial.string() + ": " +
                             std::strerror(errno));
    }
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::IoError(dir.string() + " is not a directory");
  return Status::Ok();
}

// `path` made absolute and normal (unchanged when the working directory is unknown).
std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

// Paths compared as the kernel resolves them (symlinks, "..", relative to the working directory).
bool SamePath(const std::string& a, const std::string& b) {
  std::error_code ec_a, ec_b;
  fs::path resolved_a = fs::weakly_canonical(AbsolutePath(a), ec_a);
  fs::path resolved_b = fs::weakly_canonical(AbsolutePath(b), ec_b);
  if (ec_a || ec_b) return AbsolutePath(a) == AbsolutePath(b);
  return resolved_a == resolved_b;
}

// Renames job.json so that the job is no longer listed or adopted, and keeps the record for
// people and for JobStates ("terminated").
void RetireManifest(const std::string& swarm_dir) {
  const fs::path dir(swarm_dir);
  std::error_code ec;
  fs::rename(dir / kLocalJobManifestName, dir / kLocalEndedJobManifestName, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    spdlog::warn("local provider: cannot rename {}: {}", (dir / kLocalJobManifestName).string(),
                 ec.message());
  }
}

}  // namespace

Result<std::unique_ptr<LocalProvider>> LocalProvider::Create(const Config& config,
                                                             const Clock& clock) {
  Result<std::string> boot_id = ReadBootId();
  if (!boot_id.ok()) {
    return boot_id.status().WithPrefix("the local provider cannot track processes here");
  }
  // The constructor is private (Create is the only way in), so make_unique cannot reach it.
  return std::unique_ptr<LocalProvider>(new LocalProvider(config, std::move(*boot_id), clock));
}

LocalProvider::LocalProvider(const Config& config, std::string boot_id, const Clock& clock)
    : local_(config.cluster.local),
      // Absolute from the start: a later change of working directory must not move the swarms.
      swarms_root_(AbsolutePath(config.SwarmsRoot())),
      boot_id_(std::move(boot_id)),
      clock_(clock) {}

Duration LocalProvider::PollInterval() const { return FromSeconds(local_.poll_interval_seconds); }

// ---- Launch ----------------------------------------------------------------------------------

Result<std::string> LocalProvider::Launch(const LaunchSpec& spec) {
  const std::string what = "cannot launch swarm " + spec.swarm_id + " locally";
  CODESWARM_RETURN_IF_ERROR(ValidateSpec(spec).WithPrefix(what));
  const std::string job_id = std::string(kLocalJobIdPrefix) + spec.swarm_id;
  CODESWARM_RETURN_IF_ERROR(ReserveLaunch(job_id).WithPrefix(what));
  Result<std::shared_ptr<Job>> job = StartJob(spec, job_id);
  std::lock_guard lock(mu_);
  launching_.erase(job_id);
  if (!job.ok()) return job.status().WithPrefix(what);
  jobs_[job_id] = *job;
  return job_id;
}

Status LocalProvider::ValidateSpec(const LaunchSpec& spec) const {
  if (!IsSinglePathComponent(spec.swarm_id)) {
    return Status::InvalidArgument("swarm id \"" + spec.swarm_id + "\" cannot name a directory");
  }
  if (spec.node_count < 1) {
    return Status::InvalidArgument("node count " + std::to_string(spec.node_count) +
                                   " is not positive");
  }
  // A restarted router finds the job's manifest only under the swarms root.
  const fs::path expected = fs::path(swarms_root_) / spec.swarm_id;
  if (!SamePath(spec.swarm_dir, expected.string())) {
    return Status::InvalidArgument("swarm directory " + spec.swarm_dir + " is not " +
                                   expected.string() + " (cluster.workspace_root/cluster_subdir)");
  }
  return Status::Ok();
}

Status LocalProvider::ReserveLaunch(const std::string& job_id) {
  const Status running = Status::AlreadyExists("job " + job_id + " is already running");
  {
    std::lock_guard lock(mu_);
    if (launching_.contains(job_id)) {
      return Status::AlreadyExists("job " + job_id + " is being launched");
    }
    auto it = jobs_.find(job_id);
    if (it != jobs_.end() && DescribeLocked(*it->second).phase != JobPhase::kEnded) return running;
    launching_.insert(job_id);
  }
  // Workers started by an earlier router process count too.
  Result<Lookup> on_disk = LookUpOnDisk(job_id);
  std::lock_guard lock(mu_);
  if (on_disk.ok() && on_disk->job && DescribeLocked(*on_disk->job).phase != JobPhase::kEnded) {
    launching_.erase(job_id);
    return running;
  }
  return Status::Ok();
}

Result<std::shared_ptr<LocalProvider::Job>> LocalProvider::StartJob(const LaunchSpec& spec,
                                                                    const std::string& job_id) {
  std::vector<WorkerProcess> workers;
  for (int node_id = 0; node_id < spec.node_count; ++node_id) {
    Result<WorkerProcess> worker = StartWorker(spec, node_id);
    if (!worker.ok()) {
      KillAndReap(workers);
      return worker.status().WithPrefix("node " + std::to_string(node_id));
    }
    workers.push_back(std::move(*worker));
  }

  LocalJobManifest manifest{
      job_id, spec.swarm_id, boot_id_, FormatIso8601(clock_.WallMillis()), {}};
  for (int node_id = 0; node_id < spec.node_count; ++node_id) {
    manifest.nodes.push_back({node_id, workers[node_id].identity()});
  }
  const std::string path = (fs::path(spec.swarm_dir) / kLocalJobManifestName).string();
  Status written = WriteFileAtomically(path, SerializeLocalJobManifest(manifest));
  if (!written.ok()) {
    // Untracked workers would outlive a router restart unseen: better no job at all.
    KillAndReap(workers);
    return written;
  }

  auto job = std::make_shared<Job>();
  job->job_id = job_id;
  job->swarm_dir = spec.swarm_dir;
  for (int node_id = 0; node_id < spec.node_count; ++node_id) {
    job->nodes.push_back({node_id, std::move(workers[node_id])});
  }
  return job;
}

Result<WorkerProcess> LocalProvider::StartWorker(const LaunchSpec& spec, int node_id) const {
  const fs::path node_dir = fs::path(spec.swarm_dir) / ("node-" + std::to_string(node_id));
  CODESWARM_RETURN_IF_ERROR(MakePrivateDirs(node_dir));
  SpawnOptions options;
  options.argv = local_.worker_command;
  if (options.argv.empty()) options.argv = {SelfExecutablePath(), "worker"};
  options.env_overrides = WorkerEnvironment(spec);
  options.env_overrides.emplace_back("CODESWARM_NODE_ID", std::to_string(node_id));
  options.cwd = node_dir.string();
  // Its own group, so that Terminate reaches the agent processes the worker starts too.
  options.new_process_group = true;
  options.stdin_mode = StdioMode::kNull;
  options.stdout_mode = StdioMode::kFile;
  options.stderr_mode = StdioMode::kFile;
  options.stdout_file = (node_dir / "worker.log").string();
  options.stderr_file = options.stdout_file;
  Result<Subprocess> child = Subprocess::Spawn(options);
  if (!child.ok()) return child.status();
  return WorkerProcess::FromChild(std::move(*child));
}

void LocalProvider::KillAndReap(std::vector<WorkerProcess>& workers) const {
  std::vector<UniqueFd> pidfds;
  for (WorkerProcess& worker : workers) {
    worker.SignalGroup(SIGKILL);
    pidfds.push_back(worker.DupPidfd());
  }
  WaitForExits(pidfds, clock_.Now() + kKillTimeout, clock_);
  for (WorkerProcess& worker : workers) worker.CheckEnded();
}

// ---- Terminate -------------------------------------------------------------------------------

std::vector<UniqueFd> LocalProvider::SignalLiveNodesLocked(Job& job, int sig) {
  std::vector<UniqueFd> pidfds;
  for (Node& node : job.nodes) {
    if (!node.process || node.process->CheckEnded()) continue;
    // A failed signal shows up below as a worker that does not exit.
    node.process->SignalGroup(sig);
    pidfds.push_back(node.process->DupPidfd());
  }
  return pidfds;
}

void LocalProvider::ForgetJobLocked(const std::shared_ptr<Job>& job) {
  auto it = jobs_.find(job->job_id);
  // Only this Job: a relaunch under the same id may have replaced it meanwhile.
  if (it != jobs_.end() && it->second == job) jobs_.erase(it);
}

Status LocalProvider::Terminate(const std::string& job_id) {
  Result<Lookup> found = FindJob(job_id);
  if (!found.ok()) return found.status().WithPrefix("cannot terminate job " + job_id);
  if (!found->job) {
    if (found->settled->phase != JobPhase::kEnded) {
      return Status::Unavailable("cannot terminate job " + job_id + ": " + found->settled->reason);
    }
    // A manifest from before a reboot: nothing runs, but tidy up.
    if (std::string dir = SwarmDirOf(job_id); !dir.empty()) RetireManifest(dir);
    return Status::Ok();
  }
  const std::shared_ptr<Job> job = found->job;

  // The lock is held only to signal; waiting happens on duplicated pidfds without it.
  std::vector<UniqueFd> pidfds;
  {
    std::lock_guard lock(mu_);
    pidfds = SignalLiveNodesLocked(*job, SIGTERM);
  }
  // The grace period starts once the lock is released (tests observe that order on the clock).
  const SteadyTime grace_ends = clock_.Now() + FromSeconds(local_.terminate_grace_seconds);
  if (!WaitForExits(pidfds, grace_ends, clock_)) {
    {
      std::lock_guard lock(mu_);
      pidfds = SignalLiveNodesLocked(*job, SIGKILL);
    }
    WaitForExits(pidfds, clock_.Now() + kKillTimeout, clock_);
  }

  {
    std::lock_guard lock(mu_);
    // Reaps our children and kills whatever is left of each process group.
    JobState state = DescribeLocked(*job);
    if (state.phase != JobPhase::kEnded) {
      return Status::Timeout("cannot terminate job " + job_id + ": " + state.reason + " " +
                             std::to_string(kKillTimeout.count()) + " s after SIGKILL");
    }
  }
  // Retired before the job leaves the table, so that a concurrent JobStates finds it in one
  // place or the other and never adopts it again from a stale job.json.
  RetireManifest(job->swarm_dir);
  std::lock_guard lock(mu_);
  ForgetJobLocked(job);
  return Status::Ok();
}

}  // namespace codeswarm::provider
