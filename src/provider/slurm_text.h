// What the Slurm provider's files share: reading the answers of Slurm commands, and the paths and
// names it compares.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/run_command.h"

namespace codeswarm::provider {

// squeue, sacct, scancel and tail through the runner: a busy controller answers within this.
inline constexpr std::chrono::seconds kSlurmQueryTimeout(30);

std::string JoinStrings(const std::vector<std::string>& items, std::string_view separator);

// The lines of `text` that hold more than white space, trimmed.
std::vector<std::string_view> NonEmptyLines(std::string_view text);

// A Slurm command's complaint, one line: "sbatch: error: X\nsbatch: error: Y" -> "X; Y (exit
// code 1)".
std::string SlurmErrorText(const RunResult& result);

// `path` lexically normalised, without a trailing slash.
std::string NormalPath(const std::string& path);

// A swarm id that can name a Slurm job and a directory: [A-Za-z0-9._-]{1,128}, not . or ..
bool IsSwarmIdText(std::string_view id);

}  // namespace codeswarm::provider
