// The peer check under a burst of connections (docs/BENCHMARKS.md, "Peer check"):
//
//   codeswarm_peer_bench [CONNECTIONS]   (default 1000)
//
// 1. In process: CONNECTIONS loopback connections are open; each accepted socket's owner is
//    looked up once by its exact 4-tuple over NETLINK_SOCK_DIAG (what the router does now) and
//    once by reading /proc/net/tcp (what it did before, and its fallback). The /proc way reads a
//    table that grows with the connections, so the burst costs O(N^2).
// 2. The real router: CONNECTIONS client connections opened at once, then the time until a new
//    client's swarm_list is answered (how long the router's loop was busy checking them).
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "e2e/harness.h"
#include "router/peer_credentials.h"

namespace codeswarm::bench {
namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

void InProcess(int connections) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::listen(listener, SOMAXCONN);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::vector<int> fds;
  struct Ends {
    sockaddr_storage peer, self;
  };
  std::vector<Ends> ends;
  for (int i = 0; i < connections; ++i) {
    fds.push_back(ConnectLoopback(ntohs(address.sin_port)));
    int accepted = ::accept(listener, nullptr, nullptr);
    fds.push_back(accepted);
    Ends e{};
    socklen_t a = sizeof e.peer, b = sizeof e.self;
    ::getpeername(accepted, reinterpret_cast<sockaddr*>(&e.peer), &a);
    ::getsockname(accepted, reinterpret_cast<sockaddr*>(&e.self), &b);
    ends.push_back(e);
  }
  auto time = [&](auto lookup) {
    int found = 0;
    auto start = Clock::now();
    for (Ends& e : ends) {
      if (lookup(reinterpret_cast<sockaddr*>(&e.peer), reinterpret_cast<sockaddr*>(&e.self)) ==
          ::geteuid()) {
        ++found;
      }
    }
    double ms = Ms(Clock::now() - start);
    return std::pair<double, int>(ms, found);
  };
  auto [diag_ms, diag_found] = time([](const sockaddr* p, const sockaddr* s) {
    auto r = router::SockDiagSocketOwner(p, s);
    return r.ok() ? *r : std::nullopt;
  });
  auto [proc_ms, proc_found] = time(router::ProcNetSocketOwner);
  std::printf("| in process, %d connections | NETLINK_SOCK_DIAG | %.1f ms | %.1f µs | %d/%d |\n",
              connections, diag_ms, 1000 * diag_ms / connections, diag_found, connections);
  std::printf("| in process, %d connections | /proc/net/tcp (before) | %.1f ms | %.1f µs | %d/%d |\n",
              connections, proc_ms, 1000 * proc_ms / connections, proc_found, connections);
  for (int fd : fds) ::close(fd);
  ::close(listener);
}

void RealRouter(int connections) {
  e2e::TempDir dir;
  e2e::RouterProcess router(dir);
  router.Start();
  std::vector<int> fds;
  auto start = Clock::now();
  for (int i = 0; i < connections; ++i) fds.push_back(ConnectLoopback(router.port()));
  const double opened_ms = Ms(Clock::now() - start);
  e2e::ProtocolClient client(router.port());
  client.Answer(client.Send("swarm_list", {}));
  const double answered_ms = Ms(Clock::now() - start);
  std::printf("| real router, %d connections at once | NETLINK_SOCK_DIAG | %.1f ms until a new "
              "client is answered (connects took %.1f ms) | | |\n",
              connections, answered_ms, opened_ms);
  for (int fd : fds) ::close(fd);
}

}  // namespace
}  // namespace codeswarm::bench

int main(int argc, char** argv) {
  const int connections = argc > 1 ? std::atoi(argv[1]) : 1000;
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  std::printf("| burst | lookup | total | per connection | own uid found |\n|---|---|---|---|---|\n");
  codeswarm::bench::InProcess(connections);
  codeswarm::bench::RealRouter(connections);
  return 0;
}
