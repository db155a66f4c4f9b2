#include "provider/command_runner.h"

#include "provider/ssh_command_runner.h"

namespace codeswarm::provider {

Result<RunResult> LocalCommandRunner::Run(const std::vector<std::string>& argv,
                                          const std::string& stdin_data, Duration timeout) {
  RunOptions options;
  options.stdin_data = stdin_data;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  Result<RunResult> result = RunCommand(argv, options);
  if (!result.ok()) return result.status().WithPrefix("cannot run " + argv.front());
  if (result->timed_out) {
    return Status::Timeout(argv.front() + " did not finish within " +
                           std::to_string(static_cast<long long>(ToSeconds(timeout))) + " s");
  }
  return result;
}

Result<std::unique_ptr<CommandRunner>> MakeCommandRunner(const Config& config) {
  const std::string alias = config.SlurmLoginAlias();
  if (alias.empty()) return std::unique_ptr<CommandRunner>(std::make_unique<LocalCommandRunner>());
  Result<std::unique_ptr<SshCommandRunner>> ssh =
      SshCommandRunner::Create(SshRunnerOptions::FromConfig(config));
  if (!ssh.ok()) return ssh.status();
  return std::unique_ptr<CommandRunner>(std::move(*ssh));
}

}  // namespace codeswarm::provider
