// Who is on the other end of a loopback TCP connection. TCP has no SO_PEERCRED, but on one
// machine both ends of a loopback connection are sockets of this kernel, and /proc/net/tcp{,6}
// lists each with its owner's uid. The router uses this so that on a shared login node only the
// user who runs it can command it.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace codeswarm::router {

// The uid owning the socket whose local address is `peer` and remote address is `self`: the
// client's end of a connection this process accepted (`peer` = the accepted socket's remote
// endpoint, `self` = its local endpoint). Nullopt when the connection is not listed (the peer is
// on another machine).
std::optional<uid_t> LoopbackPeerUid(const sockaddr* peer, const sockaddr* self);

// The same lookup over the text of /proc/net/tcp (or tcp6), for tests.
std::optional<uid_t> FindSocketOwner(std::string_view proc_net_tcp, const std::string& local_hex,
                                     const std::string& remote_hex);

// "0100007F:1F90": an address and port as /proc/net/tcp{,6} prints them.
std::string ProcNetAddress(const sockaddr* address);

}  // namespace codeswarm::router
