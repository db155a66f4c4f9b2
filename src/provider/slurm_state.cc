#include "provider/slurm_state.h"

#include <array>

#include "common/text.h"

namespace codeswarm::provider {

namespace {

struct StateMeaning {
  std::string_view state;
  JobPhase phase;
  // For a person; empty for PENDING and RUNNING, whose reason is built from squeue's fields.
  std::string_view description;
};

// Every state squeue (%T) and sacct print, Slurm 22.05 and later. The pending-like states come
// back to PENDING; the running-like ones still have processes on the nodes.
constexpr std::array<StateMeaning, 25> kStates = {{
    {"PENDING", JobPhase::kPending, ""},
    {"CONFIGURING", JobPhase::kPending, "the job's nodes are being prepared"},
    {"REQUEUED", JobPhase::kPending, "the job was requeued and waits to start again"},
    {"REQUEUE_FED", JobPhase::kPending, "the job was requeued by its federation"},
    {"REQUEUE_HOLD", JobPhase::kPending, "the job was requeued and is held"},
    {"RESV_DEL_HOLD", JobPhase::kPending, "the job is held: its reservation was deleted"},
    {"RUNNING", JobPhase::kRunning, ""},
    {"COMPLETING", JobPhase::kRunning, "the job is ending; Slurm is stopping its processes"},
    {"SUSPENDED", JobPhase::kRunning, "the job is suspended"},
    {"STOPPED", JobPhase::kRunning, "the job is stopped (SIGSTOP)"},
    {"SIGNALING", JobPhase::kRunning, "the job is being signalled"},
    {"RESIZING", JobPhase::kRunning, "the job is changing size"},
    {"STAGE_OUT", JobPhase::kRunning, "the job is staging out its files"},
    {"COMPLETED", JobPhase::kEnded, "the Slurm job completed: its workers exited"},
    {"CANCELLED", JobPhase::kEnded, "the Slurm job was cancelled"},
    {"FAILED", JobPhase::kEnded, "the Slurm job failed"},
    {"TIMEOUT", JobPhase::kEnded, "the Slurm job reached its time limit"},
    {"NODE_FAIL", JobPhase::kEnded, "a node of the Slurm job failed"},
    {"PREEMPTED", JobPhase::kEnded, "the Slurm job was preempted"},
    {"OUT_OF_MEMORY", JobPhase::kEnded, "the Slurm job ran out of memory"},
    {"BOOT_FAIL", JobPhase::kEnded, "the nodes of the Slurm job failed to boot"},
    {"DEADLINE", JobPhase::kEnded, "the Slurm job missed its deadline"},
    {"REVOKED", JobPhase::kEnded, "the Slurm job was revoked (it runs on another cluster)"},
    {"SPECIAL_EXIT", JobPhase::kEnded, "the Slurm job ended with a special exit"},
    {"LAUNCH_FAILED", JobPhase::kEnded, "the Slurm job failed to launch"},
}};

struct ImpossibleReason {
  std::string_view reason;
  std::string_view explanation;
};

// Pending reasons that no amount of waiting fixes: the job as submitted is outside what the
// cluster allows, or waits for something that cannot happen. (Grp* limits, Resources, Priority,
// ... are about other jobs and pass.)
constexpr std::array<ImpossibleReason, 11> kImpossibleReasons = {{
    {"PartitionConfig",
     "the request does not fit the partition (more nodes, CPUs, memory or time than it has)"},
    {"PartitionNodeLimit", "the request needs more nodes than the partition allows"},
    {"PartitionTimeLimit", "the time limit is above the partition's maximum"},
    {"ReqNodeNotAvail", "a node the job requires is not available"},
    {"BadConstraints", "the job's constraints cannot be satisfied"},
    {"DependencyNeverSatisfied", "the job depends on a job that can no longer satisfy it"},
    {"InvalidAccount", "the account is not valid"},
    {"InvalidQOS", "the QOS is not valid"},
    {"AccountNotAllowed", "the account may not use the partition"},
    {"QOSNotAllowed", "the QOS may not use the partition"},
    {"JobHoldMaxRequeue", "the job is held after failing to launch too often"},
}};

const StateMeaning* FindState(std::string_view state) {
  for (const StateMeaning& meaning : kStates) {
    if (meaning.state == state) return &meaning;
  }
  return nullptr;
}

// "ReqNodeNotAvail, UnavailableNodes:n3" -> "ReqNodeNotAvail"
std::string_view ReasonCode(std::string_view reason) {
  std::size_t end = reason.find_first_of(", (");
  return TrimWhitespace(reason.substr(0, end));
}

const ImpossibleReason* FindImpossible(std::string_view reason) {
  std::string_view code = ReasonCode(reason);
  for (const ImpossibleReason& impossible : kImpossibleReasons) {
    if (impossible.reason == code) return &impossible;
  }
  return nullptr;
}

// Per-job maximums of a QOS or association ("QOSMaxNodePerJobLimit",
// "AssocMaxWallDurationPerJobLimit", ...) are as final as a partition's.
bool IsPerJobLimit(std::string_view reason) {
  std::string_view code = ReasonCode(reason);
  return (StartsWith(code, "QOSMax") || StartsWith(code, "AssocMax")) &&
         code.find("PerJob") != std::string_view::npos;
}

bool IsMeaningfulReason(std::string_view reason) { return !reason.empty() && reason != "None"; }

// Splits "a|b|c" into at most `fields` parts; the last part keeps any further '|'.
std::vector<std::string_view> SplitFields(std::string_view line, std::size_t fields) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < fields) {
    std::size_t bar = line.find('|');
    if (bar == std::string_view::npos) break;
    parts.push_back(line.substr(0, bar));
    line.remove_prefix(bar + 1);
  }
  parts.push_back(line);
  return parts;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view line : SplitString(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// sacct's "CANCELLED by 1000" -> {"CANCELLED", "by 1000"}
void SetState(std::string_view word, SlurmJobRecord* record) {
  word = TrimWhitespace(word);
  std::size_t space = word.find(' ');
  record->state = std::string(word.substr(0, space));
  if (space != std::string_view::npos) {
    record->state_detail = std::string(TrimWhitespace(word.substr(space + 1)));
  }
}

std::string ExitCodeText(std::string_view exit_code) {
  // "exit:signal"
  std::size_t colon = exit_code.find(':');
  std::string_view code = exit_code.substr(0, colon);
  std::string_view signal = colon == std::string_view::npos ? "" : exit_code.substr(colon + 1);
  if (signal != "" && signal != "0") return "killed by signal " + std::string(signal);
  if (code != "" && code != "0") return "exit code " + std::string(code);
  return "";
}

JobState EndedWithReason(std::string backend_state, std::string reason) {
  JobState state;
  state.phase = JobPhase::kEnded;
  state.backend_state = std::move(backend_state);
  state.reason = std::move(reason);
  return state;
}

}  // namespace

bool IsSlurmJobId(std::string_view text) {
  if (text.empty() || text.size() > 20) return false;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
  }
  return true;
}

