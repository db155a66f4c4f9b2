// squeue and sacct output as a real Slurm 22.05 prints it (recorded from the test cluster of
// scripts/slurm-up.sh), and what each job state means for a swarm.
#include "provider/slurm_state.h"

#include <gtest/gtest.h>

namespace codeswarm::provider {
namespace {

// squeue -h -t all -o '%i|%T|%N|%r|%Z|%j', recorded. Job 8's name holds a '|' and a space.
constexpr char kRecordedSqueue[] =
    "6|CANCELLED|n[1-4]|None|/tmp/cs-slurm/jobs|codeswarm-s-aaaa0001\n"
    "7|PENDING||PartitionNodeLimit|/tmp/cs-slurm/jobs|codeswarm-s-aaaa0002\n"
    "9|PENDING||DependencyNeverSatisfied|/tmp/cs-slurm/jobs|wrap\n"
    "10|PENDING||Resources|/tmp/cs-slurm/jobs|wrap\n"
    "5|COMPLETED|n[1-4]|None|/tmp/csm/ws/swarms/s-9654d09f|codeswarm-s-9654d09f\n"
    "8|FAILED|n1|NonZeroExitCode|/tmp/cs-slurm/jobs|odd|name x\n"
    "11|RUNNING|n1|None|/tmp/cs-slurm/jobs|codeswarm-s-aaaa0003\n";

// sacct -c -X -P -n -j 11,6,8 -o JobID,State,ExitCode,WorkDir,JobName, recorded: the job
// completion log cannot hold a name with a space, so job 8 comes back without its state.
constexpr char kRecordedSacctCompletionLog[] =
    "8||2:0|/tmp/cs-slurm/jobs|odd|name\n"
    "6|CANCELLED|0:0|/tmp/cs-slurm/jobs|codeswarm-s-aaaa0001\n";

// sacct with a slurmdbd: the cancelling user follows the state; a requeued job has two lines.
constexpr char kSacctDatabase[] =
    "21|CANCELLED by 1000|0:15|/scratch/ws/swarms/s-1|codeswarm-s-1\n"
    "22|NODE_FAIL|0:0|/scratch/ws/swarms/s-2|codeswarm-s-2\n"
    "23|REQUEUED|0:0|/scratch/ws/swarms/s-3|codeswarm-s-3\n"
    "23|TIMEOUT|0:0|/scratch/ws/swarms/s-3|codeswarm-s-3\n";

TEST(SlurmStateTest, ParsesRecordedSqueueOutput) {
  std::vector<SlurmJobRecord> jobs = ParseSqueue(kRecordedSqueue);
  ASSERT_EQ(jobs.size(), 7u);
  EXPECT_EQ(jobs[0].job_id, "6");
  EXPECT_EQ(jobs[0].state, "CANCELLED");
  EXPECT_EQ(jobs[0].nodes, "n[1-4]");
  EXPECT_EQ(jobs[0].reason, "None");
  EXPECT_EQ(jobs[0].work_dir, "/tmp/cs-slurm/jobs");
  EXPECT_EQ(jobs[0].name, "codeswarm-s-aaaa0001");
  EXPECT_EQ(jobs[1].state, "PENDING");
  EXPECT_EQ(jobs[1].nodes, "");
  EXPECT_EQ(jobs[1].reason, "PartitionNodeLimit");
  EXPECT_EQ(jobs[5].name, "odd|name x");  // the name is last: it may hold anything
  EXPECT_EQ(jobs[6].state, "RUNNING");
}

TEST(SlurmStateTest, SkipsLinesThatAreNotJobs) {
  // A login shell's banner on stdout, blank lines, a Windows line end.
  std::vector<SlurmJobRecord> jobs =
      ParseSqueue("Welcome to the cluster!\n\n12|RUNNING|n1|None|/w|x\r\nmaintenance|at|noon\n");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job_id, "12");
  EXPECT_EQ(jobs[0].name, "x");
  EXPECT_TRUE(ParseSqueue("").empty());
}

TEST(SlurmStateTest, ParsesRecordedSacctOutput) {
  std::vector<SlurmJobRecord> log = ParseSacct(kRecordedSacctCompletionLog);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].state, "");
  EXPECT_EQ(log[0].exit_code, "2:0");
  EXPECT_EQ(log[1].job_id, "6");
  EXPECT_EQ(log[1].state, "CANCELLED");

  std::vector<SlurmJobRecord> db = ParseSacct(kSacctDatabase);
  ASSERT_EQ(db.size(), 4u);
  EXPECT_EQ(db[0].state, "CANCELLED");
  EXPECT_EQ(db[0].state_detail, "by 1000");
  EXPECT_EQ(db[0].exit_code, "0:15");
  EXPECT_EQ(db[0].work_dir, "/scratch/ws/swarms/s-1");
  EXPECT_EQ(db[3].state, "TIMEOUT");
}

