#include "provider/relay_ssh.h"

#include "provider/shell_quote.h"
#include "provider/ssh_command_runner.h"

namespace codeswarm::provider {

Result<std::vector<std::string>> LoginNodeSshArgv(const Config& config,
                                                  const std::vector<std::string>& remote_argv) {
  SshRunnerOptions options = SshRunnerOptions::FromConfig(config);
  if (options.login_alias.empty()) {
    return Status::InvalidArgument(
        "cluster.slurm.connect \"relay\" needs the login node's ssh alias (ssh.login_alias or "
        "cluster.slurm.login_alias)");
  }
  std::string control_path;
  if (options.controlpersist_minutes > 0) {
    Result<std::string> dir = PrepareControlDir(options.control_dir);
    if (!dir.ok()) return dir.status().WithPrefix("cannot share ssh connections");
    control_path = *dir + "/%C";
  }
  std::vector<std::string> argv = SshBaseArgv(options, control_path);
  // Before "--" and the alias.
  argv.insert(argv.end() - 2,
              {"-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"});
  argv.push_back(ShellJoin(remote_argv));
  return argv;
}

}  // namespace codeswarm::provider
