// Running a command to completion, the way the providers call sbatch, squeue and ssh: input in,
// both outputs collected, a timeout that takes the command's whole process group down.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/subprocess.h"

namespace codeswarm {

struct RunOptions {
  std::string stdin_data;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::vector<std::pair<std::string, std::string>> env_overrides;
  std::string cwd;
  // Output beyond this many bytes per stream is discarded (and `truncated` set).
  std::size_t max_output_bytes = 16 << 20;
  // Where the timeout is read (borrowed; must advance on its own).
  const Clock* clock = &SystemClock::Get();
};

struct RunResult {
  ExitStatus status;
  std::string stdout_text;
  std::string stderr_text;
  bool timed_out = false;
  bool truncated = false;
};

// Runs a command to completion: feeds stdin_data, collects stdout and stderr, and on timeout
// kills the command's process group (TERM, then KILL after 2 s) and reports timed_out. Fails
// only when the command cannot be started (e.g. not found).
Result<RunResult> RunCommand(const std::vector<std::string>& argv, const RunOptions& options);

}  // namespace codeswarm