JobState Describe(const std::string& state, const std::string& reason = "None",
                  const std::string& exit_code = "", const std::string& nodes = "") {
  SlurmJobRecord record;
  record.job_id = "42";
  record.state = state;
  record.reason = reason;
  record.exit_code = exit_code;
  record.nodes = nodes;
  return DescribeSlurmJob(record);
}

struct MappingRow {
  std::string state;
  std::string reason;
  JobPhase phase;
  bool cannot_start;
  std::string expected_reason;
};

TEST(SlurmStateTest, StateMappingTable) {
  const std::vector<MappingRow> rows = {
      {"PENDING", "None", JobPhase::kPending, false, "waiting to be scheduled"},
      {"PENDING", "Resources", JobPhase::kPending, false, "Resources"},
      {"PENDING", "Priority", JobPhase::kPending, false, "Priority"},
      {"PENDING", "BeginTime", JobPhase::kPending, false, "BeginTime"},
      {"PENDING", "QOSGrpNodeLimit", JobPhase::kPending, false, "QOSGrpNodeLimit"},
      {"PENDING", "JobHeldUser", JobPhase::kPending, false, "JobHeldUser"},
      {"PENDING", "PartitionConfig", JobPhase::kPending, true,
       "PartitionConfig: the request does not fit the partition (more nodes, CPUs, memory or "
       "time than it has)"},
      {"PENDING", "PartitionNodeLimit", JobPhase::kPending, true,
       "PartitionNodeLimit: the request needs more nodes than the partition allows"},
      {"PENDING", "PartitionTimeLimit", JobPhase::kPending, true,
       "PartitionTimeLimit: the time limit is above the partition's maximum"},
      {"PENDING", "ReqNodeNotAvail, UnavailableNodes:n3", JobPhase::kPending, true,
       "ReqNodeNotAvail, UnavailableNodes:n3: a node the job requires is not available"},
      {"PENDING", "DependencyNeverSatisfied", JobPhase::kPending, true,
       "DependencyNeverSatisfied: the job depends on a job that can no longer satisfy it"},
      {"PENDING", "BadConstraints", JobPhase::kPending, true,
       "BadConstraints: the job's constraints cannot be satisfied"},
      {"PENDING", "InvalidAccount", JobPhase::kPending, true,
       "InvalidAccount: the account is not valid"},
      {"PENDING", "QOSMaxNodePerJobLimit", JobPhase::kPending, true,
       "QOSMaxNodePerJobLimit: the request exceeds a per-job limit of its QOS or account"},
      {"CONFIGURING", "None", JobPhase::kPending, false, "the job's nodes are being prepared"},
      {"REQUEUED", "None", JobPhase::kPending, false,
       "the job was requeued and waits to start again"},
      {"RUNNING", "None", JobPhase::kRunning, false, "running on n[1-4]"},
      {"COMPLETING", "None", JobPhase::kRunning, false,
       "the job is ending; Slurm is stopping its processes"},
      {"SUSPENDED", "None", JobPhase::kRunning, false, "the job is suspended"},
      {"COMPLETED", "None", JobPhase::kEnded, false, "the Slurm job completed: its workers exited"},
      {"CANCELLED", "None", JobPhase::kEnded, false, "the Slurm job was cancelled"},
      {"TIMEOUT", "TimeLimit", JobPhase::kEnded, false, "the Slurm job reached its time limit"},
      {"NODE_FAIL", "None", JobPhase::kEnded, false, "a node of the Slurm job failed"},
      {"PREEMPTED", "None", JobPhase::kEnded, false, "the Slurm job was preempted"},
      {"FAILED", "NonZeroExitCode", JobPhase::kEnded, false, "the Slurm job failed"},
      {"FAILED", "JobLaunchFailure", JobPhase::kEnded, false,
       "the Slurm job failed (JobLaunchFailure)"},
      {"OUT_OF_MEMORY", "None", JobPhase::kEnded, false, "the Slurm job ran out of memory"},
      {"BOOT_FAIL", "None", JobPhase::kEnded, false, "the nodes of the Slurm job failed to boot"},
      {"DEADLINE", "None", JobPhase::kEnded, false, "the Slurm job missed its deadline"},
      {"TELEPORTED", "None", JobPhase::kEnded, false, "unknown Slurm job state \"TELEPORTED\""},
      {"", "None", JobPhase::kEnded, false, "unknown Slurm job state \"\""},
  };
  for (const MappingRow& row : rows) {
    JobState state = Describe(row.state, row.reason, "", "n[1-4]");
    EXPECT_EQ(state.phase, row.phase) << row.state << " " << row.reason;
    EXPECT_EQ(state.cannot_start, row.cannot_start) << row.state << " " << row.reason;
    EXPECT_EQ(state.reason, row.expected_reason) << row.state << " " << row.reason;
    EXPECT_EQ(state.backend_state, row.state.empty() ? "UNKNOWN" : row.state);
  }
}

