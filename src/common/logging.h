// Logging goes through spdlog (linked through its CMake target, see docs/BUILD notes).
#pragma once

#include <string>

#include "common/status.h"

namespace codeswarm {

// Sets up the default logger: to stderr when `file` is empty, else appended to `file`.
// `level` is one of trace, debug, info, warn, error.
Status InitLogging(const std::string& level, const std::string& file, const std::string& name);

}  // namespace codeswarm
