#include "common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace codeswarm {

Status InitLogging(const std::string& level, const std::string& file, const std::string& name) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (file.empty()) {
      logger = spdlog::stderr_logger_mt(name + "-stderr");
    } else {
      logger = spdlog::basic_logger_mt(name + "-file", file);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IoError("cannot open log " + file + ": " + e.what());
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [" + name + " %P] %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace codeswarm
