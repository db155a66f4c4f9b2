#include "provider/deploy.h"

#include <elf.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/subprocess.h"
#include "common/text.h"

namespace codeswarm::provider {

namespace {

constexpr std::chrono::seconds kCheckTimeout(60);
// 13.6 MB through a slow uplink (1 Mbit/s takes ~110 s) and a sha256sum on a busy login node.
constexpr std::chrono::seconds kInstallTimeout(300);
constexpr std::size_t kShortHashDigits = 12;

// $1 = the deployed file, $2 = its sha256. Exits 97 (kDeployMissingExit) or 98
// (kDeployDifferentExit). sha256sum reads stdin so that no file name, however odd, changes the
// shape of its output.
constexpr char kCheckScript[] =
    "[ -e \"$1\" ] || { echo \"codeswarm: $1 is not there\" >&2; exit 97; }\n"
    "s=$(sha256sum < \"$1\" 2>/dev/null); s=${s%% *}\n"
    "[ \"$s\" = \"$2\" ] && [ -x \"$1\" ] || {\n"
    "  echo \"codeswarm: $1 is not this router's binary (sha256 ${s:-unreadable}, expected $2)\" "
    ">&2; exit 98; }\n";

// $1 = directory, $2 = file name, $3 = sha256; the bytes on stdin. A temporary file of its own
// (per shell pid) in the same directory, so that the rename is atomic and concurrent installs do
// not mix; removed whatever happens (EXIT also runs after a trapped signal's exit).
constexpr char kInstallScript[] =
    "umask 077 && mkdir -p -- \"$1\" && cd -- \"$1\" || exit 1\n"
    "t=\".$2.part.$$\"\n"
    "trap 'rm -f -- \"$t\"' EXIT\n"
    "trap 'exit 129' HUP INT TERM PIPE\n"
    "cat > \"$t\" || exit 1\n"
    "s=$(sha256sum < \"$t\"); s=${s%% *}\n"
    "[ \"$s\" = \"$3\" ] || {\n"
    "  echo \"codeswarm: the copy arrived damaged (sha256 ${s:-unreadable}, expected $3)\" >&2\n"
    "  exit 99; }\n"
    "chmod 0755 \"$t\" && mv -f -- \"$t\" \"$2\"\n";

std::string HexOf(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    hex += kDigits[bytes[i] >> 4];
    hex += kDigits[bytes[i] & 0xf];
  }
  return hex;
}

Result<std::string> Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return Status::Internal("OpenSSL could not compute a sha256");
  }
  return HexOf(digest, size);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  return data;
}

// The program interpreter a 64-bit ELF executable names (PT_INTERP), "" when it names none.
Result<std::string> ElfInterpreter(std::string_view image, const std::string& name) {
  Elf64_Ehdr header;
  if (image.size() < sizeof header || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0 ||
      static_cast<unsigned char>(image[EI_CLASS]) != ELFCLASS64) {
    return Status::InvalidArgument(name + " is not a 64-bit ELF executable");
  }
  std::memcpy(&header, image.data(), sizeof header);
  for (std::size_t i = 0; i < header.e_phnum; ++i) {
    const std::uint64_t offset = header.e_phoff + i * std::uint64_t{header.e_phentsize};
    Elf64_Phdr program;
    if (header.e_phentsize < sizeof program || offset + sizeof program > image.size()) {
      return Status::InvalidArgument(name + " has a damaged ELF program header table");
    }
    std::memcpy(&program, image.data() + offset, sizeof program);
    if (program.p_type != PT_INTERP) continue;
    if (program.p_offset >= image.size()) return std::string("(unreadable)");
    std::string_view rest = image.substr(program.p_offset, program.p_filesz);
    return std::string(rest.substr(0, rest.find('\0')));
  }
  return std::string();
}

// "this codeswarm (<path>)" for the running binary, the path otherwise.
std::string DisplayName(const std::string& path) {
  if (path == "/proc/self/exe") return "this codeswarm (" + SelfExecutablePath() + ")";
  return path;
}

}  // namespace

std::string DeployableBinary::FileName() const {
  return "codeswarm-" + version + "-" + sha256.substr(0, kShortHashDigits);
}

Result<DeployableBinary> InspectBinary(const std::string& path, std::string version) {
  const std::string name = DisplayName(path);
  Result<std::string> image = ReadWholeFile(path);
  if (!image.ok()) return image.status();
  Result<std::string> interpreter = ElfInterpreter(*image, name);
  if (!interpreter.ok()) return interpreter.status();
  if (!interpreter->empty()) {
    return Status::FailedPrecondition(
        name + " is dynamically linked (it needs " + *interpreter +
        " and the shared libraries of the machine it was built on), so it would not run on the "
        "cluster's nodes. Run the router from the static build instead: `scripts/build.sh "
        "--static` writes build-static/codeswarm (docs/BUILD.md). Or set "
        "cluster.slurm.worker_command to a codeswarm the nodes can run");
  }
  Result<std::string> sha256 = Sha256Hex(*image);
  if (!sha256.ok()) return sha256.status();
  return DeployableBinary{path, std::move(version), std::move(*sha256), image->size()};
}

