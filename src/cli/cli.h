// Entry point of the codeswarm command line (all subcommands, including `router` and `worker`).
#pragma once

namespace codeswarm::cli {

// Parses argv, runs the subcommand, returns the process exit code.
int Main(int argc, char** argv);

}  // namespace codeswarm::cli
