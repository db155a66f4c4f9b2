// The batch script: its exact text for a given configuration, and — run by a real bash with a
// stand-in srun — that hostile values reach the worker intact and never a shell.
#include "provider/slurm_script.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/run_command.h"
#include "common/subprocess.h"
#include "support/temp_dir.h"

namespace codeswarm::provider {
namespace {

namespace fs = std::filesystem;

LaunchSpec Spec(int nodes = 4) {
  LaunchSpec spec;
  spec.swarm_id = "s-1a2b3c4d";
  spec.node_count = nodes;
  spec.router_address = "login1.cluster:8766";
  spec.secret = "c0ffee";
  spec.swarm_dir = "/scratch/ws/swarms/s-1a2b3c4d";
  spec.worker_orphan_seconds = 900;
  spec.worker_log_level = "info";
  return spec;
}

SlurmBackendConfig FullConfig() {
  SlurmBackendConfig slurm;
  slurm.partition = "gpu";
  slurm.time_limit = "02:00:00";
  slurm.account = "proj42";
  slurm.qos = "normal";
  slurm.agents_per_node = 2;
  slurm.extra_directives = {"--gres=gpu:1", "#SBATCH --exclusive"};
  slurm.setup = {"module load cuda/12", "export OMP_NUM_THREADS=1"};
  slurm.drain_seconds = 300;
  return slurm;
}

constexpr char kExpectedFullScript[] = R"(#!/bin/bash
# Codeswarm swarm s-1a2b3c4d: 5 workers as Slurm tasks on 3 nodes.
# Written by the codeswarm router. Prompts never appear here: the workers receive them
# from the router over the network.
#SBATCH --job-name=codeswarm-s-1a2b3c4d
#SBATCH --nodes=3
#SBATCH --ntasks=5
#SBATCH --ntasks-per-node=2
#SBATCH --time=02:00:00
#SBATCH --partition=gpu
#SBATCH --account=proj42
#SBATCH --qos=normal
#SBATCH --chdir=/scratch/ws/swarms/s-1a2b3c4d
#SBATCH --output=/scratch/ws/swarms/s-1a2b3c4d/slurm-%j.out
#SBATCH --error=/scratch/ws/swarms/s-1a2b3c4d/slurm-%j.err
#SBATCH --signal=B:USR1@300
#SBATCH --gres=gpu:1
#SBATCH --exclusive

# cluster.slurm.setup
module load cuda/12
export OMP_NUM_THREADS=1

cd '/scratch/ws/swarms/s-1a2b3c4d' || exit 1
export CODESWARM_SWARM_ID='s-1a2b3c4d'
export CODESWARM_ROUTER_ADDR='login1.cluster:8766'
export CODESWARM_SECRET='c0ffee'
export CODESWARM_ORPHAN_SECONDS='900'
export CODESWARM_LOG_LEVEL='info'
# Each task takes its node id from SLURM_PROCID.
unset CODESWARM_NODE_ID
worker='/opt/codeswarm/bin/codeswarm'
if ! command -v "$worker" >/dev/null 2>&1; then
  echo "codeswarm: cannot run the worker command $worker on $(hostname): not found or not executable" >&2
  exit 127
fi

# The walltime warning (SIGUSR1, --signal above) goes to srun, which forwards it to every
# worker: they stop taking turns, end the running ones and say so to the router.
srun_pid=
trap '[ -n "$srun_pid" ] && kill -USR1 "$srun_pid" 2>/dev/null' USR1
# One worker per task, in node-<task>/ with its log there.
srun --export=ALL --kill-on-bad-exit=0 --output='node-%t/worker.log' \
  /bin/sh -c 'cd "node-$SLURM_PROCID" && exec "$@"' sh "$worker" worker &
srun_pid=$!
# A trapped signal ends `wait` early: wait again until srun itself has exited.
while :; do
  wait "$srun_pid"
  status=$?
  kill -0 "$srun_pid" 2>/dev/null || break
done
exit "$status"
)";

TEST(SlurmScriptTest, FullConfigurationGivesThisExactScript) {
  auto script = BuildSbatchScript(FullConfig(), Spec(5), "/opt/codeswarm/bin/codeswarm");
  ASSERT_TRUE(script.ok()) << script.status().message();
  EXPECT_EQ(*script, kExpectedFullScript);
}

TEST(SlurmScriptTest, DefaultsLeaveOutWhatTheClusterDecides) {
  SlurmBackendConfig slurm;  // no partition, time, account, QOS, setup
  slurm.drain_seconds = 0;   // no warning signal
  auto script = BuildSbatchScript(slurm, Spec(1), "codeswarm");
  ASSERT_TRUE(script.ok());
  for (const char* absent : {"--time", "--partition", "--account", "--qos", "--signal", "trap '",
                             "cluster.slurm.setup"}) {
    EXPECT_EQ(script->find(absent), std::string::npos) << absent;
  }
  EXPECT_NE(script->find("#SBATCH --nodes=1\n#SBATCH --ntasks=1\n#SBATCH --ntasks-per-node=1\n"),
            std::string::npos);
  EXPECT_NE(script->find("1 worker as Slurm tasks on 1 node."), std::string::npos);
}

TEST(SlurmScriptTest, AgentsPerNodeSpreadsTasksOverFewerNodes) {
  SlurmBackendConfig slurm;
  slurm.agents_per_node = 4;
  auto script = BuildSbatchScript(slurm, Spec(10), "codeswarm");
  ASSERT_TRUE(script.ok());
  EXPECT_NE(script->find("--nodes=3\n#SBATCH --ntasks=10\n#SBATCH --ntasks-per-node=4\n"),
            std::string::npos);
  // More agents per node than the swarm has nodes: one node, as many tasks as nodes.
  script = BuildSbatchScript(slurm, Spec(2), "codeswarm");
  ASSERT_TRUE(script.ok());
  EXPECT_NE(script->find("--nodes=1\n#SBATCH --ntasks=2\n#SBATCH --ntasks-per-node=2\n"),
            std::string::npos);
}

TEST(SlurmScriptTest, HostileValuesAreQuotedForSbatchAndForTheShell) {
  SlurmBackendConfig slurm;
  slurm.partition = "debug\" --wrap=\"touch /tmp/pwned";
  slurm.account = "$(touch /tmp/pwned) #";
  LaunchSpec spec = Spec(2);
  spec.swarm_dir = "/scratch/it's $(here)/`x`";
  spec.router_address = "host';touch /tmp/pwned;'";
  auto script = BuildSbatchScript(slurm, spec, "/opt/a b/'codeswarm'$(id)");
  ASSERT_TRUE(script.ok()) << script.status().message();
  EXPECT_NE(script->find("#SBATCH --partition=\"debug\\\" --wrap=\\\"touch /tmp/pwned\"\n"),
            std::string::npos)
      << *script;
  EXPECT_NE(script->find("#SBATCH --account=\"$(touch /tmp/pwned) #\"\n"), std::string::npos);
  EXPECT_NE(script->find("#SBATCH --chdir=\"/scratch/it's $(here)/`x`\"\n"), std::string::npos);
  EXPECT_NE(script->find("cd '/scratch/it'\\''s $(here)/`x`' || exit 1\n"), std::string::npos);
  EXPECT_NE(script->find("export CODESWARM_ROUTER_ADDR='host'\\'';touch /tmp/pwned;'\\'''\n"),
            std::string::npos);
  EXPECT_NE(script->find("worker='/opt/a b/'\\''codeswarm'\\''$(id)'\n"), std::string::npos);
}

TEST(SlurmScriptTest, ValuesThatCannotBeWrittenSafelyAreRefused) {
  SlurmBackendConfig slurm;
  slurm.partition = "debug\ntouch /tmp/pwned";
  auto script = BuildSbatchScript(slurm, Spec(), "codeswarm");
  ASSERT_FALSE(script.ok());
  EXPECT_EQ(script.status().message(),
            "cluster.slurm.partition cannot go into an #SBATCH line: it holds a line break or "
            "another control character");

  slurm = {};
  slurm.extra_directives = {"--comment=x\necho pwned"};
  EXPECT_FALSE(BuildSbatchScript(slurm, Spec(), "codeswarm").ok());
  slurm = {};
  slurm.setup = {"module load a\nmodule load b"};
  EXPECT_FALSE(BuildSbatchScript(slurm, Spec(), "codeswarm").ok());

  LaunchSpec spec = Spec();
  spec.swarm_dir = "/scratch/100%/s-1";
  script = BuildSbatchScript({}, spec, "codeswarm");
  ASSERT_FALSE(script.ok());
  EXPECT_NE(script.status().message().find("holds a '%'"), std::string::npos);
}

// --- The script run by a real bash, with a stand-in for srun.

class SlurmScriptRunTest : public ::testing::Test {
 protected:
  SlurmScriptRunTest() { fs::create_directories(root_ / "bin"); }

