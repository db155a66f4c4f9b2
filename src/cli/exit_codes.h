// Process exit codes of the client commands, documented in docs/CLI.md. Scripts branch on them,
// so they never change meaning.
#pragma once

namespace codeswarm::cli {

inline constexpr int kExitOk = 0;
// The router rejected the command, a turn failed or was interrupted, a node was not reached, a
// wait timed out, or the router closed the connection with a reason.
inline constexpr int kExitFailed = 1;
// Bad command line, bad option value or bad config file; nothing was sent to the router.
inline constexpr int kExitUsage = 2;
// The router could not be reached, or the connection to it was lost without a reason.
inline constexpr int kExitUnreachable = 3;
// Stopped by Ctrl-C (SIGINT), following the shell's 128 + signal convention.
inline constexpr int kExitInterrupted = 130;

}  // namespace codeswarm::cli
