// LocalProvider: finding jobs (in this instance's table, else adopted from their job.json) and
// describing their state. Launch and Terminate are in local_provider.cc.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/text.h"
#include "provider/local_job_manifest.h"
#include "provider/local_provider.h"

namespace codeswarm::provider {

namespace fs = std::filesystem;

namespace {

constexpr char kRebootedReason[] = "the machine has restarted since the workers started";

JobState EndedState(std::string backend_state, std::string reason) {
  JobState state;
  state.phase = JobPhase::kEnded;
  state.backend_state = std::move(backend_state);
  state.reason = std::move(reason);
  return state;
}

JobState UnknownJobState() { return EndedState("UNKNOWN", "no such local job"); }

std::string CountWorkers(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " worker" : " workers");
}

}  // namespace

// ---- Finding jobs ----------------------------------------------------------------------------

std::string LocalProvider::SwarmDirOf(const std::string& job_id) const {
  if (!StartsWith(job_id, kLocalJobIdPrefix)) return "";
  const std::string swarm_id = job_id.substr(kLocalJobIdPrefix.size());
  if (!IsSinglePathComponent(swarm_id)) return "";
  return (fs::path(swarms_root_) / swarm_id).string();
}

Result<LocalProvider::Lookup> LocalProvider::FindJob(const std::string& job_id) {
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(job_id);
    if (it != jobs_.end()) return Lookup{it->second, std::nullopt};
    if (launching_.contains(job_id)) {
      JobState starting;
      starting.phase = JobPhase::kPending;
      starting.backend_state = "STARTING";
      starting.reason = "the workers are being started";
      return Lookup{nullptr, starting};
    }
  }
  Result<Lookup> found = LookUpOnDisk(job_id);
  if (!found.ok() || !found->job) return found;
  std::lock_guard lock(mu_);
  // Another thread may have adopted the same job meanwhile: one Job per id, theirs wins.
  auto [it, inserted] = jobs_.try_emplace(job_id, found->job);
  return Lookup{it->second, std::nullopt};
}

Result<LocalProvider::Lookup> LocalProvider::LookUpOnDisk(const std::string& job_id) const {
  const std::string swarm_dir = SwarmDirOf(job_id);
  if (swarm_dir.empty()) return Lookup{nullptr, UnknownJobState()};
  const fs::path manifest_path = fs::path(swarm_dir) / kLocalJobManifestName;
  Result<LocalJobManifest> manifest = ReadLocalJobManifest(manifest_path.string());
  if (!manifest.ok()) {
    if (!manifest.status().IsNotFound()) return manifest.status();
    std::error_code ec;
    if (fs::exists(fs::path(swarm_dir) / kLocalEndedJobManifestName, ec)) {
      return Lookup{nullptr, EndedState("EXITED", "terminated")};
    }
    return Lookup{nullptr, UnknownJobState()};
  }
  if (manifest->job_id != job_id) {
    return Status::FailedPrecondition(manifest_path.string() + " belongs to job " +
                                      manifest->job_id + ", not " + job_id);
  }
  if (manifest->boot_id != boot_id_) {
    return Lookup{nullptr, EndedState("EXITED", kRebootedReason)};
  }
  auto job = std::make_shared<Job>();
  job->job_id = job_id;
  job->swarm_dir = swarm_dir;
  for (const LocalJobManifest::Node& node : manifest->nodes) {
    Result<WorkerProcess> process = WorkerProcess::Adopt(node.process);
    if (process.ok()) {
      job->nodes.push_back({node.node_id, std::move(*process)});
    } else if (process.status().IsNotFound()) {
      job->nodes.push_back({node.node_id, std::nullopt});
    } else {
      return process.status().WithPrefix("cannot track node " + std::to_string(node.node_id) +
                                         " of job " + job_id);
    }
  }
  return Lookup{std::move(job), std::nullopt};
}

// ---- State -----------------------------------------------------------------------------------

JobState LocalProvider::DescribeLocked(Job& job) {
  JobState state;
  std::size_t running = 0;
  std::string ended;
  for (Node& node : job.nodes) {
    NodeHealth health;
    health.node_id = node.node_id;
    std::optional<std::string> end =
        node.process ? node.process->CheckEnded() : std::optional<std::string>("exited");
    health.alive = !end.has_value();
    if (end) {
      health.detail = *end;
      ended += (ended.empty() ? "node " : ", node ") + std::to_string(node.node_id) + " " + *end;
    } else {
      ++running;
    }
    state.nodes.push_back(std::move(health));
  }
  const std::size_t total = job.nodes.size();
  if (running > 0) {
    state.phase = JobPhase::kRunning;
    state.backend_state = "RUNNING";
    state.reason = std::to_string(running) + " of " + CountWorkers(total) + " running";
    if (!ended.empty()) state.reason += "; ended: " + ended;
  } else {
    state.phase = JobPhase::kEnded;
    state.backend_state = "EXITED";
    state.reason =
        (total == 1 ? "the worker exited: " : "all " + CountWorkers(total) + " exited: ") + ended;
  }
  return state;
}

Result<std::map<std::string, JobState>> LocalProvider::JobStates(
    const std::vector<std::string>& job_ids) {
  std::map<std::string, JobState> states;
  for (const std::string& job_id : job_ids) {
    if (states.contains(job_id)) continue;
    Result<Lookup> found = FindJob(job_id);
    if (!found.ok()) {
      // Workers that cannot be tracked are never reported as running.
      states[job_id] = EndedState("UNKNOWN", found.status().message());
    } else if (found->job) {
      std::lock_guard lock(mu_);
      states[job_id] = DescribeLocked(*found->job);
    } else {
      states[job_id] = *found->settled;
    }
  }
  return states;
}

Result<std::map<std::string, JobState>> LocalProvider::ListActiveJobs() {
  std::set<std::string> job_ids;
  std::error_code ec;
  for (fs::directory_iterator it(swarms_root_, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code missing;
    if (fs::exists(it->path() / kLocalJobManifestName, missing)) {
      job_ids.insert(std::string(kLocalJobIdPrefix) + it->path().filename().string());
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status::IoError("cannot list " + swarms_root_ + ": " + ec.message());
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [job_id, job] : jobs_) job_ids.insert(job_id);
  }

  std::map<std::string, JobState> active;
  for (const std::string& job_id : job_ids) {
    Result<Lookup> found = FindJob(job_id);
    if (!found.ok()) {
      // One unreadable manifest must not hide every other job from the router.
      spdlog::warn("local provider: skipping job {}: {}", job_id, found.status().message());
      continue;
    }
    if (!found->job) continue;
    std::lock_guard lock(mu_);
    JobState state = DescribeLocked(*found->job);
    if (state.phase != JobPhase::kEnded) active[job_id] = std::move(state);
  }
  return active;
}

}  // namespace codeswarm::provider
