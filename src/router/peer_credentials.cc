#include "router/peer_credentials.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/text.h"

namespace codeswarm::router {

std::string ProcNetAddress(const sockaddr* address) {
  char buf[64];
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    // The kernel prints the address as the native-endian value of its network-order bytes.
    uint32_t raw;
    std::memcpy(&raw, &in->sin_addr, sizeof raw);
    std::snprintf(buf, sizeof buf, "%08X:%04X", raw, ntohs(in->sin_port));
    return buf;
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
  std::string out;
  for (int word = 0; word < 4; ++word) {
    uint32_t raw;
    std::memcpy(&raw, reinterpret_cast<const char*>(&in6->sin6_addr) + 4 * word, sizeof raw);
    std::snprintf(buf, sizeof buf, "%08X", raw);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, ":%04X", ntohs(in6->sin6_port));
  return out + buf;
}

std::optional<uid_t> FindSocketOwner(std::string_view proc_net_tcp, const std::string& local_hex,
                                     const std::string& remote_hex) {
  for (std::string_view line : SplitString(proc_net_tcp, '\n')) {
    // "  sl  local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ..."
    std::istringstream fields{std::string(line)};
    std::string slot, local, remote, state, queues, timer, retransmits, uid;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid)) {
      continue;
    }
    if (local == local_hex && remote == remote_hex) {
      auto value = ParseInteger(uid);
      if (value && *value >= 0) return static_cast<uid_t>(*value);
    }
  }
  return std::nullopt;
}

std::optional<uid_t> LoopbackPeerUid(const sockaddr* peer, const sockaddr* self) {
  const char* table = peer->sa_family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6";
  std::ifstream in(table);
  std::ostringstream text;
  text << in.rdbuf();
  return FindSocketOwner(text.str(), ProcNetAddress(peer), ProcNetAddress(self));
}

}  // namespace codeswarm::router
