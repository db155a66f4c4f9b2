#include "common/channel_tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/error.hpp>

namespace codeswarm::tls {
namespace ssl = boost::asio::ssl;

namespace {

// Changing it changes every key: a new label for a new channel version.
constexpr std::string_view kKeyLabel = "codeswarm worker channel v2: TLS 1.3 external PSK";
// TLS_AES_128_GCM_SHA256: the suite the PSK is bound to. Both allowed suites hash with SHA-256.
constexpr unsigned char kPskCipher[] = {0x13, 0x01};
constexpr const char kCipherSuites[] = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
constexpr std::size_t kKeyBytes = 32;

// Our slots in OpenSSL's objects. Not the "app data" slots: Asio keeps its verify callback
// there and deletes whatever it finds.
int IdentityIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int ChannelIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A session that carries nothing but the key: what TLS 1.3 calls an external PSK.
SSL_SESSION* NewPskSession(SSL* ssl, const std::string& key) {
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kPskCipher);
  if (cipher == nullptr) return nullptr;
  SSL_SESSION* session = SSL_SESSION_new();
  if (session == nullptr ||
      !SSL_SESSION_set1_master_key(session, reinterpret_cast<const unsigned char*>(key.data()),
                                   key.size()) ||
      !SSL_SESSION_set_cipher(session, cipher) ||
      !SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION)) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

std::string OpenSslError(std::string_view what) {
  unsigned long code = ERR_get_error();
  char buffer[256] = {};
  if (code != 0) ERR_error_string_n(code, buffer, sizeof buffer);
  ERR_clear_error();
  return std::string(what) + (code != 0 ? std::string(": ") + buffer : "");
}

}  // namespace

std::string ChannelKey(std::string_view swarm_secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), swarm_secret.data(), static_cast<int>(swarm_secret.size()),
       reinterpret_cast<const unsigned char*>(kKeyLabel.data()), kKeyLabel.size(), digest,
       &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

ChannelTls::ChannelTls(ssl::context::method method) : context_(method) {}

ChannelTls::~ChannelTls() = default;

Result<std::unique_ptr<ChannelTls>> ChannelTls::ForWorker(std::string identity, std::string key) {
  if (key.size() != kKeyBytes) return Status::InvalidArgument("channel key must be 32 bytes");
  std::unique_ptr<ChannelTls> tls(new ChannelTls(ssl::context::tls_client));
  tls->identity_ = std::move(identity);
  tls->key_ = std::move(key);
  SSL_CTX* ctx = tls->context_.native_handle();
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_ciphersuites(ctx, kCipherSuites)) {
    return Status::Internal(OpenSslError("cannot set up TLS 1.3 for the worker channel"));
  }
  // No certificate is trusted: a router proves itself with the key or not at all.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_ex_data(ctx, ChannelIndex(), tls.get());
  SSL_CTX_set_psk_use_session_callback(ctx, &ChannelTls::UseSession);
  return tls;
}

Result<std::unique_ptr<ChannelTls>> ChannelTls::ForRouter(KeyLookup lookup) {
  std::unique_ptr<ChannelTls> tls(new ChannelTls(ssl::context::tls_server));
  tls->lookup_ = std::move(lookup);
  tls->decoy_key_.resize(kKeyBytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(tls->decoy_key_.data()), kKeyBytes) != 1) {
    return Status::Internal(OpenSslError("cannot draw random bytes"));
  }
  SSL_CTX* ctx = tls->context_.native_handle();
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_ciphersuites(ctx, kCipherSuites) || !SSL_CTX_set_num_tickets(ctx, 0)) {
    return Status::Internal(OpenSslError("cannot set up TLS 1.3 for the worker channel"));
  }
  SSL_CTX_set_ex_data(ctx, ChannelIndex(), tls.get());
  SSL_CTX_set_psk_find_session_callback(ctx, &ChannelTls::FindSession);
  return tls;
}

int ChannelTls::UseSession(SSL* ssl, const EVP_MD* md, const unsigned char** id,
                           std::size_t* id_len, SSL_SESSION** session) {
  auto* self = static_cast<ChannelTls*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ChannelIndex()));
  *session = NewPskSession(ssl, self->key_);
  if (*session == nullptr) return 0;
  if (md != nullptr && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(*session))) {
    // Asked again after the server chose a suite with another hash: the key does not apply.
    SSL_SESSION_free(*session);
    *session = nullptr;
    *id = nullptr;
    *id_len = 0;
    return 1;
  }
  *id = reinterpret_cast<const unsigned char*>(self->identity_.data());
  *id_len = self->identity_.size();
  return 1;
}

int ChannelTls::FindSession(SSL* ssl, const unsigned char* identity, std::size_t identity_len,
                            SSL_SESSION** session) {
  auto* self = static_cast<ChannelTls*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ChannelIndex()));
  std::string_view id(reinterpret_cast<const char*>(identity), identity_len);
  std::optional<std::string> key = self->lookup_(id);
  // An unknown identity gets a random key, so it fails exactly like a wrong key: the handshake
  // tells a stranger nothing about which swarms exist.
  *session = NewPskSession(ssl, key ? *key : self->decoy_key_);
  if (*session == nullptr) return 0;
  if (auto* out = static_cast<std::string*>(SSL_get_ex_data(ssl, IdentityIndex()))) {
    *out = key ? std::string(id) : std::string();
  }
  return 1;
}

void ChannelTls::RecordIdentity(SSL* ssl, std::string* identity) {
  SSL_set_ex_data(ssl, IdentityIndex(), identity);
}

bool ChannelTls::UsedChannelKey(SSL* ssl) {
  return SSL_session_reused(ssl) == 1 && SSL_version(ssl) == TLS1_3_VERSION;
}

std::string DescribeTlsError(const boost::system::error_code& ec) {
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    // Both ends derive the key from the swarm secret; anything else fails here.
    return "TLS handshake or record failed (" + ec.message() +
           "): the peer does not hold this swarm's key, or the bytes were altered on the way";
  }
  if (ec == ssl::error::stream_truncated) return "the peer closed the connection abruptly";
  return ec.message();
}

}  // namespace codeswarm::tls
