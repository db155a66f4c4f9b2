// `codeswarm deploy`: installs this binary on the cluster of the config, as the router does
// before its first Slurm job. A local command, like `codeswarm router`: it reads the config and
// runs the provider's deploy code through main's wiring, so no router needs to be running and
// the protocol carries no backend detail.
#pragma once

#include <ostream>

#include "cli/cli.h"
#include "cli/session.h"

namespace codeswarm::cli {

// Prints what was done ("copied <N> bytes to <host>:<path>", "already there: <host>:<path>"),
// or with --json one line {"event":"deployed","data":{...}}. Returns kExitOk, kExitFailed
// (the deploy failed or was refused: the reason on stderr) or kExitUsage (bad config).
int RunDeployCommand(const GlobalOptions& options, const Wiring& wiring, std::ostream& out,
                     std::ostream& err);

// The human line for `report`.
std::string DescribeDeploy(const DeployReport& report);

// The --json line for `report`, without the newline.
std::string DeployJsonLine(const DeployReport& report);

}  // namespace codeswarm::cli
