// Who is on the other end of a loopback TCP connection. TCP has no SO_PEERCRED, but on one
// machine both ends of a loopback connection are sockets of this kernel, which knows each one's
// owner. The router uses this so that on a shared login node only the user who runs it can
// command it (the client port and the web port alike).
//
// The lookup asks the kernel for the one socket by its exact 4-tuple (NETLINK_SOCK_DIAG, as `ss`
// does): constant cost per connection. Where that interface is missing it falls back to reading
// /proc/net/tcp{,6}, whose cost grows with the number of sockets (a burst of N connections then
// costs N^2: docs/BENCHMARKS.md, "Peer check").
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace codeswarm::router {

// The uid owning the socket whose local address is `peer` and remote address is `self`: the
// client's end of a connection this process accepted (`peer` = the accepted socket's remote
// endpoint, `self` = its local endpoint). Nullopt when the connection is not listed (the peer is
// on another machine).
std::optional<uid_t> LoopbackPeerUid(const sockaddr* peer, const sockaddr* self);

// The two ways LoopbackPeerUid looks, for tests and the benchmark.
// Netlink sock_diag: the uid, nullopt when the kernel has no such socket, or an error when the
// interface cannot be used (then the caller falls back to /proc).
Result<std::optional<uid_t>> SockDiagSocketOwner(const sockaddr* local, const sockaddr* remote);
// /proc/net/tcp{,6}: reads and scans the whole table.
std::optional<uid_t> ProcNetSocketOwner(const sockaddr* local, const sockaddr* remote);

// The same lookup over the text of /proc/net/tcp (or tcp6), for tests.
std::optional<uid_t> FindSocketOwner(std::string_view proc_net_tcp, const std::string& local_hex,
                                     const std::string& remote_hex);

// "0100007F:1F90": an address and port as /proc/net/tcp{,6} prints them.
std::string ProcNetAddress(const sockaddr* address);

}  // namespace codeswarm::router
