// The worker channel's TLS, driven directly over memory BIOs so every byte on the wire can be
// seen, kept, replayed or altered: who gets through the handshake, what the wire shows, and
// what a changed byte does.
#include "common/channel_tls.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <map>
#include <memory>
#include <string>

namespace codeswarm::tls {
namespace {

const std::string kSecretA(64, 'a');
const std::string kSecretB(64, 'b');

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

// One end of a connection: an SSL object whose network side is a memory BIO the test reads
// and writes.
struct End {
  SslPtr ssl;
  BIO* network = nullptr;  // owned by ssl (via the pair)

  static End Make(ChannelTls& tls, bool server) {
    End end;
    end.ssl.reset(SSL_new(tls.context().native_handle()));
    BIO* internal = nullptr;
    BIO_new_bio_pair(&internal, 1 << 16, &end.network, 1 << 16);
    SSL_set_bio(end.ssl.get(), internal, internal);
    if (server) {
      SSL_set_accept_state(end.ssl.get());
    } else {
      SSL_set_connect_state(end.ssl.get());
    }
    return end;
  }
  ~End() {
    if (network != nullptr) BIO_free(network);
  }
  End() = default;
  End(End&& other) noexcept : ssl(std::move(other.ssl)), network(other.network) {
    other.network = nullptr;
  }

  std::string TakeOutgoing() {
    std::string out;
    char buffer[4096];
    int n;
    while ((n = BIO_read(network, buffer, sizeof buffer)) > 0) out.append(buffer, n);
    return out;
  }
  void Give(const std::string& bytes) {
    if (!bytes.empty()) BIO_write(network, bytes.data(), static_cast<int>(bytes.size()));
  }
};

// Runs both handshakes to their end, shuttling bytes; `to_server` keeps what the client sent.
// Returns {client ok, server ok}.
std::pair<bool, bool> Handshake(End& client, End& server, std::string* to_server = nullptr,
                                std::string* to_client = nullptr) {
  int client_rc = 0, server_rc = 0;
  for (int round = 0; round < 20; ++round) {
    if (client_rc != 1) client_rc = SSL_do_handshake(client.ssl.get());
    std::string c = client.TakeOutgoing();
    if (to_server) *to_server += c;
    server.Give(c);
    if (server_rc != 1) server_rc = SSL_do_handshake(server.ssl.get());
    std::string s = server.TakeOutgoing();
    if (to_client) *to_client += s;
    client.Give(s);
    bool client_done = client_rc == 1 || SSL_get_error(client.ssl.get(), client_rc) == SSL_ERROR_SSL;
    bool server_done = server_rc == 1 || SSL_get_error(server.ssl.get(), server_rc) == SSL_ERROR_SSL;
    if (client_done && server_done && c.empty() && s.empty()) break;
  }
  ERR_clear_error();
  return {client_rc == 1, server_rc == 1};
}

class ChannelTlsTest : public ::testing::Test {
 protected:
  ChannelTlsTest() {
    keys_["s-a"] = ChannelKey(kSecretA);
    keys_["s-b"] = ChannelKey(kSecretB);
    auto router = ChannelTls::ForRouter([this](std::string_view id) -> std::optional<std::string> {
      auto it = keys_.find(std::string(id));
      if (it == keys_.end()) return std::nullopt;
      return it->second;
    });
    EXPECT_TRUE(router.ok()) << router.status().message();
    router_ = std::move(*router);
  }

  std::unique_ptr<ChannelTls> Worker(const std::string& identity, const std::string& secret) {
    auto worker = ChannelTls::ForWorker(identity, ChannelKey(secret));
    EXPECT_TRUE(worker.ok()) << worker.status().message();
    return std::move(*worker);
  }

  std::map<std::string, std::string> keys_;
  std::unique_ptr<ChannelTls> router_;
};

TEST_F(ChannelTlsTest, KeyIsDerivedFromTheSecretAndDiffersPerSwarm) {
  EXPECT_EQ(ChannelKey(kSecretA).size(), 32u);
  EXPECT_EQ(ChannelKey(kSecretA), ChannelKey(kSecretA));
  EXPECT_NE(ChannelKey(kSecretA), ChannelKey(kSecretB));
  EXPECT_EQ(ChannelKey(kSecretA).find(kSecretA.substr(0, 8)), std::string::npos);
}

TEST_F(ChannelTlsTest, SameKeyConnectsAndTheRouterLearnsWhichSwarm) {
  auto worker = Worker("s-a", kSecretA);
  End client = End::Make(*worker, false);
  End server = End::Make(*router_, true);
  std::string proven;
  ChannelTls::RecordIdentity(server.ssl.get(), &proven);
  std::string wire;
  auto [client_ok, server_ok] = Handshake(client, server, &wire);
  ASSERT_TRUE(client_ok);
  ASSERT_TRUE(server_ok);
  EXPECT_TRUE(ChannelTls::UsedChannelKey(client.ssl.get()));
  EXPECT_TRUE(ChannelTls::UsedChannelKey(server.ssl.get()));
  EXPECT_EQ(proven, "s-a");
  // Neither the secret nor the key derived from it crosses the wire.
  EXPECT_EQ(wire.find(kSecretA), std::string::npos);
  EXPECT_EQ(wire.find(ChannelKey(kSecretA)), std::string::npos);

  const std::string prompt = "inject {\"content\":\"REVIEW-src/gemm.cc-7f3a\"}\n";
  ASSERT_EQ(SSL_write(server.ssl.get(), prompt.data(), static_cast<int>(prompt.size())),
            static_cast<int>(prompt.size()));
  std::string sealed = server.TakeOutgoing();
  EXPECT_EQ(sealed.find("REVIEW-src"), std::string::npos);  // not readable on the wire
  client.Give(sealed);
  char buffer[256];
  int n = SSL_read(client.ssl.get(), buffer, sizeof buffer);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, n), prompt);
}

