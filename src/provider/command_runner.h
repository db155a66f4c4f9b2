// CommandRunner: where the Slurm provider's commands (sbatch, squeue, sacct, scancel) run —
// on this machine, or on a login node over ssh. A narrow seam, so that tests can record the
// commands instead of running them (tests/unit/slurm_fakes.h) and so that the provider never
// builds a command line itself.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/run_command.h"
#include "common/status.h"
#include "common/subprocess.h"

namespace codeswarm::provider {

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;

  // Runs `argv` (argv[0] is looked up in PATH where it runs) with `stdin_data` on its standard
  // input, and returns its exit status and output, whatever the exit status (a command that
  // exits 1 is a result, not an error). Fails when the command could not be run at all: it
  // cannot be started, the ssh connection fails, or it did not finish within `timeout` (its
  // processes are then killed); the message says which, in words a person can act on.
  // Thread-safe: the provider calls it from several threads at once.
  virtual Result<RunResult> Run(const std::vector<std::string>& argv, const std::string& stdin_data,
                                Duration timeout) = 0;

  // Where commands run, for messages: "on this machine", "on login node hpc-login (ssh)".
  virtual std::string Where() const = 0;
};

// Runs commands as child processes of this one, with the router's environment (SLURM_CONF
// included). No shell is involved.
class LocalCommandRunner final : public CommandRunner {
 public:
  Result<RunResult> Run(const std::vector<std::string>& argv, const std::string& stdin_data,
                        Duration timeout) override;
  std::string Where() const override { return "on this machine"; }
};

// The runner the configuration asks for: ssh to Config::SlurmLoginAlias() when it is set, else
// local.
Result<std::unique_ptr<CommandRunner>> MakeCommandRunner(const Config& config);

}  // namespace codeswarm::provider
