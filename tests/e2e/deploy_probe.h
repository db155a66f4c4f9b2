// What the deploy tests look at on this machine (where the test cluster's nodes and login node
// live): the static binary under test, which processes run a file, and counting log lines.
#pragma once

#include <sys/types.h>

#include <cctype>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "e2e/slurm_e2e_fixture.h"

namespace codeswarm::e2e {

// build-static/codeswarm (scripts/build.sh --static), or $CODESWARM_STATIC_BINARY.
inline std::string StaticBinary() {
  std::string set = slurm_test::Env("CODESWARM_STATIC_BINARY");
  return set.empty() ? std::string(CODESWARM_SOURCE_DIR) + "/build-static/codeswarm" : set;
}

// Pids of the processes whose executable is `path`.
inline std::vector<pid_t> ProcessesRunning(const std::string& path) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0])) &&
        slurm_test::ExeOf(std::stoi(name)) == path) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

// How many times `needle` occurs in `text`.
inline int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace codeswarm::e2e