TEST(SlurmStateTest, EndedJobsSayHowTheyEnded) {
  EXPECT_EQ(Describe("FAILED", "NonZeroExitCode", "127:0").reason,
            "the Slurm job failed (exit code 127)");
  EXPECT_EQ(Describe("CANCELLED", "None", "0:15").reason,
            "the Slurm job was cancelled (killed by signal 15)");
  std::vector<SlurmJobRecord> db = ParseSacct(kSacctDatabase);
  EXPECT_EQ(DescribeSlurmJob(db[0], true).reason,
            "the Slurm job was cancelled (by 1000, killed by signal 15)");
}

TEST(SlurmStateTest, RecordedTimeoutFromBothSources) {
  // Job 11 ran with --time=1 and was stopped by Slurm 75 s later.
  std::vector<SlurmJobRecord> queued =
      ParseSqueue("11|TIMEOUT|n1|TimeLimit|/tmp/cs-slurm/jobs|codeswarm-s-aaaa0003\n");
  std::vector<SlurmJobRecord> logged =
      ParseSacct("11|TIMEOUT|0:0|/tmp/cs-slurm/jobs|codeswarm-s-aaaa0003\n");
  ASSERT_EQ(queued.size(), 1u);
  ASSERT_EQ(logged.size(), 1u);
  for (const JobState& state : {DescribeSlurmJob(queued[0]), DescribeSlurmJob(logged[0], true)}) {
    EXPECT_EQ(state.phase, JobPhase::kEnded);
    EXPECT_EQ(state.backend_state, "TIMEOUT");
    EXPECT_EQ(state.reason, "the Slurm job reached its time limit");
  }
}

TEST(SlurmStateTest, AJobThatLeftTheQueueIsNeverRunning) {
  // sacct can lag behind the controller: a job squeue no longer lists is over, whatever the
  // accounting record says.
  SlurmJobRecord record;
  record.job_id = "42";
  record.state = "RUNNING";
  JobState state = DescribeSlurmJob(record, /*from_accounting=*/true);
  EXPECT_EQ(state.phase, JobPhase::kEnded);
  EXPECT_EQ(state.backend_state, "UNKNOWN");
  EXPECT_EQ(state.reason,
            "Slurm no longer lists the job; its accounting record still says RUNNING");
}

TEST(SlurmStateTest, ImpossiblePendingReasons) {
  for (const char* reason : {"PartitionConfig", "PartitionNodeLimit", "ReqNodeNotAvail",
                             "ReqNodeNotAvail, Reserved for maintenance", "BadConstraints",
                             "AssocMaxWallDurationPerJobLimit", "QOSMaxCpuPerJobLimit"}) {
    EXPECT_TRUE(IsImpossiblePendingReason(reason)) << reason;
  }
  for (const char* reason :
       {"None", "Resources", "Priority", "Dependency", "QOSGrpCpuLimit", "AssocGrpNodeLimit",
        "QOSMaxJobsPerUserLimit", "PartitionDown", "JobHeldAdmin", ""}) {
    EXPECT_FALSE(IsImpossiblePendingReason(reason)) << reason;
  }
}

TEST(SlurmStateTest, JobIds) {
  EXPECT_TRUE(IsSlurmJobId("4242"));
  EXPECT_FALSE(IsSlurmJobId(""));
  EXPECT_FALSE(IsSlurmJobId("42_1"));
  EXPECT_FALSE(IsSlurmJobId("42;cluster"));
  EXPECT_FALSE(IsSlurmJobId("-1"));
  EXPECT_FALSE(IsSlurmJobId("local-s-1"));
}

}  // namespace
}  // namespace codeswarm::provider
