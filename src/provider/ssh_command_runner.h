// SshCommandRunner: runs the Slurm commands on a login node with the OpenSSH client.
//
//   ssh [-F <ssh_config>] -T -o BatchMode=yes -o ConnectTimeout=<s> -o LogLevel=ERROR
//       -o ControlMaster=auto -o ControlPersist=<m>m -o ControlPath=<dir>/%C -- <alias> <command>
//
// BatchMode: never a password prompt (the router has no terminal). ControlMaster: the first call
// opens one connection that later calls share (an ssh round trip then costs the remote shell's
// start-up, not a new login); the socket lives in a private directory (0700) under the router's
// state directory. <command> is the argv quoted word by word for the remote shell (ShellJoin),
// because ssh always hands its command to the remote user's shell; data (the batch script) goes
// on stdin, never into the command line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "provider/command_runner.h"

namespace codeswarm::provider {

struct SshRunnerOptions {
  std::string login_alias;
  std::string ssh_config;  // empty: ssh's own defaults (~/.ssh/config)
  double connect_timeout_seconds = 10;
  int controlpersist_minutes = 10;  // 0: no shared connection
  // Preferred directory of the ControlMaster socket (created 0700). When the socket path would
  // not fit a unix socket address, /tmp/codeswarm-ssh-<uid> is used instead.
  std::string control_dir;

  // ssh.* and Config::SlurmLoginAlias(); control_dir = <state_dir>/ssh.
  static SshRunnerOptions FromConfig(const Config& config);
};

// Thread-safe: every call runs its own ssh process (ssh itself arbitrates the shared
// connection).
class SshCommandRunner final : public CommandRunner {
 public:
  // Prepares the socket directory. Fails when it cannot be created or is not private.
  // REQUIRES: options.login_alias is not empty.
  static Result<std::unique_ptr<SshCommandRunner>> Create(SshRunnerOptions options);
  // Closes the shared connection (ssh -O exit), so that no ssh process outlives the router by
  // more than a moment.
  ~SshCommandRunner() override;

  Result<RunResult> Run(const std::vector<std::string>& argv, const std::string& stdin_data,
                        Duration timeout) override;
  std::string Where() const override;

  // The ssh argv that runs `remote_argv` (exposed for tests).
  std::vector<std::string> SshArgv(const std::vector<std::string>& remote_argv) const;

 private:
  SshCommandRunner(SshRunnerOptions options, std::string control_path);
  // ssh and its options, up to and including "--" and the alias.
  std::vector<std::string> BaseArgv() const;

  // Constant after construction.
  const SshRunnerOptions options_;
  const std::string control_path_;  // empty: no connection sharing
};

// ssh and its options for `options`, up to and including "--" and the alias; `control_path`
// empty: no connection sharing.
std::vector<std::string> SshBaseArgv(const SshRunnerOptions& options,
                                     const std::string& control_path);

// The directory for ControlMaster sockets: `preferred` when "<preferred>/<40 hex>.<16 chars>"
// (the temporary name ssh binds before renaming) fits a unix socket address, else
// /tmp/codeswarm-ssh-<uid>. Created mode 0700; fails when it exists but is not a directory owned
// by this user and closed to others.
Result<std::string> PrepareControlDir(const std::string& preferred);

}  // namespace codeswarm::provider
