// The worker channel's protection: TLS 1.3 whose only credential is an external pre-shared key
// derived from the swarm's secret (RFC 8446 §2.2, psk_dhe_ke). A handshake completes only when
// both ends hold the same key: each proves it with fresh randoms from both sides and an
// ephemeral (EC)DHE exchange, so a recorded handshake is useless and the key never crosses the
// wire. Everything after is AES-GCM (or ChaCha20-Poly1305): read by no one else, and any byte
// changed on the way fails the record's check and drops the connection. No certificates: a peer
// that offers one instead of the key is refused. See docs/SECURITY.md.
//
// Only the few TUs that open worker connections include this (it brings in Asio's SSL headers).
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace codeswarm::tls {

// The channel key of a swarm: HMAC-SHA256 over a fixed label, keyed by the swarm secret, so
// the secret itself serves nothing but this derivation. 32 raw bytes.
std::string ChannelKey(std::string_view swarm_secret);

// Finds the channel key for a PSK identity (a swarm id); nullopt when there is none.
using KeyLookup = std::function<std::optional<std::string>(std::string_view identity)>;

// An SSL context for one side of the worker channel. Not copyable; it must outlive every stream
// made from it.
class ChannelTls {
 public:
  // The worker's side: offers `identity` with `key`, and nothing else.
  static Result<std::unique_ptr<ChannelTls>> ForWorker(std::string identity, std::string key);
  // The router's side: takes whichever identity `lookup` knows. For an identity it does not
  // know, the handshake fails the same way as for a wrong key.
  static Result<std::unique_ptr<ChannelTls>> ForRouter(KeyLookup lookup);
  ~ChannelTls();
  ChannelTls(const ChannelTls&) = delete;
  ChannelTls& operator=(const ChannelTls&) = delete;

  boost::asio::ssl::context& context() { return context_; }

  // Call on a stream's SSL before its handshake (router side): the identity the peer proves is
  // written to `*identity`. It must outlive the handshake.
  static void RecordIdentity(SSL* ssl, std::string* identity);
  // After a handshake: whether it was authenticated by the pre-shared key (and nothing else).
  static bool UsedChannelKey(SSL* ssl);

 private:
  explicit ChannelTls(boost::asio::ssl::context::method method);
  static int UseSession(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* id_len,
                        SSL_SESSION** session);
  static int FindSession(SSL* ssl, const unsigned char* identity, std::size_t identity_len,
                         SSL_SESSION** session);

  boost::asio::ssl::context context_;
  std::string identity_;  // worker side
  std::string key_;       // worker side
  KeyLookup lookup_;      // router side
  std::string decoy_key_;  // router side: for identities it does not know
};

// What a failed handshake or record means, for a log line a person can act on.
std::string DescribeTlsError(const boost::system::error_code& ec);

}  // namespace codeswarm::tls
