#include "provider/slurm_text.h"

#include <filesystem>
#include <regex>

#include "common/text.h"

namespace codeswarm::provider {

std::string JoinStrings(const std::vector<std::string>& items, std::string_view separator) {
  std::string joined;
  for (const std::string& item : items) {
    if (!joined.empty()) joined += separator;
    joined += item;
  }
  return joined;
}

std::vector<std::string_view> NonEmptyLines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view line : SplitString(text, '\n')) {
    line = TrimWhitespace(line);
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string SlurmErrorText(const RunResult& result) {
  std::vector<std::string> parts;
  const std::string& text = result.stderr_text.empty() ? result.stdout_text : result.stderr_text;
  for (std::string_view line : NonEmptyLines(text)) {
    for (std::string_view prefix : {"sbatch: error: ", "squeue: error: ", "sacct: error: ",
                                    "scancel: error: ", "slurm_load_jobs error: "}) {
      if (StartsWith(line, prefix)) line.remove_prefix(prefix.size());
    }
    parts.emplace_back(line);
  }
  std::string joined = JoinStrings(parts, "; ");
  if (joined.empty()) joined = "no message";
  return Ellipsize(joined, 2000) + " (" + result.status.ToString() + ")";
}

std::string NormalPath(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

bool IsSwarmIdText(std::string_view id) {
  static const std::regex kId(R"([A-Za-z0-9._-]{1,128})");
  return id != "." && id != ".." && std::regex_match(id.begin(), id.end(), kId);
}

}  // namespace codeswarm::provider
