// The ssh command that runs the relay (`codeswarm relay`) on the Slurm login node: the same ssh
// options and shared ControlMaster connection as the Slurm commands (ssh_command_runner.h), plus
// keepalives, so that a network that silently went away ends the session (and the router starts
// a new relay) within about a minute.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace codeswarm::provider {

// The ssh argv that runs `remote_argv` (quoted word by word for the remote shell) on the login
// node of `config`. Fails when the config names no login alias.
Result<std::vector<std::string>> LoginNodeSshArgv(const Config& config,
                                                  const std::vector<std::string>& remote_argv);

}  // namespace codeswarm::provider
