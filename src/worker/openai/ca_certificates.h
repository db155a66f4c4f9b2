// Where the openai agent finds the CA certificates that HTTPS servers are verified against. The
// static binary carries none and cannot know the host's layout at build time, so it looks at run
// time, in the order OpenSSL's own variables and the mainstream distributions put them:
//   1. $SSL_CERT_FILE (a PEM bundle) and/or $SSL_CERT_DIR (a hashed directory): when either is
//      set, it is used and must exist;
//   2. the first bundle that exists of kCaBundleFiles (Debian/Ubuntu, RHEL/Rocky/Fedora,
//      SLES/openSUSE, Alpine/Arch);
//   3. the directory /etc/ssl/certs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace codeswarm::worker::openai {

extern const std::vector<std::string> kCaBundleFiles;
extern const char* const kCaDirectory;

struct CaCertificates {
  std::string file;  // a PEM bundle, or empty
  std::string dir;   // a hashed certificate directory, or empty
  // "SSL_CERT_FILE=/x", "/etc/ssl/certs/ca-certificates.crt", ...: for error messages.
  std::string Describe() const;
};

// Looks up the environment with `getenv_fn` and the file system with `is_file` / `is_dir`
// (the real ones by default). Fails with a message that names every place it tried.
Result<CaCertificates> FindCaCertificates(
    const std::function<const char*(const char*)>& getenv_fn = nullptr,
    const std::function<bool(const std::string&)>& is_file = nullptr,
    const std::function<bool(const std::string&)>& is_dir = nullptr);

}  // namespace codeswarm::worker::openai
