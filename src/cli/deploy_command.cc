#include "cli/deploy_command.h"

#include <boost/json.hpp>

#include "cli/exit_codes.h"

namespace codeswarm::cli {

std::string DescribeDeploy(const DeployReport& report) {
  const std::string where = report.host + ":" + report.path;
  if (report.action == "already_there") return "already there: " + where;
  std::string line = "copied " + std::to_string(report.bytes_copied) + " bytes to " + where;
  if (report.action == "replaced") line += " (replacing a different or damaged copy)";
  return line;
}

std::string DeployJsonLine(const DeployReport& report) {
  boost::json::object data{{"action", report.action},   {"host", report.host},
                           {"path", report.path},       {"bytes_copied", report.bytes_copied},
                           {"version", report.version}, {"sha256", report.sha256}};
  return boost::json::serialize(boost::json::object{{"event", "deployed"}, {"data", data}});
}

int RunDeployCommand(const GlobalOptions& options, const Wiring& wiring, std::ostream& out,
                     std::ostream& err) {
  Result<Config> config = LoadCliConfig(options);
  if (!config.ok()) {
    err << "error: " << config.status().message() << std::endl;
    return kExitUsage;
  }
  Result<DeployReport> report = wiring.deploy(*config);
  if (!report.ok()) {
    err << "error: " << report.status().message() << std::endl;
    return kExitFailed;
  }
  if (options.json) {
    out << DeployJsonLine(*report) << std::endl;
  } else {
    out << DescribeDeploy(*report) << std::endl;
  }
  if (config->cluster.backend == "slurm" && !config->cluster.slurm.worker_command.empty()) {
    err << "note: cluster.slurm.worker_command is set, so the workers run "
        << config->cluster.slurm.worker_command << ", not this copy" << std::endl;
  } else if (config->SlurmLoginAlias().empty()) {
    err << "note: no login alias is configured (the router runs on the cluster), so the "
           "workers run the router's own binary, not this copy"
        << std::endl;
  }
  return kExitOk;
}

}  // namespace codeswarm::cli