std::vector<SlurmJobRecord> ParseSqueue(std::string_view text) {
  std::vector<SlurmJobRecord> records;
  for (std::string_view line : Lines(text)) {
    std::vector<std::string_view> f = SplitFields(line, 6);
    if (f.size() != 6 || !IsSlurmJobId(f[0])) continue;
    SlurmJobRecord record;
    record.job_id = std::string(f[0]);
    SetState(f[1], &record);
    record.nodes = std::string(f[2]);
    record.reason = std::string(TrimWhitespace(f[3]));
    record.work_dir = std::string(f[4]);
    record.name = std::string(f[5]);
    records.push_back(std::move(record));
  }
  return records;
}

std::vector<SlurmJobRecord> ParseSacct(std::string_view text) {
  std::vector<SlurmJobRecord> records;
  for (std::string_view line : Lines(text)) {
    std::vector<std::string_view> f = SplitFields(line, 5);
    if (f.size() != 5 || !IsSlurmJobId(f[0])) continue;
    SlurmJobRecord record;
    record.job_id = std::string(f[0]);
    SetState(f[1], &record);
    record.exit_code = std::string(f[2]);
    record.work_dir = std::string(f[3]);
    record.name = std::string(f[4]);
    records.push_back(std::move(record));
  }
  return records;
}

bool IsImpossiblePendingReason(std::string_view reason) {
  return FindImpossible(reason) != nullptr || IsPerJobLimit(reason);
}

JobState DescribeSlurmJob(const SlurmJobRecord& record, bool from_accounting) {
  const StateMeaning* meaning = FindState(record.state);
  if (meaning == nullptr) {
    return EndedWithReason(record.state.empty() ? "UNKNOWN" : record.state,
                           "unknown Slurm job state \"" + record.state + "\"");
  }
  if (from_accounting && meaning->phase != JobPhase::kEnded) {
    // The controller no longer lists the job, so nothing of it runs: the accounting record is
    // late (slurmdbd catches up asynchronously).
    return EndedWithReason("UNKNOWN",
                           "Slurm no longer lists the job; its accounting record "
                           "still says " +
                               record.state);
  }

  JobState state;
  state.phase = meaning->phase;
  state.backend_state = record.state;
  std::string reason(meaning->description);
  const bool has_reason = IsMeaningfulReason(record.reason);
  if (record.state == "PENDING") {
    if (const ImpossibleReason* impossible = FindImpossible(record.reason)) {
      state.cannot_start = true;
      reason = record.reason + ": " + std::string(impossible->explanation);
    } else if (IsPerJobLimit(record.reason)) {
      state.cannot_start = true;
      reason = record.reason + ": the request exceeds a per-job limit of its QOS or account";
    } else {
      reason = has_reason ? record.reason : "waiting to be scheduled";
    }
  } else if (record.state == "RUNNING") {
    reason = record.nodes.empty() ? "" : "running on " + record.nodes;
  } else if (meaning->phase == JobPhase::kEnded) {
    std::string details;
    if (!record.state_detail.empty()) details = record.state_detail;
    if (std::string exit = ExitCodeText(record.exit_code); !exit.empty()) {
      details += (details.empty() ? "" : ", ") + exit;
    }
    // NonZeroExitCode and TimeLimit only repeat the state.
    if (has_reason && record.reason != "NonZeroExitCode" && record.reason != "TimeLimit") {
      details += (details.empty() ? "" : ", ") + record.reason;
    }
    if (!details.empty()) reason += " (" + details + ")";
  } else if (has_reason) {
    reason += " (" + record.reason + ")";
  }
  state.reason = std::move(reason);
  return state;
}

}  // namespace codeswarm::provider
