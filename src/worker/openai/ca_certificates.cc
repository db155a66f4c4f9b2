#include "worker/openai/ca_certificates.h"

#include <cstdlib>
#include <filesystem>

namespace codeswarm::worker::openai {

const std::vector<std::string> kCaBundleFiles = {
    "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Gentoo, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",                   // RHEL, Rocky, CentOS, Fedora
    "/etc/ssl/ca-bundle.pem",                             // SLES, openSUSE
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+, behind the one above
    "/etc/ssl/cert.pem",                                  // Alpine, macOS-like layouts
};
const char* const kCaDirectory = "/etc/ssl/certs";

std::string CaCertificates::Describe() const {
  if (!file.empty() && !dir.empty()) return file + " and " + dir;
  return !file.empty() ? file : dir;
}

Result<CaCertificates> FindCaCertificates(const std::function<const char*(const char*)>& getenv_fn,
                                          const std::function<bool(const std::string&)>& is_file,
                                          const std::function<bool(const std::string&)>& is_dir) {
  auto get = [&](const char* name) -> std::string {
    const char* value = getenv_fn ? getenv_fn(name) : std::getenv(name);
    return value != nullptr ? value : "";
  };
  auto file_exists = [&](const std::string& path) {
    std::error_code ec;
    return is_file ? is_file(path) : std::filesystem::is_regular_file(path, ec);
  };
  auto dir_exists = [&](const std::string& path) {
    std::error_code ec;
    return is_dir ? is_dir(path) : std::filesystem::is_directory(path, ec);
  };

  // An explicit setting is what the user meant: a wrong one is an error, not a reason to guess.
  CaCertificates found;
  const std::string env_file = get("SSL_CERT_FILE");
  const std::string env_dir = get("SSL_CERT_DIR");
  if (!env_file.empty()) {
    if (!file_exists(env_file)) {
      return Status::NotFound("SSL_CERT_FILE=" + env_file +
                              " is not a file (it should name a PEM "
                              "bundle of CA certificates)");
    }
    found.file = env_file;
  }
  if (!env_dir.empty()) {
    if (!dir_exists(env_dir)) {
      return Status::NotFound("SSL_CERT_DIR=" + env_dir + " is not a directory");
    }
    found.dir = env_dir;
  }
  if (!found.file.empty() || !found.dir.empty()) return found;

  for (const std::string& bundle : kCaBundleFiles) {
    if (file_exists(bundle)) return CaCertificates{bundle, ""};
  }
  if (dir_exists(kCaDirectory)) return CaCertificates{"", kCaDirectory};

  std::string tried;
  for (const std::string& bundle : kCaBundleFiles) tried += bundle + ", ";
  return Status::NotFound(
      "no CA certificates to verify HTTPS servers with: SSL_CERT_FILE and SSL_CERT_DIR are not "
      "set, and none of " +
      tried + "or the directory " + kCaDirectory +
      " exists; install the system's CA certificates (ca-certificates) or set SSL_CERT_FILE to a "
      "PEM bundle");
}

}  // namespace codeswarm::worker::openai
