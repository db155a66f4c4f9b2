// Quoting for the two languages a Slurm submission passes through besides argv: the POSIX shell
// (ssh hands its remote command to the login shell of the remote user; the batch script is a
// bash script) and sbatch's own parser of `#SBATCH` lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace codeswarm::provider {

// `text` as one word of a POSIX shell command line, taken literally: '...' with every ' written
// as '\''. Nothing inside single quotes is special ($, `, \, ", newlines, globs), so the shell
// gives back exactly `text`. "" becomes ''.
std::string ShellQuote(std::string_view text);

// Every element of `argv` quoted and joined with spaces: a command line the shell splits back
// into exactly `argv`.
std::string ShellJoin(const std::vector<std::string>& argv);

// `value` as one argument of an `#SBATCH` line: bare when it is made only of characters sbatch
// and Slurm names use (letters, digits, . _ - + : / = , @ %), else in double quotes with \ and "
// escaped by a backslash (sbatch's rule). nullopt when `value` holds a line break, NUL or
// another control character: an #SBATCH line cannot carry one, and a line break would end the
// comment and start a shell command.
std::optional<std::string> SbatchQuote(std::string_view value);

}  // namespace codeswarm::provider
