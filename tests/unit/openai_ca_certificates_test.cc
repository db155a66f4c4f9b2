// Where the openai agent looks for CA certificates (worker/openai/ca_certificates.h), on a file
// system and environment given as literals.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "worker/openai/ca_certificates.h"

namespace codeswarm::worker::openai {
namespace {

struct FakeHost {
  std::map<std::string, std::string> env;
  std::set<std::string> files;
  std::set<std::string> dirs;

  Result<CaCertificates> Find() const {
    return FindCaCertificates(
        [this](const char* name) -> const char* {
          auto it = env.find(name);
          return it == env.end() ? nullptr : it->second.c_str();
        },
        [this](const std::string& path) { return files.count(path) > 0; },
        [this](const std::string& path) { return dirs.count(path) > 0; });
  }
};

TEST(CaCertificatesTest, SslCertFileAndDirWinOverTheUsualPlaces) {
  FakeHost host{{{"SSL_CERT_FILE", "/opt/ca.pem"}, {"SSL_CERT_DIR", "/opt/certs"}},
                {"/opt/ca.pem", "/etc/ssl/certs/ca-certificates.crt"},
                {"/opt/certs", "/etc/ssl/certs"}};
  Result<CaCertificates> found = host.Find();
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->file, "/opt/ca.pem");
  EXPECT_EQ(found->dir, "/opt/certs");
  EXPECT_EQ(found->Describe(), "/opt/ca.pem and /opt/certs");
}

TEST(CaCertificatesTest, AMissingSslCertFileIsAnErrorNotAReasonToGuess) {
  FakeHost host{{{"SSL_CERT_FILE", "/opt/typo.pem"}}, {"/etc/ssl/certs/ca-certificates.crt"}, {}};
  Result<CaCertificates> found = host.Find();
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().message(),
            "SSL_CERT_FILE=/opt/typo.pem is not a file (it should name a PEM bundle of CA "
            "certificates)");
}

TEST(CaCertificatesTest, FirstBundleOfTheDistributionsThenTheDirectory) {
  FakeHost rocky{{}, {"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}, {"/etc/ssl/certs"}};
  EXPECT_EQ(rocky.Find()->file, "/etc/pki/tls/certs/ca-bundle.crt");
  FakeHost sles{{}, {"/etc/ssl/ca-bundle.pem"}, {}};
  EXPECT_EQ(sles.Find()->file, "/etc/ssl/ca-bundle.pem");
  FakeHost only_dir{{}, {}, {"/etc/ssl/certs"}};
  EXPECT_EQ(only_dir.Find()->file, "");
  EXPECT_EQ(only_dir.Find()->dir, "/etc/ssl/certs");
}

TEST(CaCertificatesTest, NoneFoundNamesEveryPlaceTried) {
  Result<CaCertificates> found = FakeHost{}.Find();
  ASSERT_FALSE(found.ok());
  for (const std::string& bundle : kCaBundleFiles) {
    EXPECT_NE(found.status().message().find(bundle), std::string::npos) << bundle;
  }
  EXPECT_NE(found.status().message().find("SSL_CERT_FILE"), std::string::npos);
  EXPECT_NE(found.status().message().find("the directory /etc/ssl/certs"), std::string::npos);
}

}  // namespace
}  // namespace codeswarm::worker::openai
