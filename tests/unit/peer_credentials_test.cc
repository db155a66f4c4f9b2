#include "router/peer_credentials.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace codeswarm::router {
namespace {

// Recorded from this machine's /proc/net/tcp: a router on 127.0.0.1:8765 (0x223D) and one
// client connection from port 51923 (0xCAD3) owned by uid 1000.
constexpr char kProcNetTcp[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:223D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1212 1 0000000081f06cec 100 0 0 10 0\n"
    "   1: 0100007F:CAD3 0100007F:223D 01 00000000:00000000 00:00000000 00000000  1000        0 5555 1 0000000081f06cec 20 4 30 10 -1\n"
    "   2: 0100007F:223D 0100007F:CAD3 01 00000000:00000000 00:00000000 00000000     0        0 5556 1 0000000081f06cec 20 4 30 10 -1\n";

TEST(PeerCredentialsTest, FindsTheClientEndsOwner) {
  EXPECT_EQ(FindSocketOwner(kProcNetTcp, "0100007F:CAD3", "0100007F:223D"), 1000u);
  EXPECT_EQ(FindSocketOwner(kProcNetTcp, "0100007F:223D", "0100007F:CAD3"), 0u);
  EXPECT_EQ(FindSocketOwner(kProcNetTcp, "0100007F:BEEF", "0100007F:223D"), std::nullopt);
  EXPECT_EQ(FindSocketOwner("", "0100007F:CAD3", "0100007F:223D"), std::nullopt);
}

TEST(PeerCredentialsTest, FormatsAddressesAsTheKernelDoes) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(8765);
  inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
  EXPECT_EQ(ProcNetAddress(reinterpret_cast<sockaddr*>(&v4)), "0100007F:223D");
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(8765);
  inet_pton(AF_INET6, "::1", &v6.sin6_addr);
  EXPECT_EQ(ProcNetAddress(reinterpret_cast<sockaddr*>(&v6)),
            "00000000000000000000000001000000:223D");
}

// A loopback connection made by this process: the listening, client and accepted sockets, and
// the accepted socket's two ends.
struct LoopbackConnection {
  LoopbackConnection() {
    server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(server, 1);
    socklen_t len = sizeof addr;
    ::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    connected = ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    accepted = ::accept(server, nullptr, nullptr);
    socklen_t peer_len = sizeof peer_storage, self_len = sizeof self_storage;
    ::getpeername(accepted, peer(), &peer_len);
    ::getsockname(accepted, self(), &self_len);
  }
  ~LoopbackConnection() {
    ::close(accepted);
    ::close(client);
    ::close(server);
  }
  sockaddr* peer() { return reinterpret_cast<sockaddr*>(&peer_storage); }
  sockaddr* self() { return reinterpret_cast<sockaddr*>(&self_storage); }

  int server = -1, client = -1, accepted = -1;
  bool connected = false;
  sockaddr_storage peer_storage{}, self_storage{};
};

TEST(PeerCredentialsTest, FindsOurOwnLoopbackConnection) {
  LoopbackConnection connection;
  ASSERT_TRUE(connection.connected);
  EXPECT_EQ(LoopbackPeerUid(connection.peer(), connection.self()), ::geteuid());
}

TEST(PeerCredentialsTest, SockDiagFindsTheExactSocketAndAgreesWithProc) {
  LoopbackConnection connection;
  ASSERT_TRUE(connection.connected);
  Result<std::optional<uid_t>> exact = SockDiagSocketOwner(connection.peer(), connection.self());
  ASSERT_TRUE(exact.ok()) << exact.status().message();
  EXPECT_EQ(*exact, ::geteuid());
  EXPECT_EQ(ProcNetSocketOwner(connection.peer(), connection.self()), ::geteuid());
}

TEST(PeerCredentialsTest, SockDiagSaysNotFoundForAConnectionThatDoesNotExist) {
  LoopbackConnection connection;
  ASSERT_TRUE(connection.connected);
  // The same ends with a port nobody uses on the client side.
  auto* peer = reinterpret_cast<sockaddr_in*>(connection.peer());
  peer->sin_port = htons(static_cast<uint16_t>(ntohs(peer->sin_port) ^ 0x4000));
  Result<std::optional<uid_t>> exact = SockDiagSocketOwner(connection.peer(), connection.self());
  ASSERT_TRUE(exact.ok()) << exact.status().message();
  EXPECT_EQ(*exact, std::nullopt);
  EXPECT_EQ(LoopbackPeerUid(connection.peer(), connection.self()), std::nullopt);
}

}  // namespace
}  // namespace codeswarm::router
