#include "router/peer_credentials.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>

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

namespace {

// One request, one answer: an inet_diag_msg or an error. Big enough for either with its
// attributes (we ask for none).
constexpr std::size_t kAnswerBytes = 8192;

// Closes the descriptor when the lookup returns.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// Fills the address and port of one end of `id` from `address` (AF_INET or AF_INET6).
void FillEnd(const sockaddr* address, __be16* port, __be32* words) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    *port = in->sin_port;
    std::memcpy(words, &in->sin_addr, sizeof in->sin_addr);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    *port = in6->sin6_port;
    std::memcpy(words, &in6->sin6_addr, sizeof in6->sin6_addr);
  }
}

}  // namespace

Result<std::optional<uid_t>> SockDiagSocketOwner(const sockaddr* local, const sockaddr* remote) {
  int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return Status::Unavailable(std::string("netlink sock_diag: ") + std::strerror(errno));
  FdCloser closer{fd};
  // The kernel answers within the call; a timeout only guards against a kernel that does not.
  timeval timeout{.tv_sec = 1, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;  // no NLM_F_DUMP: the one socket of this 4-tuple
  message.header.nlmsg_seq = 1;
  message.request.sdiag_family = static_cast<uint8_t>(local->sa_family);
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = ~0u;
  FillEnd(local, &message.request.id.idiag_sport, message.request.id.idiag_src);
  FillEnd(remote, &message.request.id.idiag_dport, message.request.id.idiag_dst);
  message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    return Status::Unavailable(std::string("netlink sock_diag send: ") + std::strerror(errno));
  }
  alignas(nlmsghdr) char answer[kAnswerBytes];
  ssize_t n = ::recv(fd, answer, sizeof answer, 0);
  if (n < 0) return Status::Unavailable(std::string("netlink sock_diag: ") + std::strerror(errno));
  auto* header = reinterpret_cast<nlmsghdr*>(answer);
  if (!NLMSG_OK(header, static_cast<unsigned>(n))) {
    return Status::Unavailable("netlink sock_diag: short answer");
  }
  if (header->nlmsg_type == NLMSG_ERROR) {
    const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
    if (error->error == -ENOENT) return std::optional<uid_t>();  // not a socket of this machine
    return Status::Unavailable(std::string("netlink sock_diag: ") + std::strerror(-error->error));
  }
  if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      header->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
    return Status::Unavailable("netlink sock_diag: unexpected answer");
  }
  const auto* found = static_cast<const inet_diag_msg*>(NLMSG_DATA(header));
  return std::optional<uid_t>(static_cast<uid_t>(found->idiag_uid));
}

std::optional<uid_t> ProcNetSocketOwner(const sockaddr* local, const sockaddr* remote) {
  const char* table = local->sa_family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6";
  std::ifstream in(table);
  std::ostringstream text;
  text << in.rdbuf();
  return FindSocketOwner(text.str(), ProcNetAddress(local), ProcNetAddress(remote));
}

std::optional<uid_t> LoopbackPeerUid(const sockaddr* peer, const sockaddr* self) {
  Result<std::optional<uid_t>> exact = SockDiagSocketOwner(peer, self);
  if (exact.ok()) return *exact;
  static bool warned = false;  // once: the fallback works, it is only slower
  if (!warned) {
    warned = true;
    spdlog::warn("{}; looking connections up in /proc/net/tcp instead (slower)",
                 exact.status().message());
  }
  return ProcNetSocketOwner(peer, self);
}

}  // namespace codeswarm::router