TEST_F(ChannelTlsTest, WrongKeyIsRefusedOnBothSides) {
  auto worker = Worker("s-a", kSecretB);
  End client = End::Make(*worker, false);
  End server = End::Make(*router_, true);
  auto [client_ok, server_ok] = Handshake(client, server);
  EXPECT_FALSE(client_ok);
  EXPECT_FALSE(server_ok);
}

TEST_F(ChannelTlsTest, KeyOfAnotherSwarmIsRefused) {
  auto worker = Worker("s-a", kSecretB);  // names s-a, holds s-b's key
  End client = End::Make(*worker, false);
  End server = End::Make(*router_, true);
  std::string proven;
  ChannelTls::RecordIdentity(server.ssl.get(), &proven);
  auto [client_ok, server_ok] = Handshake(client, server);
  EXPECT_FALSE(server_ok);
  EXPECT_FALSE(client_ok);
}

TEST_F(ChannelTlsTest, UnknownSwarmFailsLikeAWrongKey) {
  auto worker = Worker("s-unknown", kSecretA);
  End client = End::Make(*worker, false);
  End server = End::Make(*router_, true);
  std::string proven = "unset";
  ChannelTls::RecordIdentity(server.ssl.get(), &proven);
  auto [client_ok, server_ok] = Handshake(client, server);
  EXPECT_FALSE(client_ok);
  EXPECT_FALSE(server_ok);
  EXPECT_EQ(proven, "");
}

TEST_F(ChannelTlsTest, ReplayedHandshakeIsRefused) {
  auto worker = Worker("s-a", kSecretA);
  std::string recorded;
  {
    End client = End::Make(*worker, false);
    End server = End::Make(*router_, true);
    auto [client_ok, server_ok] = Handshake(client, server, &recorded);
    ASSERT_TRUE(client_ok && server_ok);
  }
  // An eavesdropper replays everything the worker sent to a fresh router connection: the
  // router's fresh random and key share make the old Finished worthless.
  End server = End::Make(*router_, true);
  server.Give(recorded);
  int rc = 1;
  for (int i = 0; i < 5; ++i) {
    rc = SSL_do_handshake(server.ssl.get());
    server.TakeOutgoing();
  }
  EXPECT_NE(rc, 1);
  EXPECT_EQ(SSL_get_error(server.ssl.get(), rc), SSL_ERROR_SSL);
  ERR_clear_error();
}

TEST_F(ChannelTlsTest, AlteredByteIsDetectedAndNothingIsDelivered) {
  auto worker = Worker("s-a", kSecretA);
  End client = End::Make(*worker, false);
  End server = End::Make(*router_, true);
  auto [client_ok, server_ok] = Handshake(client, server);
  ASSERT_TRUE(client_ok && server_ok);
  const std::string line = "event 7 i-1 assistant_delta {\"delta\":\"hello\"}\n";
  SSL_write(client.ssl.get(), line.data(), static_cast<int>(line.size()));
  std::string sealed = client.TakeOutgoing();
  sealed[sealed.size() / 2] ^= 0x01;
  server.Give(sealed);
  char buffer[256];
  int n = SSL_read(server.ssl.get(), buffer, sizeof buffer);
  EXPECT_LE(n, 0);
  EXPECT_EQ(SSL_get_error(server.ssl.get(), n), SSL_ERROR_SSL);
  ERR_clear_error();
}

// A squatter with a certificate of its own (and no key) on the router's address.
TEST_F(ChannelTlsTest, PeerOfferingACertificateInsteadOfTheKeyIsRefused) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  ASSERT_NE(pkey, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, pkey);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("router"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, pkey, EVP_sha256()), 0);
  SSL_CTX* squatter_ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(squatter_ctx, cert);
  SSL_CTX_use_PrivateKey(squatter_ctx, pkey);

  auto worker = Worker("s-a", kSecretA);
  End client = End::Make(*worker, false);
  End squatter;
  squatter.ssl.reset(SSL_new(squatter_ctx));
  BIO* internal = nullptr;
  BIO_new_bio_pair(&internal, 1 << 16, &squatter.network, 1 << 16);
  SSL_set_bio(squatter.ssl.get(), internal, internal);
  SSL_set_accept_state(squatter.ssl.get());
  std::string to_squatter;
  auto [client_ok, squatter_ok] = Handshake(client, squatter, &to_squatter);
  EXPECT_FALSE(client_ok);
  EXPECT_FALSE(client_ok && ChannelTls::UsedChannelKey(client.ssl.get()));
  EXPECT_EQ(to_squatter.find(kSecretA), std::string::npos);
  EXPECT_EQ(to_squatter.find(ChannelKey(kSecretA)), std::string::npos);

  squatter.ssl.reset();
  SSL_CTX_free(squatter_ctx);
  X509_free(cert);
  EVP_PKEY_free(pkey);
}

}  // namespace
}  // namespace codeswarm::tls
