// Reading Slurm's answers: squeue and sacct output, and what a Slurm job state (with its pending
// reason) means for a swarm. Pure functions over text, so that they are tested against output
// recorded from a real cluster (tests/unit/slurm_state_test.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "provider/cluster_provider.h"

namespace codeswarm::provider {

// One job as squeue or sacct describes it. Fields a source does not give stay empty.
struct SlurmJobRecord {
  std::string job_id;
  // The state word: "RUNNING", "PENDING", "CANCELLED" (sacct's "CANCELLED by 0" is split into
  // state "CANCELLED" and state_detail "by 0").
  std::string state;
  std::string state_detail;
  std::string reason;     // squeue's pending reason (%r); "None" is kept as Slurm said it
  std::string nodes;      // squeue's node list (%N), e.g. "n[1-4]"
  std::string exit_code;  // sacct's "exit:signal", e.g. "127:0"
  std::string work_dir;
  std::string name;
};

// The squeue output format the parser below reads (-o). The job name comes last: it is the one
// field a user may fill with any character, '|' included.
inline constexpr char kSqueueFormat[] = "%i|%T|%N|%r|%Z|%j";
// The sacct fields (-o, with -P -n -X) ParseSacct reads, in this order.
inline constexpr char kSacctFields[] = "JobID,State,ExitCode,WorkDir,JobName";

// Parses `squeue -h -o kSqueueFormat`. Lines that do not start with a job id are skipped (a
// login shell may print a banner before the command's output).
std::vector<SlurmJobRecord> ParseSqueue(std::string_view text);

// Parses `sacct -P -n -X -o kSacctFields` (or `sacct -c ...`: same layout). A job listed more
// than once (requeued) appears once per line; the caller keeps the last.
std::vector<SlurmJobRecord> ParseSacct(std::string_view text);

// Whether a job PENDING for `reason` can never start as submitted (its request exceeds what the
// partition, QOS or association allows, names a node or dependency that cannot be satisfied,
// ...). `reason` may carry details after a comma: "ReqNodeNotAvail, UnavailableNodes:n3".
bool IsImpossiblePendingReason(std::string_view reason);

// What a job in `record` means to its swarm: phase, backend_state (the state word), a reason a
// person can read, and cannot_start. A state Codeswarm does not know is kEnded (a job is never
// guessed to be running). `from_accounting`: the record comes from sacct because the job has
// left squeue, so nothing of it can still run whatever the record says.
JobState DescribeSlurmJob(const SlurmJobRecord& record, bool from_accounting = false);

// A Slurm job id as Codeswarm uses it: digits only (no array or het-job suffix).
bool IsSlurmJobId(std::string_view text);

}  // namespace codeswarm::provider