  void WriteExecutable(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0755);
  }

  static std::string Read(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Runs `script` with bash as the batch shell would, srun replaced by a script that runs its
  // command once per task (SLURM_PROCID 0..tasks-1) the way slurmstepd would: no shell between.
  RunResult RunScript(const std::string& script, int tasks) {
    WriteExecutable(root_ / "bin/srun", R"(#!/bin/bash
while [ "${1#--}" != "$1" ]; do shift; done   # srun's own options
for ((k = 0; k < )" + std::to_string(tasks) +
                                            R"(; k++)); do SLURM_PROCID=$k "$@" || exit; done
)");
    WriteExecutable(root_ / "job.sh", script);
    RunOptions options;
    options.env_overrides = {{"PATH", (root_ / "bin").string() + ":/usr/bin:/bin"}};
    options.cwd = root_.string();
    auto r = RunCommand({"/bin/bash", (root_ / "job.sh").string()}, options);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : RunResult{};
  }

  test_support::TempDir tmp_{"cs-script"};
  const fs::path root_ = tmp_.path();
};

TEST_F(SlurmScriptRunTest, HostileValuesReachTheWorkerIntactAndNoShellRunsThem) {
  // A swarm directory and a worker path full of shell syntax. If any of it were evaluated, a
  // file named "pwned" would appear.
  const std::string evil = "it's $(touch pwned) `touch pwned` \"q\" ; touch pwned";
  const fs::path swarm_dir = root_ / ("ws " + evil) / "s-1";
  const fs::path worker = root_ / ("bin " + evil) / "codeswarm";
  for (int k = 0; k < 2; ++k) fs::create_directories(swarm_dir / ("node-" + std::to_string(k)));
  // The stand-in worker records its argv, working directory and environment.
  WriteExecutable(worker, R"(#!/bin/bash
{ printf 'argv=%s\n' "$*"; printf 'cwd=%s\n' "$PWD"; printf 'proc=%s\n' "$SLURM_PROCID"
  printf 'addr=%s\n' "$CODESWARM_ROUTER_ADDR"; printf 'node_id=%s\n' "${CODESWARM_NODE_ID-unset}"
} > record.txt
)");
  LaunchSpec spec = Spec(2);
  spec.swarm_dir = swarm_dir.string();
  spec.router_address = "host:1;" + evil;
  SlurmBackendConfig slurm;
  slurm.drain_seconds = 60;
  auto script = BuildSbatchScript(slurm, spec, worker.string());
  ASSERT_TRUE(script.ok()) << script.status().message();

  RunResult run = RunScript(*script, 2);
  EXPECT_TRUE(run.status.success()) << run.stdout_text << run.stderr_text;
  for (int k = 0; k < 2; ++k) {
    const fs::path node_dir = swarm_dir / ("node-" + std::to_string(k));
    EXPECT_EQ(Read(node_dir / "record.txt"), "argv=worker\ncwd=" + node_dir.string() +
                                                 "\nproc=" + std::to_string(k) + "\naddr=host:1;" +
                                                 evil + "\nnode_id=unset\n");
  }
  std::vector<std::string> pwned;
  for (const auto& entry : fs::recursive_directory_iterator(root_)) {
    if (entry.path().filename() == "pwned") pwned.push_back(entry.path().string());
  }
  EXPECT_TRUE(pwned.empty()) << "a shell ran a config value: " << pwned.front();
}

TEST_F(SlurmScriptRunTest, AMissingWorkerCommandFailsTheJobWithAReason) {
  const fs::path swarm_dir = root_ / "ws/s-1";
  fs::create_directories(swarm_dir / "node-0");
  LaunchSpec spec = Spec(1);
  spec.swarm_dir = swarm_dir.string();
  auto script = BuildSbatchScript({}, spec, "/nonexistent/codeswarm");
  ASSERT_TRUE(script.ok());
  RunResult run = RunScript(*script, 1);
  EXPECT_EQ(run.status.code, 127);
  EXPECT_NE(run.stderr_text.find("codeswarm: cannot run the worker command "
                                 "/nonexistent/codeswarm on "),
            std::string::npos)
      << run.stderr_text;
}

}  // namespace
}  // namespace codeswarm::provider
