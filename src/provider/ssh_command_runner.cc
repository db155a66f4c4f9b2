#include "provider/ssh_command_runner.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/text.h"
#include "provider/shell_quote.h"

namespace codeswarm::provider {

namespace {

// "/" + %C (40 hex digits) + "." + 16 random characters: what ssh binds while it sets up a
// master, before renaming the socket to its final name.
constexpr std::size_t kControlSocketNameBytes = 1 + 40 + 1 + 16;
// ssh's exit status for its own errors (connection refused, authentication failed, ...).
constexpr int kSshErrorExit = 255;
constexpr std::chrono::seconds kCloseMasterTimeout(5);

Status EnsurePrivateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError("cannot create " + dir + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return Status::IoError("cannot inspect " + dir + ": " + std::strerror(errno));
  }
  // Someone else's directory (or a symlink to one) could let them hijack the shared
  // connection: refuse it.
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    return Status::FailedPrecondition(
        dir +
        " must be a directory owned by this user with mode 0700 (it holds the ssh "
        "connection socket)");
  }
  return Status::Ok();
}

// The remote command's stderr, cut to something a status line can carry.
std::string ErrorText(const RunResult& result) {
  std::string text(TrimWhitespace(result.stderr_text));
  if (text.empty()) text = std::string(TrimWhitespace(result.stdout_text));
  return Ellipsize(text, 2000);
}

}  // namespace

SshRunnerOptions SshRunnerOptions::FromConfig(const Config& config) {
  SshRunnerOptions options;
  options.login_alias = config.SlurmLoginAlias();
  options.ssh_config = config.ssh.ssh_config;
  options.connect_timeout_seconds = config.ssh.connect_timeout_seconds;
  options.controlpersist_minutes = config.ssh.controlpersist_minutes;
  options.control_dir = config.router.state_dir + "/ssh";
  return options;
}

Result<std::string> PrepareControlDir(const std::string& preferred) {
  std::string dir = preferred;
  if (dir.empty() || dir.size() + kControlSocketNameBytes >= sizeof(sockaddr_un::sun_path)) {
    dir = "/tmp/codeswarm-ssh-" + std::to_string(::geteuid());
  }
  CODESWARM_RETURN_IF_ERROR(EnsurePrivateDir(dir));
  return dir;
}

Result<std::unique_ptr<SshCommandRunner>> SshCommandRunner::Create(SshRunnerOptions options) {
  if (options.login_alias.empty()) {
    return Status::InvalidArgument("an ssh command runner needs a login alias");
  }
  std::string control_path;
  if (options.controlpersist_minutes > 0) {
    Result<std::string> dir = PrepareControlDir(options.control_dir);
    if (!dir.ok()) return dir.status().WithPrefix("cannot share ssh connections");
    control_path = *dir + "/%C";
  }
  return std::unique_ptr<SshCommandRunner>(
      new SshCommandRunner(std::move(options), std::move(control_path)));
}

SshCommandRunner::SshCommandRunner(SshRunnerOptions options, std::string control_path)
    : options_(std::move(options)), control_path_(std::move(control_path)) {}

SshCommandRunner::~SshCommandRunner() {
  if (control_path_.empty()) return;
  std::vector<std::string> argv = BaseArgv();
  argv.insert(argv.end() - 2, {"-O", "exit"});
  RunOptions run;
  run.timeout = kCloseMasterTimeout;
  // No master running is the usual case after a quiet period; nothing to report either way.
  (void)RunCommand(argv, run);
}

std::string SshCommandRunner::Where() const {
  return "on login node " + options_.login_alias + " (ssh)";
}

std::vector<std::string> SshCommandRunner::BaseArgv() const {
  return SshBaseArgv(options_, control_path_);
}

std::vector<std::string> SshBaseArgv(const SshRunnerOptions& options,
                                     const std::string& control_path) {
  std::vector<std::string> argv = {"ssh"};
  if (!options.ssh_config.empty()) argv.insert(argv.end(), {"-F", options.ssh_config});
  const long connect_timeout = std::lround(std::ceil(options.connect_timeout_seconds));
  argv.insert(argv.end(),
              {"-T", "-o", "BatchMode=yes", "-o",
               "ConnectTimeout=" + std::to_string(connect_timeout), "-o", "LogLevel=ERROR"});
  if (control_path.empty()) {
    argv.insert(argv.end(), {"-o", "ControlMaster=no", "-o", "ControlPath=none"});
  } else {
    argv.insert(argv.end(),
                {"-o", "ControlMaster=auto", "-o",
                 "ControlPersist=" + std::to_string(options.controlpersist_minutes) + "m", "-o",
                 "ControlPath=" + control_path});
  }
  argv.insert(argv.end(), {"--", options.login_alias});
  return argv;
}

std::vector<std::string> SshCommandRunner::SshArgv(
    const std::vector<std::string>& remote_argv) const {
  std::vector<std::string> argv = BaseArgv();
  argv.push_back(ShellJoin(remote_argv));
  return argv;
}

Result<RunResult> SshCommandRunner::Run(const std::vector<std::string>& argv,
                                        const std::string& stdin_data, Duration timeout) {
  if (!control_path_.empty()) {
    // ssh gives up (exit 255) instead of connecting without sharing when the socket's directory
    // is gone, which a tmp cleaner or a person tidying the state directory may cause.
    const std::string dir = control_path_.substr(0, control_path_.rfind('/'));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      spdlog::warn("ssh: cannot recreate {}: {}", dir, std::strerror(errno));
    }
  }
  RunOptions options;
  options.stdin_data = stdin_data;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  Result<RunResult> result = RunCommand(SshArgv(argv), options);
  if (!result.ok()) return result.status().WithPrefix("cannot run ssh");
  if (result->timed_out) {
    return Status::Timeout("ssh " + options_.login_alias + " " + argv.front() +
                           " did not finish within " +
                           std::to_string(static_cast<long long>(ToSeconds(timeout))) + " s");
  }
  if (result->status.code == kSshErrorExit) {
    return Status::Unavailable("ssh " + options_.login_alias + " failed: " + ErrorText(*result) +
                               " (exit 255)");
  }
  return result;
}

}  // namespace codeswarm::provider
