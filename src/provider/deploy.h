// Deploy: the router installs its own binary on the cluster, so that a user with an ssh alias and
// a Slurm account needs nothing installed there. See docs/SLURM.md, "Deploy".
//
// The binary goes to <workspace_root>/<cluster_subdir>/bin/codeswarm-<version>-<sha12> (as the
// cluster sees it), through the same CommandRunner as the Slurm commands (ssh to the login
// alias, sharing its ControlMaster connection, or this machine). Every remote step is a fixed
// /bin/sh text with the values as positional parameters, so no path is ever parsed as shell:
//   check:   the file exists, is executable and its sha256 (sha256sum, on the remote side) is ours
//   install: the bytes on stdin into a temporary file in the same directory, sha256 checked
//            there, chmod 0755, mv into place (atomic: a running job keeps the file it started)
// Only a binary without an ELF interpreter (a static build) is deployed: a dynamically linked
// one would fail on the nodes for want of the libraries (or glibc) it was built against.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "provider/command_runner.h"

namespace codeswarm::provider {

// The binary to install, as read once on this machine.
struct DeployableBinary {
  std::string local_path;
  std::string version;
  std::string sha256;  // 64 lowercase hex digits
  std::uint64_t size = 0;

  // codeswarm-<version>-<first 12 hex digits of sha256>
  std::string FileName() const;
};

// Reads `path` whole: its size and sha256, and whether it can run on another machine's userland.
// Fails with FailedPrecondition for a dynamically linked executable (it names an ELF interpreter,
// PT_INTERP), saying where to get the static build; InvalidArgument when it is not a 64-bit ELF
// executable; IoError when it cannot be read.
Result<DeployableBinary> InspectBinary(const std::string& path, std::string version);

// Where deployed binaries go: <SwarmsRoot()>/bin.
std::string DeployDirectory(const Config& config);

// Whether a launch runs the deployed binary: the Slurm backend, its commands through a login
// alias (the router is off the cluster, so its own path means nothing there), and no
// cluster.slurm.worker_command naming one.
bool WorkersRunDeployedBinary(const Config& config);

struct DeployOutcome {
  enum class Action {
    kAlreadyThere,  // the right file was there: nothing copied
    kCopied,        // there was none
    kReplaced,      // there was one with other contents (partial, corrupt, overwritten)
  };
  Action action = Action::kAlreadyThere;
  std::string host;  // the login alias, or "localhost"
  std::string path;  // the installed file, as the cluster sees it
  std::uint64_t bytes_copied = 0;
  DeployableBinary binary;
};

// "already_there", "copied", "replaced".
std::string_view DeployActionName(DeployOutcome::Action action);

// A /bin/sh text that checks the deployed file "$1" against the sha256 "$2": exits
// kDeployMissingExit (nothing there) or kDeployDifferentExit (another file, or not executable),
// each with a line on stderr, and otherwise goes on. A launch's submission command starts with
// it, so the check costs no round trip of its own.
std::string_view DeployCheckScript();
inline constexpr int kDeployMissingExit = 97;
inline constexpr int kDeployDifferentExit = 98;

// Installs one local binary in one remote directory. Thread-safe: the inspection is done once
// under a lock; concurrent installs each write a temporary file of their own and the last rename
// wins, with identical contents.
class BinaryDeployer {
 public:
  // `runner` is borrowed and must outlive the deployer. `host` names where it runs, for
  // messages. `local_path` is the binary to install: by default the running one
  // (/proc/self/exe, which stays this process's binary even when its file has been replaced).
  // REQUIRES: remote_dir is absolute.
  BinaryDeployer(CommandRunner& runner, std::string host, std::string remote_dir,
                 std::string local_path = "/proc/self/exe");

  // The local binary, inspected on first use and remembered, failure included (a dynamically
  // linked binary stays one).
  Result<DeployableBinary> Binary();

  // <remote_dir>/<FileName()>: what the workers (or anything else of Codeswarm on the cluster)
  // run. Fails as Binary() does; no remote command.
  Result<std::string> RemotePath();

  // Makes sure RemotePath() holds this binary: one remote check, and Install() when the file
  // is missing or different.
  Result<DeployOutcome> Deploy();

  // Copies the binary whatever is there (`action` labels the outcome: kCopied or kReplaced).
  // Fails, leaving no partial file, when the copy does not arrive intact.
  Result<DeployOutcome> Install(DeployOutcome::Action action);

  const std::string& host() const { return host_; }

 private:
  DeployOutcome Outcome(DeployOutcome::Action action, const DeployableBinary& binary) const;

  // Constant after construction.
  CommandRunner& runner_;
  const std::string host_;
  const std::string remote_dir_;
  const std::string local_path_;

  std::mutex mu_;
  std::optional<Result<DeployableBinary>> binary_;  // guarded by mu_
};

// `codeswarm deploy`: installs the running binary on the cluster of `config` (which must use the
// Slurm backend), through the runner the configuration asks for.
Result<DeployOutcome> DeployToCluster(const Config& config);

}  // namespace codeswarm::provider