std::string DeployDirectory(const Config& config) {
  std::string root = std::filesystem::path(config.SwarmsRoot()).lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/bin";
}

bool WorkersRunDeployedBinary(const Config& config) {
  return config.cluster.backend == "slurm" && !config.SlurmLoginAlias().empty() &&
         config.cluster.slurm.worker_command.empty();
}

std::string_view DeployActionName(DeployOutcome::Action action) {
  switch (action) {
    case DeployOutcome::Action::kAlreadyThere:
      return "already_there";
    case DeployOutcome::Action::kCopied:
      return "copied";
    case DeployOutcome::Action::kReplaced:
      return "replaced";
  }
  return "unknown";
}

std::string_view DeployCheckScript() { return kCheckScript; }

BinaryDeployer::BinaryDeployer(CommandRunner& runner, std::string host, std::string remote_dir,
                               std::string local_path)
    : runner_(runner),
      host_(std::move(host)),
      remote_dir_(std::move(remote_dir)),
      local_path_(std::move(local_path)) {}

Result<DeployableBinary> BinaryDeployer::Binary() {
  std::lock_guard lock(mu_);
  if (!binary_) binary_ = InspectBinary(local_path_, CODESWARM_VERSION);
  return *binary_;
}

Result<std::string> BinaryDeployer::RemotePath() {
  Result<DeployableBinary> binary = Binary();
  if (!binary.ok()) return binary.status();
  return remote_dir_ + "/" + binary->FileName();
}

DeployOutcome BinaryDeployer::Outcome(DeployOutcome::Action action,
                                      const DeployableBinary& binary) const {
  DeployOutcome outcome;
  outcome.action = action;
  outcome.host = host_;
  outcome.path = remote_dir_ + "/" + binary.FileName();
  outcome.bytes_copied = action == DeployOutcome::Action::kAlreadyThere ? 0 : binary.size;
  outcome.binary = binary;
  return outcome;
}

Result<DeployOutcome> BinaryDeployer::Deploy() {
  Result<DeployableBinary> binary = Binary();
  if (!binary.ok()) return binary.status();
  const std::string path = remote_dir_ + "/" + binary->FileName();
  Result<RunResult> checked =
      runner_.Run({"/bin/sh", "-c", kCheckScript, "codeswarm-deploy-check", path, binary->sha256},
                  "", kCheckTimeout);
  if (!checked.ok()) return checked.status().WithPrefix("cannot check " + host_ + ":" + path);
  switch (checked->status.code) {
    case 0:
      return Outcome(DeployOutcome::Action::kAlreadyThere, *binary);
    case kDeployMissingExit:
      return Install(DeployOutcome::Action::kCopied);
    case kDeployDifferentExit:
      spdlog::warn("deploy: {} is not this binary (partial, damaged or overwritten): replacing it",
                   path);
      return Install(DeployOutcome::Action::kReplaced);
    default:
      return Status::Unavailable(
          "cannot check " + host_ + ":" + path + " " + runner_.Where() + ": " +
          Ellipsize(std::string(TrimWhitespace(checked->stderr_text)), 1000) + " (" +
          checked->status.ToString() + ")");
  }
}

Result<DeployOutcome> BinaryDeployer::Install(DeployOutcome::Action action) {
  Result<DeployableBinary> binary = Binary();
  if (!binary.ok()) return binary.status();
  const std::string path = remote_dir_ + "/" + binary->FileName();
  const std::string what = "cannot copy codeswarm to " + host_ + ":" + path;
  Result<std::string> image = ReadWholeFile(local_path_);
  if (!image.ok()) return image.status().WithPrefix(what);
  Result<RunResult> installed =
      runner_.Run({"/bin/sh", "-c", kInstallScript, "codeswarm-deploy-install", remote_dir_,
                   binary->FileName(), binary->sha256},
                  *image, kInstallTimeout);
  if (!installed.ok()) return installed.status().WithPrefix(what);
  if (!installed->status.success()) {
    return Status::Unavailable(
        what + " " + runner_.Where() + ": " +
        Ellipsize(std::string(TrimWhitespace(installed->stderr_text)), 1000) + " (" +
        installed->status.ToString() + ")");
  }
  DeployOutcome outcome = Outcome(action, *binary);
  spdlog::info("deploy: copied {} bytes to {}:{}{}", outcome.bytes_copied, host_, path,
               action == DeployOutcome::Action::kReplaced ? " (replacing another file)" : "");
  return outcome;
}

Result<DeployOutcome> DeployToCluster(const Config& config) {
  if (config.cluster.backend != "slurm") {
    return Status::FailedPrecondition(
        "nothing to deploy: codeswarm is deployed to a Slurm cluster, and cluster.backend is \"" +
        config.cluster.backend + "\" (" + config.source + ")");
  }
  Result<std::unique_ptr<CommandRunner>> runner = MakeCommandRunner(config);
  if (!runner.ok()) return runner.status();
  const std::string alias = config.SlurmLoginAlias();
  BinaryDeployer deployer(**runner, alias.empty() ? "localhost" : alias, DeployDirectory(config));
  return deployer.Deploy();
}

}  // namespace codeswarm::provider
